#pragma once
// Optimizer update rules, one parameter element at a time, shared by every
// backend (cpu loops in kernels/cpu/optim.cpp; CUDA kernels later). Each rule
// follows PyTorch's torch.optim implementation, so trajectories match it.
// w: weight, g: gradient, t: step number (1 for the first step).
#include <cmath>

#include "kernels/common/hd.h"

namespace kiln::math {

// SGD with momentum (PyTorch's form; Sutskever et al. 2013 for Nesterov):
//   g <- g + wd w
//   b <- g                         on the first step
//   b <- mu b + (1 - dampening) g  afterwards
//   g <- g + mu b  (Nesterov)   or   g <- b
//   w <- w - lr g
struct SgdHyper {
    double lr, momentum, dampening, weight_decay;
    bool nesterov, first_step;
};
template <typename T>
KILN_HD void sgd_update(T& w, T g, T& momentum_buffer, const SgdHyper& h) {
    g += T(h.weight_decay) * w;
    if (h.momentum != 0) {
        momentum_buffer = h.first_step ? g : T(h.momentum) * momentum_buffer + T(1 - h.dampening) * g;
        g = h.nesterov ? g + T(h.momentum) * momentum_buffer : momentum_buffer;
    }
    w -= T(h.lr) * g;
}

// AdaGrad (Duchi et al. 2011):
//   g <- g + wd w;   s <- s + g^2;   w <- w - lr_t g / (sqrt(s) + eps),
//   lr_t = lr / (1 + (t - 1) lr_decay)
struct AdagradHyper {
    double lr_t, weight_decay, eps;
};
template <typename T>
KILN_HD void adagrad_update(T& w, T g, T& sum_of_squares, const AdagradHyper& h) {
    g += T(h.weight_decay) * w;
    sum_of_squares += g * g;
    w -= T(h.lr_t) * g / (std::sqrt(sum_of_squares) + T(h.eps));
}

// RMSProp (Hinton's lecture 6e; PyTorch's form):
//   g <- g + wd w
//   v <- alpha v + (1 - alpha) g^2
//   centered: a <- alpha a + (1 - alpha) g,  d = sqrt(v - a^2) + eps;   else d = sqrt(v) + eps
//   momentum > 0: b <- mu b + g / d,  w <- w - lr b;    else w <- w - lr g / d
struct RmspropHyper {
    double lr, alpha, eps, weight_decay, momentum;
    bool centered;
};
template <typename T>
KILN_HD void rmsprop_update(T& w, T g, T& square_avg, T& grad_avg, T& momentum_buffer, const RmspropHyper& h) {
    g += T(h.weight_decay) * w;
    square_avg = T(h.alpha) * square_avg + T(1 - h.alpha) * g * g;
    T denominator;
    if (h.centered) {
        grad_avg = T(h.alpha) * grad_avg + T(1 - h.alpha) * g;
        denominator = std::sqrt(square_avg - grad_avg * grad_avg) + T(h.eps);
    } else {
        denominator = std::sqrt(square_avg) + T(h.eps);
    }
    if (h.momentum > 0) {
        momentum_buffer = T(h.momentum) * momentum_buffer + g / denominator;
        w -= T(h.lr) * momentum_buffer;
    } else {
        w -= T(h.lr) * g / denominator;
    }
}

// Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019):
//   Adam:  g <- g + wd w            (L2: the decay passes through the moments)
//   AdamW: w <- w (1 - lr wd)       (decoupled: it does not)
//   m <- b1 m + (1 - b1) g
//   v <- b2 v + (1 - b2) g^2;   amsgrad: v_max <- max(v_max, v), and v_max replaces v below
//   w <- w - (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// On the first step m / sqrt(v) = g / |g|: the step is lr sign(g) (bias correction).
struct AdamHyper {
    double lr, beta1, beta2, eps, weight_decay;
    bool decoupled_weight_decay, amsgrad;
    double bias_correction1, bias_correction2;  // 1 - b1^t, 1 - b2^t
};
// The step's constants in T, computed once per step (a CPU loop over them
// then vectorises: a sqrt inside it may set errno and is not hoisted).
template <typename T>
struct AdamStep {
    T decay, weight_decay, beta1, one_minus_beta1, beta2, one_minus_beta2, sqrt_bias_correction2, eps, step_size;
    bool decoupled_weight_decay, amsgrad;
};
template <typename T>
KILN_HD AdamStep<T> adam_step_constants(const AdamHyper& h) {
    return {T(1 - h.lr * h.weight_decay), T(h.weight_decay), T(h.beta1), T(1 - h.beta1), T(h.beta2), T(1 - h.beta2),
            T(std::sqrt(h.bias_correction2)), T(h.eps), T(h.lr / h.bias_correction1), h.decoupled_weight_decay,
            h.amsgrad};
}
template <typename T>
KILN_HD void adam_update(T& w, T g, T& exp_avg, T& exp_avg_sq, T& max_exp_avg_sq, const AdamStep<T>& c) {
    if (c.decoupled_weight_decay) w *= c.decay;
    else g += c.weight_decay * w;
    exp_avg = c.beta1 * exp_avg + c.one_minus_beta1 * g;
    exp_avg_sq = c.beta2 * exp_avg_sq + c.one_minus_beta2 * g * g;
    T second_moment = exp_avg_sq;
    if (c.amsgrad) {
        max_exp_avg_sq = max_exp_avg_sq > exp_avg_sq ? max_exp_avg_sq : exp_avg_sq;
        second_moment = max_exp_avg_sq;
    }
    const T denominator = std::sqrt(second_moment) / c.sqrt_bias_correction2 + c.eps;
    w -= c.step_size * exp_avg / denominator;
}
template <typename T>
KILN_HD void adam_update(T& w, T g, T& exp_avg, T& exp_avg_sq, T& max_exp_avg_sq, const AdamHyper& h) {
    adam_update(w, g, exp_avg, exp_avg_sq, max_exp_avg_sq, adam_step_constants<T>(h));
}

// Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"):
//   c = b1 m + (1 - b1) g
//   w <- w (1 - lr wd) - lr sign(c)
//   m <- b2 m + (1 - b2) g
struct LionHyper {
    double lr, beta1, beta2, weight_decay;
};
template <typename T>
KILN_HD void lion_update(T& w, T g, T& exp_avg, const LionHyper& h) {
    const T c = T(h.beta1) * exp_avg + T(1 - h.beta1) * g;
    const T sign = c > T(0) ? T(1) : (c < T(0) ? T(-1) : T(0));
    w = w * T(1 - h.lr * h.weight_decay) - T(h.lr) * sign;
    exp_avg = T(h.beta2) * exp_avg + T(1 - h.beta2) * g;
}

}  // namespace kiln::math
