// cuDNN batch normalisation behind kiln's batch_norm (batch_norm.h).
// x [N, C, S] is described to cuDNN as NCHW [N, C, S, 1]; the per-channel
// tensors (weight, bias, running and saved statistics) as [1, C, 1, 1]
// (cudnnDeriveBNTensorDescriptor), of x's type.
#include "kernels/cuda/vendor/batch_norm.h"

#include "kernels/cuda/vendor/activation.h"

#define KILN_CUDA_NS cuda
#include "kernels/cuda/batch_norm.h"  // the hand-written eval backward
#undef KILN_CUDA_NS
#include "kernels/cuda/vendor/handles.h"

namespace kiln::vendor {

namespace {

constexpr cudnnBatchNormMode_t mode = CUDNN_BATCHNORM_SPATIAL;

template <typename T>
struct BatchNormDescriptors {
    TensorDescriptor x, channel;
    BatchNormDescriptors(int64_t N, int64_t C, int64_t S) {
        set_tensor<T>(x, N, C, S, 1);
        check(cudnnDeriveBNTensorDescriptor(channel, x, mode), "cudnnDeriveBNTensorDescriptor");
    }
};

// The unary op of a batch norm activation (relu or relu6; none has none).
math::UnaryOp unary_op(math::BatchNormActivation activation) {
    return activation == math::BatchNormActivation::relu6 ? math::UnaryOp::relu6 : math::UnaryOp::relu;
}

// y = act(y) in place, by cuDNN's activation (relu6, which cuDNN lacks as
// such: kiln's kernel; none: nothing to do).
template <typename T>
void activate_in_place(math::BatchNormActivation activation, T* y, int64_t count) {
    if (activation != math::BatchNormActivation::none) unary_forward(unary_op(activation), {}, y, y, count);
}

}  // namespace

template <typename T>
void batch_norm_forward_training(T* y, T* mean, T* rstd, T* running_mean, T* running_var, const T* x,
                                 const T* weight, const T* bias, int64_t N, int64_t C, int64_t S, double momentum,
                                 double eps, math::BatchNormActivation activation) {
    const BatchNormDescriptors<T> d(N, C, S);
    const T one = 1, zero = 0;
    // Without running statistics cuDNN needs both pointers null (and then ignores the factor).
    check(cudnnBatchNormalizationForwardTraining(
              cudnn_handle(), mode, &one, &zero, d.x, x, d.x, y, d.channel, weight ? weight : constant_array(T(1), C),
              bias ? bias : constant_array(T(0), C), momentum, running_mean, running_var, eps, mean, rstd),
          "cudnnBatchNormalizationForwardTraining");
    activate_in_place(activation, y, N * C * S);
}

template <typename T>
void batch_norm_forward_inference(T* y, const T* x, const T* running_mean, const T* running_var, const T* weight,
                                  const T* bias, int64_t N, int64_t C, int64_t S, double eps,
                                  math::BatchNormActivation activation) {
    const BatchNormDescriptors<T> d(N, C, S);
    const T one = 1, zero = 0;
    check(cudnnBatchNormalizationForwardInference(cudnn_handle(), mode, &one, &zero, d.x, x, d.x, y, d.channel,
                                                  weight ? weight : constant_array(T(1), C),
                                                  bias ? bias : constant_array(T(0), C), running_mean, running_var,
                                                  eps),
          "cudnnBatchNormalizationForwardInference");
    activate_in_place(activation, y, N * C * S);
}

template <typename T>
void batch_norm_backward(T* dx, T* dweight, T* dbias, const T* dy, const T* x, const T* y, const T* mean,
                         const T* rstd, const T* weight, int64_t N, int64_t C, int64_t S, bool training,
                         math::BatchNormActivation activation) {
    if (!training) {
        kiln::cuda::batch_norm_backward(dx, dweight, dbias, dy, x, y, mean, rstd, weight, N, C, S, training,
                                        activation);
        return;
    }
    const BatchNormDescriptors<T> d(N, C, S);
    const int64_t count = N * C * S;
    // cuDNN writes all three gradients: the ones nobody asked for go to scratch
    // in the workspace, laid out [dx (N C S) | dweight (C) | dbias (C) | dz (N C S, with an activation)].
    const bool activated = activation != math::BatchNormActivation::none;
    T* scratch = static_cast<T*>(workspace(size_t(count + 2 * C + (activated ? count : 0)) * sizeof(T)));
    if (activated) {  // dz = dy act'(y): the activation backward, with y standing for its input too (act(y) = y)
        T* dz = scratch + count + 2 * C;
        unary_backward_overwrite(unary_op(activation), {}, dz, dy, y, y, count);
        dy = dz;
    }
    const T one = 1, zero = 0;  // dx written (beta 0: not read), dweight and dbias added into (beta 1)
    // eps only matters when mean and rstd are not given; they always are (rstd already includes eps).
    constexpr double unused_eps = 1e-5;
    check(cudnnBatchNormalizationBackward(cudnn_handle(), mode, &one, &zero, &one, &one, d.x, x, d.x, dy, d.x,
                                          dx ? dx : scratch, d.channel, weight ? weight : constant_array(T(1), C),
                                          dweight ? dweight : scratch + N * C * S,
                                          dbias ? dbias : scratch + N * C * S + C, unused_eps, mean, rstd),
          "cudnnBatchNormalizationBackward");
}

#define KILN_INSTANTIATE(T)                                                                                        \
    template void batch_norm_forward_training<T>(T*, T*, T*, T*, T*, const T*, const T*, const T*, int64_t,          \
                                                 int64_t, int64_t, double, double, math::BatchNormActivation);     \
    template void batch_norm_forward_inference<T>(T*, const T*, const T*, const T*, const T*, const T*, int64_t,     \
                                                  int64_t, int64_t, double, math::BatchNormActivation);            \
    template void batch_norm_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*, const T*,     \
                                         int64_t, int64_t, int64_t, bool, math::BatchNormActivation);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

}  // namespace kiln::vendor
