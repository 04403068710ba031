#pragma once
// Pooling geometry shared by every backend (kernels/cpu/pool.cpp and
// kernels/cuda/pool.cu): the windows, PyTorch's adaptive bins, the avg_pool2d
// divisor, max_pool2d's selection rule, and the inverse maps the CUDA
// backward kernels gather with (which outputs read a given input element).
#include <cstdint>

#include "kernels/common/hd.h"

namespace kiln::math {

// x is [planes, height, width] (planes = N * C), y is [planes, out_height, out_width].
struct Pool2dGeometry {
    int64_t planes, height, width;         // input [planes, height, width]
    int64_t out_height, out_width;         // output [planes, out_height, out_width]
    int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
};

// One pooling window along one axis: [begin, end) clipped to the input, and
// the size of the window clipped to the padded input (avg_pool2d's divisor
// with count_include_pad), as in PyTorch.
struct Span {
    int64_t begin, end, padded_size;
};

KILN_HD int64_t min_of(int64_t a, int64_t b) { return a < b ? a : b; }
KILN_HD int64_t max_of(int64_t a, int64_t b) { return a > b ? a : b; }

// Window of output `out_index`: [out_index * stride - pad, + kernel), clipped.
KILN_HD Span pool_window(int64_t out_index, int64_t size, int64_t kernel, int64_t stride, int64_t pad) {
    const int64_t start = out_index * stride - pad;
    const int64_t stop = min_of(start + kernel, size + pad);
    return {max_of(start, 0), min_of(stop, size), stop - start};
}

// PyTorch's adaptive bin i of `out` over `size`: [floor(i size / out), ceil((i + 1) size / out)).
KILN_HD Span adaptive_bin(int64_t i, int64_t size, int64_t out) {
    const int64_t begin = i * size / out;
    const int64_t end = ((i + 1) * size + out - 1) / out;
    return {begin, end, end - begin};
}

KILN_HD int64_t avg_divisor(const Span& rows, const Span& cols, bool count_include_pad) {
    return count_include_pad ? rows.padded_size * cols.padded_size : (rows.end - rows.begin) * (cols.end - cols.begin);
}

// max_pool2d keeps the first maximal element of its window (scanned row by
// row): a later value replaces the best only when strictly larger, or when it
// is NaN and the best is not (NaN wins, the first NaN stays).
template <typename T>
KILN_HD bool max_pool_takes(T value, T best) {
    const bool value_nan = value != value, best_nan = best != best;
    return value > best || (value_nan && !best_nan);
}

// The outputs [begin, end) along one axis whose window starts at or before
// input index `in` and reaches past it: a superset of those whose clipped
// window holds `in` (the caller checks each with pool_window).
KILN_HD Span pool_windows_over(int64_t in, int64_t out_size, int64_t kernel, int64_t stride, int64_t pad) {
    const int64_t begin = in + pad < kernel ? 0 : (in + pad - kernel) / stride + 1;
    const int64_t end = min_of((in + pad) / stride + 1, out_size);
    return {begin, end < begin ? begin : end, 0};
}

// The adaptive bins [begin, end) that hold input index `in`: bin i holds it
// when floor(i size / out) <= in < ceil((i + 1) size / out), that is for
// i in [floor(in out / size), ceil((in + 1) out / size)) — the same formula
// as adaptive_bin with size and out exchanged.
KILN_HD Span adaptive_bins_over(int64_t in, int64_t size, int64_t out) { return adaptive_bin(in, out, size); }

}  // namespace kiln::math
