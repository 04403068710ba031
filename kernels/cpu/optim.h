#pragma once
// Optimizer steps over whole parameter arrays: each applies the element rule of
// kernels/common/optim.h to w[i], g[i] and the optimizer's state arrays.
#include <cstdint>

#include "kernels/common/optim.h"

namespace kiln::cpu {

template <typename T>
void sgd_step(T* w, const T* g, T* momentum_buffer, int64_t count, const math::SgdHyper& hyper);
template <typename T>
void adagrad_step(T* w, const T* g, T* sum_of_squares, int64_t count, const math::AdagradHyper& hyper);
// grad_avg is used only when centered, momentum_buffer only when momentum > 0 (else may be null).
template <typename T>
void rmsprop_step(T* w, const T* g, T* square_avg, T* grad_avg, T* momentum_buffer, int64_t count,
                  const math::RmspropHyper& hyper);
// max_exp_avg_sq is used only with amsgrad (else may be null).
template <typename T>
void adam_step(T* w, const T* g, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t count,
               const math::AdamHyper& hyper);
template <typename T>
void lion_step(T* w, const T* g, T* exp_avg, int64_t count, const math::LionHyper& hyper);

}  // namespace kiln::cpu
