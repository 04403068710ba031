// Every version of the SGEMM progression (kernels/cuda/gemm.cu) on emu
// against OpenBLAS, on shapes that are not multiples of any tile, with every
// transpose combination, alpha and beta, in float and double.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "engine/random.h"
#include "engine/tensor.h"
#include "kernels/backends.h"
#include "kernels/emu/simt.h"

using namespace kiln;

TEST_CASE("emu: every GEMM kernel version matches OpenBLAS on awkward shapes") {
    struct Shape3 {
        int64_t m, n, k;
    };
    for (const Shape3 s : {Shape3{1, 1, 1}, Shape3{17, 65, 33}, Shape3{70, 3, 129}, Shape3{5, 130, 16}}) {
        for (int transposes = 0; transposes < 4; ++transposes) {
            const bool ta = transposes & 1, tb = transposes & 2;
            Generator generator(uint64_t(s.m * 1000 + s.n * 10 + transposes));
            const std::vector<double> a = Tensor::randn({s.m * s.k}, DType::float64, generator).to_vector();
            const std::vector<double> b = Tensor::randn({s.k * s.n}, DType::float64, generator).to_vector();
            const std::vector<double> c0 = Tensor::randn({s.m * s.n}, DType::float64, generator).to_vector();
            const int64_t lda = ta ? s.m : s.k, ldb = tb ? s.k : s.n;
            std::vector<double> expected = c0;
            cpu::gemm(ta, tb, s.m, s.n, s.k, 0.5, a.data(), lda, b.data(), ldb, 2.0, expected.data(), s.n);
            for (auto kernel : {emu::GemmKernel::naive, emu::GemmKernel::shared_tiles, emu::GemmKernel::register_blocking}) {
                CAPTURE(int(kernel));
                CAPTURE(s.m);
                CAPTURE(s.n);
                CAPTURE(s.k);
                CAPTURE(transposes);
                std::vector<double> got = c0;
                simt::ScheduleGuard guard(simt::Schedule::reverse);
                emu::gemm_with(kernel, ta, tb, s.m, s.n, s.k, 0.5, a.data(), lda, b.data(), ldb, 2.0, got.data(), s.n);
                double worst = 0;
                for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - expected[i]));
                CHECK(worst < 1e-10 * double(s.k + 1));
                // float, with beta = 0 over a C full of NaN: C must not be read
                std::vector<float> af(a.begin(), a.end()), bf(b.begin(), b.end()), cf(got.size(), NAN);
                emu::gemm_with(kernel, ta, tb, s.m, s.n, s.k, 1.0f, af.data(), lda, bf.data(), ldb, 0.0f, cf.data(), s.n);
                std::vector<float> reference(got.size());
                cpu::gemm(ta, tb, s.m, s.n, s.k, 1.0f, af.data(), lda, bf.data(), ldb, 0.0f, reference.data(), s.n);
                float worst_float = 0;
                for (size_t i = 0; i < cf.size(); ++i) worst_float = std::max(worst_float, std::abs(cf[i] - reference[i]));
                CHECK(worst_float < 1e-4f * float(s.k + 1));
            }
        }
    }
}
