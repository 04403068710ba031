// softmax and log_softmax along the middle axis of [outer, reduce, inner] (softmax.cu).
// The same signatures as kernels/cpu/softmax.h, in namespace kiln::KILN_CUDA_NS.
// No include guard on purpose: kernels/backends.h includes this file once for
// each build (namespace kiln::emu, and kiln::cuda when nvcc exists), with
// KILN_CUDA_NS naming it.
#include <cstdint>

namespace kiln::KILN_CUDA_NS {

template <typename T>
void softmax_forward(T* y, const T* x, int64_t outer, int64_t reduce, int64_t inner);
template <typename T>
void softmax_backward(T* dx, const T* dy, const T* y, int64_t outer, int64_t reduce, int64_t inner);
template <typename T>
void log_softmax_forward(T* y, const T* x, int64_t outer, int64_t reduce, int64_t inner);
template <typename T>
void log_softmax_backward(T* dx, const T* dy, const T* y, int64_t outer, int64_t reduce, int64_t inner);

}  // namespace kiln::KILN_CUDA_NS
