// conv2d forward and backward on the GPU (the formula and the algorithms:
// kernels/cpu/conv.h; the choice of algorithm: kernels/common/conv.h).
// Shapes: x [N, C_in, H, W], w [C_out, Cg, kH, kW], y [N, C_out, H_out, W_out];
// Cg = C_in / groups, Og = C_out / groups, L = H_out W_out, K = Cg kH kW.
//
// GEMM paths (pointwise and im2col), one image-group (n, g) at a time with
// the tiled GEMM of gemm.cu, so the workspace is one image-group's columns:
//   forward:         y[n, g] [Og, L]  = w_g [Og, K] @ col [K, L]   (+ bias: y
//                    is first filled with it and the GEMM adds, beta = 1)
//   backward input:  col [K, L] = w_g^T @ dy[n, g], then col2im adds it into dx
//   backward weight: dw_g [Og, K] += dy[n, g] @ col^T, image after image (beta = 1)
//   pointwise (1x1, stride 1, no padding): x[n, g] [Cg, HW] is already col,
//   and the input gradient is one GEMM straight into dx (beta = 1).
// Depthwise (groups == C_in > 1): direct kernels, no GEMM, no workspace.
//
// Kernels (none uses shared memory except the block sums):
//   fill_bias_kernel        one thread per y element: y = b[o] (or 0).
//   im2col_kernel           one thread per col element (row (c, i, j), column
//                           (oh, ow)): the pixel that tap (i, j) of channel c
//                           reads for output (oh, ow), 0 in the padding.
//   col2im_kernel           gather: one thread per dx element of the image-
//                           group; it adds the col entries of every tap that
//                           read its pixel. One writer per element: no atomics.
//   depthwise_forward       one thread per y element: bias + its window's taps.
//   depthwise_backward_input  gather: one thread per dx element, summing
//                           w dy over the (multiplier, tap) pairs that read it.
//   depthwise_backward_weight one block per dw element (o, i, j): the block's
//                           threads stride over (n, oh, ow), block_sum
//                           (block_reduce.h, barriers inside), thread 0 adds.
//   bias_backward_kernel    one block per output channel, the same reduction of dy.
//   epilogue_kernel         inference (conv2d_batch_norm): one thread per y
//                           element, y = act(y scale + shift) in place, after
//                           the forward (batch_norm's formula, kernels/common).
// Every backward result has exactly one writer, so results are bit-reproducible.
// Element-wise kernels use 256 threads per block; reductions
// reduction_threads_for(count) (at most 256).
#include "kernels/cuda/cuda_common.h"
#include "kernels/cuda/conv.h"
#include "kernels/cuda/block_reduce.h"
#include "kernels/cuda/gemm.h"

namespace kiln::KILN_CUDA_NS {

namespace {
constexpr unsigned threads_per_block = 256;

struct Sizes {
    int64_t in_per_group, out_per_group;  // Cg, Og
    int64_t gemm_k;                       // K = Cg kH kW
    int64_t in_plane, out_plane;          // H W, L
};

Sizes sizes_of(const Conv2dShape& s) {
    const int64_t cg = s.in_channels / s.groups;
    return {cg, s.out_channels / s.groups, cg * s.kernel_h * s.kernel_w, s.height * s.width, s.out_h * s.out_w};
}

// ---- GEMM paths ----

template <typename T>
__global__ void fill_bias_kernel(T* y, const T* b, int64_t out_channels, int64_t out_plane, int64_t count) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < count) y[i] = b ? b[i / out_plane % out_channels] : T(0);
}

// col [K, L] from x_group [Cg, H, W], one image-group.
template <typename T>
__global__ void epilogue_kernel(T* y, math::BatchNormEpilogue<T> e, int64_t out_channels, int64_t out_plane,
                                int64_t count) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= count) return;
    const math::BatchNormAffine<T> affine =
        math::batch_norm_affine(e.mean, e.rstd, e.weight, e.bias, i / out_plane % out_channels);
    y[i] = math::batch_norm_output(e.activation, y[i], affine.scale, affine.shift);
}

template <typename T>
__global__ void im2col_kernel(T* col, const T* x_group, Conv2dShape s, int64_t count) {
    const int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (e >= count) return;
    const int64_t L = s.out_h * s.out_w, row = e / L, l = e % L;
    const int64_t c = row / (s.kernel_h * s.kernel_w), i = row / s.kernel_w % s.kernel_h, j = row % s.kernel_w;
    const int64_t ih = math::conv_input_index(l / s.out_w, i, s.stride_h, s.pad_h, s.dilation_h);
    const int64_t iw = math::conv_input_index(l % s.out_w, j, s.stride_w, s.pad_w, s.dilation_w);
    const bool inside = ih >= 0 && ih < s.height && iw >= 0 && iw < s.width;
    col[e] = inside ? x_group[(c * s.height + ih) * s.width + iw] : T(0);
}

