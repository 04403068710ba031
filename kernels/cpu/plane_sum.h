#pragma once
// Sums over a plane in double, in an order fixed by the source.
#include <cstdint>

namespace kiln::cpu {

// total[k] += sum_{s < count} term_k(s) for each term (a lambda of s giving
// a double), as 8 partial sums per term (element s goes to partial s mod 8)
// added in a fixed order at the end. An `omp simd` reduction leaves the order
// to the vectoriser, which picks it per loop and per machine (on an AVX2 CPU
// batch_norm_relu's loop and batch_norm's summed in different orders, so the
// fused op lost the bits of the unfused ones); this order is the source's,
// the same on every CPU and in every variant of a loop, and the 8 partial
// sums are still 8 independent add chains (vectorised as fast as the
// reduction: 0.9 ns per element for batch norm's two backward sums on AVX2).
template <typename... Terms>
inline void add_plane_sums(double (&total)[sizeof...(Terms)], int64_t count, Terms... terms) {
    constexpr int Sums = sizeof...(Terms);
    constexpr int64_t L = 8;
    double partial[Sums][L] = {};
    const int64_t whole = count / L * L;
    for (int64_t s0 = 0; s0 < whole; s0 += L)
#pragma omp simd
        for (int64_t l = 0; l < L; ++l) {
            int k = 0;
            ((partial[k++][l] += terms(s0 + l)), ...);
        }
    for (int64_t s = whole; s < count; ++s) {
        int k = 0;
        ((partial[k++][s - whole] += terms(s)), ...);
    }
    for (int k = 0; k < Sums; ++k) {
        double sum = 0;
        for (int64_t l = 0; l < L; ++l) sum += partial[k][l];
        total[k] += sum;
    }
}

}  // namespace kiln::cpu
