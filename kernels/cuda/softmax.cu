// softmax and log_softmax along the middle axis of a contiguous [outer, reduce, inner]
// view (formulas: kernels/common/softmax.h; cpu reference: kernels/cpu/softmax.cpp).
//
// A row is the `reduce` elements of one (o, i), `inner` apart; there are
// rows = outer * inner of them, each independent. A row is handled by a team
// of threads, chosen by its layout:
//   - inner > 1 (e.g. the channels of NCHW): a thread per row. Neighbouring
//     threads take neighbouring i, so each step of their loops over r reads
//     consecutive addresses (coalesced). 256 threads per block.
//   - inner == 1, reduce <= warp_row_limit (class scores): a warp per row,
//     4 warps (128 threads) per block. Lanes stride over the row; max and sums
//     are combined with __shfl_xor_sync, which leaves the result in every lane.
//   - inner == 1, longer rows: a block per row, threads_for(reduce) threads.
//     Each warp combines with shuffles, then the warps through shared memory
//     (block_all_reduce: a barrier after the per-warp results are written, and
//     one after they are read, so a second reduction may reuse the slots).
// Every thread of a team computes the same row max and sums, then writes its
// own elements. Forward: max, then sum exp(x - m) (accumulated in double, as
// the cpu kernel does), then y. Backward: one sum (dot = sum dy y, or sum dy),
// then dx += ... (each dx element belongs to one thread: no atomics).
// Early exits (a warp past the last row, a thread past the last row) are
// whole-team, so no team waits at a shuffle or barrier for a missing member.
#include "kernels/cuda/cuda_common.h"
#include "kernels/cuda/softmax.h"

#include "kernels/common/softmax.h"

