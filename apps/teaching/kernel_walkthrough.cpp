#include "apps/teaching/kernel_walkthrough.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

#include "apps/teaching/text.h"
#include "engine/random.h"
#include "engine/tensor.h"
#include "kernels/backends.h"
#include "kernels/emu/simt.h"

namespace kiln::teaching {

namespace {

// float32 GEMMs over k <= a few hundred terms agree to ~1e-6 of the largest value.
constexpr double float_tolerance = 1e-5;

struct Tiling {
    const char* name;
    emu::GemmKernel kernel;
    unsigned c_tile;     // C elements per block, per side
    unsigned per_thread; // C elements per thread, per side
};
constexpr Tiling tilings[] = {
    {"naive", emu::GemmKernel::naive, 16, 1},
    {"shared_tiles", emu::GemmKernel::shared_tiles, 16, 1},
    {"register_blocking", emu::GemmKernel::register_blocking, 64, 4},
};

double relative_error(const std::vector<double>& got, const std::vector<double>& want) {
    double scale = 1;
    for (double v : want) scale = std::max(scale, std::fabs(v));
    return max_abs_difference(got, want) / scale;
}

#if KILN_HAVE_CUDA
// Seconds per run of one version on the GPU. A device-to-host copy waits for
// the kernels queued before it, so it closes the timed interval.
double gpu_seconds(cuda::GemmKernel kernel, int64_t size) {
    const Device gpu = Device::cuda(0);
    const Tensor a = Tensor::rand({size, size}).to(gpu), b = Tensor::rand({size, size}).to(gpu);
    const Tensor c = Tensor::zeros({size, size}, DType::float32, gpu);
    auto run = [&] {
        cuda::gemm_with<float>(kernel, false, false, size, size, size, 1.0f, a.data<float>(), size, b.data<float>(),
                               size, 0.0f, c.data<float>(), size);
    };
    run();
    (void)c.narrow(0, 0, 1).to(Device::cpu());
    constexpr int repeats = 10;
    const auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < repeats; ++r) run();
    (void)c.narrow(0, 0, 1).to(Device::cpu());
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / repeats;
}
#endif

}  // namespace

WalkthroughResult kernel_walkthrough(const WalkthroughOptions& options) {
    KILN_CHECK(options.m >= 1 && options.n >= 1 && options.k >= 1 && options.m <= 256 && options.n <= 256 &&
                   options.k <= 256,
               "kernel_walkthrough: m, n and k must be in [1, 256] (a walkthrough, not a benchmark)");
    WalkthroughResult r;
    r.options = options;
    const int64_t M = options.m, N = options.n, K = options.k;
    Generator generator(options.seed);
    // Small integers: every product and sum is exact in float, so any difference is a bug.
    auto draw = [&](int64_t count) {
        std::vector<double> v = Tensor::rand({count}, DType::float64, generator).to_vector();
        for (double& x : v) x = std::floor(x * 7) - 3;  // -3 .. 3
        return v;
    };
    r.a = draw(M * K);
    r.b = draw(K * N);
    const std::vector<float> af(r.a.begin(), r.a.end()), bf(r.b.begin(), r.b.end());
    std::vector<float> c_cpu(static_cast<size_t>(M * N), 0.0f);
    cpu::gemm<float>(false, false, M, N, K, 1.0f, af.data(), K, bf.data(), N, 0.0f, c_cpu.data(), N);
    r.c_cpu.assign(c_cpu.begin(), c_cpu.end());

    bool gpu = false;
#if KILN_HAVE_CUDA
    try {
        (void)Tensor::zeros({1}, DType::float32, Device::cuda(0));
        gpu = true;
        r.gpu_note = "timed on cuda:0, " + std::to_string(options.gpu_size) + "^3, mean of 10 runs after one warm-up";
    } catch (const std::exception& error) {
        r.gpu_note = std::string("no GPU, so no timings (emulated timings would mean nothing): ") + error.what();
    }
#else
    r.gpu_note = "no timings: this build has no cuda backend (configured without nvcc), and emulated timings would "
                 "mean nothing";
#endif

    r.passed = true;
    for (const Tiling& t : tilings) {
        VersionWalk v;
        v.name = t.name;
        v.block_x = v.block_y = 16;
        v.grid_x = unsigned((N + t.c_tile - 1) / t.c_tile);
        v.grid_y = unsigned((M + t.c_tile - 1) / t.c_tile);
        v.threads_launched = int64_t(v.grid_x) * v.grid_y * v.block_x * v.block_y;

        // The library's float kernel on emu, against the cpu.
        std::vector<float> c(static_cast<size_t>(M * N), std::nanf(""));
        emu::gemm_with<float>(t.kernel, false, false, M, N, K, 1.0f, af.data(), K, bf.data(), N, 0.0f, c.data(), N);
        v.float_error = relative_error(std::vector<double>(c.begin(), c.end()), r.c_cpu);

        // The spy run: who stored what.
        const uint64_t launches_before = simt::launch_count();
        v.stores = gemm_recording_stores(int(t.kernel), M, N, K, r.a, r.b);
        v.launches = simt::launch_count() - launches_before;
        std::vector<double> values;
        std::set<std::pair<unsigned, unsigned>> storing;  // (global x, global y) thread ids
        v.mapping_as_documented = true;
        for (int64_t row = 0; row < M; ++row)
            for (int64_t col = 0; col < N; ++col) {
                const GemmStore& s = v.stores[size_t(row * N + col)];
                values.push_back(s.value);
                storing.insert({s.block_x * 16 + s.thread_x, s.block_y * 16 + s.thread_y});
                const bool documented = s.stores == 1 && s.block_x == col / t.c_tile && s.block_y == row / t.c_tile &&
                                        s.thread_x == col % t.c_tile / t.per_thread &&
                                        s.thread_y == row % t.c_tile / t.per_thread;
                v.mapping_as_documented = v.mapping_as_documented && documented;
            }
        v.threads_storing = int64_t(storing.size());
        v.spy_error = relative_error(values, r.c_cpu);
#if KILN_HAVE_CUDA
        if (gpu) v.gpu_milliseconds = 1e3 * gpu_seconds(static_cast<cuda::GemmKernel>(int(t.kernel)), options.gpu_size);
#endif
        v.passed = v.float_error <= float_tolerance && v.spy_error <= float_tolerance && v.mapping_as_documented &&
                   v.launches == 1;
        r.passed = r.passed && v.passed;
        r.versions.push_back(std::move(v));
    }
    (void)gpu;
    return r;
}

