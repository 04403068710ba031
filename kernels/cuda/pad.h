// Constant, reflect and replicate padding (pad.cu).
// The same signatures as kernels/cpu/pad.h, in namespace kiln::KILN_CUDA_NS.
// No include guard on purpose: kernels/backends.h includes this file once for
// each build (namespace kiln::emu, and kiln::cuda when nvcc exists), with
// KILN_CUDA_NS naming it.
#include <cstdint>
#include <vector>

#include "kernels/common/pad.h"

namespace kiln::KILN_CUDA_NS {

template <typename T>
void pad_forward(T* y, const T* x, const std::vector<int64_t>& in_shape, const std::vector<int64_t>& before,
                 const std::vector<int64_t>& out_shape, math::PadKind kind, double value);
template <typename T>
void pad_backward(T* dx, const T* dy, const std::vector<int64_t>& in_shape, const std::vector<int64_t>& before,
                  const std::vector<int64_t>& out_shape, math::PadKind kind);

}  // namespace kiln::KILN_CUDA_NS
