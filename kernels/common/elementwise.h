#pragma once
// Element-wise formulas, forward and derivative side by side, shared by every
// backend. Each unary op gives f(x) and df/dx (which may use y = f(x)); each
// binary op gives f(a, b), df/da and df/db. The activations' formulas are in
// kernels/common/activation.h; the switch below only routes to them.
#include <cmath>

#include "kernels/common/activation.h"
#include "kernels/common/hd.h"

namespace kiln::math {

enum class UnaryOp {
    neg, exp, log, sqrt, abs, pow, clamp,
    // activations (kernels/common/activation.h)
    relu, relu6, leaky_relu, sigmoid, tanh, silu, hardswish, hardsigmoid, gelu
};

// Scalar parameters of the parameterised unary ops.
struct UnaryParams {
    double exponent = 1;  // pow
    double lo = 0, hi = 0;  // clamp bounds (use +-infinity for "no bound")
    double negative_slope = 0.01;  // leaky_relu
    bool gelu_tanh = false;        // gelu: tanh approximation instead of erf
};

template <typename T>
KILN_HD T unary_forward(UnaryOp op, T x, const UnaryParams& p) {
    switch (op) {
        case UnaryOp::neg: return -x;
        case UnaryOp::exp: return std::exp(x);
        case UnaryOp::log: return std::log(x);
        case UnaryOp::sqrt: return std::sqrt(x);
        case UnaryOp::abs: return std::abs(x);
        case UnaryOp::pow: return std::pow(x, T(p.exponent));
        case UnaryOp::clamp: return x < T(p.lo) ? T(p.lo) : (x > T(p.hi) ? T(p.hi) : x);
        case UnaryOp::relu: return relu(x);
        case UnaryOp::relu6: return relu6(x);
        case UnaryOp::leaky_relu: return leaky_relu(x, T(p.negative_slope));
        case UnaryOp::sigmoid: return sigmoid(x);
        case UnaryOp::tanh: return std::tanh(x);
        case UnaryOp::silu: return silu(x);
        case UnaryOp::hardswish: return hardswish(x);
        case UnaryOp::hardsigmoid: return hardsigmoid(x);
        case UnaryOp::gelu: return p.gelu_tanh ? gelu_tanh(x) : gelu(x);
    }
    return x;
}

// dy/dx at x, where y = f(x).
template <typename T>
KILN_HD T unary_derivative(UnaryOp op, T x, T y, const UnaryParams& p) {
    switch (op) {
        case UnaryOp::neg: return T(-1);
        case UnaryOp::exp: return y;                         // d e^x = e^x
        case UnaryOp::log: return T(1) / x;                  // d ln x = 1/x
        case UnaryOp::sqrt: return T(0.5) / y;               // d sqrt x = 1/(2 sqrt x)
        case UnaryOp::abs: return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));  // sign(x), 0 at 0
        case UnaryOp::pow:                                   // d x^n = n x^(n-1)
            return p.exponent == 0 ? T(0) : T(p.exponent) * std::pow(x, T(p.exponent - 1));
        case UnaryOp::clamp: return (x >= T(p.lo) && x <= T(p.hi)) ? T(1) : T(0);  // passes inside [lo, hi]
        case UnaryOp::relu: return relu_derivative(x);
        case UnaryOp::relu6: return relu6_derivative(x);
        case UnaryOp::leaky_relu: return leaky_relu_derivative(x, T(p.negative_slope));
        case UnaryOp::sigmoid: return sigmoid_derivative_from_output(y);
        case UnaryOp::tanh: return tanh_derivative_from_output(y);
        case UnaryOp::silu: return silu_derivative(x);
        case UnaryOp::hardswish: return hardswish_derivative(x);
        case UnaryOp::hardsigmoid: return hardsigmoid_derivative(x);
        case UnaryOp::gelu: return p.gelu_tanh ? gelu_tanh_derivative(x) : gelu_derivative(x);
    }
    return T(0);
}

// Which of x and y = f(x) a backward keeps for unary_derivative, passing the
// kept one for both (the other is never read). relu and relu6 are written in
// x, but each is the same function of y (y > 0 exactly where x > 0, 0 < y < 6
// exactly where 0 < x < 6): they keep y, which the next layer keeps anyway, so
// a relu after a residual add does not keep the sum alive. sigmoid, tanh and
// silu keep both: cuDNN's activation backward reads x and y.
enum class UnarySaved { x, y, both };

constexpr UnarySaved unary_saved(UnaryOp op) {
    switch (op) {
        case UnaryOp::exp:
        case UnaryOp::sqrt:
        case UnaryOp::relu:
        case UnaryOp::relu6: return UnarySaved::y;
        case UnaryOp::sigmoid:
        case UnaryOp::tanh:
        case UnaryOp::silu: return UnarySaved::both;
        default: return UnarySaved::x;
    }
}

enum class BinaryOp { add, sub, mul, div };

template <typename T>
KILN_HD T binary_forward(BinaryOp op, T a, T b) {
    switch (op) {
        case BinaryOp::add: return a + b;
        case BinaryOp::sub: return a - b;
        case BinaryOp::mul: return a * b;
        case BinaryOp::div: return a / b;
    }
    return a;
}

// d f(a, b) / da
template <typename T>
KILN_HD T binary_derivative_a(BinaryOp op, T /*a*/, T b) {
    switch (op) {
        case BinaryOp::add: return T(1);
        case BinaryOp::sub: return T(1);
        case BinaryOp::mul: return b;
        case BinaryOp::div: return T(1) / b;
    }
    return T(0);
}

// d f(a, b) / db
template <typename T>
KILN_HD T binary_derivative_b(BinaryOp op, T a, T b) {
    switch (op) {
        case BinaryOp::add: return T(1);
        case BinaryOp::sub: return T(-1);
        case BinaryOp::mul: return a;
        case BinaryOp::div: return -a / (b * b);  // d (a/b) / db = -a/b^2
    }
    return T(0);
}

}  // namespace kiln::math
