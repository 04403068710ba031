#pragma once
// Batch normalisation's per-channel and per-element formulas, shared by every
// backend (kernels/cpu/batch_norm.cpp, kernels/cuda/batch_norm.cu). The
// kernels only sum over a channel and call these. Statistics are in double.
//
//   rstd = 1 / sqrt(var + eps)
//   running = (1 - momentum) running + momentum batch      (the variance unbiased: var m / (m - 1))
//   y = gamma (x - mean) rstd + beta = scale x + shift,   scale = gamma rstd,  shift = beta - mean scale
//   dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)),  dxhat = dy gamma   (training)
//   dx = rstd dxhat                                                              (eval: both means are 0)
//
// Fused with an activation (batch_norm_relu, batch_norm_relu6): y = act(gamma
// xhat + beta); the backward takes dy through the activation first, from the
// saved output y (relu passes where y > 0, i.e. where the pre-activation was
// > 0: relu'(0) = 0 as PyTorch; relu6 where 0 < y < 6, i.e. 0 < pre-activation
// < 6: PyTorch's hardtanh rule, see activation.h), then runs the batch norm
// backward on that:
//   dz = dy act'(y),  dxhat = dz gamma,  dgamma = sum dz xhat,  dbeta = sum dz
// so the pre-activation is never stored.
#include <cmath>
#include <cstdint>

#include "kernels/common/activation.h"
#include "kernels/common/hd.h"

namespace kiln::math {

KILN_HD double batch_norm_rstd(double variance, double eps) { return 1 / std::sqrt(variance + eps); }

KILN_HD double running_average(double running, double batch_value, double momentum) {
    return (1 - momentum) * running + momentum * batch_value;
}

// The running variance tracks the unbiased estimate of the m values' variance.
KILN_HD double unbiased_variance(double biased_variance, int64_t m) {
    return biased_variance * double(m) / double(m - 1);
}

// The end of the batch statistics of channel c, from its mean and biased
// variance over m values: mean and rstd for normalising, and (when given) the
// running statistics, r <- (1 - momentum) r + momentum * batch statistic, with
// the unbiased variance for running_var. Shared by the cpu loop and the CUDA
// kernel (thread 0 of the channel's block).
template <typename T>
KILN_HD void store_batch_statistics(int64_t c, double channel_mean, double variance, int64_t m, double momentum,
                                    double eps, T* mean, T* rstd, T* running_mean, T* running_var) {
    mean[c] = T(channel_mean);
    rstd[c] = T(batch_norm_rstd(variance, eps));
    if (running_mean) running_mean[c] = T(running_average(double(running_mean[c]), channel_mean, momentum));
    if (running_var)
        running_var[c] = T(running_average(double(running_var[c]), unbiased_variance(variance, m), momentum));
}

// The activation a batch norm kernel applies to its output: none
// (batch_norm), relu (batch_norm_relu) or relu6 (batch_norm_relu6).
enum class BatchNormActivation { none, relu, relu6 };

// act(v) of one normalised value v = scale x + shift.
template <typename T>
KILN_HD T batch_norm_activate(BatchNormActivation activation, T v) {
    switch (activation) {
        case BatchNormActivation::relu: return relu(v);
        case BatchNormActivation::relu6: return relu6(v);
        case BatchNormActivation::none: break;
    }
    return v;
}

// y = act(x scale + shift): the eval batch norm's output from one value and
// its channel's affine (batch_norm_affine), with the activation fused; T is a
// scalar, or a SIMD vector of values on cpu (the convolutions' register tiles).
template <typename T>
KILN_HD T batch_norm_output(BatchNormActivation activation, T x, T scale, T shift) {
    return batch_norm_activate(activation, x * scale + shift);
}

// dz = dy act'(.): the gradient at the normalised value, from dy and the
// forward's output y (relu: y > 0 exactly where its input was > 0; relu6:
// 0 < y < 6 exactly where 0 < input < 6); without an activation y is unused
// (callers pass 0, there is no output to read). The same product dy * act'(.)
// as the relu and relu6 ops' backward, so fused and unfused give the same bits.
template <typename T>
KILN_HD T batch_norm_activation_gradient(BatchNormActivation activation, T dy, T y) {
    switch (activation) {
        case BatchNormActivation::relu: return dy * relu_derivative(y);
        case BatchNormActivation::relu6: return dy * relu6_derivative(y);
        case BatchNormActivation::none: break;
    }
    return dy;
}

// y = scale x + shift for channel c; weight (gamma) and bias (beta) may be null (= 1 and 0).
template <typename T>
struct BatchNormAffine {
    T scale, shift;
};
template <typename T>
KILN_HD BatchNormAffine<T> batch_norm_affine(const T* mean, const T* rstd, const T* weight, const T* bias, int64_t c) {
    const T scale = (weight ? weight[c] : T(1)) * rstd[c];
    return {scale, (bias ? bias[c] : T(0)) - mean[c] * scale};
}

// An eval-mode batch norm and activation applied to a convolution's output
// as the convolution writes it (conv2d_batch_norm, inference): y = act(conv
// scale + shift) per output channel, scale and shift from batch_norm_affine
// over the running statistics (mean = running_mean, rstd from running_var),
// the same per-element formula as batch_norm's forward, so the output has
// batch_norm's bits. mean null: no epilogue (plain conv2d).
template <typename T>
struct BatchNormEpilogue {
    const T* mean = nullptr;
    const T* rstd = nullptr;
    const T* weight = nullptr;  // gamma, may be null (= 1)
    const T* bias = nullptr;    // beta, may be null (= 0)
    BatchNormActivation activation = BatchNormActivation::none;
    KILN_HD explicit operator bool() const { return mean != nullptr; }
};

// The two channel means of the training backward, from the channel's sums
// sum dy and sum dy xhat over its m values (dxhat = gamma dy; with an
// activation dy here is dz, the gradient at the normalised value); zero in
// eval mode, where mean and rstd are constants.
struct BatchNormGradientMeans {
    double dxhat, dxhat_xhat;  // mean(dxhat), mean(dxhat xhat)
};
KILN_HD BatchNormGradientMeans batch_norm_gradient_means(double gamma, double sum_dy, double sum_dy_xhat, int64_t m,
                                                         bool training) {
    if (!training) return {0, 0};
    return {gamma * sum_dy / double(m), gamma * sum_dy_xhat / double(m)};
}

// dx of one element: rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)), dxhat = gamma dy (dz).
KILN_HD double batch_norm_input_gradient(double rstd, double gamma, double dy, double xhat,
                                         const BatchNormGradientMeans& means) {
    return rstd * (gamma * dy - means.dxhat - xhat * means.dxhat_xhat);
}

}  // namespace kiln::math
