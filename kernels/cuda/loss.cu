// Loss kernels (formulas: kernels/common/loss.h; cpu reference: kernels/cpu/loss.cpp).
//   nll:  loss[i] = sw[i] ((1 - s) w[y_i] (-lp[i, y_i]) + (s / C) sum_c w[c] (-lp[i, c]))
//         dlp[i, c] += -dloss[i] sw[i] ((1 - s) w[y_i] [c == y_i] + (s / C) w[c])
//   bce:  loss[k] = bce_with_logits(x[k], t[k], pw[k % P]),  dx, dt += dloss[k] * its derivatives
// Null weights mean 1. Kernels assume valid input (the engine checked
// targets in [0, C) and the lengths of the weights).
//
// Launch, no shared memory, no __syncthreads:
//   - nll_forward: a warp per sample, 4 warps (128 threads) per block. Lane 0
//     adds term 1; with smoothing, the lanes stride over the C classes for
//     term 2's sum (in double, as the cpu kernel) and combine it with
//     __shfl_xor_sync. A warp past the last sample exits whole.
//   - nll_backward: a thread per element (i, c) of dlp, 256 per block; it
//     subtracts term 1 (if c is the target) then term 2, in the cpu kernel's
//     order. Each element has one thread: no atomics.
//   - bce forward and backward: a thread per element, 256 per block.
#include "kernels/cuda/cuda_common.h"
#include "kernels/cuda/loss.h"

#include "kernels/common/loss.h"

namespace kiln::KILN_CUDA_NS {

namespace {

constexpr unsigned threads_per_block = 256;
constexpr unsigned warps_per_block = 4;  // nll_forward: samples per block

template <typename T>
__device__ T weight_or_one(const T* weights, int64_t index) {
    return weights ? weights[index] : T(1);
}

template <typename T>
__global__ void nll_forward_kernel(T* loss, const T* log_probs, const int64_t* target, const T* class_weights,
                                   const T* sample_weights, T s, bool smoothing, int64_t N, int64_t C) {
    const int64_t i = int64_t(blockIdx.x) * warps_per_block + threadIdx.x / 32;
    const unsigned lane = threadIdx.x % 32;
    if (i >= N) return;  // the whole warp
    const T* row = log_probs + i * C;
    T smoothing_term = 0;  // term 2
    if (smoothing) {
        double smooth = 0;  // sum_c w[c] (-lp[i, c]), this lane's classes
        for (int64_t c = lane; c < C; c += 32) smooth += double(weight_or_one(class_weights, c)) * -row[c];
        for (int lane_mask = 16; lane_mask > 0; lane_mask /= 2)
            smooth += __shfl_xor_sync(0xFFFFFFFFu, smooth, lane_mask);
        smoothing_term = math::nll_smoothing_term(T(smooth), s, C);
    }
    if (lane != 0) return;
    const int64_t y = target[i];
    const T target_term = math::nll_target_term(row[y], weight_or_one(class_weights, y), s);  // term 1
    const T l = smoothing ? target_term + smoothing_term : target_term;
    loss[i] = sample_weights ? sample_weights[i] * l : l;
}

template <typename T>
__global__ void nll_backward_kernel(T* dlog_probs, const T* dloss, const int64_t* target, const T* class_weights,
                                    const T* sample_weights, T s, bool smoothing, int64_t N, int64_t C) {
    const int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (k >= N * C) return;
    const int64_t i = k / C, c = k % C;
    const bool is_target = target[i] == c;
    if (!is_target && !smoothing) return;
    const T g = sample_weights ? dloss[i] * sample_weights[i] : dloss[i];
    const T w = weight_or_one(class_weights, c);
    if (is_target) dlog_probs[k] -= math::nll_target_gradient(g, w, s);  // term 1
    if (smoothing) dlog_probs[k] -= math::nll_smoothing_gradient(g, w, s, C);  // term 2
}

template <typename T>
__global__ void bce_forward_kernel(T* loss, const T* x, const T* t, const T* pos_weight, int64_t P, int64_t count) {
    const int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (k < count) loss[k] = math::bce_with_logits(x[k], t[k], pos_weight ? pos_weight[k % P] : T(1));
}

template <typename T>
__global__ void bce_backward_kernel(T* dx, T* dt, const T* dloss, const T* x, const T* t, const T* pos_weight,
                                    int64_t P, int64_t count) {
    const int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (k >= count) return;
    const T pw = pos_weight ? pos_weight[k % P] : T(1);
    if (dx) dx[k] += dloss[k] * math::bce_with_logits_dx(x[k], t[k], pw);
    if (dt) dt[k] += dloss[k] * math::bce_with_logits_dt(x[k], t[k], pw);
}

}  // namespace

template <typename T>
void nll_forward(T* loss, const T* log_probs, const int64_t* target, const T* class_weights, const T* sample_weights,
                 double label_smoothing, int64_t N, int64_t C) {
    if (N == 0) return;
    KILN_LAUNCH(nll_forward_kernel<T>, blocks_for(N, warps_per_block), warps_per_block * 32, 0, loss, log_probs,
                target, class_weights, sample_weights, T(label_smoothing), label_smoothing != 0, N, C);
}

template <typename T>
void nll_backward(T* dlog_probs, const T* dloss, const int64_t* target, const T* class_weights,
                  const T* sample_weights, double label_smoothing, int64_t N, int64_t C) {
    if (N * C == 0) return;
    KILN_LAUNCH(nll_backward_kernel<T>, blocks_for(N * C, threads_per_block), threads_per_block, 0, dlog_probs, dloss,
                target, class_weights, sample_weights, T(label_smoothing), label_smoothing != 0, N, C);
}

template <typename T>
void bce_with_logits_forward(T* loss, const T* x, const T* t, const T* pos_weight, int64_t P, int64_t count) {
    if (count == 0) return;
    KILN_LAUNCH(bce_forward_kernel<T>, blocks_for(count, threads_per_block), threads_per_block, 0, loss, x, t,
                pos_weight, P, count);
}

template <typename T>
void bce_with_logits_backward(T* dx, T* dt, const T* dloss, const T* x, const T* t, const T* pos_weight, int64_t P,
                              int64_t count) {
    if (count == 0) return;
    KILN_LAUNCH(bce_backward_kernel<T>, blocks_for(count, threads_per_block), threads_per_block, 0, dx, dt, dloss, x,
                t, pos_weight, P, count);
}

#define KILN_LOSS(T)                                                                                              \
    template void nll_forward<T>(T*, const T*, const int64_t*, const T*, const T*, double, int64_t, int64_t);    \
    template void nll_backward<T>(T*, const T*, const int64_t*, const T*, const T*, double, int64_t, int64_t);   \
    template void bce_with_logits_forward<T>(T*, const T*, const T*, const T*, int64_t, int64_t);                 \
    template void bce_with_logits_backward<T>(T*, T*, const T*, const T*, const T*, const T*, int64_t, int64_t);
KILN_LOSS(float)
KILN_LOSS(double)
#undef KILN_LOSS

}  // namespace kiln::KILN_CUDA_NS
