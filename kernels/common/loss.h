#pragma once
// Scalar loss formulas shared by every backend (KILN_HD), with their
// derivatives next to them.
#include "kernels/common/activation.h"
#include "kernels/common/hd.h"

namespace kiln::math {

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
