// neg, exp, log, sqrt, abs, pow (scalar exponent), clamp, and the machinery
// that the activations (engine/ops/activation.cpp) share with them.
//   forward:  y = f(x)
//   backward: dx = dy * f'(x, y)
// Formulas: kernels/common/elementwise.h (activations: kernels/common/activation.h).
// Loops: kernels/cpu/elementwise.cpp.
#include <cctype>
#include <limits>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops/checks.h"
#include "engine/ops/registry.h"
#include "engine/ops/unary.h"
#include "engine/backend.h"
#include "engine/vendor.h"  // activations: cuDNN under the vendor switch

namespace kiln {

KILN_REGISTER_OP(neg);
KILN_REGISTER_OP(exp);
KILN_REGISTER_OP(log);
KILN_REGISTER_OP(sqrt);
KILN_REGISTER_OP(abs);
KILN_REGISTER_OP(pow);
KILN_REGISTER_OP(clamp);

using math::UnaryOp;

namespace {

const char* op_name(UnaryOp op) {
    switch (op) {
        case UnaryOp::neg: return "neg";
        case UnaryOp::exp: return "exp";
        case UnaryOp::log: return "log";
        case UnaryOp::sqrt: return "sqrt";
        case UnaryOp::abs: return "abs";
        case UnaryOp::pow: return "pow";
        case UnaryOp::clamp: return "clamp";
        case UnaryOp::relu: return "relu";
        case UnaryOp::relu6: return "relu6";
        case UnaryOp::leaky_relu: return "leaky_relu";
        case UnaryOp::sigmoid: return "sigmoid";
        case UnaryOp::tanh: return "tanh";
        case UnaryOp::silu: return "silu";
        case UnaryOp::hardswish: return "hardswish";
        case UnaryOp::hardsigmoid: return "hardsigmoid";
        case UnaryOp::gelu: return "gelu";
    }
    return "?";
}

class UnaryBackward : public Node {
public:
    // x and y are contiguous and detached (y is the op's output: a detached
    // alias of it keeps the data without a reference cycle through grad_fn).
    // Only what math::unary_saved names is kept; the kernel gets it for both.
    UnaryBackward(UnaryOp op, const math::UnaryParams& params, const Tensor& x, const Tensor& y)
        : op_(op), params_(params), x_(math::unary_saved(op) == math::UnarySaved::y ? Tensor() : x),
          y_(math::unary_saved(op) == math::UnarySaved::x ? Tensor() : y) {}
    std::string name() const override {  // leaky_relu -> LeakyReluBackward
        std::string n;
        bool upper = true;
        for (const char* c = op_name(op_); *c; ++c) {
            if (*c == '_') {
                upper = true;
                continue;
            }
            n += upper ? char(std::toupper(*c)) : *c;
            upper = false;
        }
        return n + "Backward";
    }
    void release_saved() override {
        x_ = Tensor();
        y_ = Tensor();
    }
    std::vector<Tensor> backward(const Tensor& dy) override {
        const Tensor& x = x_.defined() ? x_ : y_;
        const Tensor& y = y_.defined() ? y_ : x_;
        Tensor dx = Tensor::zeros(x.shape(), x.dtype(), x.device());
        const Tensor dy_contiguous = dy.contiguous();
        dispatch_floating(dx.dtype(), op_name(op_), [&]<typename T>() {
            KILN_ON_VENDOR_OR_BACKEND(VendorOp::activation, CUDNN, dx.device(), unary_backward, op_, params_,
                                      dx.data<T>(), dy_contiguous.data<T>(), x.data<T>(), y.data<T>(), dx.numel());
        });
        return {dx};
    }

private:
    UnaryOp op_;
    math::UnaryParams params_;
    Tensor x_, y_;  // one undefined unless math::unary_saved says both
};

}  // namespace

Tensor unary(UnaryOp op, const Tensor& x, const math::UnaryParams& params) {
    const char* name = op_name(op);
    check_floating(name, "x", x, Devices::all);
    const Tensor input = x.detach().contiguous();
    Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
    dispatch_floating(x.dtype(), name, [&]<typename T>() {
        KILN_ON_VENDOR_OR_BACKEND(VendorOp::activation, CUDNN, x.device(), unary_forward, op, params, y.data<T>(),
                                  input.data<T>(), y.numel());
    });
    if (needs_grad({x})) record(y, std::make_shared<UnaryBackward>(op, params, input, y.detach()), {x});
    return y;
}

Tensor neg(const Tensor& x) { return unary(UnaryOp::neg, x); }
Tensor exp(const Tensor& x) { return unary(UnaryOp::exp, x); }
Tensor log(const Tensor& x) { return unary(UnaryOp::log, x); }
Tensor sqrt(const Tensor& x) { return unary(UnaryOp::sqrt, x); }
Tensor abs(const Tensor& x) { return unary(UnaryOp::abs, x); }

Tensor pow(const Tensor& x, double exponent) {
    math::UnaryParams params;
    params.exponent = exponent;
    return unary(UnaryOp::pow, x, params);
}

Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi) {
    KILN_CHECK(lo || hi, "clamp: at least one of lo and hi must be given");
    KILN_CHECK(!lo || !hi || *lo <= *hi, "clamp: lo ", *lo, " is greater than hi ", *hi);
    math::UnaryParams params;
    params.lo = lo.value_or(-std::numeric_limits<double>::infinity());
    params.hi = hi.value_or(std::numeric_limits<double>::infinity());
    return unary(UnaryOp::clamp, x, params);
}

}  // namespace kiln
