#pragma once
// The shared path of every element-wise unary op (engine/ops/unary.cpp):
// checks x is float32/float64, applies math::unary_forward, and records a
// node whose backward is dx = dy * math::unary_derivative(x, y). Used by the
// ops of unary.cpp and by the activations (engine/ops/activation.cpp).
#include "engine/tensor.h"
#include "kernels/common/elementwise.h"

namespace kiln {

Tensor unary(math::UnaryOp op, const Tensor& x, const math::UnaryParams& params = {});

}  // namespace kiln
