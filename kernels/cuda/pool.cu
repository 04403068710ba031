// 2-D pooling over NCHW planes: max_pool2d, avg_pool2d, adaptive_avg_pool2d
// (the windows, bins and rules: kernels/common/pool.h; the reference loops:
// kernels/cpu/pool.cpp).
//
// Forward: one thread per output element (p, oh, ow), 256 threads per block,
// a 1-D grid over planes * out_height * out_width. The thread scans its window
// row by row, as the cpu kernel does: max pool keeps the first maximal
// element (NaN wins) and saves its flat index h * W + w in the input plane;
// the averages sum in double and divide once.
//
// Backward, gather formulation: one thread per INPUT element (p, h, w), 256
// threads per block, a 1-D grid over planes * height * width. The thread
// visits the outputs whose window (or adaptive bin) holds its element, in
// (oh, ow) order, and adds their share into its own dx: no two threads write
// one element, so there are no atomics and the result is bit-reproducible
// (and bit-identical to the cpu loops, which add the same terms in the same
// order). Max pool adds dy[o] where argmax[o] is this element. No shared
// memory, no barriers.
#include "kernels/cuda/cuda_common.h"
#include "kernels/cuda/pool.h"

namespace kiln::KILN_CUDA_NS {

namespace {
constexpr unsigned threads_per_block = 256;

using math::Span;

// (p, row, column) of element `index` of [planes, rows, columns].
struct PlaneIndex {
    int64_t p, row, column;
};
__device__ PlaneIndex plane_index(int64_t index, int64_t rows, int64_t columns) {
    return {index / (rows * columns), index / columns % rows, index % columns};
}

template <typename T>
__global__ void max_pool2d_forward_kernel(T* y, int64_t* argmax, const T* x, Pool2dGeometry g, int64_t count) {
    const int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (o >= count) return;
    const PlaneIndex at = plane_index(o, g.out_height, g.out_width);
    const T* plane = x + at.p * g.height * g.width;
    const Span rows = math::pool_window(at.row, g.height, g.kernel_h, g.stride_h, g.pad_h);
    const Span cols = math::pool_window(at.column, g.width, g.kernel_w, g.stride_w, g.pad_w);
    int64_t best = rows.begin * g.width + cols.begin;
    T best_value = plane[best];
    for (int64_t h = rows.begin; h < rows.end; ++h)
        for (int64_t w = cols.begin; w < cols.end; ++w) {
            const T value = plane[h * g.width + w];
            if (math::max_pool_takes(value, best_value)) {
                best_value = value;
                best = h * g.width + w;
            }
        }
    y[o] = best_value;
    if (argmax) argmax[o] = best;  // null at inference (no backward to feed)
}

template <typename T>
__global__ void max_pool2d_backward_kernel(T* dx, const T* dy, const int64_t* argmax, Pool2dGeometry g,
                                           int64_t count) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= count) return;
    const PlaneIndex at = plane_index(i, g.height, g.width);
    const int64_t target = at.row * g.width + at.column, first = at.p * g.out_height * g.out_width;
    const Span out_rows = math::pool_windows_over(at.row, g.out_height, g.kernel_h, g.stride_h, g.pad_h);
    const Span out_cols = math::pool_windows_over(at.column, g.out_width, g.kernel_w, g.stride_w, g.pad_w);
    T total = dx[i];
    for (int64_t oh = out_rows.begin; oh < out_rows.end; ++oh)
        for (int64_t ow = out_cols.begin; ow < out_cols.end; ++ow) {
            const int64_t o = first + oh * g.out_width + ow;
            if (argmax[o] == target) total += dy[o];
        }
    dx[i] = total;
}

template <typename T>
__global__ void avg_pool2d_forward_kernel(T* y, const T* x, Pool2dGeometry g, bool count_include_pad, int64_t count) {
    const int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (o >= count) return;
    const PlaneIndex at = plane_index(o, g.out_height, g.out_width);
    const T* plane = x + at.p * g.height * g.width;
    const Span rows = math::pool_window(at.row, g.height, g.kernel_h, g.stride_h, g.pad_h);
    const Span cols = math::pool_window(at.column, g.width, g.kernel_w, g.stride_w, g.pad_w);
    double total = 0;  // in double, as the cpu kernel
    for (int64_t h = rows.begin; h < rows.end; ++h)
        for (int64_t w = cols.begin; w < cols.end; ++w) total += double(plane[h * g.width + w]);
    y[o] = T(total / double(math::avg_divisor(rows, cols, count_include_pad)));
}

template <typename T>
__global__ void avg_pool2d_backward_kernel(T* dx, const T* dy, Pool2dGeometry g, bool count_include_pad,
                                           int64_t count) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= count) return;
    const PlaneIndex at = plane_index(i, g.height, g.width);
    const T* grad = dy + at.p * g.out_height * g.out_width;
    const Span out_rows = math::pool_windows_over(at.row, g.out_height, g.kernel_h, g.stride_h, g.pad_h);
    const Span out_cols = math::pool_windows_over(at.column, g.out_width, g.kernel_w, g.stride_w, g.pad_w);
    T total = dx[i];
    for (int64_t oh = out_rows.begin; oh < out_rows.end; ++oh) {
        const Span rows = math::pool_window(oh, g.height, g.kernel_h, g.stride_h, g.pad_h);
        if (at.row < rows.begin || at.row >= rows.end) continue;
        for (int64_t ow = out_cols.begin; ow < out_cols.end; ++ow) {
            const Span cols = math::pool_window(ow, g.width, g.kernel_w, g.stride_w, g.pad_w);
            if (at.column < cols.begin || at.column >= cols.end) continue;
            total += grad[oh * g.out_width + ow] / T(math::avg_divisor(rows, cols, count_include_pad));
        }
    }
    dx[i] = total;
}

