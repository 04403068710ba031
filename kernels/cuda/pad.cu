// pad: constant (any dims, negative pads crop), reflect and replicate (the
// last 1 or 2 dims). Index maps: kernels/common/pad.h; cpu reference:
// kernels/cpu/pad.cpp.
//   forward:  y[o] = x[source(o)], or `value` where a constant pad reads outside x
//   backward: dx[i] += sum of dy[o] over every o with source(o) == i
//
// Launch: 256 threads per block, no shared memory, no barriers.
//   - forward: a thread per output element; it maps its index dim by dim with
//     pad_source_index.
//   - backward: a thread per INPUT element, gathering the outputs that read it
//     (pad_outputs_reading, the inverse map). Reflect and replicate send
//     several outputs to one input, and a gather adds them in one thread
//     without atomics, in a fixed order (reproducible on a GPU too). Only the
//     last two dims can have more than one such output (the engine allows
//     reflect and replicate there only; a constant pad has at most one per
//     dim), so a thread walks at most 3 x 3 ranges of the last two dims.
// The kernels see at least two dims: the host puts a leading dim of size 1
// in front of a 1-d shape.
#include "kernels/cuda/cuda_common.h"
#include "kernels/cuda/pad.h"
#include "kernels/cuda/strided.h"

namespace kiln::KILN_CUDA_NS {

// Shapes by value for the kernels (ndim >= 2). Outside the anonymous
// namespace: the emu launch captures it in a lambda of the exported wrappers.
struct PadLayout {
    int ndim = 0;
    int64_t in_shape[math::max_dims] = {}, before[math::max_dims] = {}, out_shape[math::max_dims] = {};
};

namespace {

constexpr unsigned threads_per_block = 256;

PadLayout make_pad_layout(const std::vector<int64_t>& in_shape, const std::vector<int64_t>& before,
                          const std::vector<int64_t>& out_shape) {
    const size_t lead = in_shape.size() < 2 ? 2 - in_shape.size() : 0;  // size-1 dims put in front
    KILN_CHECK(in_shape.size() + lead <= size_t(math::max_dims), "pad: ", in_shape.size(),
               " dims, the cuda kernels support at most ", math::max_dims);
    PadLayout layout;
    layout.ndim = int(in_shape.size() + lead);
    for (size_t d = 0; d < size_t(layout.ndim); ++d) {
        const bool front = d < lead;
        layout.in_shape[d] = front ? 1 : in_shape[d - lead];
        layout.before[d] = front ? 0 : before[d - lead];
        layout.out_shape[d] = front ? 1 : out_shape[d - lead];
    }
    return layout;
}

int64_t element_count(const int64_t* shape, int ndim) {
    int64_t count = 1;
    for (int d = 0; d < ndim; ++d) count *= shape[d];
    return count;
}

template <typename T>
__global__ void pad_forward_kernel(T* y, const T* x, PadLayout layout, math::PadKind kind, T value, int64_t count) {
    const int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (o >= count) return;
    int64_t rest = o, offset = 0, stride = 1;
    bool fill = false;
    for (int d = layout.ndim - 1; d >= 0; --d) {
        const int64_t i =
            math::pad_source_index(rest % layout.out_shape[d], layout.before[d], layout.in_shape[d], kind);
        rest /= layout.out_shape[d];
        fill = fill || i < 0;
        offset += i * stride;
        stride *= layout.in_shape[d];
    }
    y[o] = fill ? value : x[offset];
}

template <typename T>
__global__ void pad_backward_kernel(T* dx, const T* dy, PadLayout layout, math::PadKind kind, int64_t count) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= count) return;
    const int rows_dim = layout.ndim - 2, columns_dim = layout.ndim - 1;
    int64_t rest = i, base = 0, out_stride = 1;  // base: dy offset of the leading dims' output
    math::PadOutputRanges rows, columns;
    int64_t row_stride = 0;
    for (int d = layout.ndim - 1; d >= 0; --d) {
        const int64_t index = rest % layout.in_shape[d];
        rest /= layout.in_shape[d];
        const math::PadOutputRanges ranges =
            math::pad_outputs_reading(index, layout.before[d], layout.in_shape[d], layout.out_shape[d], kind);
        if (d == columns_dim) {
            columns = ranges;
        } else if (d == rows_dim) {
            rows = ranges;
            row_stride = out_stride;
        } else {
            if (ranges.count == 0) return;  // cropped away: nothing reads this input
            base += ranges.first[0] * out_stride;  // a leading dim has one output per input
        }
        out_stride *= layout.out_shape[d];
    }
    T total = 0;
    for (int a = 0; a < rows.count; ++a)
        for (int64_t oh = rows.first[a]; oh <= rows.last[a]; ++oh)
            for (int b = 0; b < columns.count; ++b)
                for (int64_t ow = columns.first[b]; ow <= columns.last[b]; ++ow)
                    total += dy[base + oh * row_stride + ow];
    dx[i] += total;
}

}  // namespace

template <typename T>
void pad_forward(T* y, const T* x, const std::vector<int64_t>& in_shape, const std::vector<int64_t>& before,
                 const std::vector<int64_t>& out_shape, math::PadKind kind, double value) {
    const PadLayout layout = make_pad_layout(in_shape, before, out_shape);
    const int64_t count = element_count(layout.out_shape, layout.ndim);
    if (count == 0) return;
    KILN_LAUNCH(pad_forward_kernel<T>, blocks_for(count, threads_per_block), threads_per_block, 0, y, x, layout, kind,
                T(value), count);
}

template <typename T>
void pad_backward(T* dx, const T* dy, const std::vector<int64_t>& in_shape, const std::vector<int64_t>& before,
                  const std::vector<int64_t>& out_shape, math::PadKind kind) {
    const PadLayout layout = make_pad_layout(in_shape, before, out_shape);
    const int64_t count = element_count(layout.in_shape, layout.ndim);
    if (count == 0) return;
    KILN_LAUNCH(pad_backward_kernel<T>, blocks_for(count, threads_per_block), threads_per_block, 0, dx, dy, layout,
                kind, count);
}

#define KILN_PAD(T)                                                                                            \
    template void pad_forward<T>(T*, const T*, const std::vector<int64_t>&, const std::vector<int64_t>&,       \
                                 const std::vector<int64_t>&, math::PadKind, double);                          \
    template void pad_backward<T>(T*, const T*, const std::vector<int64_t>&, const std::vector<int64_t>&,      \
                                  const std::vector<int64_t>&, math::PadKind);
KILN_PAD(float)
KILN_PAD(double)
#undef KILN_PAD

}  // namespace kiln::KILN_CUDA_NS