// dx_group [Cg, H, W] += every col [K, L] entry that was read from its pixel.
template <typename T>
__global__ void col2im_kernel(T* dx_group, const T* col, Conv2dShape s, int64_t count) {
    const int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (e >= count) return;
    const int64_t c = e / (s.height * s.width), ih = e / s.width % s.height, iw = e % s.width;
    const int64_t L = s.out_h * s.out_w;
    T total = dx_group[e];
    for (int64_t i = 0; i < s.kernel_h; ++i) {
        const int64_t oh = math::conv_output_reading(ih, i, s.stride_h, s.pad_h, s.dilation_h, s.out_h);
        if (oh < 0) continue;
        for (int64_t j = 0; j < s.kernel_w; ++j) {
            const int64_t ow = math::conv_output_reading(iw, j, s.stride_w, s.pad_w, s.dilation_w, s.out_w);
            if (ow >= 0) total += col[((c * s.kernel_h + i) * s.kernel_w + j) * L + oh * s.out_w + ow];
        }
    }
    dx_group[e] = total;
}

// The GEMM operand [K, L] of image-group (n, g): x itself when pointwise, else its im2col in `col`.
template <typename T>
const T* input_columns(T* col, const T* x, int64_t n, int64_t g, const Conv2dShape& s, const Sizes& z,
                       bool pointwise) {
    const T* x_group = x + (n * s.in_channels + g * z.in_per_group) * z.in_plane;
    if (pointwise) return x_group;
    const int64_t count = z.gemm_k * z.out_plane;
    KILN_LAUNCH(im2col_kernel<T>, blocks_for(count, threads_per_block), threads_per_block, 0, col, x_group, s, count);
    return col;
}

template <typename T>
void gemm_forward(T* y, const T* x, const T* w, const T* b, const Conv2dShape& s, T* col, bool pointwise) {
    const Sizes z = sizes_of(s);
    if (b) {
        const int64_t count = s.batch * s.out_channels * z.out_plane;
        KILN_LAUNCH(fill_bias_kernel<T>, blocks_for(count, threads_per_block), threads_per_block, 0, y, b,
                    s.out_channels, z.out_plane, count);
    }
    for (int64_t n = 0; n < s.batch; ++n)
        for (int64_t g = 0; g < s.groups; ++g) {
            const T* operand = input_columns(col, x, n, g, s, z, pointwise);
            T* y_group = y + (n * s.out_channels + g * z.out_per_group) * z.out_plane;
            gemm<T>(false, false, z.out_per_group, z.out_plane, z.gemm_k, T(1), w + g * z.out_per_group * z.gemm_k,
                    z.gemm_k, operand, z.out_plane, b ? T(1) : T(0), y_group, z.out_plane);
        }
}

template <typename T>
void gemm_backward_input(T* dx, const T* dy, const T* w, const Conv2dShape& s, T* col, bool pointwise) {
    const Sizes z = sizes_of(s);
    for (int64_t n = 0; n < s.batch; ++n)
        for (int64_t g = 0; g < s.groups; ++g) {
            const T* dy_group = dy + (n * s.out_channels + g * z.out_per_group) * z.out_plane;
            const T* w_group = w + g * z.out_per_group * z.gemm_k;
            T* dx_group = dx + (n * s.in_channels + g * z.in_per_group) * z.in_plane;
            if (pointwise) {  // K = Cg and L = HW: the GEMM's result is dx's layout
                gemm<T>(true, false, z.gemm_k, z.out_plane, z.out_per_group, T(1), w_group, z.gemm_k, dy_group,
                        z.out_plane, T(1), dx_group, z.out_plane);
                continue;
            }
            gemm<T>(true, false, z.gemm_k, z.out_plane, z.out_per_group, T(1), w_group, z.gemm_k, dy_group,
                    z.out_plane, T(0), col, z.out_plane);
            const int64_t count = z.in_per_group * z.in_plane;
            KILN_LAUNCH(col2im_kernel<T>, blocks_for(count, threads_per_block), threads_per_block, 0, dx_group, col, s,
                        count);
        }
}

