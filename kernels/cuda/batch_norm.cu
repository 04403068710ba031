// Batch normalisation over x [N, C, S] (S = H * W, or 1 for x [N, C]); the
// formulas: kernels/common/batch_norm.h, the reference: kernels/cpu/batch_norm.cpp.
//
// batch_statistics_kernel (training): one block per channel c (grid C),
//   reduction_threads_for(N S) threads. The block's threads stride over the
//   channel's m = N S values; two block sums (block_reduce.h: warp shuffles,
//   one shared slot per warp, barriers inside): sum x gives the mean, which
//   every thread gets back, then sum (x - mean)^2 the biased variance (two
//   passes, as the cpu kernel: no cancellation). Thread 0 writes mean[c],
//   rstd[c] and updates the running statistics in place. Sums in double.
// running_statistics_kernel (eval): one thread per channel.
// forward_kernel: one thread per element of y, 256 threads per block:
//   y = act(scale x + shift) with the channel's scale and shift; with relu
//   (batch_norm_relu) the activation is one select in the same pass (relu6:
//   two), so the
//   normalised value is never written to memory.
// backward_kernel: one block per channel (grid C), as the statistics: two
//   block sums give sum dz and sum dz xhat, dz = dy taken back through the
//   activation (relu: dy where the saved output y > 0, else 0; relu6: dy where
//   0 < y < 6; dy itself
//   without an activation), applied as each value is read, in both the
//   sums and the dx pass: no separate pass for the mask. Thread 0 adds the
//   sums into dbias[c] and dweight[c]; then every thread adds dx for its
//   strided values. Each output element has one writer: no atomics,
//   bit-reproducible.
#include "kernels/cuda/cuda_common.h"
#include "kernels/cuda/batch_norm.h"
#include "kernels/common/batch_norm.h"
#include "kernels/cuda/block_reduce.h"

namespace kiln::KILN_CUDA_NS {

namespace {
constexpr unsigned threads_per_block = 256;

// Offset in x [N, C, S] of value k = n S + s of channel c.
__device__ int64_t channel_offset(int64_t k, int64_t c, int64_t C, int64_t S) { return (k / S * C + c) * S + k % S; }

template <typename T>
__global__ void batch_statistics_kernel(T* mean, T* rstd, T* running_mean, T* running_var, const T* x, int64_t N,
                                        int64_t C, int64_t S, double momentum, double eps) {
    const int64_t c = blockIdx.x, m = N * S;
    double partial = 0;
    for (int64_t k = threadIdx.x; k < m; k += blockDim.x) partial += double(x[channel_offset(k, c, C, S)]);
    const double channel_mean = block_sum(partial) / double(m);
    partial = 0;
    for (int64_t k = threadIdx.x; k < m; k += blockDim.x) {
        const double d = double(x[channel_offset(k, c, C, S)]) - channel_mean;
        partial += d * d;
    }
    const double variance = block_sum(partial) / double(m);  // biased: what the batch is normalised with
    if (threadIdx.x != 0) return;
    math::store_batch_statistics(c, channel_mean, variance, m, momentum, eps, mean, rstd, running_mean, running_var);
}

template <typename T>
__global__ void running_statistics_kernel(T* mean, T* rstd, const T* running_mean, const T* running_var, int64_t C,
                                          double eps) {
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= C) return;
    mean[c] = running_mean[c];
    rstd[c] = T(math::batch_norm_rstd(double(running_var[c]), eps));
}

template <typename T>
__global__ void forward_kernel(T* y, const T* x, const T* mean, const T* rstd, const T* weight, const T* bias,
                               int64_t C, int64_t S, int64_t count, math::BatchNormActivation activation) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= count) return;
    const math::BatchNormAffine<T> affine = math::batch_norm_affine(mean, rstd, weight, bias, i / S % C);
    y[i] = math::batch_norm_output(activation, x[i], affine.scale, affine.shift);
}

// dy at element i taken back through the activation (y is read only with one).
template <typename T>
__device__ T activation_gradient(math::BatchNormActivation activation, const T* dy, const T* y, int64_t i) {
    return math::batch_norm_activation_gradient(activation, dy[i],
                                                activation == math::BatchNormActivation::none ? T(0) : y[i]);
}