std::string kernel_walkthrough_text(const WalkthroughResult& r) {
    const WalkthroughOptions& o = r.options;
    std::ostringstream out;
    out << "kernel_walkthrough: the SGEMM versions of kernels/cuda/gemm.cu on the emu backend, C [" << o.m << ", "
        << o.n << "] = A [" << o.m << ", " << o.k << "] @ B [" << o.k << ", " << o.n << "]\n"
        << "How the maps below are made: gemm.cu is compiled once more, unchanged, for a spy number type whose\n"
           "assignment records the emulated thread (blockIdx, threadIdx) that stores it; every element of C is\n"
           "stored by exactly one `c = ...` in store_c. The record is then compared with the tiling gemm.cu\n"
           "documents, and the library's own float kernel is run on emu and compared with the cpu (OpenBLAS).\n\n";
    out << "A (small integers, so every sum is exact in float)\n"
        << matrix_text(Matrix(o.m, o.k, r.a)) << "B\n" << matrix_text(Matrix(o.k, o.n, r.b)) << "C = A @ B (cpu)\n"
        << matrix_text(Matrix(o.m, o.n, r.c_cpu));
    for (const VersionWalk& v : r.versions) {
        out << "\n" << v.name << ": grid (" << v.grid_x << ", " << v.grid_y << "), block (" << v.block_x << ", "
            << v.block_y << ") = " << v.threads_launched << " threads launched, " << v.threads_storing
            << " of them stored elements of C; " << v.launches << " launch\n";
        if (v.name == "register_blocking")
            out << "  each thread keeps a 4x4 micro-tile of C in registers and stores all 16 (rows 4ty.., cols 4tx..)\n";
        else if (v.name == "shared_tiles")
            out << "  one thread per element, as naive, but A and B pass through 16x16 shared-memory tiles\n";
        else
            out << "  one thread per element of C, reading its row of A and column of B from global memory\n";
        out << "  element (row, col) <- thread: block bx,by / thread tx,ty  (* = stored more than once)\n";
        for (int64_t row = 0; row < o.m; ++row) {
            std::string line = "  ";
            for (int64_t col = 0; col < o.n; ++col) {
                const GemmStore& s = v.stores[size_t(row * o.n + col)];
                char cell[48];
                if (s.stores == 0) std::snprintf(cell, sizeof cell, " %11s", "never");
                else std::snprintf(cell, sizeof cell, " %u,%u/%2u,%-2u%s", s.block_x, s.block_y, s.thread_x, s.thread_y,
                                   s.stores > 1 ? "*" : " ");
                line += cell;
            }
            while (line.back() == ' ') line.pop_back();
            out << line << '\n';
        }
        out << "  stored once each by the documented thread: " << (v.mapping_as_documented ? "yes" : "NO")
            << ";  emu float result vs cpu: " << number_text(v.float_error, 3)
            << (v.float_error <= float_tolerance ? " ok" : " MISMATCH") << ";  spy values vs cpu: "
            << number_text(v.spy_error, 3) << (v.spy_error <= float_tolerance ? " ok" : " MISMATCH") << '\n';
        if (v.gpu_milliseconds >= 0) {
            const double n = double(o.gpu_size);
            out << "  GPU: " << number_text(v.gpu_milliseconds, 4) << " ms per " << o.gpu_size << "^3 GEMM, "
                << number_text(2 * n * n * n / (v.gpu_milliseconds * 1e-3) / 1e9, 4) << " GFLOP/s\n";
        }
    }
    out << "\n" << r.gpu_note << '\n' << (r.passed ? "all checks passed\n" : "SOME CHECKS FAILED\n");
    return out.str();
}

}  // namespace kiln::teaching
