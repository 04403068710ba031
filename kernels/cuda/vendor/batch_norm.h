#pragma once
// cuDNN batch normalisation (batch_norm.cpp) over x [N, C, S] (S = H W ...),
// CUDNN_BATCHNORM_SPATIAL: one mean and variance per channel over N and S.
// Same conventions as kernels/cpu/batch_norm.h: mean and rstd = 1/sqrt(var + eps)
// are saved for the backward; the running variance tracks the unbiased
// variance; running = (1 - momentum) running + momentum batch (cuDNN's
// exponentialAverageFactor is kiln's momentum). weight and bias may be null
// (= 1 and 0: cuDNN needs them, so a cached device array of ones / zeros
// stands in).
//
// With activation = relu (batch_norm_relu): cuDNN's batch norm followed by
// cuDNN's relu (activation.h; relu6, which cuDNN has only as a clipped relu
// with clamp's gradient at the bounds: kiln's own kernel), as two calls with the normalised values in
// memory between them: cuDNN's fused BN + activation
// (cudnnBatchNormalizationForwardTrainingEx, CUDNN_BATCHNORM_OPS_BN_ACTIVATION)
// takes NHWC half-precision tensors only, not kiln's NCHW float. This is the
// reference the hand-written fused kernels are measured against.
#include <cstdint>

#include "kernels/common/batch_norm.h"  // math::BatchNormActivation

namespace kiln::vendor {

// Training: batch statistics, running statistics updated in place (when not
// null), y = act(weight (x - mean) rstd + bias); mean and rstd [C] written.
template <typename T>
void batch_norm_forward_training(T* y, T* mean, T* rstd, T* running_mean, T* running_var, const T* x,
                                 const T* weight, const T* bias, int64_t N, int64_t C, int64_t S, double momentum,
                                 double eps, math::BatchNormActivation activation);
// Eval: y = act(weight (x - running_mean) / sqrt(running_var + eps) + bias).
template <typename T>
void batch_norm_forward_inference(T* y, const T* x, const T* running_mean, const T* running_var, const T* weight,
                                  const T* bias, int64_t N, int64_t C, int64_t S, double eps,
                                  math::BatchNormActivation activation);
// The same signature as kiln::cuda::batch_norm_backward; writes dx, adds into
// dweight, dbias (any may be null). With relu, cuDNN's activation backward
// (relu6: kiln's kernel) first writes dz = dy act'(y) into the workspace, and the batch norm
// backward runs on dz. cuDNN has a training backward only: with training =
// false this calls the hand-written kernel (dx = dz weight rstd).
template <typename T>
void batch_norm_backward(T* dx, T* dweight, T* dbias, const T* dy, const T* x, const T* y, const T* mean,
                         const T* rstd, const T* weight, int64_t N, int64_t C, int64_t S, bool training,
                         math::BatchNormActivation activation);

}  // namespace kiln::vendor
