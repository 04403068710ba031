// cuDNN activations behind kiln's unary kernels (activation.h). The count
// elements are described as one [1, 1, 1, n] tensor, in chunks of at most
// 2^30 elements (cuDNN takes int sizes). Ops cuDNN lacks go to the
// hand-written kernel.
#include "kernels/cuda/vendor/activation.h"

#include <algorithm>

#define KILN_CUDA_NS cuda
#include "kernels/cuda/elementwise.h"  // the hand-written kernels, for the ops cuDNN lacks
#undef KILN_CUDA_NS
#include "kernels/cuda/vendor/handles.h"

namespace kiln::vendor {

namespace {

constexpr int64_t chunk = int64_t(1) << 30;

cudnnActivationMode_t cudnn_mode(math::UnaryOp op) {
    switch (op) {
        case math::UnaryOp::relu: return CUDNN_ACTIVATION_RELU;
        case math::UnaryOp::sigmoid: return CUDNN_ACTIVATION_SIGMOID;
        case math::UnaryOp::tanh: return CUDNN_ACTIVATION_TANH;
        case math::UnaryOp::silu: return CUDNN_ACTIVATION_SWISH;
        default: return CUDNN_ACTIVATION_IDENTITY;  // never asked: unary_supported() filters
    }
}

// NaN propagates through relu, as in kiln's relu.
struct Activation {
    ActivationDescriptor descriptor;
    explicit Activation(math::UnaryOp op) {
        check(cudnnSetActivationDescriptor(descriptor, cudnn_mode(op), CUDNN_PROPAGATE_NAN, 0.0),
              "cudnnSetActivationDescriptor");
        if (op == math::UnaryOp::silu)  // swish(x) = x sigmoid(beta x); silu is beta = 1
            check(cudnnSetActivationDescriptorSwishBeta(descriptor, 1.0), "cudnnSetActivationDescriptorSwishBeta");
    }
};

// cudnnActivationBackward over count elements: dx = beta dx + dy f'(x).
template <typename T>
void activation_backward(math::UnaryOp op, T* dx, const T* dy, const T* x, const T* y, int64_t count, T beta) {
    const Activation activation(op);
    const T one = 1;
    for (int64_t begin = 0; begin < count; begin += chunk) {
        TensorDescriptor d;
        set_tensor<T>(d, 1, 1, 1, std::min(chunk, count - begin));
        check(cudnnActivationBackward(cudnn_handle(), activation.descriptor, &one, d, y + begin, d, dy + begin, d,
                                      x + begin, &beta, d, dx + begin),
              "cudnnActivationBackward");
    }
}

}  // namespace

template <typename T>
void unary_forward(math::UnaryOp op, const math::UnaryParams& params, T* y, const T* x, int64_t count) {
    if (!unary_supported(op)) return kiln::cuda::unary_forward(op, params, y, x, count);
    const Activation activation(op);
    const T one = 1, zero = 0;
    for (int64_t begin = 0; begin < count; begin += chunk) {
        TensorDescriptor d;
        set_tensor<T>(d, 1, 1, 1, std::min(chunk, count - begin));
        check(cudnnActivationForward(cudnn_handle(), activation.descriptor, &one, d, x + begin, &zero, d, y + begin),
              "cudnnActivationForward");
    }
}

template <typename T>
void unary_backward(math::UnaryOp op, const math::UnaryParams& params, T* dx, const T* dy, const T* x, const T* y,
                    int64_t count) {
    if (!unary_supported(op)) return kiln::cuda::unary_backward(op, params, dx, dy, x, y, count);
    activation_backward(op, dx, dy, x, y, count, T(1));  // beta = 1: add into dx
}

template <typename T>
void unary_backward_overwrite(math::UnaryOp op, const math::UnaryParams& params, T* dx, const T* dy, const T* x,
                              const T* y, int64_t count) {
    if (unary_supported(op)) return activation_backward(op, dx, dy, x, y, count, T(0));
    check(cudaMemset(dx, 0, size_t(count) * sizeof(T)), "cudaMemset");  // the hand-written kernel adds
    kiln::cuda::unary_backward(op, params, dx, dy, x, y, count);
}

#define KILN_INSTANTIATE(T)                                                                                 \
    template void unary_forward<T>(math::UnaryOp, const math::UnaryParams&, T*, const T*, int64_t);         \
    template void unary_backward<T>(math::UnaryOp, const math::UnaryParams&, T*, const T*, const T*, const T*, \
                                    int64_t);                                                                 \
    template void unary_backward_overwrite<T>(math::UnaryOp, const math::UnaryParams&, T*, const T*, const T*,   \
                                              const T*, int64_t);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

}  // namespace kiln::vendor
