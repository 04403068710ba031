#include "kernels/cpu/loss.h"

#include <cmath>

#include "kernels/common/loss.h"
#include "kernels/cpu/strided.h"

namespace kiln::cpu {

template <typename T>
void nll_forward(T* loss, const T* log_probs, const int64_t* target, const T* class_weights, const T* sample_weights,
                 double label_smoothing, int64_t N, int64_t C) {
    const T s = T(label_smoothing);
#pragma omp parallel for if (N * C >= parallel_grain)
    for (int64_t i = 0; i < N; ++i) {
        const T* row = log_probs + i * C;
        const int64_t y = target[i];
        const T w_y = class_weights ? class_weights[y] : T(1);
        T l = math::nll_target_term(row[y], w_y, s);  // term 1: the target class
        if (label_smoothing != 0) {                   // term 2: the uniform share s / C of every class
            double smooth = 0;
            for (int64_t c = 0; c < C; ++c) smooth += double(class_weights ? class_weights[c] : T(1)) * -row[c];
            l += math::nll_smoothing_term(T(smooth), s, C);
        }
        loss[i] = sample_weights ? sample_weights[i] * l : l;
    }
}

template <typename T>
void nll_backward(T* dlog_probs, const T* dloss, const int64_t* target, const T* class_weights,
                  const T* sample_weights, double label_smoothing, int64_t N, int64_t C) {
    const T s = T(label_smoothing);
#pragma omp parallel for if (N * C >= parallel_grain)
    for (int64_t i = 0; i < N; ++i) {
        T* row = dlog_probs + i * C;
        const T g = sample_weights ? dloss[i] * sample_weights[i] : dloss[i];
        const int64_t y = target[i];
        row[y] -= math::nll_target_gradient(g, class_weights ? class_weights[y] : T(1), s);  // term 1
        if (label_smoothing != 0)                                                            // term 2
            for (int64_t c = 0; c < C; ++c)
                row[c] -= math::nll_smoothing_gradient(g, class_weights ? class_weights[c] : T(1), s, C);
    }
}

template <typename T>
double nll_weight_total(const int64_t* target, const T* class_weights, const T* sample_weights, int64_t N) {
    double total = 0;
    for (int64_t i = 0; i < N; ++i)
        total += double(class_weights ? class_weights[target[i]] : T(1)) * (sample_weights ? sample_weights[i] : T(1));
    return total;
}

template <typename T>
void bce_with_logits_forward(T* loss, const T* x, const T* t, const T* pos_weight, int64_t P, int64_t count) {
#pragma omp parallel for if (count >= parallel_grain)
    for (int64_t k = 0; k < count; ++k)
        loss[k] = math::bce_with_logits(x[k], t[k], pos_weight ? pos_weight[k % P] : T(1));
}

template <typename T>
void bce_with_logits_backward(T* dx, T* dt, const T* dloss, const T* x, const T* t, const T* pos_weight, int64_t P,
                              int64_t count) {
#pragma omp parallel for if (count >= parallel_grain)
    for (int64_t k = 0; k < count; ++k) {
        const T pw = pos_weight ? pos_weight[k % P] : T(1);
        if (dx) dx[k] += dloss[k] * math::bce_with_logits_dx(x[k], t[k], pw);
        if (dt) dt[k] += dloss[k] * math::bce_with_logits_dt(x[k], t[k], pw);
    }
}

template <typename T>
int64_t find_outside(const T* x, int64_t count, double lo, double hi) {
    for (int64_t k = 0; k < count; ++k)
        if (!(x[k] >= lo && x[k] <= hi)) return k;
    return -1;
}

#define KILN_LOSS(T)                                                                                              \
    template void nll_forward<T>(T*, const T*, const int64_t*, const T*, const T*, double, int64_t, int64_t);    \
    template void nll_backward<T>(T*, const T*, const int64_t*, const T*, const T*, double, int64_t, int64_t);   \
    template double nll_weight_total<T>(const int64_t*, const T*, const T*, int64_t);                             \
    template void bce_with_logits_forward<T>(T*, const T*, const T*, const T*, int64_t, int64_t);                 \
    template void bce_with_logits_backward<T>(T*, T*, const T*, const T*, const T*, const T*, int64_t, int64_t); \
    template int64_t find_outside<T>(const T*, int64_t, double, double);
KILN_LOSS(float)
KILN_LOSS(double)

}  // namespace kiln::cpu
