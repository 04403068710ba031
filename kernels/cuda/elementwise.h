// Element-wise unary and broadcasting binary ops (elementwise.cu).
// The same signatures as kernels/cpu/elementwise.h, in namespace kiln::KILN_CUDA_NS.
// No include guard on purpose: kernels/backends.h includes this file once for
// each build (namespace kiln::emu, and kiln::cuda when nvcc exists), with
// KILN_CUDA_NS naming it.
#include <cstdint>
#include <vector>

#include "kernels/common/elementwise.h"

namespace kiln::KILN_CUDA_NS {

template <typename T>
void unary_forward(math::UnaryOp op, const math::UnaryParams& params, T* y, const T* x, int64_t count);
template <typename T>
void unary_backward(math::UnaryOp op, const math::UnaryParams& params, T* dx, const T* dy, const T* x, const T* y,
                    int64_t count);
template <typename T>
void binary_forward(math::BinaryOp op, T* out, const T* a, const std::vector<int64_t>& a_strides, const T* b,
                    const std::vector<int64_t>& b_strides, const std::vector<int64_t>& shape);
template <typename T>
void binary_backward(math::BinaryOp op, T* da, T* db, const T* dy, const T* a, const std::vector<int64_t>& a_strides,
                     const T* b, const std::vector<int64_t>& b_strides, const std::vector<int64_t>& shape);

}  // namespace kiln::KILN_CUDA_NS
