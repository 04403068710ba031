#pragma once
// cuDNN activations (activation.cpp), with the signatures of kiln's unary
// kernels (kernels/cuda/elementwise.h). cuDNN has relu, sigmoid, tanh and
// swish (= silu with beta 1); for any other op these call the hand-written
// kernel, so the engine can route every unary op through here.
#include <cstdint>

#include "kernels/common/elementwise.h"

namespace kiln::vendor {

inline bool unary_supported(math::UnaryOp op) {
    return op == math::UnaryOp::relu || op == math::UnaryOp::sigmoid || op == math::UnaryOp::tanh ||
           op == math::UnaryOp::silu;
}

template <typename T>
void unary_forward(math::UnaryOp op, const math::UnaryParams& params, T* y, const T* x, int64_t count);
// Adds dy * f'(x) into dx.
template <typename T>
void unary_backward(math::UnaryOp op, const math::UnaryParams& params, T* dx, const T* dy, const T* x, const T* y,
                    int64_t count);
// Writes dx = dy * f'(x) (cuDNN's beta = 0): into scratch memory that need
// not be zeroed first (the batch norm + activation backward's dz).
template <typename T>
void unary_backward_overwrite(math::UnaryOp op, const math::UnaryParams& params, T* dx, const T* dy, const T* x,
                              const T* y, int64_t count);

}  // namespace kiln::vendor
