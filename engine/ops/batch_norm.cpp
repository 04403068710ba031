// batch_norm over x [N, C] or [N, C, ...] (kernels/cpu/batch_norm.cpp):
//   y = gamma * (x - mean) * rstd + beta,  rstd = 1 / sqrt(var + eps)
//   training: batch mean and biased variance (running statistics updated in place);
//   eval: running_mean and running_var.
//   dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)),  dxhat = dy * gamma   (training)
//   dx = dy * gamma * rstd                                                                (eval)
// batch_norm_relu: y = relu(batch_norm(x, ...)) in one op, the same kernels
// with their activation set to relu (kernels/common/batch_norm.h): the forward
// writes max(0, bn(x)) in its one pass, and the backward takes dy through the
// relu from the saved output y (dz = dy where y > 0) inside the batch norm
// backward's reads. batch_norm_relu6 likewise with relu6 (dz = dy where
// 0 < y < 6: relu6's gradient excludes the bounds, so y alone decides). It saves x and y; batch_norm followed by relu would keep
// the normalised tensor as well (relu's input), and read and write it once
// more each way.
// On a cuda device with the vendor switch on for batch_norm (engine/vendor.h),
// cuDNN computes the training forward, the eval forward and the training
// backward (kernels/cuda/vendor/batch_norm.h); for batch_norm_relu, followed
// by cuDNN's relu (and preceded by its backward).
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops/checks.h"
#include "engine/ops/registry.h"
#include "engine/backend.h"
#include "engine/vendor.h"

