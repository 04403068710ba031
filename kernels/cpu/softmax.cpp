#include "kernels/cpu/softmax.h"

#include <cmath>

#include "kernels/common/softmax.h"
#include "kernels/cpu/strided.h"

namespace kiln::cpu {

// Each (o, i) is one independent row of `reduce` elements, `inner` apart.
// Sums are accumulated in double (as in sum_forward): float32 rows of a few
// thousand classes keep their digits. A row's max is its first NaN if it has
// one, so a NaN input gives a NaN row rather than a silently wrong one.
// Per-element formulas: kernels/common/softmax.h (shared with kernels/cuda/softmax.cu).

namespace {
template <typename T>
T row_max(const T* x, int64_t reduce, int64_t inner) {
    T m = x[0];
    for (int64_t r = 1; r < reduce && !std::isnan(m); ++r) m = math::max_keeping_nan(m, x[r * inner]);
    return m;
}

// sum_r exp(x - m) for a row with max m. (A row holding +inf, or only -inf,
// gives inf - inf = NaN, as in PyTorch.)
template <typename T>
double row_sum_exp(const T* x, T m, int64_t reduce, int64_t inner) {
    double total = 0;
    for (int64_t r = 0; r < reduce; ++r) total += math::softmax_term(x[r * inner], m);
    return total;
}
}  // namespace

template <typename T>
void softmax_forward(T* y, const T* x, int64_t outer, int64_t reduce, int64_t inner) {
    if (reduce == 0) return;
#pragma omp parallel for if (outer * reduce * inner >= parallel_grain)
    for (int64_t row = 0; row < outer * inner; ++row) {
        const int64_t base = (row / inner) * reduce * inner + row % inner;
        const T m = row_max(x + base, reduce, inner);
        const T inverse_sum = T(1 / row_sum_exp(x + base, m, reduce, inner));
        for (int64_t r = 0; r < reduce; ++r)
            y[base + r * inner] = math::softmax_value(x[base + r * inner], m, inverse_sum);
    }
}

template <typename T>
void softmax_backward(T* dx, const T* dy, const T* y, int64_t outer, int64_t reduce, int64_t inner) {
#pragma omp parallel for if (outer * reduce * inner >= parallel_grain)
    for (int64_t row = 0; row < outer * inner; ++row) {
        const int64_t base = (row / inner) * reduce * inner + row % inner;
        double dot = 0;  // sum_r dy y
        for (int64_t r = 0; r < reduce; ++r) dot += double(dy[base + r * inner]) * y[base + r * inner];
        for (int64_t r = 0; r < reduce; ++r) {
            const int64_t k = base + r * inner;
            dx[k] += math::softmax_gradient(y[k], dy[k], T(dot));
        }
    }
}

template <typename T>
void log_softmax_forward(T* y, const T* x, int64_t outer, int64_t reduce, int64_t inner) {
    if (reduce == 0) return;
#pragma omp parallel for if (outer * reduce * inner >= parallel_grain)
    for (int64_t row = 0; row < outer * inner; ++row) {
        const int64_t base = (row / inner) * reduce * inner + row % inner;
        const T m = row_max(x + base, reduce, inner);
        const T log_sum = T(std::log(row_sum_exp(x + base, m, reduce, inner)));
        for (int64_t r = 0; r < reduce; ++r)
            y[base + r * inner] = math::log_softmax_value(x[base + r * inner], m, log_sum);
    }
}

template <typename T>
void log_softmax_backward(T* dx, const T* dy, const T* y, int64_t outer, int64_t reduce, int64_t inner) {
#pragma omp parallel for if (outer * reduce * inner >= parallel_grain)
    for (int64_t row = 0; row < outer * inner; ++row) {
        const int64_t base = (row / inner) * reduce * inner + row % inner;
        double total = 0;  // sum_r dy
        for (int64_t r = 0; r < reduce; ++r) total += dy[base + r * inner];
        for (int64_t r = 0; r < reduce; ++r) {
            const int64_t k = base + r * inner;
            dx[k] += math::log_softmax_gradient(y[k], dy[k], T(total));
        }
    }
}

#define KILN_SOFTMAX(T)                                                                          \
    template void softmax_forward<T>(T*, const T*, int64_t, int64_t, int64_t);                   \
    template void softmax_backward<T>(T*, const T*, const T*, int64_t, int64_t, int64_t);        \
    template void log_softmax_forward<T>(T*, const T*, int64_t, int64_t, int64_t);               \
    template void log_softmax_backward<T>(T*, const T*, const T*, int64_t, int64_t, int64_t);
KILN_SOFTMAX(float)
KILN_SOFTMAX(double)

}  // namespace kiln::cpu
