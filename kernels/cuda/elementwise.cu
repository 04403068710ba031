// Element-wise unary and broadcasting binary ops (formulas: kernels/common/elementwise.h).
//
// Launch: one thread per output element, 256 threads per block, as many
// blocks as needed. The binary backward adds into da/db with atomicAdd:
// under broadcasting several outputs feed one input element (so these sums
// are not bit-reproducible on a GPU; the order is fixed under emu).
#include "kernels/cuda/cuda_common.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/strided.h"

namespace kiln::KILN_CUDA_NS {

namespace {
constexpr unsigned threads_per_block = 256;

template <typename T>
__global__ void unary_forward_kernel(math::UnaryOp op, math::UnaryParams params, T* y, const T* x, int64_t count) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < count) y[i] = math::unary_forward(op, x[i], params);
}

template <typename T>
__global__ void unary_backward_kernel(math::UnaryOp op, math::UnaryParams params, T* dx, const T* dy, const T* x,
                                      const T* y, int64_t count) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < count) dx[i] += dy[i] * math::unary_derivative(op, x[i], y[i], params);
}

template <typename T>
__global__ void binary_forward_kernel(math::BinaryOp op, T* out, const T* a, math::StridedLayout a_layout, const T* b,
                                      math::StridedLayout b_layout, int64_t count) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < count) out[i] = math::binary_forward(op, a[math::strided_offset(a_layout, i)], b[math::strided_offset(b_layout, i)]);
}

template <typename T>
__global__ void binary_backward_kernel(math::BinaryOp op, T* da, T* db, const T* dy, const T* a,
                                       math::StridedLayout a_layout, const T* b, math::StridedLayout b_layout,
                                       int64_t count) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= count) return;
    const int64_t a_offset = math::strided_offset(a_layout, i), b_offset = math::strided_offset(b_layout, i);
    const T av = a[a_offset], bv = b[b_offset];
    if (da) atomicAdd(&da[a_offset], dy[i] * math::binary_derivative_a(op, av, bv));
    if (db) atomicAdd(&db[b_offset], dy[i] * math::binary_derivative_b(op, av, bv));
}
}  // namespace

template <typename T>
void unary_forward(math::UnaryOp op, const math::UnaryParams& params, T* y, const T* x, int64_t count) {
    if (count == 0) return;
    KILN_LAUNCH(unary_forward_kernel<T>, blocks_for(count, threads_per_block), threads_per_block, 0, op, params, y, x,
                count);
}

template <typename T>
void unary_backward(math::UnaryOp op, const math::UnaryParams& params, T* dx, const T* dy, const T* x, const T* y,
                    int64_t count) {
    if (count == 0) return;
    KILN_LAUNCH(unary_backward_kernel<T>, blocks_for(count, threads_per_block), threads_per_block, 0, op, params, dx,
                dy, x, y, count);
}

template <typename T>
void binary_forward(math::BinaryOp op, T* out, const T* a, const std::vector<int64_t>& a_strides, const T* b,
                    const std::vector<int64_t>& b_strides, const std::vector<int64_t>& shape) {
    int64_t count = 1;
    for (int64_t size : shape) count *= size;
    if (count == 0) return;
    KILN_LAUNCH(binary_forward_kernel<T>, blocks_for(count, threads_per_block), threads_per_block, 0, op, out, a,
                math::make_layout(shape, a_strides), b, math::make_layout(shape, b_strides), count);
}

template <typename T>
void binary_backward(math::BinaryOp op, T* da, T* db, const T* dy, const T* a, const std::vector<int64_t>& a_strides,
                     const T* b, const std::vector<int64_t>& b_strides, const std::vector<int64_t>& shape) {
    int64_t count = 1;
    for (int64_t size : shape) count *= size;
    if (count == 0) return;
    KILN_LAUNCH(binary_backward_kernel<T>, blocks_for(count, threads_per_block), threads_per_block, 0, op, da, db, dy,
                a, math::make_layout(shape, a_strides), b, math::make_layout(shape, b_strides), count);
}

#define KILN_ELEMENTWISE(T)                                                                                       \
    template void unary_forward<T>(math::UnaryOp, const math::UnaryParams&, T*, const T*, int64_t);              \
    template void unary_backward<T>(math::UnaryOp, const math::UnaryParams&, T*, const T*, const T*, const T*,   \
                                    int64_t);                                                                    \
    template void binary_forward<T>(math::BinaryOp, T*, const T*, const std::vector<int64_t>&, const T*,         \
                                    const std::vector<int64_t>&, const std::vector<int64_t>&);                   \
    template void binary_backward<T>(math::BinaryOp, T*, T*, const T*, const T*, const std::vector<int64_t>&,    \
                                     const T*, const std::vector<int64_t>&, const std::vector<int64_t>&);
KILN_ELEMENTWISE(float)
KILN_ELEMENTWISE(double)
#undef KILN_ELEMENTWISE

}  // namespace kiln::KILN_CUDA_NS