namespace kiln {

KILN_REGISTER_OP(batch_norm);
KILN_REGISTER_OP(batch_norm_relu);
KILN_REGISTER_OP(batch_norm_relu6);

using math::BatchNormActivation;

namespace {

// x viewed as [N, C, S]
struct Extent {
    int64_t N, C, S;
};

template <typename T>
T* data_or_null(const Tensor& t) {
    return t.defined() ? t.data<T>() : nullptr;
}

const char* op_name(BatchNormActivation activation) {
    switch (activation) {
        case BatchNormActivation::relu: return "batch_norm_relu";
        case BatchNormActivation::relu6: return "batch_norm_relu6";
        case BatchNormActivation::none: break;
    }
    return "batch_norm";
}

class BatchNormBackward : public Node {
public:
    // y: the op's output (a detached alias), for the activation's backward; undefined without one.
    BatchNormBackward(Tensor x, Tensor y, Tensor weight, Tensor mean, Tensor rstd, Extent extent, bool training,
                      BatchNormActivation activation)
        : x_(std::move(x)), y_(std::move(y)), weight_(std::move(weight)), mean_(std::move(mean)),
          rstd_(std::move(rstd)), extent_(extent), training_(training), activation_(activation) {}
    std::string name() const override {
        switch (activation_) {
            case BatchNormActivation::relu: return "BatchNormReluBackward";
            case BatchNormActivation::relu6: return "BatchNormRelu6Backward";
            case BatchNormActivation::none: break;
        }
        return "BatchNormBackward";
    }
    void release_saved() override {
        x_ = y_ = weight_ = mean_ = rstd_ = Tensor();
    }
    std::vector<Tensor> backward(const Tensor& dy) override {
        const Tensor dy_contiguous = dy.contiguous();
        Tensor dx, dweight, dbias;
        if (next[0]) dx = Tensor::empty(x_.shape(), dy.dtype(), dy.device());  // written whole by the kernel
        if (next[1]) dweight = Tensor::zeros({extent_.C}, dy.dtype(), dy.device());
        if (next[2]) dbias = Tensor::zeros({extent_.C}, dy.dtype(), dy.device());
        dispatch_floating(dy.dtype(), op_name(activation_), [&]<typename T>() {
            KILN_ON_VENDOR_OR_BACKEND(VendorOp::batch_norm, CUDNN, dy.device(), batch_norm_backward,
                                      data_or_null<T>(dx), data_or_null<T>(dweight), data_or_null<T>(dbias),
                                      dy_contiguous.data<T>(), x_.data<T>(), data_or_null<T>(y_), mean_.data<T>(),
                                      rstd_.data<T>(), data_or_null<T>(weight_), extent_.N, extent_.C, extent_.S,
                                      training_, activation_);
        });
        return {dx, dweight, dbias};
    }

private:
    Tensor x_, y_, weight_;  // detached, contiguous; y undefined without an activation, weight without affine
    Tensor mean_, rstd_;     // [C], what the forward normalised with
    Extent extent_;
    bool training_;
    BatchNormActivation activation_;
};

// A [C] parameter or statistic: undefined, or of x's dtype and device and length C.
void check_channel_tensor(const char* op, const char* arg, const Tensor& t, const Tensor& x) {
    if (!t.defined()) return;
    check_floating(op, arg, t, Devices::all);
    check_same_kind(op, arg, t, "x", x);
    KILN_CHECK(t.shape() == Shape{x.size(1)}, op, ": ", arg, " must be [C] = [", x.size(1), "] for x ",
               shape_str(x.shape()), ", got ", shape_str(t.shape()));
}

// batch_norm and batch_norm_relu: one body, the activation passed to the kernels.
Tensor batch_norm_with(BatchNormActivation activation, const Tensor& x, const Tensor& weight, const Tensor& bias,
                       const Tensor& running_mean, const Tensor& running_var, bool training, double momentum,
                       double eps) {
    const char* op = op_name(activation);
    check_floating(op, "x", x, Devices::all);
    KILN_CHECK(x.dim() >= 2, op, ": x must be [N, C] or [N, C, ...], got ", shape_str(x.shape()));
    check_channel_tensor(op, "weight", weight, x);
    check_channel_tensor(op, "bias", bias, x);
    check_channel_tensor(op, "running_mean", running_mean, x);
    check_channel_tensor(op, "running_var", running_var, x);
    KILN_CHECK(running_mean.defined() == running_var.defined(), op,
               ": running_mean and running_var must both be given or both be undefined (running_mean ",
               running_mean.defined() ? "given" : "undefined", ", running_var ",
               running_var.defined() ? "given" : "undefined", ")");
    KILN_CHECK(training || running_mean.defined(), op,
               ": eval mode (training = false) needs running_mean and running_var, got undefined");
    KILN_CHECK(eps >= 0, op, ": eps must be non-negative, got ", eps);
    Extent extent{x.size(0), x.size(1), 1};
    for (int64_t d = 2; d < x.dim(); ++d) extent.S *= x.size(d);
    KILN_CHECK(!training || extent.N * extent.S > 1, op,
               ": Expected more than 1 value per channel when training, got input size ", shape_str(x.shape()));

    const Tensor input = x.detach().contiguous();
    Tensor mean = Tensor::empty({extent.C}, x.dtype(), x.device());
    Tensor rstd = Tensor::empty({extent.C}, x.dtype(), x.device());
    // The running statistics are updated in place; a strided view is updated through a contiguous copy.
    Tensor running_mean_buffer = running_mean.defined() ? running_mean.detach().contiguous() : Tensor();
    Tensor running_var_buffer = running_var.defined() ? running_var.detach().contiguous() : Tensor();
    const Tensor w = weight.defined() ? weight.detach().contiguous() : Tensor();
    const Tensor b = bias.defined() ? bias.detach().contiguous() : Tensor();
    Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
    const bool vendor = use_vendor(VendorOp::batch_norm, x.device());
    dispatch_floating(x.dtype(), op, [&]<typename T>() {
        if (vendor && training) {  // statistics, running update and normalisation in one cuDNN call
            KILN_ON_CUDNN(batch_norm_forward_training, y.data<T>(), mean.data<T>(), rstd.data<T>(),
                          data_or_null<T>(running_mean_buffer), data_or_null<T>(running_var_buffer), input.data<T>(),
                          data_or_null<T>(w), data_or_null<T>(b), extent.N, extent.C, extent.S, momentum, eps,
                          activation);
            return;
        }
        if (training)
            KILN_ON_BACKEND(x.device(), batch_norm_batch_statistics, mean.data<T>(), rstd.data<T>(),
                            data_or_null<T>(running_mean_buffer), data_or_null<T>(running_var_buffer), input.data<T>(),
                            extent.N, extent.C, extent.S, momentum, eps);
        else
            KILN_ON_BACKEND(x.device(), batch_norm_running_statistics, mean.data<T>(), rstd.data<T>(),
                            running_mean_buffer.data<T>(), running_var_buffer.data<T>(), extent.C, eps);
        if (vendor)  // eval; mean and rstd above are what the backward needs
            KILN_ON_CUDNN(batch_norm_forward_inference, y.data<T>(), input.data<T>(), running_mean_buffer.data<T>(),
                          running_var_buffer.data<T>(), data_or_null<T>(w), data_or_null<T>(b), extent.N, extent.C,
                          extent.S, eps, activation);
        else
            KILN_ON_BACKEND(x.device(), batch_norm_forward, y.data<T>(), input.data<T>(), mean.data<T>(),
                            rstd.data<T>(), data_or_null<T>(w), data_or_null<T>(b), extent.N, extent.C, extent.S,
                            activation);
    });
    if (training && running_mean.defined() && !running_mean.is_contiguous()) Tensor(running_mean).copy_(running_mean_buffer);
    if (training && running_var.defined() && !running_var.is_contiguous()) Tensor(running_var).copy_(running_var_buffer);

    if (needs_grad({x, weight, bias})) {
        const Tensor saved_y = activation == BatchNormActivation::none ? Tensor() : y.detach();
        record(y, std::make_shared<BatchNormBackward>(input, saved_y, w, mean, rstd, extent, training, activation),
               {x, weight, bias});
    }
    return y;
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, bool training, double momentum, double eps) {
    return batch_norm_with(BatchNormActivation::none, x, weight, bias, running_mean, running_var, training, momentum,
                           eps);
}

Tensor batch_norm_relu(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                       const Tensor& running_var, bool training, double momentum, double eps) {
    return batch_norm_with(BatchNormActivation::relu, x, weight, bias, running_mean, running_var, training, momentum,
                           eps);
}

Tensor batch_norm_relu6(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                        const Tensor& running_var, bool training, double momentum, double eps) {
    return batch_norm_with(BatchNormActivation::relu6, x, weight, bias, running_mean, running_var, training, momentum,
                           eps);
}

}  // namespace kiln
