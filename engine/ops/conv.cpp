// conv2d: checks, output and workspace allocation, dispatch, backward node.
// The formula, the three algorithms (depthwise, pointwise, im2col + GEMM) and
// their backward passes are in kernels/cpu/conv.{h,cpp}. On a cuda device with
// the vendor switch on for conv (engine/vendor.h), cuDNN runs every pass
// (kernels/cuda/vendor/conv.h), with its own workspace.
//   y = conv(x, w) + b           dx = conv_transpose(dy, w),  dw = sum_n dy (x) x,  db = sum dy
// conv2d_batch_norm (inference): the same kernels with an epilogue that
// applies the eval batch norm and an activation to each output plane as it
// is written (kernels/common/batch_norm.h, BatchNormEpilogue):
//   y = act(gamma (conv(x, w) + b - running_mean) rstd + beta),  rstd = 1 / sqrt(running_var + eps)
// It is batch norm folded into the convolution's output pass rather than into
// its weights (w' = w gamma rstd, b' = (b - mean) gamma rstd + beta): no
// folded copy of the weights to cache and keep in step with the parameters,
// nothing computed per call but C scales and shifts, and the bits of the
// unfused ops (docs/architecture.md).
#include <tuple>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops/checks.h"
#include "engine/ops/registry.h"
#include "engine/backend.h"
#include "engine/frozen.h"
#include "engine/vendor.h"

