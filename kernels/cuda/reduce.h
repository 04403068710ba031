// Sum and max/arg-max over the middle axis of [outer, reduce, inner] (reduce.cu).
// The same signatures as kernels/cpu/reduce.h, in namespace kiln::KILN_CUDA_NS.
// No include guard on purpose: kernels/backends.h includes this file once for
// each build (namespace kiln::emu, and kiln::cuda when nvcc exists), with
// KILN_CUDA_NS naming it.
#include <cstdint>
#include <vector>

namespace kiln::KILN_CUDA_NS {

template <typename T>
void sum_forward(T* out, const T* in, int64_t outer, int64_t reduce, int64_t inner);
template <typename T>
void max_forward(T* values, int64_t* indices, const T* in, int64_t outer, int64_t reduce, int64_t inner);
template <typename T>
void max_backward(T* dx, const T* dy, const int64_t* indices, int64_t outer, int64_t reduce, int64_t inner);

}  // namespace kiln::KILN_CUDA_NS
