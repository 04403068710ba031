// conv2d: checks, output and workspace allocation, dispatch, backward node.
// The formula, the three algorithms (depthwise, pointwise, im2col + GEMM) and
// their backward passes are in kernels/cpu/conv.{h,cpp}. On a cuda device with
// the vendor switch on for conv (engine/vendor.h), cuDNN runs every pass
// (kernels/cuda/vendor/conv.h), with its own workspace.
//   y = conv(x, w) + b           dx = conv_transpose(dy, w),  dw = sum_n dy (x) x,  db = sum dy
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops/checks.h"
#include "engine/ops/registry.h"
#include "engine/backend.h"
#include "engine/vendor.h"

namespace kiln {

KILN_REGISTER_OP(conv2d);

namespace {

using math::Conv2dPass;
using math::Conv2dShape;

// Elements of workspace the backend's algorithm needs for `pass`. (A switch
// of its own: KILN_ON_BACKEND calls a kernel and drops its return value.)
int64_t workspace_size(Device device, const Conv2dShape& s, Conv2dPass pass) {
    switch (device.kind) {
        case Device::Kind::cpu: return cpu::conv2d_workspace_size(s, pass);
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
// every time, so this is a cache hit).
Tensor workspace_for(const Conv2dShape& s, Conv2dPass pass, DType dtype, Device device) {
    const int64_t size = workspace_size(device, s, pass);
    return size > 0 ? Tensor::empty({size}, dtype, device) : Tensor();
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

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options) {
    check_floating("conv2d", "input", x, Devices::all);
    check_floating("conv2d", "weight", weight, Devices::all);
    check_same_kind("conv2d", "weight", weight, "input", x);
    KILN_CHECK(x.dim() == 4, "conv2d: input must be 4-D [N, C, H, W], got ", shape_str(x.shape()));
    KILN_CHECK(weight.dim() == 4, "conv2d: weight must be 4-D [C_out, C_in / groups, kH, kW], got ",
               shape_str(weight.shape()));
    const auto& [stride_h, stride_w] = options.stride;
    const auto& [pad_h, pad_w] = options.padding;
    const auto& [dilation_h, dilation_w] = options.dilation;
    const int64_t groups = options.groups;
    // What every message below ends with: the arguments as received.
    const std::string received = str("(input ", shape_str(x.shape()), ", weight ", shape_str(weight.shape()),
                                     ", groups ", groups, ")");
    KILN_CHECK(stride_h >= 1 && stride_w >= 1, "conv2d: stride must be >= 1, got [", stride_h, ", ", stride_w, "]");
    KILN_CHECK(dilation_h >= 1 && dilation_w >= 1, "conv2d: dilation must be >= 1, got [", dilation_h, ", ",
               dilation_w, "]");
    KILN_CHECK(pad_h >= 0 && pad_w >= 0, "conv2d: padding must be >= 0, got [", pad_h, ", ", pad_w, "]");
    KILN_CHECK(groups >= 1, "conv2d: groups must be >= 1, got ", groups);
    const int64_t batch = x.size(0), in_channels = x.size(1), height = x.size(2), width = x.size(3);
    const int64_t out_channels = weight.size(0), kernel_h = weight.size(2), kernel_w = weight.size(3);
    KILN_CHECK(in_channels > 0 && height > 0 && width > 0, "conv2d: input has an empty channel or spatial dim ",
               received);
    KILN_CHECK(out_channels > 0 && kernel_h > 0 && kernel_w > 0, "conv2d: weight has an empty dim ", received);
    KILN_CHECK(in_channels % groups == 0, "conv2d: input has ", in_channels, " channels, not divisible by groups ",
               groups, " ", received);
    KILN_CHECK(out_channels % groups == 0, "conv2d: weight has ", out_channels,
               " output channels, not divisible by groups ", groups, " ", received);
    KILN_CHECK(weight.size(1) == in_channels / groups, "conv2d: weight has ", weight.size(1),
               " input channels per group, input has ", in_channels / groups, " ", received);
    const int64_t extent_h = dilation_h * (kernel_h - 1) + 1, extent_w = dilation_w * (kernel_w - 1) + 1;
    KILN_CHECK(extent_h <= height + 2 * pad_h && extent_w <= width + 2 * pad_w, "conv2d: kernel ",
               pair_str(kernel_h, kernel_w), " (dilation ", pair_str(dilation_h, dilation_w), ", extent ",
               pair_str(extent_h, extent_w), ") is larger than the padded input ",
               pair_str(height + 2 * pad_h, width + 2 * pad_w), " ", received);
    if (bias.defined()) {
        check_floating("conv2d", "bias", bias, Devices::all);
        check_same_kind("conv2d", "bias", bias, "input", x);
        KILN_CHECK(bias.shape() == Shape{out_channels}, "conv2d: bias must be [", out_channels, "] (one per output channel), got ",
                   shape_str(bias.shape()), " ", received);
    }

    const Conv2dShape s{batch,    in_channels, height,     width,      out_channels,
                             kernel_h, kernel_w,    groups,     stride_h,   stride_w,
                             pad_h,    pad_w,       dilation_h, dilation_w, (height + 2 * pad_h - extent_h) / stride_h + 1,
                             (width + 2 * pad_w - extent_w) / stride_w + 1};
    const Tensor x_data = x.detach().contiguous(), weight_data = weight.detach().contiguous();
    const Tensor bias_data = bias.defined() ? bias.detach().contiguous() : Tensor();
    Tensor y = Tensor::empty({batch, out_channels, s.out_h, s.out_w}, x.dtype(), x.device());
    dispatch_floating(x.dtype(), "conv2d", [&]<typename T>() {
        if (use_vendor(VendorOp::conv, x.device())) {
            KILN_ON_CUDNN(conv2d_forward, y.data<T>(), x_data.data<T>(), weight_data.data<T>(),
                          data_or_null<T>(bias_data), s);
            return;
        }
        const Tensor workspace = workspace_for(s, Conv2dPass::forward, x.dtype(), x.device());
        KILN_ON_BACKEND(x.device(), conv2d_forward, y.data<T>(), x_data.data<T>(), weight_data.data<T>(),
                        data_or_null<T>(bias_data), s, data_or_null<T>(workspace));
    });

    std::vector<Tensor> inputs{x, weight};
    if (bias.defined()) inputs.push_back(bias);
    if (needs_grad(inputs)) {
        auto node = std::make_shared<ConvBackward>(needs_grad({weight}) ? x_data : Tensor(),
                                                   needs_grad({x}) ? weight_data : Tensor(), bias.defined(), s);
        record(y, node, inputs);
    }
    return y;
}

}  // namespace kiln
