#pragma once
// Loss kernels: the weighted, label-smoothed negative log-likelihood over
// log-probabilities (the core of cross_entropy, nll_loss and focal_loss), the
// element-wise binary cross-entropy on logits, and the NaN scan the loss ops
// run on their inputs. Kernels assume valid input (checked in engine/ops/loss.cpp):
// targets in [0, C), buffers contiguous, weights of the right length.
#include <cstdint>

namespace kiln::cpu {

// log_probs [N, C], target [N], class_weights [C] or null (= 1), sample_weights [N] or null (= 1),
// s = label_smoothing. Per sample:
//   loss[i] = sw[i] ((1 - s) w[y_i] (-log_probs[i, y_i]) + (s / C) sum_c w[c] (-log_probs[i, c]))
template <typename T>
void nll_forward(T* loss, const T* log_probs, const int64_t* target, const T* class_weights, const T* sample_weights,
                 double label_smoothing, int64_t N, int64_t C);

// dlog_probs[i, c] += -dloss[i] sw[i] ((1 - s) w[y_i] [c == y_i] + (s / C) w[c])
template <typename T>
void nll_backward(T* dlog_probs, const T* dloss, const int64_t* target, const T* class_weights,
                  const T* sample_weights, double label_smoothing, int64_t N, int64_t C);

// sum_i sw[i] w[y_i]: the divisor of the weighted mean (N when both are null).
template <typename T>
double nll_weight_total(const int64_t* target, const T* class_weights, const T* sample_weights, int64_t N);

// loss[k] = bce_with_logits(x[k], t[k], pw[k % P])   (kernels/common/loss.h)
// pos_weight has P elements (P = 1, or P = the size of the last dim, the
// fastest-moving index of the contiguous layout); null means pw = 1.
template <typename T>
void bce_with_logits_forward(T* loss, const T* x, const T* t, const T* pos_weight, int64_t P, int64_t count);

// dx[k] += dloss[k] dl/dx,  dt[k] += dloss[k] dl/dt   (either may be null)
template <typename T>
void bce_with_logits_backward(T* dx, T* dt, const T* dloss, const T* x, const T* t, const T* pos_weight, int64_t P,
                              int64_t count);

// Index of the first x[k] outside [lo, hi] (NaN is outside any range), or -1.
// With lo = -inf, hi = inf it finds the first NaN.
template <typename T>
int64_t find_outside(const T* x, int64_t count, double lo, double hi);

}  // namespace kiln::cpu