template <typename T>
__global__ void backward_kernel(T* dx, T* dweight, T* dbias, const T* dy, const T* x, const T* y, const T* mean,
                                const T* rstd, const T* weight, int64_t N, int64_t C, int64_t S, bool training,
                                math::BatchNormActivation activation) {
    const int64_t c = blockIdx.x, m = N * S;
    const double gamma = weight ? double(weight[c]) : 1.0, r = double(rstd[c]), mu = double(mean[c]);
    double partial_dz = 0, partial_dz_xhat = 0;
    for (int64_t k = threadIdx.x; k < m; k += blockDim.x) {
        const int64_t i = channel_offset(k, c, C, S);
        const double dz = double(activation_gradient(activation, dy, y, i));
        partial_dz += dz;
        partial_dz_xhat += dz * (double(x[i]) - mu) * r;
    }
    const double sum_dz = block_sum(partial_dz), sum_dz_xhat = block_sum(partial_dz_xhat);
    if (threadIdx.x == 0) {
        if (dweight) dweight[c] += T(sum_dz_xhat);
        if (dbias) dbias[c] += T(sum_dz);
    }
    if (!dx) return;
    const math::BatchNormGradientMeans means = math::batch_norm_gradient_means(gamma, sum_dz, sum_dz_xhat, m, training);
    for (int64_t k = threadIdx.x; k < m; k += blockDim.x) {
        const int64_t i = channel_offset(k, c, C, S);
        const double xhat = (double(x[i]) - mu) * r;
        dx[i] = T(math::batch_norm_input_gradient(r, gamma, double(activation_gradient(activation, dy, y, i)), xhat,
                                                   means));
    }
}
}  // namespace

template <typename T>
void batch_norm_batch_statistics(T* mean, T* rstd, T* running_mean, T* running_var, const T* x, int64_t N, int64_t C,
                                 int64_t S, double momentum, double eps) {
    if (C == 0) return;
    KILN_LAUNCH(batch_statistics_kernel<T>, unsigned(C), reduction_threads_for(N * S), 0, mean, rstd, running_mean,
                running_var, x, N, C, S, momentum, eps);
}

template <typename T>
void batch_norm_running_statistics(T* mean, T* rstd, const T* running_mean, const T* running_var, int64_t C,
                                   double eps) {
    if (C == 0) return;
    KILN_LAUNCH(running_statistics_kernel<T>, blocks_for(C, threads_per_block), threads_per_block, 0, mean, rstd,
                running_mean, running_var, C, eps);
}

template <typename T>
void batch_norm_forward(T* y, const T* x, const T* mean, const T* rstd, const T* weight, const T* bias, int64_t N,
                        int64_t C, int64_t S, math::BatchNormActivation activation) {
    const int64_t count = N * C * S;
    if (count == 0) return;
    KILN_LAUNCH(forward_kernel<T>, blocks_for(count, threads_per_block), threads_per_block, 0, y, x, mean, rstd, weight,
                bias, C, S, count, activation);
}

template <typename T>
void batch_norm_backward(T* dx, T* dweight, T* dbias, const T* dy, const T* x, const T* y, const T* mean,
                         const T* rstd, const T* weight, int64_t N, int64_t C, int64_t S, bool training,
                         math::BatchNormActivation activation) {
    if (C == 0) return;
    KILN_LAUNCH(backward_kernel<T>, unsigned(C), reduction_threads_for(N * S), 0, dx, dweight, dbias, dy, x, y, mean,
                rstd, weight, N, C, S, training, activation);
}

#define KILN_BATCH_NORM(T)                                                                                        \
    template void batch_norm_batch_statistics<T>(T*, T*, T*, T*, const T*, int64_t, int64_t, int64_t, double,     \
                                                 double);                                                         \
    template void batch_norm_running_statistics<T>(T*, T*, const T*, const T*, int64_t, double);                  \
    template void batch_norm_forward<T>(T*, const T*, const T*, const T*, const T*, const T*, int64_t, int64_t,   \
                                        int64_t, math::BatchNormActivation);                                      \
    template void batch_norm_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*, const T*,  \
                                         int64_t, int64_t, int64_t, bool, math::BatchNormActivation);
KILN_BATCH_NORM(float)
KILN_BATCH_NORM(double)
#undef KILN_BATCH_NORM

}  // namespace kiln::KILN_CUDA_NS
