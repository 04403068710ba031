#pragma once
// Scalar loss formulas shared by every backend (KILN_HD), with their
// derivatives next to them.
#include <cstdint>

#include "kernels/common/activation.h"
#include "kernels/common/hd.h"

namespace kiln::math {

// Weighted, label-smoothed negative log-likelihood of one sample over C
// classes, with log-probabilities lp, target y, class weights w, sample
// weight sw and smoothing s:
//   loss = sw ((1 - s) w_y (-lp_y) + (s / C) sum_c w_c (-lp_c))
//   dloss/dlp_c = -sw ((1 - s) w_y [c == y] + (s / C) w_c)
// Term 1 (the target class) and term 2 (the uniform share s / C of every
// class) are kept apart: term 2 is skipped when s = 0, so a -inf
// log-probability of another class does not turn 0 * inf into NaN.
template <typename T>
KILN_HD T nll_target_term(T log_prob_target, T weight_target, T s) {
    return (T(1) - s) * weight_target * -log_prob_target;
}
// smooth_sum = sum_c w_c (-lp_c)
template <typename T>
KILN_HD T nll_smoothing_term(T smooth_sum, T s, int64_t C) {
    return s / T(C) * smooth_sum;
}
// What term 1 subtracts from dlp_y, for g = dloss sw.
template <typename T>
KILN_HD T nll_target_gradient(T g, T weight_target, T s) {
    return g * (T(1) - s) * weight_target;
}
// What term 2 subtracts from every dlp_c.
template <typename T>
KILN_HD T nll_smoothing_gradient(T g, T weight_c, T s, int64_t C) {
    return g * s / T(C) * weight_c;
}

// Binary cross-entropy on a logit x with target t in [0, 1] and positive-class
// weight pw (PyTorch's BCEWithLogitsLoss):
//   l = -[pw t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))]
//     = (1 - t) x + (1 + (pw - 1) t) softplus(-x)       (log sigmoid(x) = -softplus(-x))
// softplus(-x) = max(-x, 0) + log1p(e^-|x|) never overflows; with pw = 1 this is
// the familiar max(x, 0) - x t + log1p(e^-|x|).
template <typename T>
KILN_HD T bce_with_logits(T x, T t, T pw) {
    return (T(1) - t) * x + (T(1) + (pw - T(1)) * t) * softplus(-x);
}
// dl/dx = (1 - t) - (1 + (pw - 1) t) sigmoid(-x)      (softplus' = sigmoid)
template <typename T>
KILN_HD T bce_with_logits_dx(T x, T t, T pw) {
    return (T(1) - t) - (T(1) + (pw - T(1)) * t) * sigmoid(-x);
}
// dl/dt = -x + (pw - 1) softplus(-x)
template <typename T>
KILN_HD T bce_with_logits_dt(T x, T /*t*/, T pw) {
    return -x + (pw - T(1)) * softplus(-x);
}

}  // namespace kiln::math
