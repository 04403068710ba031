// Inverted dropout with the Philox mask of kernels/common/dropout.h (dropout.cu).
// The same signatures as kernels/cpu/dropout.h, in namespace kiln::KILN_CUDA_NS.
// No include guard on purpose: kernels/backends.h includes this file once for
// each build (namespace kiln::emu, and kiln::cuda when nvcc exists), with
// KILN_CUDA_NS naming it.
#include <cstdint>

namespace kiln::KILN_CUDA_NS {

template <typename T>
void dropout_forward(T* y, const T* x, int64_t count, int64_t group, double p, uint64_t seed, uint64_t offset);
template <typename T>
void dropout_backward(T* dx, const T* dy, int64_t count, int64_t group, double p, uint64_t seed, uint64_t offset);

}  // namespace kiln::KILN_CUDA_NS
