#pragma once
// softmax and log_softmax per element, shared by every backend (KILN_HD).
// A row has max m, and (accumulated in double by the kernels)
//   sum_exp = sum_r exp(x_r - m),  dot = sum_r dy_r y_r,  dy_sum = sum_r dy_r.
//   softmax:      y = exp(x - m) / sum_exp           dx += y (dy - dot)
//   log_softmax:  y = x - m - log sum_exp            dx += dy - exp(y) dy_sum
// Subtracting m keeps every exp <= 1.
#include <cmath>

#include "kernels/common/hd.h"

namespace kiln::math {

// The larger of a and b, NaN winning over numbers: a row holding a NaN gets a
// NaN max, hence a NaN output, rather than a silently wrong one.
template <typename T>
KILN_HD T max_keeping_nan(T a, T b) {
    return (b > a || b != b) ? b : a;
}

// exp(x - m): one term of sum_exp.
template <typename T>
KILN_HD T softmax_term(T x, T m) {
    return std::exp(x - m);
}

// y = exp(x - m) * inverse_sum,  inverse_sum = 1 / sum_exp.
template <typename T>
KILN_HD T softmax_value(T x, T m, T inverse_sum) {
    return softmax_term(x, m) * inverse_sum;
}

// y = x - m - log_sum,  log_sum = log sum_exp.
template <typename T>
KILN_HD T log_softmax_value(T x, T m, T log_sum) {
    return x - m - log_sum;
}

// d softmax: y (dy - dot).
template <typename T>
KILN_HD T softmax_gradient(T y, T dy, T dot) {
    return y * (dy - dot);
}

// d log_softmax: dy - exp(y) dy_sum   (exp(y) is the softmax).
template <typename T>
KILN_HD T log_softmax_gradient(T y, T dy, T dy_sum) {
    return dy - std::exp(y) * dy_sum;
}

}  // namespace kiln::math
