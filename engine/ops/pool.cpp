// max_pool2d, avg_pool2d, adaptive_avg_pool2d over NCHW (kernels/cpu/pool.cpp).
//   max:      y = max over the window            dx[argmax] += dy
//   avg:      y = sum over the window / divisor  dx[window] += dy / divisor
//   adaptive: y = mean over PyTorch's bin        dx[bin] += dy / bin size
// Output size, as PyTorch: out = floor((H + 2 pad - kernel) / stride) + 1, or
// with ceil_mode rounded up, less one when the last window would start past
// the input and its left padding ((out - 1) stride >= H + pad).
// On a cuda device with the vendor switch on for pool (engine/vendor.h),
// cuDNN runs max and avg pooling (kernels/cuda/vendor/pool.h) where its
// output size (floor) is the op's; adaptive pooling has no cuDNN routine.
#include <string>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops/checks.h"
#include "engine/ops/registry.h"
#include "engine/backend.h"
#include "engine/vendor.h"

namespace kiln {

KILN_REGISTER_OP(max_pool2d);
KILN_REGISTER_OP(avg_pool2d);
KILN_REGISTER_OP(adaptive_avg_pool2d);

namespace {

enum class PoolKind { max, avg, adaptive_avg };

std::string pair_str(const std::array<int64_t, 2>& values) { return shape_str({values[0], values[1]}); }

int64_t pooled_size(int64_t size, int64_t kernel, int64_t stride, int64_t pad, bool ceil_mode) {
    int64_t out = (size + 2 * pad - kernel + (ceil_mode ? stride - 1 : 0)) / stride + 1;
    if (ceil_mode && (out - 1) * stride >= size + pad) --out;  // the last window must start inside
    return out;
}

void check_nchw(const char* op, const Tensor& x) {
    check_floating(op, "x", x, Devices::all);
    KILN_CHECK(x.dim() == 4, op, ": x must be 4-D [N, C, H, W], got ", shape_str(x.shape()));
}

// Checks the options against x [N, C, H, W] and returns the geometry.
math::Pool2dGeometry pool_geometry(const char* op, const Tensor& x, const Pool2dOptions& options) {
    check_nchw(op, x);
    const std::array<int64_t, 2> kernel = options.kernel, stride = options.stride.value_or(options.kernel),
                                 padding = options.padding;
    KILN_CHECK(kernel[0] > 0 && kernel[1] > 0, op, ": kernel must be positive, got ", pair_str(kernel));
    KILN_CHECK(stride[0] > 0 && stride[1] > 0, op, ": stride must be positive, got ", pair_str(stride));
    KILN_CHECK(padding[0] >= 0 && padding[1] >= 0 && 2 * padding[0] <= kernel[0] && 2 * padding[1] <= kernel[1], op,
               ": padding ", pair_str(padding), " must be between 0 and half the kernel ", pair_str(kernel));
    const int64_t height = x.size(2), width = x.size(3);
    KILN_CHECK(kernel[0] <= height + 2 * padding[0] && kernel[1] <= width + 2 * padding[1], op, ": kernel ",
               pair_str(kernel), " is larger than the padded input (x ", shape_str(x.shape()), ", padding ",
               pair_str(padding), ")");
    return {x.size(0) * x.size(1),
            height,
            width,
            pooled_size(height, kernel[0], stride[0], padding[0], options.ceil_mode),
            pooled_size(width, kernel[1], stride[1], padding[1], options.ceil_mode),
            kernel[0],
            kernel[1],
            stride[0],
            stride[1],
            padding[0],
            padding[1]};
}

// cuDNN pools x with geometry g on x's device.
bool vendor_pools(const Tensor& x, const math::Pool2dGeometry& g) {
    return use_vendor(VendorOp::pool, x.device()) && vendor::pool2d_supported(g);
}

class Pool2dBackward : public Node {
public:
    Pool2dBackward(PoolKind kind, const math::Pool2dGeometry& geometry, Shape input_shape, Tensor argmax,
                   bool count_include_pad)
        : kind_(kind), geometry_(geometry), input_shape_(std::move(input_shape)), argmax_(std::move(argmax)),
          count_include_pad_(count_include_pad) {}
    // The forward ran cuDNN: its backward needs the input and output (detached), not an argmax.
    void use_vendor_backward(Tensor input, Tensor output) {
        vendor_input_ = std::move(input);
        vendor_output_ = std::move(output);
    }
    std::string name() const override {
        switch (kind_) {
            case PoolKind::max: return "MaxPool2dBackward";
            case PoolKind::avg: return "AvgPool2dBackward";
            case PoolKind::adaptive_avg: return "AdaptiveAvgPool2dBackward";
        }
        return "?";
    }
    void release_saved() override { argmax_ = vendor_input_ = vendor_output_ = Tensor(); }
    std::vector<Tensor> backward(const Tensor& dy) override {
        Tensor dx = Tensor::zeros(input_shape_, dy.dtype(), dy.device());
        const Tensor dy_contiguous = dy.contiguous();
        dispatch_floating(dy.dtype(), "pool2d backward", [&]<typename T>() {
            if (vendor_input_.defined()) {
                if (kind_ == PoolKind::max)
                    KILN_ON_CUDNN(max_pool2d_backward, dx.data<T>(), dy_contiguous.data<T>(), vendor_input_.data<T>(),
                                  vendor_output_.data<T>(), geometry_);
                else
                    KILN_ON_CUDNN(avg_pool2d_backward, dx.data<T>(), dy_contiguous.data<T>(), vendor_input_.data<T>(),
                                  vendor_output_.data<T>(), geometry_, count_include_pad_);
                return;
            }
            switch (kind_) {
                case PoolKind::max:
                    KILN_ON_BACKEND(dy.device(), max_pool2d_backward, dx.data<T>(), dy_contiguous.data<T>(),
                                    argmax_.data<int64_t>(), geometry_);
                    break;
                case PoolKind::avg:
                    KILN_ON_BACKEND(dy.device(), avg_pool2d_backward, dx.data<T>(), dy_contiguous.data<T>(), geometry_,
                                    count_include_pad_);
                    break;
                case PoolKind::adaptive_avg:
                    KILN_ON_BACKEND(dy.device(), adaptive_avg_pool2d_backward, dx.data<T>(), dy_contiguous.data<T>(),
                                    geometry_);
                    break;
            }
        });
        return {dx};
    }

private:
    PoolKind kind_;
    math::Pool2dGeometry geometry_;
    Shape input_shape_;
    Tensor argmax_;  // max: int64 [N, C, OH, OW], flat index h * W + w in the input plane
    bool count_include_pad_;
    Tensor vendor_input_, vendor_output_;  // set when cuDNN ran the forward
};

Shape output_shape(const Tensor& x, const math::Pool2dGeometry& g) {
    return {x.size(0), x.size(1), g.out_height, g.out_width};
}

}  // namespace

Tensor max_pool2d(const Tensor& x, const Pool2dOptions& options) {
    const math::Pool2dGeometry g = pool_geometry("max_pool2d", x, options);
    const Tensor input = x.detach().contiguous();
    Tensor y = Tensor::empty(output_shape(x, g), x.dtype(), x.device());
    if (vendor_pools(x, g)) {
        dispatch_floating(x.dtype(), "max_pool2d", [&]<typename T>() {
            KILN_ON_CUDNN(max_pool2d_forward, y.data<T>(), input.data<T>(), g);
        });
        if (needs_grad({x})) {
            auto node = std::make_shared<Pool2dBackward>(PoolKind::max, g, x.shape(), Tensor(), false);
            node->use_vendor_backward(input, y.detach());
            record(y, node, {x});
        }
        return y;
    }
    // The arg-max feeds only the backward: without a gradient to compute (inference) it is not made.
    const bool grad = needs_grad({x});
    Tensor argmax = grad ? Tensor::empty(output_shape(x, g), DType::int64, x.device()) : Tensor();
    dispatch_floating(x.dtype(), "max_pool2d", [&]<typename T>() {
        KILN_ON_BACKEND(x.device(), max_pool2d_forward, y.data<T>(), grad ? argmax.data<int64_t>() : nullptr,
                        input.data<T>(), g);
    });
    if (grad) record(y, std::make_shared<Pool2dBackward>(PoolKind::max, g, x.shape(), argmax, false), {x});
    return y;
}

Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& options) {
    const math::Pool2dGeometry g = pool_geometry("avg_pool2d", x, options);
    const Tensor input = x.detach().contiguous();
    Tensor y = Tensor::empty(output_shape(x, g), x.dtype(), x.device());
    const bool vendor = vendor_pools(x, g);
    dispatch_floating(x.dtype(), "avg_pool2d", [&]<typename T>() {
        if (vendor)
            KILN_ON_CUDNN(avg_pool2d_forward, y.data<T>(), input.data<T>(), g, options.count_include_pad);
        else
            KILN_ON_BACKEND(x.device(), avg_pool2d_forward, y.data<T>(), input.data<T>(), g, options.count_include_pad);
    });
    if (needs_grad({x})) {
        auto node = std::make_shared<Pool2dBackward>(PoolKind::avg, g, x.shape(), Tensor(), options.count_include_pad);
        if (vendor) node->use_vendor_backward(input, y.detach());
        record(y, node, {x});
    }
    return y;
}

