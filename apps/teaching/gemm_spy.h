#pragma once
// Runs one SGEMM kernel version of kernels/cuda/gemm.cu on the emulator with
// a "spy" number type, and reports which CUDA thread stored each element of C.
// See gemm_spy.cpp for how, and apps/teaching/kernel_walkthrough.h for why.
#include <cstdint>
#include <vector>

namespace kiln::teaching {

// Who stored one element of C, and what.
struct GemmStore {
    unsigned block_x = 0, block_y = 0, thread_x = 0, thread_y = 0;
    int stores = 0;      // how many times the element was assigned (1 for a correct kernel)
    double value = 0;    // the value stored (the kernel's arithmetic, in double)
};

// version: 0 naive, 1 shared_tiles, 2 register_blocking (the order of
// GemmKernel in kernels/cuda/gemm.h). C = A @ B, row-major, A [M, K], B [K, N];
// returns M * N records, row-major.
std::vector<GemmStore> gemm_recording_stores(int version, int64_t M, int64_t N, int64_t K, const std::vector<double>& A,
                                             const std::vector<double>& B);

}  // namespace kiln::teaching