template <typename T>
__global__ void adaptive_avg_pool2d_forward_kernel(T* y, const T* x, Pool2dGeometry g, int64_t count) {
    const int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (o >= count) return;
    const PlaneIndex at = plane_index(o, g.out_height, g.out_width);
    const T* plane = x + at.p * g.height * g.width;
    const Span rows = math::adaptive_bin(at.row, g.height, g.out_height);
    const Span cols = math::adaptive_bin(at.column, g.width, g.out_width);
    double total = 0;  // in double, as the cpu kernel
    for (int64_t h = rows.begin; h < rows.end; ++h)
        for (int64_t w = cols.begin; w < cols.end; ++w) total += double(plane[h * g.width + w]);
    y[o] = T(total / double(rows.padded_size * cols.padded_size));
}

template <typename T>
__global__ void adaptive_avg_pool2d_backward_kernel(T* dx, const T* dy, Pool2dGeometry g, int64_t count) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= count) return;
    const PlaneIndex at = plane_index(i, g.height, g.width);
    const T* grad = dy + at.p * g.out_height * g.out_width;
    const Span out_rows = math::adaptive_bins_over(at.row, g.height, g.out_height);
    const Span out_cols = math::adaptive_bins_over(at.column, g.width, g.out_width);
    T total = dx[i];
    for (int64_t oh = out_rows.begin; oh < out_rows.end; ++oh) {
        const int64_t bin_rows = math::adaptive_bin(oh, g.height, g.out_height).padded_size;
        for (int64_t ow = out_cols.begin; ow < out_cols.end; ++ow) {
            const int64_t bin_cols = math::adaptive_bin(ow, g.width, g.out_width).padded_size;
            total += grad[oh * g.out_width + ow] / T(bin_rows * bin_cols);
        }
    }
    dx[i] = total;
}

int64_t output_count(const Pool2dGeometry& g) { return g.planes * g.out_height * g.out_width; }
int64_t input_count(const Pool2dGeometry& g) { return g.planes * g.height * g.width; }
}  // namespace

template <typename T>
void max_pool2d_forward(T* y, int64_t* argmax, const T* x, const Pool2dGeometry& g) {
    const int64_t count = output_count(g);
    if (count == 0) return;
    KILN_LAUNCH(max_pool2d_forward_kernel<T>, blocks_for(count, threads_per_block), threads_per_block, 0, y, argmax, x,
                g, count);
}

template <typename T>
void max_pool2d_backward(T* dx, const T* dy, const int64_t* argmax, const Pool2dGeometry& g) {
    const int64_t count = input_count(g);
    if (count == 0) return;
    KILN_LAUNCH(max_pool2d_backward_kernel<T>, blocks_for(count, threads_per_block), threads_per_block, 0, dx, dy,
                argmax, g, count);
}

template <typename T>
void avg_pool2d_forward(T* y, const T* x, const Pool2dGeometry& g, bool count_include_pad) {
    const int64_t count = output_count(g);
    if (count == 0) return;
    KILN_LAUNCH(avg_pool2d_forward_kernel<T>, blocks_for(count, threads_per_block), threads_per_block, 0, y, x, g,
                count_include_pad, count);
}

template <typename T>
void avg_pool2d_backward(T* dx, const T* dy, const Pool2dGeometry& g, bool count_include_pad) {
    const int64_t count = input_count(g);
    if (count == 0) return;
    KILN_LAUNCH(avg_pool2d_backward_kernel<T>, blocks_for(count, threads_per_block), threads_per_block, 0, dx, dy, g,
                count_include_pad, count);
}

template <typename T>
void adaptive_avg_pool2d_forward(T* y, const T* x, const Pool2dGeometry& g) {
    const int64_t count = output_count(g);
    if (count == 0) return;
    KILN_LAUNCH(adaptive_avg_pool2d_forward_kernel<T>, blocks_for(count, threads_per_block), threads_per_block, 0, y,
                x, g, count);
}

template <typename T>
void adaptive_avg_pool2d_backward(T* dx, const T* dy, const Pool2dGeometry& g) {
    const int64_t count = input_count(g);
    if (count == 0) return;
    KILN_LAUNCH(adaptive_avg_pool2d_backward_kernel<T>, blocks_for(count, threads_per_block), threads_per_block, 0,
                dx, dy, g, count);
}

#define KILN_POOL(T)                                                                                     \
    template void max_pool2d_forward<T>(T*, int64_t*, const T*, const Pool2dGeometry&);                  \
    template void max_pool2d_backward<T>(T*, const T*, const int64_t*, const Pool2dGeometry&);           \
    template void avg_pool2d_forward<T>(T*, const T*, const Pool2dGeometry&, bool);                      \
    template void avg_pool2d_backward<T>(T*, const T*, const Pool2dGeometry&, bool);                     \
    template void adaptive_avg_pool2d_forward<T>(T*, const T*, const Pool2dGeometry&);                   \
    template void adaptive_avg_pool2d_backward<T>(T*, const T*, const Pool2dGeometry&);
KILN_POOL(float)
KILN_POOL(double)
#undef KILN_POOL

}  // namespace kiln::KILN_CUDA_NS