Tensor adaptive_avg_pool2d(const Tensor& x, std::array<int64_t, 2> output_size) {
    check_nchw("adaptive_avg_pool2d", x);
    KILN_CHECK(output_size[0] > 0 && output_size[1] > 0, "adaptive_avg_pool2d: output size must be positive, got ",
               pair_str(output_size));
    KILN_CHECK(x.size(2) > 0 && x.size(3) > 0, "adaptive_avg_pool2d: x ", shape_str(x.shape()),
               " has an empty spatial dim");
    math::Pool2dGeometry g{};
    g.planes = x.size(0) * x.size(1);
    g.height = x.size(2);
    g.width = x.size(3);
    g.out_height = output_size[0];
    g.out_width = output_size[1];
    const Tensor input = x.detach().contiguous();
    Tensor y = Tensor::empty(output_shape(x, g), x.dtype(), x.device());
    dispatch_floating(x.dtype(), "adaptive_avg_pool2d", [&]<typename T>() {
        KILN_ON_BACKEND(x.device(), adaptive_avg_pool2d_forward, y.data<T>(), input.data<T>(), g);
    });
    if (needs_grad({x}))
        record(y, std::make_shared<Pool2dBackward>(PoolKind::adaptive_avg, g, x.shape(), Tensor(), false), {x});
    return y;
}

}  // namespace kiln
