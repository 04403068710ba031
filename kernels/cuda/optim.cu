// Fused optimizer steps: one launch updates a whole parameter and its state.
// Launch: one thread per element, 256 per block. The rules are the shared
// KILN_HD functions of kernels/common/optim.h, so cpu, emu and cuda apply the
// very same lines. State arrays an optimizer does not use arrive as null.
#include "kernels/cuda/cuda_common.h"
#include "kernels/cuda/optim.h"

namespace kiln::KILN_CUDA_NS {

namespace {
constexpr unsigned threads_per_block = 256;

template <typename T>
__global__ void sgd_kernel(T* w, const T* g, T* momentum_buffer, int64_t count, math::SgdHyper hyper) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= count) return;
    T unused = 0;
    math::sgd_update(w[i], g[i], momentum_buffer ? momentum_buffer[i] : unused, hyper);
}

template <typename T>
__global__ void adagrad_kernel(T* w, const T* g, T* sum_of_squares, int64_t count, math::AdagradHyper hyper) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < count) math::adagrad_update(w[i], g[i], sum_of_squares[i], hyper);
}

template <typename T>
__global__ void rmsprop_kernel(T* w, const T* g, T* square_avg, T* grad_avg, T* momentum_buffer, int64_t count,
                               math::RmspropHyper hyper) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= count) return;
    T unused_avg = 0, unused_buffer = 0;
    math::rmsprop_update(w[i], g[i], square_avg[i], grad_avg ? grad_avg[i] : unused_avg,
                         momentum_buffer ? momentum_buffer[i] : unused_buffer, hyper);
}

template <typename T>
__global__ void adam_kernel(T* w, const T* g, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t count,
                            math::AdamHyper hyper) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= count) return;
    T unused = 0;
    math::adam_update(w[i], g[i], exp_avg[i], exp_avg_sq[i], max_exp_avg_sq ? max_exp_avg_sq[i] : unused, hyper);
}

template <typename T>
__global__ void lion_kernel(T* w, const T* g, T* exp_avg, int64_t count, math::LionHyper hyper) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < count) math::lion_update(w[i], g[i], exp_avg[i], hyper);
}
}  // namespace

template <typename T>
void sgd_step(T* w, const T* g, T* momentum_buffer, int64_t count, const math::SgdHyper& hyper) {
    if (count) KILN_LAUNCH(sgd_kernel<T>, blocks_for(count, threads_per_block), threads_per_block, 0, w, g, momentum_buffer, count, hyper);
}
template <typename T>
void adagrad_step(T* w, const T* g, T* sum_of_squares, int64_t count, const math::AdagradHyper& hyper) {
    if (count) KILN_LAUNCH(adagrad_kernel<T>, blocks_for(count, threads_per_block), threads_per_block, 0, w, g, sum_of_squares, count, hyper);
}
template <typename T>
void rmsprop_step(T* w, const T* g, T* square_avg, T* grad_avg, T* momentum_buffer, int64_t count,
                  const math::RmspropHyper& hyper) {
    if (count)
        KILN_LAUNCH(rmsprop_kernel<T>, blocks_for(count, threads_per_block), threads_per_block, 0, w, g, square_avg, grad_avg,
                    momentum_buffer, count, hyper);
}
template <typename T>
void adam_step(T* w, const T* g, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t count, const math::AdamHyper& hyper) {
    if (count)
        KILN_LAUNCH(adam_kernel<T>, blocks_for(count, threads_per_block), threads_per_block, 0, w, g, exp_avg, exp_avg_sq,
                    max_exp_avg_sq, count, hyper);
}
template <typename T>
void lion_step(T* w, const T* g, T* exp_avg, int64_t count, const math::LionHyper& hyper) {
    if (count) KILN_LAUNCH(lion_kernel<T>, blocks_for(count, threads_per_block), threads_per_block, 0, w, g, exp_avg, count, hyper);
}

#define KILN_OPTIM(T)                                                                                       \
    template void sgd_step<T>(T*, const T*, T*, int64_t, const math::SgdHyper&);                            \
    template void adagrad_step<T>(T*, const T*, T*, int64_t, const math::AdagradHyper&);                    \
    template void rmsprop_step<T>(T*, const T*, T*, T*, T*, int64_t, const math::RmspropHyper&);             \
    template void adam_step<T>(T*, const T*, T*, T*, T*, int64_t, const math::AdamHyper&);                  \
    template void lion_step<T>(T*, const T*, T*, int64_t, const math::LionHyper&);
KILN_OPTIM(float)
KILN_OPTIM(double)
#undef KILN_OPTIM

}  // namespace kiln::KILN_CUDA_NS
