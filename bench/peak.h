#pragma once
// The machine's fp32 peak, measured: every core runs independent chains of
// vector FMAs in the widest vector the build targets (kernels/cpu/simd.h:
// AVX-512 or AVX2, the kernels' own vector), as many chains as fit in 3/4 of
// the register file (more than FMA latency x FMA ports, so the units never
// wait, and no spills). Measured rather than computed from a datasheet
// because cloud vCPUs rarely say their clock.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "kernels/cpu/simd.h"

namespace kiln::bench {

inline double measured_peak_gflops() {
    using cpu::simd::vec;
    constexpr int lanes = cpu::simd::lanes, chains = cpu::simd::registers * 3 / 4;
    constexpr long iterations = 20'000'000;
    double best = 0;
    for (int repeat = 0; repeat < 3; ++repeat) {
        const auto start = std::chrono::steady_clock::now();
        float sink = 0;
#pragma omp parallel reduction(+ : sink)
        {
            vec acc[chains];
            const vec a = cpu::simd::broadcast(0.999999f), b = cpu::simd::broadcast(1e-7f);
            for (int c = 0; c < chains; ++c) acc[c] = cpu::simd::broadcast(float(c + omp_get_thread_num()));
            for (long i = 0; i < iterations; ++i)
                for (int c = 0; c < chains; ++c) acc[c] = cpu::simd::fma(acc[c], a, b);
            for (int c = 0; c < chains; ++c)
                for (int lane = 0; lane < lanes; ++lane) sink += acc[c][lane];
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double flops = 2.0 * lanes * chains * double(iterations) * omp_get_max_threads();
        if (sink == 12345.f) std::printf(" ");  // keep the result alive
        best = std::max(best, flops / seconds / 1e9);
    }
    return best;
}

}  // namespace kiln::bench