template <typename T>
void gemm_backward_weight(T* dw, const T* dy, const T* x, const Conv2dShape& s, T* col, bool pointwise) {
    const Sizes z = sizes_of(s);
    for (int64_t n = 0; n < s.batch; ++n)
        for (int64_t g = 0; g < s.groups; ++g) {
            const T* operand = input_columns(col, x, n, g, s, z, pointwise);
            const T* dy_group = dy + (n * s.out_channels + g * z.out_per_group) * z.out_plane;
            gemm<T>(false, true, z.out_per_group, z.gemm_k, z.out_plane, T(1), dy_group, z.out_plane, operand,
                    z.out_plane, T(1), dw + g * z.out_per_group * z.gemm_k, z.gemm_k);
        }
}

// ---- depthwise: direct kernels (Cg = 1; output channel o reads input channel o / Og) ----

template <typename T>
__global__ void depthwise_forward_kernel(T* y, const T* x, const T* w, const T* b, Conv2dShape s, int64_t count) {
    const int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (e >= count) return;
    const int64_t ow = e % s.out_w, oh = e / s.out_w % s.out_h, o = e / (s.out_w * s.out_h) % s.out_channels;
    const int64_t n = e / (s.out_w * s.out_h * s.out_channels);
    const int64_t c = o / (s.out_channels / s.in_channels);
    const T* plane = x + (n * s.in_channels + c) * s.height * s.width;
    const T* wo = w + o * s.kernel_h * s.kernel_w;
    T total = b ? b[o] : T(0);
    for (int64_t i = 0; i < s.kernel_h; ++i) {
        const int64_t ih = math::conv_input_index(oh, i, s.stride_h, s.pad_h, s.dilation_h);
        if (ih < 0 || ih >= s.height) continue;
        for (int64_t j = 0; j < s.kernel_w; ++j) {
            const int64_t iw = math::conv_input_index(ow, j, s.stride_w, s.pad_w, s.dilation_w);
            if (iw >= 0 && iw < s.width) total += wo[i * s.kernel_w + j] * plane[ih * s.width + iw];
        }
    }
    y[e] = total;
}

template <typename T>
__global__ void depthwise_backward_input_kernel(T* dx, const T* dy, const T* w, Conv2dShape s, int64_t count) {
    const int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (e >= count) return;
    const int64_t iw = e % s.width, ih = e / s.width % s.height, c = e / (s.width * s.height) % s.in_channels;
    const int64_t n = e / (s.width * s.height * s.in_channels);
    const int64_t multiplier = s.out_channels / s.in_channels;
    T total = dx[e];
    for (int64_t k = 0; k < multiplier; ++k) {
        const int64_t o = c * multiplier + k;
        const T* grad = dy + (n * s.out_channels + o) * s.out_h * s.out_w;
        const T* wo = w + o * s.kernel_h * s.kernel_w;
        for (int64_t i = 0; i < s.kernel_h; ++i) {
            const int64_t oh = math::conv_output_reading(ih, i, s.stride_h, s.pad_h, s.dilation_h, s.out_h);
            if (oh < 0) continue;
            for (int64_t j = 0; j < s.kernel_w; ++j) {
                const int64_t ow = math::conv_output_reading(iw, j, s.stride_w, s.pad_w, s.dilation_w, s.out_w);
                if (ow >= 0) total += wo[i * s.kernel_w + j] * grad[oh * s.out_w + ow];
            }
        }
    }
    dx[e] = total;
}

// grid: C_out kH kW blocks, block (o, i, j) = blockIdx.x
template <typename T>
__global__ void depthwise_backward_weight_kernel(T* dw, const T* dy, const T* x, Conv2dShape s) {
    const int64_t taps = s.kernel_h * s.kernel_w, o = blockIdx.x / taps, i = blockIdx.x % taps / s.kernel_w,
                  j = blockIdx.x % s.kernel_w;
    const int64_t c = o / (s.out_channels / s.in_channels), L = s.out_h * s.out_w;
    double partial = 0;
    for (int64_t k = threadIdx.x; k < s.batch * L; k += blockDim.x) {
        const int64_t n = k / L, oh = k % L / s.out_w, ow = k % s.out_w;
        const int64_t ih = math::conv_input_index(oh, i, s.stride_h, s.pad_h, s.dilation_h);
        const int64_t iw = math::conv_input_index(ow, j, s.stride_w, s.pad_w, s.dilation_w);
        if (ih < 0 || ih >= s.height || iw < 0 || iw >= s.width) continue;
        partial += double(dy[(n * s.out_channels + o) * L + k % L]) *
                   double(x[((n * s.in_channels + c) * s.height + ih) * s.width + iw]);
    }
    const double total = block_sum(partial);
    if (threadIdx.x == 0) dw[blockIdx.x] += T(total);
}

