// Reductions over the middle axis of a contiguous [outer, reduce, inner] view.
//
// Launch: one block per output element (outer * inner blocks); the block's
// threads stride over the `reduce` axis, then combine their partial results:
// first inside each warp with __shfl_down_sync, then across warps through
// shared memory (one slot per warp) and a final warp. Block size: the
// smallest multiple of 32 covering `reduce`, at most 256.
#include "kernels/cuda/cuda_common.h"
#include "kernels/cuda/reduce.h"

namespace kiln::KILN_CUDA_NS {

namespace {
constexpr unsigned max_threads = 256, max_warps = max_threads / 32;

unsigned threads_for(int64_t reduce) {
    const int64_t warps = (reduce + 31) / 32;
    return unsigned(warps >= int64_t(max_warps) ? max_threads : (warps < 1 ? 32 : warps * 32));
}

// Sum of `value` over the block, valid in thread 0. Accumulates in double.
__device__ double block_sum(double value) {
    __shared__ double warp_totals[max_warps];
    for (unsigned offset = 16; offset > 0; offset /= 2) value += __shfl_down_sync(0xFFFFFFFFu, value, offset);
    const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    if (lane == 0) warp_totals[warp] = value;
    __syncthreads();
    if (warp == 0) {
        value = lane < blockDim.x / 32 ? warp_totals[lane] : 0.0;
        for (unsigned offset = 16; offset > 0; offset /= 2) value += __shfl_down_sync(0xFFFFFFFFu, value, offset);
    }
    return value;
}

template <typename T>
__global__ void sum_kernel(T* out, const T* in, int64_t reduce, int64_t inner) {
    const int64_t o = blockIdx.x / inner, i = blockIdx.x % inner;
    double partial = 0;
    for (int64_t r = threadIdx.x; r < reduce; r += blockDim.x) partial += double(in[(o * reduce + r) * inner + i]);
    const double total = block_sum(partial);
    if (threadIdx.x == 0) out[blockIdx.x] = T(total);
}

// (value, index) with the larger value winning; NaN beats numbers; ties go to the lower index.
template <typename T>
__device__ void keep_max(T& best, int64_t& best_index, T value, int64_t index) {
    const bool value_nan = value != value, best_nan = best != best;
    const bool better = (value_nan && !best_nan) || (!best_nan && value > best) ||
                        ((value == best || (value_nan && best_nan)) && index < best_index);
    if (better) {
        best = value;
        best_index = index;
    }
}

template <typename T>
__global__ void max_kernel(T* values, int64_t* indices, const T* in, int64_t reduce, int64_t inner) {
    __shared__ T warp_best[max_warps];
    __shared__ int64_t warp_best_index[max_warps];
    const int64_t o = blockIdx.x / inner, i = blockIdx.x % inner;
    T best = in[o * reduce * inner + i];
    int64_t best_index = 0;
    for (int64_t r = threadIdx.x; r < reduce; r += blockDim.x) keep_max(best, best_index, in[(o * reduce + r) * inner + i], r);
    for (unsigned offset = 16; offset > 0; offset /= 2) {
        const T other = __shfl_down_sync(0xFFFFFFFFu, best, offset);
        const int64_t other_index = __shfl_down_sync(0xFFFFFFFFu, best_index, offset);
        keep_max(best, best_index, other, other_index);
    }
    const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    if (lane == 0) {
        warp_best[warp] = best;
        warp_best_index[warp] = best_index;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (unsigned w = 1; w < blockDim.x / 32; ++w) keep_max(best, best_index, warp_best[w], warp_best_index[w]);
        values[blockIdx.x] = best;
        indices[blockIdx.x] = best_index;
    }
}

// One thread per output element: each adds its gradient at its own arg-max (no two threads share a target).
template <typename T>
__global__ void max_backward_kernel(T* dx, const T* dy, const int64_t* indices, int64_t reduce, int64_t inner,
                                    int64_t count) {
    const int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (k >= count) return;
    const int64_t o = k / inner, i = k % inner;
    dx[(o * reduce + indices[k]) * inner + i] += dy[k];
}
}  // namespace

template <typename T>
void sum_forward(T* out, const T* in, int64_t outer, int64_t reduce, int64_t inner) {
    if (outer * inner == 0) return;
    KILN_LAUNCH(sum_kernel<T>, unsigned(outer * inner), threads_for(reduce), 0, out, in, reduce, inner);
}

template <typename T>
void max_forward(T* values, int64_t* indices, const T* in, int64_t outer, int64_t reduce, int64_t inner) {
    if (outer * inner == 0) return;
    KILN_LAUNCH(max_kernel<T>, unsigned(outer * inner), threads_for(reduce), 0, values, indices, in, reduce, inner);
}

template <typename T>
void max_backward(T* dx, const T* dy, const int64_t* indices, int64_t outer, int64_t reduce, int64_t inner) {
    const int64_t count = outer * inner;
    if (count == 0) return;
    KILN_LAUNCH(max_backward_kernel<T>, blocks_for(count, 256), 256, 0, dx, dy, indices, reduce, inner, count);
}

#define KILN_REDUCE(T)                                                                    \
    template void sum_forward<T>(T*, const T*, int64_t, int64_t, int64_t);                \
    template void max_forward<T>(T*, int64_t*, const T*, int64_t, int64_t, int64_t);      \
    template void max_backward<T>(T*, const T*, const int64_t*, int64_t, int64_t, int64_t);
KILN_REDUCE(float)
KILN_REDUCE(double)
#undef KILN_REDUCE

}  // namespace kiln::KILN_CUDA_NS
