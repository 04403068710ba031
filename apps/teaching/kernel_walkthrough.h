#pragma once
// kernel_walkthrough: the SGEMM kernel versions of kernels/cuda/gemm.cu
// (naive, shared_tiles, register_blocking) run on the emu backend on a tiny
// C = A @ B, showing which CUDA thread (block, thread) stored each element of
// C, and checking each version's float result against the cpu GEMM (OpenBLAS).
//
// How the "who stored what" map is obtained (recorded, not assumed): the
// kernel source is compiled once more, unchanged, for a spy number type whose
// assignment notes the running emulated thread (apps/teaching/gemm_spy.cpp).
// The map is then compared with the tiling that gemm.cu's header documents:
//   naive, shared_tiles: block (col / 16, row / 16), thread (col % 16, row % 16)
//   register_blocking:   block (col / 64, row / 64), thread (col % 64 / 4, row % 64 / 4)
//                        (each thread a 4 x 4 micro-tile)
// On a machine with a GPU (a cuda build and Tensor on Device::cuda(0) works)
// each version is also timed there; emulated timings would mean nothing.
#include <cstdint>
#include <string>
#include <vector>

#include "apps/teaching/gemm_spy.h"

namespace kiln::teaching {

struct WalkthroughOptions {
    int64_t m = 6, n = 10, k = 5;  // C [m, n] = A [m, k] @ B [k, n]
    uint64_t seed = 1;
    int64_t gpu_size = 1024;       // square size of the GPU timing (only with a GPU)
};

struct VersionWalk {
    std::string name;                       // "naive", "shared_tiles", "register_blocking"
    unsigned grid_x = 0, grid_y = 0, block_x = 0, block_y = 0;  // the launch, from the documented tiling
    uint64_t launches = 0;                  // kiln::simt::launch_count() difference over the spy run
    std::vector<GemmStore> stores;          // per element of C, row-major: who stored it
    int64_t threads_launched = 0;           // grid x block
    int64_t threads_storing = 0;            // distinct threads that stored at least one element
    bool mapping_as_documented = false;     // every element stored once, by the documented thread
    double float_error = 0;                 // emu float result vs cpu, max |difference| / max(1, max |C|)
    double spy_error = 0;                   // the spy run's values vs cpu in double, same measure
    double gpu_milliseconds = -1;           // per run on the GPU, or -1
    bool passed = false;
};

struct WalkthroughResult {
    WalkthroughOptions options;
    std::vector<double> a, b, c_cpu;        // the inputs and the cpu (OpenBLAS) reference, float
    std::vector<VersionWalk> versions;
    std::string gpu_note;                   // why there are no timings, or what was timed
    bool passed = false;
};

WalkthroughResult kernel_walkthrough(const WalkthroughOptions& options = {});
std::string kernel_walkthrough_text(const WalkthroughResult& result);

}  // namespace kiln::teaching