// ---- bias: grid C_out blocks, block o sums dy[:, o] ----
template <typename T>
__global__ void bias_backward_kernel(T* db, const T* dy, Conv2dShape s) {
    const int64_t o = blockIdx.x, L = s.out_h * s.out_w;
    double partial = 0;  // in double, as the cpu kernel
    for (int64_t k = threadIdx.x; k < s.batch * L; k += blockDim.x)
        partial += double(dy[(k / L * s.out_channels + o) * L + k % L]);
    const double total = block_sum(partial);
    if (threadIdx.x == 0) db[o] += T(total);
}

}  // namespace

int64_t conv2d_workspace_size(const Conv2dShape& s, Conv2dPass) {
    if (math::conv2d_algorithm(s) != math::Conv2dAlgorithm::im2col) return 0;
    const Sizes z = sizes_of(s);
    return z.gemm_k * z.out_plane;
}

template <typename T>
void conv2d_forward(T* y, const T* x, const T* w, const T* b, const Conv2dShape& s, T* workspace,
                    const math::BatchNormEpilogue<T>& epilogue) {
    const int64_t count = s.batch * s.out_channels * s.out_h * s.out_w;
    switch (math::conv2d_algorithm(s)) {
        case math::Conv2dAlgorithm::depthwise:
            KILN_LAUNCH(depthwise_forward_kernel<T>, blocks_for(count, threads_per_block), threads_per_block, 0, y, x,
                        w, b, s, count);
            break;
        case math::Conv2dAlgorithm::pointwise: gemm_forward(y, x, w, b, s, workspace, true); break;
        case math::Conv2dAlgorithm::im2col: gemm_forward(y, x, w, b, s, workspace, false); break;
    }
    if (epilogue && count > 0)
        KILN_LAUNCH(epilogue_kernel<T>, blocks_for(count, threads_per_block), threads_per_block, 0, y, epilogue,
                    s.out_channels, s.out_h * s.out_w, count);
}

template <typename T>
void conv2d_backward_input(T* dx, const T* dy, const T* w, const Conv2dShape& s, T* workspace) {
    switch (math::conv2d_algorithm(s)) {
        case math::Conv2dAlgorithm::depthwise: {
            const int64_t count = s.batch * s.in_channels * s.height * s.width;
            KILN_LAUNCH(depthwise_backward_input_kernel<T>, blocks_for(count, threads_per_block), threads_per_block, 0,
                        dx, dy, w, s, count);
            return;
        }
        case math::Conv2dAlgorithm::pointwise: return gemm_backward_input(dx, dy, w, s, workspace, true);
        case math::Conv2dAlgorithm::im2col: return gemm_backward_input(dx, dy, w, s, workspace, false);
    }
}

template <typename T>
void conv2d_backward_weight(T* dw, const T* dy, const T* x, const Conv2dShape& s, T* workspace) {
    switch (math::conv2d_algorithm(s)) {
        case math::Conv2dAlgorithm::depthwise:
            KILN_LAUNCH(depthwise_backward_weight_kernel<T>, unsigned(s.out_channels * s.kernel_h * s.kernel_w),
                        reduction_threads_for(s.batch * s.out_h * s.out_w), 0, dw, dy, x, s);
            return;
        case math::Conv2dAlgorithm::pointwise: return gemm_backward_weight(dw, dy, x, s, workspace, true);
        case math::Conv2dAlgorithm::im2col: return gemm_backward_weight(dw, dy, x, s, workspace, false);
    }
}

template <typename T>
void conv2d_backward_bias(T* db, const T* dy, const Conv2dShape& s) {
    KILN_LAUNCH(bias_backward_kernel<T>, unsigned(s.out_channels), reduction_threads_for(s.batch * s.out_h * s.out_w),
                0, db, dy, s);
}

#define KILN_CONV(T)                                                                                          \
    template void conv2d_forward<T>(T*, const T*, const T*, const T*, const Conv2dShape&, T*,                \
                                    const math::BatchNormEpilogue<T>&);                                     \
    template void conv2d_backward_input<T>(T*, const T*, const T*, const Conv2dShape&, T*);                  \
    template void conv2d_backward_weight<T>(T*, const T*, const T*, const Conv2dShape&, T*);                 \
    template void conv2d_backward_bias<T>(T*, const T*, const Conv2dShape&);
KILN_CONV(float)
KILN_CONV(double)
#undef KILN_CONV

}  // namespace kiln::KILN_CUDA_NS
