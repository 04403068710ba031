#pragma once
// Block-wide sums for the CUDA kernels of one-block-per-channel reductions
// (batch_norm.cu, conv.cu). Included by .cu files after cuda_common.h; device
// code only, in the namespace of the current build.
#include "kernels/cuda/cuda_common.h"

namespace kiln::KILN_CUDA_NS {

// Threads of a block-reduction launch covering `count` values: the smallest
// multiple of 32 covering them (full warps: the shuffles use the full mask), at most 256.
inline unsigned reduction_threads_for(int64_t count) {
    constexpr int64_t max_threads = 256;
    const int64_t warps = (count + 31) / 32;
    return unsigned(warps * 32 >= max_threads ? max_threads : (warps < 1 ? 32 : warps * 32));
}

// Sum of `value` over the block, returned to every thread. Every thread of the
// block must call it (it holds barriers), and blockDim.x must be a multiple of
// 32. Each warp sums with __shfl_xor_sync (lane 0 holds the warp's total) and
// writes one slot per warp into shared memory; after the barrier every thread
// adds the slots in warp order, so all threads get the same, schedule-
// independent total. The second barrier lets the caller call block_sum again
// at once: no thread may overwrite a slot while another still reads it.
__device__ inline double block_sum(double value) {
    __shared__ double warp_totals[32];
    for (int offset = 16; offset > 0; offset /= 2) value += __shfl_xor_sync(0xFFFFFFFFu, value, offset);
    const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    if (lane == 0) warp_totals[warp] = value;
    __syncthreads();  // every warp's slot is written
    double total = 0;
    for (unsigned w = 0; w < blockDim.x / 32; ++w) total += warp_totals[w];
    __syncthreads();  // every thread has read the slots
    return total;
}

}  // namespace kiln::KILN_CUDA_NS
