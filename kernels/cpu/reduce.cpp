#include "kernels/cpu/reduce.h"

#include <cmath>

#include "kernels/cpu/strided.h"

namespace kiln::cpu {

template <typename T>
void sum_forward(T* out, const T* in, int64_t outer, int64_t reduce, int64_t inner) {
    // Accumulate in double: float sums over large images otherwise lose digits.
#pragma omp parallel for if (outer * reduce * inner >= parallel_grain)
    for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i = 0; i < inner; ++i) {
            double total = 0;
            for (int64_t r = 0; r < reduce; ++r) total += in[(o * reduce + r) * inner + i];
            out[o * inner + i] = T(total);
        }
    }
}

template <typename T>
void max_forward(T* values, int64_t* indices, const T* in, int64_t outer, int64_t reduce, int64_t inner) {
#pragma omp parallel for if (outer * reduce * inner >= parallel_grain)
    for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i = 0; i < inner; ++i) {
            int64_t best = 0;
            T best_value = in[o * reduce * inner + i];
            for (int64_t r = 1; r < reduce; ++r) {
                const T value = in[(o * reduce + r) * inner + i];
                if (value > best_value || (std::isnan(value) && !std::isnan(best_value))) {  // NaN wins, as in PyTorch
                    best_value = value;
                    best = r;
                }
            }
            values[o * inner + i] = best_value;
            indices[o * inner + i] = best;
        }
    }
}

template <typename T>
void max_backward(T* dx, const T* dy, const int64_t* indices, int64_t outer, int64_t reduce, int64_t inner) {
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) dx[(o * reduce + indices[o * inner + i]) * inner + i] += dy[o * inner + i];
}

#define KILN_REDUCE(T)                                                                    \
    template void sum_forward<T>(T*, const T*, int64_t, int64_t, int64_t);                \
    template void max_forward<T>(T*, int64_t*, const T*, int64_t, int64_t, int64_t);      \
    template void max_backward<T>(T*, const T*, const int64_t*, int64_t, int64_t, int64_t);
KILN_REDUCE(float)
KILN_REDUCE(double)

}  // namespace kiln::cpu
