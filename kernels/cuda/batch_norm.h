// Batch normalisation over x [N, C, S] (batch_norm.cu).
// The same signatures as kernels/cpu/batch_norm.h, in namespace kiln::KILN_CUDA_NS.
// No include guard on purpose: kernels/backends.h includes this file once for
// each build (namespace kiln::emu, and kiln::cuda when nvcc exists), with
// KILN_CUDA_NS naming it.
#include <cstdint>

#include "kernels/common/batch_norm.h"  // math::BatchNormActivation

namespace kiln::KILN_CUDA_NS {

template <typename T>
void batch_norm_batch_statistics(T* mean, T* rstd, T* running_mean, T* running_var, const T* x, int64_t N, int64_t C,
                                 int64_t S, double momentum, double eps);
template <typename T>
void batch_norm_running_statistics(T* mean, T* rstd, const T* running_mean, const T* running_var, int64_t C,
                                   double eps);
template <typename T>
void batch_norm_forward(T* y, const T* x, const T* mean, const T* rstd, const T* weight, const T* bias, int64_t N,
                        int64_t C, int64_t S, math::BatchNormActivation activation);
// As kiln::cpu::batch_norm_backward: writes dx, adds into dweight and dbias.
template <typename T>
void batch_norm_backward(T* dx, T* dweight, T* dbias, const T* dy, const T* x, const T* y, const T* mean,
                         const T* rstd, const T* weight, int64_t N, int64_t C, int64_t S, bool training,
                         math::BatchNormActivation activation);

}  // namespace kiln::KILN_CUDA_NS
