// bench_sgemm: kiln's matmul against calling OpenBLAS directly and against the
// machine's measured fp32 peak, in one process, on the same matrices.
//
//   OPENBLAS_CORETYPE= OMP_NUM_THREADS=2 build/bench/bench_sgemm
//
// kiln/BLAS near 1.0 means the engine (checks, allocation, dispatch) costs
// nothing next to the GEMM; GEMM/peak says how much of the machine BLAS uses.
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

#include "bench/peak.h"
#include "bench/timing.h"
#include "engine/ops.h"

int main() {
    const double peak = kiln::bench::measured_peak_gflops();
    std::printf("threads %d, measured fp32 peak %.1f GFLOP/s\n\n", omp_get_max_threads(), peak);
    std::printf("%-28s %12s %12s %10s %10s\n", "M x N x K", "kiln GF/s", "BLAS GF/s", "kiln/BLAS", "kiln/peak");
    struct Case { int64_t m, n, k; const char* note; };
    const Case cases[] = {
        {128, 128, 128, ""}, {256, 256, 256, ""}, {512, 512, 512, ""}, {1024, 1024, 1024, ""},
        {2048, 2048, 2048, ""}, {64, 4096, 576, "conv3x3 64ch 64x64 as GEMM"}, {255, 333, 129, "odd sizes"},
    };
    for (const Case& c : cases) {
        const kiln::Tensor a = kiln::Tensor::randn({c.m, c.k}), b = kiln::Tensor::randn({c.k, c.n});
        kiln::Tensor out = kiln::Tensor::empty({c.m, c.n});
        const double flops = 2.0 * double(c.m) * double(c.n) * double(c.k);
        const double kiln_s = kiln::bench::median_seconds([&] { out = kiln::matmul(a, b); });
        const double blas_s = kiln::bench::median_seconds([&] {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(c.m), int(c.n), int(c.k), 1.0f,
                        a.data<float>(), int(c.k), b.data<float>(), int(c.n), 0.0f, out.data<float>(), int(c.n));
        });
        char shape[64];
        std::snprintf(shape, sizeof shape, "%lldx%lldx%lld", (long long)c.m, (long long)c.n, (long long)c.k);
        std::printf("%-28s %12.1f %12.1f %10.2f %10.2f  %s\n", shape, flops / kiln_s / 1e9, flops / blas_s / 1e9,
                    blas_s / kiln_s, flops / kiln_s / 1e9 / peak, c.note);
    }
    return 0;
}
