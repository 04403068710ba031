// Activations: relu, relu6, leaky_relu, sigmoid, tanh, silu, hardswish, hardsigmoid, gelu.
// Each is an element-wise unary op: y = f(x), dx = dy * f'(x). They share the
// checks, loops and backward node of engine/ops/unary.cpp; each formula and its
// derivative is written once, in kernels/common/activation.h.
#include <cmath>

#include "engine/ops.h"
#include "engine/ops/registry.h"
#include "engine/ops/unary.h"

namespace kiln {

KILN_REGISTER_OP(relu);
KILN_REGISTER_OP(relu6);
KILN_REGISTER_OP(leaky_relu);
KILN_REGISTER_OP(sigmoid);
KILN_REGISTER_OP(tanh);
KILN_REGISTER_OP(silu);
KILN_REGISTER_OP(hardswish);
KILN_REGISTER_OP(hardsigmoid);
KILN_REGISTER_OP(gelu);

using math::UnaryOp;

Tensor relu(const Tensor& x) { return unary(UnaryOp::relu, x); }
Tensor relu6(const Tensor& x) { return unary(UnaryOp::relu6, x); }

Tensor leaky_relu(const Tensor& x, double negative_slope) {
    KILN_CHECK(std::isfinite(negative_slope), "leaky_relu: negative_slope is ", negative_slope,
               ", expected a finite number");
    math::UnaryParams params;
    params.negative_slope = negative_slope;
    return unary(UnaryOp::leaky_relu, x, params);
}

Tensor sigmoid(const Tensor& x) { return unary(UnaryOp::sigmoid, x); }
Tensor tanh(const Tensor& x) { return unary(UnaryOp::tanh, x); }
Tensor silu(const Tensor& x) { return unary(UnaryOp::silu, x); }
Tensor hardswish(const Tensor& x) { return unary(UnaryOp::hardswish, x); }
Tensor hardsigmoid(const Tensor& x) { return unary(UnaryOp::hardsigmoid, x); }

Tensor gelu(const Tensor& x, bool tanh_approximation) {
    math::UnaryParams params;
    params.gelu_tanh = tanh_approximation;
    return unary(UnaryOp::gelu, x, params);
}

}  // namespace kiln
