#pragma once
// Batch normalisation over x [N, C, S] (S = H * W, or 1 for x [N, C]); each
// channel c is normalised over its m = N * S values.
//
// training: mean = sum x / m,  var = sum (x - mean)^2 / m  (biased),  rstd = 1 / sqrt(var + eps)
//           running_mean = (1 - momentum) running_mean + momentum mean
//           running_var  = (1 - momentum) running_var  + momentum var m / (m - 1)   (unbiased)
// eval:     mean = running_mean,  rstd = 1 / sqrt(running_var + eps)
//
// y = gamma * (x - mean) * rstd + beta
// training backward (mean and rstd depend on x):
//   dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)),  dxhat = dy * gamma,  xhat = (x - mean) * rstd
// eval backward (mean and rstd are constants):
//   dx = dy * gamma * rstd
// dgamma = sum dy * xhat,  dbeta = sum dy   (sums over N and S)
//
// Fused with relu or relu6 (activation = relu, batch_norm_relu; relu6,
// batch_norm_relu6): y = act(gamma * xhat + beta), and the backward first takes
// dy through the activation with the saved output y (relu: dz = dy where y > 0;
// relu6: where 0 < y < 6; else 0), then runs the formulas above on dz.
//
// The forward saves exactly what the backward needs: mean and rstd per channel
// (and, with an activation, the output y, which the next layer keeps anyway).
// gamma (weight) and beta (bias) may be null (= 1 and 0); so may the
// running statistics in training and the gradients not wanted in backward.
// The engine (engine/ops/batch_norm.cpp) checks the arguments; training needs m > 1.
// The per-channel and per-element formulas live once, in kernels/common/batch_norm.h,
// shared with the CUDA kernels (kernels/cuda/batch_norm.cu).
#include <cstdint>

#include "kernels/common/batch_norm.h"  // math::BatchNormActivation

namespace kiln::cpu {

// mean, rstd [C] from the batch; updates running_mean, running_var [C] in place when not null.
template <typename T>
void batch_norm_batch_statistics(T* mean, T* rstd, T* running_mean, T* running_var, const T* x, int64_t N, int64_t C,
                                 int64_t S, double momentum, double eps);

// mean, rstd [C] from the running statistics (eval mode).
template <typename T>
void batch_norm_running_statistics(T* mean, T* rstd, const T* running_mean, const T* running_var, int64_t C,
                                   double eps);

// y = act(gamma (x - mean) rstd + beta), act = identity, relu or relu6.
template <typename T>
void batch_norm_forward(T* y, const T* x, const T* mean, const T* rstd, const T* weight, const T* bias, int64_t N,
                        int64_t C, int64_t S, math::BatchNormActivation activation);

// Writes dx [N, C, S] (it need not be zeroed: a fresh gradient, neither read
// nor zero-filled first) and adds into dweight [C], dbias [C] (each may be
// null). y is the forward's output, read only with an activation (may be
// null without).
template <typename T>
void batch_norm_backward(T* dx, T* dweight, T* dbias, const T* dy, const T* x, const T* y, const T* mean,
                         const T* rstd, const T* weight, int64_t N, int64_t C, int64_t S, bool training,
                         math::BatchNormActivation activation);

}  // namespace kiln::cpu