namespace kiln {

KILN_REGISTER_OP(conv2d);
KILN_REGISTER_OP(conv2d_batch_norm);

namespace {

using math::Conv2dPass;
using math::Conv2dShape;

// Elements of workspace the backend's algorithm needs for `pass`. (A switch
// of its own: KILN_ON_BACKEND calls a kernel and drops its return value.)
int64_t workspace_size(Device device, DType dtype, const Conv2dShape& s, Conv2dPass pass) {
    switch (device.kind) {
        case Device::Kind::cpu:
            return dtype == DType::float32 ? cpu::conv2d_workspace_size<float>(s, pass)
                                           : cpu::conv2d_workspace_size<double>(s, pass);
        case Device::Kind::emu: return emu::conv2d_workspace_size(s, pass);
        case Device::Kind::cuda:
#if KILN_HAVE_CUDA
            return cuda::conv2d_workspace_size(s, pass);
#else
            break;  // no cuda tensor can exist in this build
#endif
    }
    return 0;
}

// The im2col buffers and per-thread partial sums, on the device that runs the
// kernels, from its caching allocator (a training step asks for the same size
// every time, so this is a cache hit); none for size 0.
Tensor workspace_of_size(int64_t size, DType dtype, Device device) {
    return size > 0 ? Tensor::empty({size}, dtype, device) : Tensor();
}
// The workspace the backend's algorithm needs for `pass`.
Tensor workspace_for(const Conv2dShape& s, Conv2dPass pass, DType dtype, Device device) {
    return workspace_of_size(workspace_size(device, dtype, s, pass), dtype, device);
}

template <typename T>
T* data_or_null(const Tensor& t) {
    return t.defined() ? t.data<T>() : nullptr;
}

class ConvBackward : public Node {
public:
    // x is kept only when the weight needs a gradient, the weight only when x does.
    ConvBackward(Tensor x, Tensor weight, bool has_bias, const Conv2dShape& shape)
        : x_(std::move(x)), weight_(std::move(weight)), has_bias_(has_bias), shape_(shape) {}
    std::string name() const override { return "ConvBackward"; }
    void release_saved() override {
        x_ = Tensor();
        weight_ = Tensor();
    }
    std::vector<Tensor> backward(const Tensor& dy) override {
        const Conv2dShape& s = shape_;
        const Tensor grad = dy.contiguous();
        Tensor dx, dweight, dbias;
        const Device device = dy.device();
        if (next[0]) dx = Tensor::zeros({s.batch, s.in_channels, s.height, s.width}, dy.dtype(), device);
        if (next[1])
            dweight =
                Tensor::zeros({s.out_channels, s.in_channels / s.groups, s.kernel_h, s.kernel_w}, dy.dtype(), device);
        if (has_bias_ && next[2]) dbias = Tensor::zeros({s.out_channels}, dy.dtype(), device);
        dispatch_floating(dy.dtype(), "conv2d", [&]<typename T>() {
            if (use_vendor(VendorOp::conv, device)) {
                if (dx.defined())
                    KILN_ON_CUDNN(conv2d_backward_input, dx.data<T>(), grad.data<T>(), weight_.data<T>(), s);
                if (dweight.defined())
                    KILN_ON_CUDNN(conv2d_backward_weight, dweight.data<T>(), grad.data<T>(), x_.data<T>(), s);
                if (dbias.defined()) KILN_ON_CUDNN(conv2d_backward_bias, dbias.data<T>(), grad.data<T>(), s);
                return;
            }
            if (dx.defined()) {
                const Tensor workspace = workspace_for(s, Conv2dPass::backward_input, dy.dtype(), device);
                KILN_ON_BACKEND(device, conv2d_backward_input, dx.data<T>(), grad.data<T>(), weight_.data<T>(), s,
                                data_or_null<T>(workspace));
            }
            if (dweight.defined()) {
                const Tensor workspace = workspace_for(s, Conv2dPass::backward_weight, dy.dtype(), device);
                KILN_ON_BACKEND(device, conv2d_backward_weight, dweight.data<T>(), grad.data<T>(), x_.data<T>(), s,
                                data_or_null<T>(workspace));
            }
            if (dbias.defined()) KILN_ON_BACKEND(device, conv2d_backward_bias, dbias.data<T>(), grad.data<T>(), s);
        });
        return {dx, dweight, dbias};
    }

private:
    Tensor x_, weight_;  // detached, contiguous
    bool has_bias_;
    Conv2dShape shape_;
};

// "3x3" for a pair of sizes
std::string pair_str(int64_t a, int64_t b) { return str(a, "x", b); }

// The checks of conv2d's arguments (errors name `op`) and the shape they make.
Conv2dShape checked_shape(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias,
                          const Conv2dOptions& options) {
    check_floating(op, "input", x, Devices::all);
    check_floating(op, "weight", weight, Devices::all);
    check_same_kind(op, "weight", weight, "input", x);
    KILN_CHECK(x.dim() == 4, op, ": input must be 4-D [N, C, H, W], got ", shape_str(x.shape()));
    KILN_CHECK(weight.dim() == 4, op, ": weight must be 4-D [C_out, C_in / groups, kH, kW], got ",
               shape_str(weight.shape()));
    const auto& [stride_h, stride_w] = options.stride;
    const auto& [pad_h, pad_w] = options.padding;
    const auto& [dilation_h, dilation_w] = options.dilation;
    const int64_t groups = options.groups;
    // What every message below ends with: the arguments as received (formatted only for a message).
    const auto received = [&] {
        return str("(input ", shape_str(x.shape()), ", weight ", shape_str(weight.shape()), ", groups ", groups, ")");
    };
    KILN_CHECK(stride_h >= 1 && stride_w >= 1, op, ": stride must be >= 1, got [", stride_h, ", ", stride_w, "]");
    KILN_CHECK(dilation_h >= 1 && dilation_w >= 1, op, ": dilation must be >= 1, got [", dilation_h, ", ",
               dilation_w, "]");
    KILN_CHECK(pad_h >= 0 && pad_w >= 0, op, ": padding must be >= 0, got [", pad_h, ", ", pad_w, "]");
    KILN_CHECK(groups >= 1, op, ": groups must be >= 1, got ", groups);
    const int64_t batch = x.size(0), in_channels = x.size(1), height = x.size(2), width = x.size(3);
    const int64_t out_channels = weight.size(0), kernel_h = weight.size(2), kernel_w = weight.size(3);
    KILN_CHECK(in_channels > 0 && height > 0 && width > 0, op, ": input has an empty channel or spatial dim ",
               received());
    KILN_CHECK(out_channels > 0 && kernel_h > 0 && kernel_w > 0, op, ": weight has an empty dim ", received());
    KILN_CHECK(in_channels % groups == 0, op, ": input has ", in_channels, " channels, not divisible by groups ",
               groups, " ", received());
    KILN_CHECK(out_channels % groups == 0, op, ": weight has ", out_channels,
               " output channels, not divisible by groups ", groups, " ", received());
    KILN_CHECK(weight.size(1) == in_channels / groups, op, ": weight has ", weight.size(1),
               " input channels per group, input has ", in_channels / groups, " ", received());
    const int64_t extent_h = dilation_h * (kernel_h - 1) + 1, extent_w = dilation_w * (kernel_w - 1) + 1;
    KILN_CHECK(extent_h <= height + 2 * pad_h && extent_w <= width + 2 * pad_w, op, ": kernel ",
               pair_str(kernel_h, kernel_w), " (dilation ", pair_str(dilation_h, dilation_w), ", extent ",
               pair_str(extent_h, extent_w), ") is larger than the padded input ",
               pair_str(height + 2 * pad_h, width + 2 * pad_w), " ", received());
    if (bias.defined()) {
        check_floating(op, "bias", bias, Devices::all);
        check_same_kind(op, "bias", bias, "input", x);
        KILN_CHECK(bias.shape() == Shape{out_channels}, op, ": bias must be [", out_channels, "] (one per output channel), got ",
                   shape_str(bias.shape()), " ", received());
    }

    return Conv2dShape{batch,    in_channels, height,     width,      out_channels,
                       kernel_h, kernel_w,    groups,     stride_h,   stride_w,
                       pad_h,    pad_w,       dilation_h, dilation_w, (height + 2 * pad_h - extent_h) / stride_h + 1,
                       (width + 2 * pad_w - extent_w) / stride_w + 1};
}

// The cpu float forward with the weights' prepared form kept under a
// FrozenWeightsGuard (engine/frozen.h), when the kernels have one for this
// shape; false (nothing run) otherwise.
template <typename T>
bool run_frozen_forward(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dShape& s,
                        const math::BatchNormEpilogue<T>& epilogue) {
    if constexpr (std::is_same_v<T, float>) {
        if (x.device().kind != Device::Kind::cpu) return false;
        const int kind = cpu::conv2d_prepared_kind(s);
        if (kind == 0) return false;
        // (the kind and the kernel shape are the key: the prepared form depends on nothing else)
        const auto prepared = frozen_derived(w, kind, [&](std::vector<float>& to) {
            to.resize(size_t(cpu::conv2d_prepared_size(s, kind)));
            cpu::conv2d_prepare(to.data(), w.data<float>(), s, kind);
        });
        const Tensor workspace = workspace_of_size(cpu::conv2d_prepared_workspace_size(s, kind), x.dtype(), x.device());
        cpu::conv2d_forward_prepared(y.data<float>(), x.data<float>(), prepared->data(), kind, data_or_null<float>(b), s,
                                     data_or_null<float>(workspace), epilogue);
        return true;
    }
    return false;
}

// Whether the forward may keep `weight`'s prepared form: under a
// FrozenWeightsGuard, and contiguous (a strided weight's contiguous copy is
// a new tensor on every call, and would be a new entry every time).
bool frozen_weight(const Tensor& weight) { return weights_frozen() && weight.is_contiguous(); }

// y = conv(x, w) + b [N, C_out, H_out, W_out], with `epilogue` applied (when
// given) to every output plane; x, w and b detached and contiguous. `frozen`:
// no gradient is recorded, and under a FrozenWeightsGuard the weights'
// prepared form may be used.
template <typename T>
void run_forward(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dShape& s,
                 const math::BatchNormEpilogue<T>& epilogue, bool frozen) {
    if (use_vendor(VendorOp::conv, x.device())) {  // cuDNN's convolution, then the epilogue in place
        KILN_ON_CUDNN(conv2d_forward, y.data<T>(), x.data<T>(), w.data<T>(), data_or_null<T>(b), s);
        if (epilogue)
            KILN_ON_BACKEND(x.device(), batch_norm_forward, y.data<T>(), y.data<T>(), epilogue.mean, epilogue.rstd,
                            epilogue.weight, epilogue.bias, s.batch, s.out_channels, s.out_h * s.out_w,
                            epilogue.activation);
        return;
    }
    if (frozen && run_frozen_forward(y, x, w, b, s, epilogue)) return;
    const Tensor workspace = workspace_for(s, Conv2dPass::forward, x.dtype(), x.device());
    KILN_ON_BACKEND(x.device(), conv2d_forward, y.data<T>(), x.data<T>(), w.data<T>(), data_or_null<T>(b), s,
                    data_or_null<T>(workspace), epilogue);
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options) {
    const Conv2dShape s = checked_shape("conv2d", x, weight, bias, options);

    const Tensor x_data = x.detach().contiguous(), weight_data = weight.detach().contiguous();
    const Tensor bias_data = bias.defined() ? bias.detach().contiguous() : Tensor();
    Tensor y = Tensor::empty({s.batch, s.out_channels, s.out_h, s.out_w}, x.dtype(), x.device());
    std::vector<Tensor> inputs{x, weight};
    if (bias.defined()) inputs.push_back(bias);
    const bool record_graph = needs_grad(inputs);
    dispatch_floating(x.dtype(), "conv2d", [&]<typename T>() {
        run_forward<T>(y, x_data, weight_data, bias_data, s, {}, !record_graph && frozen_weight(weight));
    });

    if (record_graph) {
        auto node = std::make_shared<ConvBackward>(needs_grad({weight}) ? x_data : Tensor(),
                                                   needs_grad({x}) ? weight_data : Tensor(), bias.defined(), s);
        record(y, node, inputs);
    }
    return y;
}

Tensor conv2d_batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options,
                         const Tensor& bn_weight, const Tensor& bn_bias, const Tensor& running_mean,
                         const Tensor& running_var, double eps, FusedActivation activation) {
    const char* op = "conv2d_batch_norm";
    const Conv2dShape s = checked_shape(op, x, weight, bias, options);
    KILN_CHECK(running_mean.defined() && running_var.defined(), op,
               ": needs running_mean and running_var (the eval batch norm), got an undefined one");
    for (const auto& [arg, t, optional] : {std::tuple<const char*, const Tensor&, bool>{"bn_weight", bn_weight, true},
                                          {"bn_bias", bn_bias, true},
                                          {"running_mean", running_mean, false},
                                          {"running_var", running_var, false}}) {
        if (optional && !t.defined()) continue;
        check_floating(op, arg, t, Devices::all);
        check_same_kind(op, arg, t, "input", x);
        KILN_CHECK(t.dim() == 1 && t.size(0) == s.out_channels, op, ": ", arg, " must be [C_out] = [", s.out_channels,
                   "], got ", shape_str(t.shape()));
    }
    KILN_CHECK(eps >= 0, op, ": eps must be non-negative, got ", eps);

    if (needs_grad({x, weight, bias, bn_weight, bn_bias})) {  // training-capable path: the differentiable ops, one after the other
        const Tensor z = batch_norm(conv2d(x, weight, bias, options), bn_weight, bn_bias, running_mean, running_var,
                                    false, 0.0, eps);
        switch (activation) {
            case FusedActivation::relu: return relu(z);
            case FusedActivation::relu6: return relu6(z);
            case FusedActivation::none: break;
        }
        return z;
    }
    // no graph is recorded here, so the tensors are read as they are (no detached copies of their handles)
    const Tensor x_data = x.contiguous(), weight_data = weight.contiguous();
    const Tensor bias_data = bias.defined() ? bias.contiguous() : Tensor();
    const Tensor gamma = bn_weight.defined() ? bn_weight.contiguous() : Tensor();
    const Tensor beta = bn_bias.defined() ? bn_bias.contiguous() : Tensor();
    const Tensor mean_data = running_mean.contiguous(), var_data = running_var.contiguous();
    const Tensor statistics = Tensor::empty({2, s.out_channels}, x.dtype(), x.device());  // mean, then rstd
    Tensor y = Tensor::empty({s.batch, s.out_channels, s.out_h, s.out_w}, x.dtype(), x.device());
    dispatch_floating(x.dtype(), op, [&]<typename T>() {
        // mean and rstd as batch_norm's eval forward computes them, so the epilogue gives its bits
        T* mean = statistics.data<T>();
        T* rstd = mean + s.out_channels;
        KILN_ON_BACKEND(x.device(), batch_norm_running_statistics, mean, rstd, mean_data.data<T>(),
                        var_data.data<T>(), s.out_channels, eps);
        const math::BatchNormEpilogue<T> epilogue{mean, rstd, data_or_null<T>(gamma), data_or_null<T>(beta),
                                                  activation};
        run_forward<T>(y, x_data, weight_data, bias_data, s, epilogue, frozen_weight(weight));
    });
    return y;
}

}  // namespace kiln
