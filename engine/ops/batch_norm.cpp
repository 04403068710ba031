// batch_norm over x [N, C] or [N, C, ...] (kernels/cpu/batch_norm.cpp):
//   y = gamma * (x - mean) * rstd + beta,  rstd = 1 / sqrt(var + eps)
//   training: batch mean and biased variance (running statistics updated in place);
//   eval: running_mean and running_var.
//   dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)),  dxhat = dy * gamma   (training)
//   dx = dy * gamma * rstd                                                                (eval)
// On a cuda device with the vendor switch on for batch_norm (engine/vendor.h),
// cuDNN computes the training forward, the eval forward and the training
// backward (kernels/cuda/vendor/batch_norm.h).
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops/checks.h"
#include "engine/ops/registry.h"
#include "engine/backend.h"
#include "engine/vendor.h"

namespace kiln {

KILN_REGISTER_OP(batch_norm);

namespace {

// x viewed as [N, C, S]
struct Extent {
    int64_t N, C, S;
};

template <typename T>
T* data_or_null(const Tensor& t) {
    return t.defined() ? t.data<T>() : nullptr;
}

class BatchNormBackward : public Node {
public:
    BatchNormBackward(Tensor x, Tensor weight, Tensor mean, Tensor rstd, Extent extent, bool training)
        : x_(std::move(x)), weight_(std::move(weight)), mean_(std::move(mean)), rstd_(std::move(rstd)),
          extent_(extent), training_(training) {}
    std::string name() const override { return "BatchNormBackward"; }
    void release_saved() override {
        x_ = weight_ = mean_ = rstd_ = Tensor();
    }
    std::vector<Tensor> backward(const Tensor& dy) override {
        const Tensor dy_contiguous = dy.contiguous();
        Tensor dx, dweight, dbias;
        if (next[0]) dx = Tensor::zeros(x_.shape(), dy.dtype(), dy.device());
        if (next[1]) dweight = Tensor::zeros({extent_.C}, dy.dtype(), dy.device());
        if (next[2]) dbias = Tensor::zeros({extent_.C}, dy.dtype(), dy.device());
        dispatch_floating(dy.dtype(), "batch_norm", [&]<typename T>() {
            KILN_ON_VENDOR_OR_BACKEND(VendorOp::batch_norm, CUDNN, dy.device(), batch_norm_backward,
                                      data_or_null<T>(dx), data_or_null<T>(dweight), data_or_null<T>(dbias),
                                      dy_contiguous.data<T>(), x_.data<T>(), mean_.data<T>(), rstd_.data<T>(),
                                      data_or_null<T>(weight_), extent_.N, extent_.C, extent_.S, training_);
        });
        return {dx, dweight, dbias};
    }

private:
    Tensor x_, weight_;   // detached, contiguous; weight undefined without affine
    Tensor mean_, rstd_;  // [C], what the forward normalised with
    Extent extent_;
    bool training_;
};

// A [C] parameter or statistic: undefined, or of x's dtype and device and length C.
void check_channel_tensor(const char* arg, const Tensor& t, const Tensor& x) {
    if (!t.defined()) return;
    check_floating("batch_norm", arg, t, Devices::all);
    check_same_kind("batch_norm", arg, t, "x", x);
    KILN_CHECK(t.shape() == Shape{x.size(1)}, "batch_norm: ", arg, " must be [C] = [", x.size(1), "] for x ",
               shape_str(x.shape()), ", got ", shape_str(t.shape()));
}


}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, bool training, double momentum, double eps) {
    check_floating("batch_norm", "x", x, Devices::all);
    KILN_CHECK(x.dim() >= 2, "batch_norm: x must be [N, C] or [N, C, ...], got ", shape_str(x.shape()));
    check_channel_tensor("weight", weight, x);
    check_channel_tensor("bias", bias, x);
    check_channel_tensor("running_mean", running_mean, x);
    check_channel_tensor("running_var", running_var, x);
    KILN_CHECK(running_mean.defined() == running_var.defined(),
               "batch_norm: running_mean and running_var must both be given or both be undefined (running_mean ",
               running_mean.defined() ? "given" : "undefined", ", running_var ",
               running_var.defined() ? "given" : "undefined", ")");
    KILN_CHECK(training || running_mean.defined(),
               "batch_norm: eval mode (training = false) needs running_mean and running_var, got undefined");
    KILN_CHECK(eps >= 0, "batch_norm: eps must be non-negative, got ", eps);
    Extent extent{x.size(0), x.size(1), 1};
    for (int64_t d = 2; d < x.dim(); ++d) extent.S *= x.size(d);
    KILN_CHECK(!training || extent.N * extent.S > 1,
               "batch_norm: Expected more than 1 value per channel when training, got input size ",
               shape_str(x.shape()));

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
    dispatch_floating(x.dtype(), "batch_norm", [&]<typename T>() {
        if (vendor && training) {  // statistics, running update and normalisation in one cuDNN call
            KILN_ON_CUDNN(batch_norm_forward_training, y.data<T>(), mean.data<T>(), rstd.data<T>(),
                          data_or_null<T>(running_mean_buffer), data_or_null<T>(running_var_buffer), input.data<T>(),
                          data_or_null<T>(w), data_or_null<T>(b), extent.N, extent.C, extent.S, momentum, eps);
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
                          extent.S, eps);
        else
            KILN_ON_BACKEND(x.device(), batch_norm_forward, y.data<T>(), input.data<T>(), mean.data<T>(),
                            rstd.data<T>(), data_or_null<T>(w), data_or_null<T>(b), extent.N, extent.C, extent.S);
    });
    if (training && running_mean.defined() && !running_mean.is_contiguous()) Tensor(running_mean).copy_(running_mean_buffer);
    if (training && running_var.defined() && !running_var.is_contiguous()) Tensor(running_var).copy_(running_var_buffer);

    if (needs_grad({x, weight, bias}))
        record(y, std::make_shared<BatchNormBackward>(input, w, mean, rstd, extent, training), {x, weight, bias});
    return y;
}

}  // namespace kiln
