// Inverted dropout (cpu reference: kernels/cpu/dropout.cpp). The mask is draw
// i / group of the Philox stream (seed, offset), through the same functions
// as the cpu kernel (kernels/common/dropout.h), so every backend drops the
// same elements bit for bit:
//   forward:  y_i  = keep(i / group) ? x_i * scale : 0,   scale = 1 / (1 - p)
//   backward: dx_i += keep(i / group) ? dy_i * scale : 0   (the mask is recomputed, not saved)
//
// Launch, 256 threads per block, no shared memory, no barriers:
//   - group == 1 (dropout): a thread per 4 consecutive elements, which are
//     draws 4t .. 4t + 3: one Philox call (dropout_keep4) gives all four, as in
//     the cpu kernel's blocks of four draws.
//   - group > 1 (dropout2d, group = H * W): a thread per element, computing
//     its channel's draw with dropout_keep (one Philox call per element: the
//     threads of a plane repeat the same call rather than wait at a barrier for
//     one thread to share it).
// Each output element is written by exactly one thread.
#include "kernels/cuda/cuda_common.h"
#include "kernels/cuda/dropout.h"

#include "kernels/common/dropout.h"

namespace kiln::KILN_CUDA_NS {

namespace {

constexpr unsigned threads_per_block = 256;

// forward: out = y, in = x;  backward: out = dx, in = dy (added to).
template <typename T, bool backward>
__device__ void apply_mask(T* out, const T* in, int64_t i, bool keep, T scale) {
    if constexpr (backward) {
        if (keep) out[i] += in[i] * scale;
    } else {
        out[i] = keep ? in[i] * scale : T(0);
    }
}

template <typename T, bool backward>
__global__ void dropout_elements_kernel(T* out, const T* in, int64_t count, float p, T scale, uint64_t seed,
                                        uint64_t offset) {
    const int64_t block_of_four = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (block_of_four * 4 >= count) return;
    const math::DropoutKeep4 mask = math::dropout_keep4(seed, offset, uint64_t(block_of_four), p);
    for (int64_t lane = 0; lane < 4 && block_of_four * 4 + lane < count; ++lane)
        apply_mask<T, backward>(out, in, block_of_four * 4 + lane, mask.keep[lane], scale);
}

template <typename T, bool backward>
__global__ void dropout_groups_kernel(T* out, const T* in, int64_t count, int64_t group, float p, T scale,
                                      uint64_t seed, uint64_t offset) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= count) return;
    apply_mask<T, backward>(out, in, i, math::dropout_keep(seed, offset, uint64_t(i / group), p), scale);
}

template <typename T, bool backward>
void launch_dropout(T* out, const T* in, int64_t count, int64_t group, double p, uint64_t seed, uint64_t offset) {
    if (count == 0) return;
    const T scale = T(math::dropout_scale(p));
    if (group == 1)
        KILN_LAUNCH((dropout_elements_kernel<T, backward>), blocks_for((count + 3) / 4, threads_per_block),
                    threads_per_block, 0, out, in, count, float(p), scale, seed, offset);
    else
        KILN_LAUNCH((dropout_groups_kernel<T, backward>), blocks_for(count, threads_per_block), threads_per_block, 0,
                    out, in, count, group, float(p), scale, seed, offset);
}

}  // namespace

template <typename T>
void dropout_forward(T* y, const T* x, int64_t count, int64_t group, double p, uint64_t seed, uint64_t offset) {
    launch_dropout<T, false>(y, x, count, group, p, seed, offset);
}

template <typename T>
void dropout_backward(T* dx, const T* dy, int64_t count, int64_t group, double p, uint64_t seed, uint64_t offset) {
    launch_dropout<T, true>(dx, dy, count, group, p, seed, offset);
}

template void dropout_forward<float>(float*, const float*, int64_t, int64_t, double, uint64_t, uint64_t);
template void dropout_forward<double>(double*, const double*, int64_t, int64_t, double, uint64_t, uint64_t);
template void dropout_backward<float>(float*, const float*, int64_t, int64_t, double, uint64_t, uint64_t);
template void dropout_backward<double>(double*, const double*, int64_t, int64_t, double, uint64_t, uint64_t);

}  // namespace kiln::KILN_CUDA_NS
