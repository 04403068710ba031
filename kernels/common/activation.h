#pragma once
// Activation functions and their derivatives, side by side, shared by every
// backend (KILN_HD). The element-wise unary machinery (kernels/common/elementwise.h)
// calls these; the loss kernels use sigmoid and softplus.
//
// Breakpoints: relu and leaky_relu have a kink at 0, relu6 at 0 and 6, hardswish and hardsigmoid
// at -3 and 3. There the derivative takes PyTorch's one-sided value (noted per
// function), so gradients agree with PyTorch bit for bit at the kink.
#include <cmath>

#include "kernels/common/hd.h"

namespace kiln::math {

// relu and relu6 also take the cpu's SIMD vectors (kernels/cpu/simd.h, GCC
// vector types: T{} is their zero, `?:` selects lane by lane), so the
// convolutions' register tiles apply the same formula (conv.cpp's epilogue).

// relu(x) = max(x, 0);  relu'(x) = 1 if x > 0 else 0 (0 at x = 0, as PyTorch)
template <typename T>
KILN_HD T relu(T x) { return x > T{} ? x : T{}; }
template <typename T>
KILN_HD T relu_derivative(T x) { return x > T(0) ? T(1) : T(0); }

// relu6(x) = min(max(x, 0), 6), PyTorch's nn.ReLU6 (hardtanh(x, 0, 6));
// relu6'(x) = 1 if 0 < x < 6 else 0: hardtanh's rule, the bounds excluded
// (PyTorch's hardtanh_backward passes dy only where min < x < max; clamp's
// backward, kiln's clamp included, passes on [min, max]). With the bounds
// excluded the derivative is also a function of the output, relu6'(x) =
// relu6'(relu6(x)) (0 < y < 6 exactly where 0 < x < 6), so a fused op can
// take it from its saved output (batch_norm_relu6).
template <typename T>
KILN_HD T relu6(T x) {
    const T zero{}, six = zero + 6;
    const T v = x < zero ? zero : x;  // two selects: NaN passes through, as clamp
    return v > six ? six : v;
}
template <typename T>
KILN_HD T relu6_derivative(T x) { return (x > T(0) && x < T(6)) ? T(1) : T(0); }

// leaky_relu(x) = x if x > 0 else slope x;  derivative 1 or slope (slope at x = 0, as PyTorch)
template <typename T>
KILN_HD T leaky_relu(T x, T slope) { return x > T(0) ? x : slope * x; }
template <typename T>
KILN_HD T leaky_relu_derivative(T x, T slope) { return x > T(0) ? T(1) : slope; }

// sigmoid(x) = 1 / (1 + e^-x), evaluated so that e^(...) never overflows:
//   x >= 0: 1 / (1 + e^-x);   x < 0: e^x / (1 + e^x).   sigmoid(-1000) = 0, not NaN.
// sigmoid'(x) = y (1 - y), y = sigmoid(x).
template <typename T>
KILN_HD T sigmoid(T x) {
    if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
    const T e = std::exp(x);
    return e / (T(1) + e);
}
template <typename T>
KILN_HD T sigmoid_derivative_from_output(T y) { return y * (T(1) - y); }

// tanh'(x) = 1 - y^2, y = tanh(x).
template <typename T>
KILN_HD T tanh_derivative_from_output(T y) { return T(1) - y * y; }

// softplus(x) = log(1 + e^x) = max(x, 0) + log1p(e^-|x|)   (stable for any x);
// softplus'(x) = sigmoid(x).
template <typename T>
KILN_HD T softplus(T x) { return (x > T(0) ? x : T(0)) + std::log1p(std::exp(-std::abs(x))); }

// silu(x) = x sigmoid(x);  silu'(x) = s (1 + x (1 - s)),  s = sigmoid(x).
template <typename T>
KILN_HD T silu(T x) { return x * sigmoid(x); }
template <typename T>
KILN_HD T silu_derivative(T x) {
    const T s = sigmoid(x);
    return s * (T(1) + x * (T(1) - s));
}

// hardsigmoid(x) = relu6(x + 3) / 6 = 0 (x <= -3), x/6 + 1/2 (-3 < x < 3), 1 (x >= 3);
// derivative 1/6 strictly inside (-3, 3), else 0 (as PyTorch).
template <typename T>
KILN_HD T hardsigmoid(T x) {
    if (x <= T(-3)) return T(0);
    if (x >= T(3)) return T(1);
    return x / T(6) + T(0.5);
}
template <typename T>
KILN_HD T hardsigmoid_derivative(T x) { return (x > T(-3) && x < T(3)) ? T(1) / T(6) : T(0); }

// hardswish(x) = x relu6(x + 3) / 6 = 0 (x <= -3), x (x + 3) / 6 (-3 < x < 3), x (x >= 3);
// derivative 0 (x < -3), (2x + 3) / 6 = x/3 + 1/2 (-3 <= x <= 3), 1 (x > 3) (as PyTorch).
template <typename T>
KILN_HD T hardswish(T x) {
    if (x <= T(-3)) return T(0);
    if (x >= T(3)) return x;
    return x * (x + T(3)) / T(6);
}
template <typename T>
KILN_HD T hardswish_derivative(T x) {
    if (x < T(-3)) return T(0);
    if (x <= T(3)) return x / T(3) + T(0.5);
    return T(1);
}

// gelu, exact:  x Phi(x) = x/2 (1 + erf(x / sqrt 2));
//   gelu'(x) = Phi(x) + x phi(x),  phi(x) = e^(-x^2/2) / sqrt(2 pi).
constexpr double sqrt1_2 = 0.70710678118654752440;       // 1 / sqrt(2)
constexpr double inv_sqrt_2pi = 0.39894228040143267794;  // 1 / sqrt(2 pi)
template <typename T>
KILN_HD T gelu(T x) { return T(0.5) * x * (T(1) + std::erf(x * T(sqrt1_2))); }
template <typename T>
KILN_HD T gelu_derivative(T x) {
    const T cdf = T(0.5) * (T(1) + std::erf(x * T(sqrt1_2)));
    const T pdf = T(inv_sqrt_2pi) * std::exp(T(-0.5) * x * x);
    return cdf + x * pdf;
}

// gelu, tanh approximation (Hendrycks & Gimpel; PyTorch approximate="tanh"):
//   x/2 (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3);
//   derivative 1/2 (1 + t) + x/2 (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2),  t = tanh(u).
constexpr double sqrt_2_over_pi = 0.79788456080286535588;  // sqrt(2 / pi)
constexpr double gelu_tanh_cubic = 0.044715;
template <typename T>
KILN_HD T gelu_tanh(T x) {
    const T u = T(sqrt_2_over_pi) * (x + T(gelu_tanh_cubic) * x * x * x);
    return T(0.5) * x * (T(1) + std::tanh(u));
}
template <typename T>
KILN_HD T gelu_tanh_derivative(T x) {
    const T u = T(sqrt_2_over_pi) * (x + T(gelu_tanh_cubic) * x * x * x);
    const T t = std::tanh(u);
    const T du = T(sqrt_2_over_pi) * (T(1) + T(3 * gelu_tanh_cubic) * x * x);
    return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * du;
}

}  // namespace kiln::math