namespace kiln::KILN_CUDA_NS {

namespace {

constexpr unsigned threads_per_row_block = 256;     // thread-per-row launches
constexpr unsigned warps_per_block = 4;             // warp-per-row launches: 128 threads, 4 rows per block
constexpr int64_t warp_row_limit = 256;             // longer rows get a block (8 elements per lane at most)
constexpr unsigned max_threads = 256, max_warps = max_threads / 32;  // block-per-row launches

enum class Team { thread, warp, block };

Team team_for(int64_t reduce, int64_t inner) {
    if (inner > 1) return Team::thread;
    return reduce <= warp_row_limit ? Team::warp : Team::block;
}

// Block size for a block per row: the smallest multiple of 32 covering `reduce`, at most 256.
unsigned threads_for(int64_t reduce) {
    const int64_t warps = (reduce + 31) / 32;
    return unsigned(warps >= int64_t(max_warps) ? max_threads : (warps < 1 ? 32 : warps * 32));
}

// This thread's row, its rank in the row's team and the team size.
struct RowSlot {
    int64_t row;
    int64_t rank, size;
};

template <Team team>
__device__ RowSlot row_slot() {
    if constexpr (team == Team::thread) return {int64_t(blockIdx.x) * blockDim.x + threadIdx.x, 0, 1};
    else if constexpr (team == Team::warp)
        return {int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32, int64_t(threadIdx.x % 32), 32};
    else return {int64_t(blockIdx.x), int64_t(threadIdx.x), int64_t(blockDim.x)};
}

enum class Combine { max, sum };

__device__ double combine(double a, double b, Combine how) {
    return how == Combine::max ? math::max_keeping_nan(a, b) : a + b;
}

// Butterfly over the 32 lanes: every lane ends with the combination of all 32.
__device__ double warp_all_reduce(double value, Combine how) {
    for (int lane_mask = 16; lane_mask > 0; lane_mask /= 2)
        value = combine(value, __shfl_xor_sync(0xFFFFFFFFu, value, lane_mask), how);
    return value;
}

// Combination over the block (blockDim.x a multiple of 32), in every thread.
// The warps' results are combined in warp order, so the sum does not depend on
// the schedule.
__device__ double block_all_reduce(double value, Combine how) {
    __shared__ double warp_results[max_warps];
    value = warp_all_reduce(value, how);
    if (threadIdx.x % 32 == 0) warp_results[threadIdx.x / 32] = value;
    __syncthreads();  // every warp's result is written
    value = warp_results[0];
    for (unsigned w = 1; w < blockDim.x / 32; ++w) value = combine(value, warp_results[w], how);
    __syncthreads();  // every thread has read them: a next call may overwrite the slots
    return value;
}

template <Team team>
__device__ double team_all_reduce(double value, Combine how) {
    if constexpr (team == Team::thread) return value;
    else if constexpr (team == Team::warp) return warp_all_reduce(value, how);
    else return block_all_reduce(value, how);
}

template <typename T, bool is_log, Team team>
__global__ void softmax_forward_kernel(T* y, const T* x, int64_t rows, int64_t reduce, int64_t inner) {
    const RowSlot slot = row_slot<team>();
    if (slot.row >= rows) return;
    const int64_t base = (slot.row / inner) * reduce * inner + slot.row % inner;
    T m = x[base];  // the row max (NaN if the row has one)
    for (int64_t r = slot.rank; r < reduce; r += slot.size) m = math::max_keeping_nan(m, x[base + r * inner]);
    m = T(team_all_reduce<team>(double(m), Combine::max));  // exact: m is one of the row's values
    double sum_exp = 0;
    for (int64_t r = slot.rank; r < reduce; r += slot.size) sum_exp += math::softmax_term(x[base + r * inner], m);
    sum_exp = team_all_reduce<team>(sum_exp, Combine::sum);
    if constexpr (is_log) {
        const T log_sum = T(std::log(sum_exp));
        for (int64_t r = slot.rank; r < reduce; r += slot.size)
            y[base + r * inner] = math::log_softmax_value(x[base + r * inner], m, log_sum);
    } else {
        const T inverse_sum = T(1 / sum_exp);
        for (int64_t r = slot.rank; r < reduce; r += slot.size)
            y[base + r * inner] = math::softmax_value(x[base + r * inner], m, inverse_sum);
    }
}

template <typename T, bool is_log, Team team>
__global__ void softmax_backward_kernel(T* dx, const T* dy, const T* y, int64_t rows, int64_t reduce, int64_t inner) {
    const RowSlot slot = row_slot<team>();
    if (slot.row >= rows) return;
    const int64_t base = (slot.row / inner) * reduce * inner + slot.row % inner;
    double total = 0;  // log_softmax: sum dy;  softmax: sum dy y
    for (int64_t r = slot.rank; r < reduce; r += slot.size) {
        const int64_t k = base + r * inner;
        total += is_log ? double(dy[k]) : double(dy[k]) * y[k];
    }
    const T row_total = T(team_all_reduce<team>(total, Combine::sum));
    for (int64_t r = slot.rank; r < reduce; r += slot.size) {
        const int64_t k = base + r * inner;
        dx[k] += is_log ? math::log_softmax_gradient(y[k], dy[k], row_total)
                        : math::softmax_gradient(y[k], dy[k], row_total);
    }
}

template <typename T, bool is_log>
void forward(T* y, const T* x, int64_t outer, int64_t reduce, int64_t inner) {
    const int64_t rows = outer * inner;
    if (rows == 0 || reduce == 0) return;
    switch (team_for(reduce, inner)) {
        case Team::thread:
            KILN_LAUNCH((softmax_forward_kernel<T, is_log, Team::thread>), blocks_for(rows, threads_per_row_block),
                        threads_per_row_block, 0, y, x, rows, reduce, inner);
            break;
        case Team::warp:
            KILN_LAUNCH((softmax_forward_kernel<T, is_log, Team::warp>), blocks_for(rows, warps_per_block),
                        warps_per_block * 32, 0, y, x, rows, reduce, inner);
            break;
        case Team::block:
            KILN_LAUNCH((softmax_forward_kernel<T, is_log, Team::block>), unsigned(rows), threads_for(reduce), 0, y, x,
                        rows, reduce, inner);
            break;
    }
}

template <typename T, bool is_log>
void backward(T* dx, const T* dy, const T* y, int64_t outer, int64_t reduce, int64_t inner) {
    const int64_t rows = outer * inner;
    if (rows == 0 || reduce == 0) return;
    switch (team_for(reduce, inner)) {
        case Team::thread:
            KILN_LAUNCH((softmax_backward_kernel<T, is_log, Team::thread>), blocks_for(rows, threads_per_row_block),
                        threads_per_row_block, 0, dx, dy, y, rows, reduce, inner);
            break;
        case Team::warp:
            KILN_LAUNCH((softmax_backward_kernel<T, is_log, Team::warp>), blocks_for(rows, warps_per_block),
                        warps_per_block * 32, 0, dx, dy, y, rows, reduce, inner);
            break;
        case Team::block:
            KILN_LAUNCH((softmax_backward_kernel<T, is_log, Team::block>), unsigned(rows), threads_for(reduce), 0, dx,
                        dy, y, rows, reduce, inner);
            break;
    }
}

}  // namespace

template <typename T>
void softmax_forward(T* y, const T* x, int64_t outer, int64_t reduce, int64_t inner) {
    forward<T, false>(y, x, outer, reduce, inner);
}

template <typename T>
void softmax_backward(T* dx, const T* dy, const T* y, int64_t outer, int64_t reduce, int64_t inner) {
    backward<T, false>(dx, dy, y, outer, reduce, inner);
}

template <typename T>
void log_softmax_forward(T* y, const T* x, int64_t outer, int64_t reduce, int64_t inner) {
    forward<T, true>(y, x, outer, reduce, inner);
}

template <typename T>
void log_softmax_backward(T* dx, const T* dy, const T* y, int64_t outer, int64_t reduce, int64_t inner) {
    backward<T, true>(dx, dy, y, outer, reduce, inner);
}

#define KILN_SOFTMAX(T)                                                                          \
    template void softmax_forward<T>(T*, const T*, int64_t, int64_t, int64_t);                   \
    template void softmax_backward<T>(T*, const T*, const T*, int64_t, int64_t, int64_t);        \
    template void log_softmax_forward<T>(T*, const T*, int64_t, int64_t, int64_t);               \
    template void log_softmax_backward<T>(T*, const T*, const T*, int64_t, int64_t, int64_t);
KILN_SOFTMAX(float)
KILN_SOFTMAX(double)
#undef KILN_SOFTMAX

}  // namespace kiln::KILN_CUDA_NS
