#pragma once
// 2-D convolution (cross-correlation, as in every DL framework), NCHW,
// forward and backward, float and double.
//
//   y[n, o, oh, ow] = b[o] + sum_{c, i, j} w[o, c, i, j] * x[n, g Cg + c, oh s_h - p_h + i d_h, ow s_w - p_w + j d_w]
//
// with g = o / Og the group of output channel o, Cg = C_in / groups input and
// Og = C_out / groups output channels per group, and x read as 0 outside the
// image (zero padding). Shapes: x [N, C_in, H, W], w [C_out, Cg, kH, kW],
// b [C_out] (or null), y [N, C_out, H_out, W_out] with
//   H_out = floor((H + 2 p_h - d_h (kH - 1) - 1) / s_h) + 1   (W_out alike).
// Backward (dy has the shape of y):
//   dx[n, g Cg + c, ih, iw] += sum over (o in group g, oh, ow, i, j) that read (ih, iw) of w[o, c, i, j] dy[n, o, oh, ow]
//   dw[o, c, i, j]          += sum_{n, oh, ow} dy[n, o, oh, ow] x[n, g Cg + c, oh s_h - p_h + i d_h, ...]
//   db[o]                   += sum_{n, oh, ow} dy[n, o, oh, ow]
// Every backward kernel ADDS into its (zero-initialised, or not) output.
//
// Three algorithms, chosen by conv2d_algorithm():
// - depthwise (groups == C_in > 1, so Cg = 1; any channel multiplier Og):
//   direct loops, one (image, channel) plane per task. For each output row
//   and kernel tap (i, j) the valid range of ow is computed once, so the inner
//   loop over ow has no branch and vectorises (stride 1).
// - pointwise (1x1 kernel, stride 1, no padding): the image is already the
//   GEMM operand: y[n, g] [Og, HW] = w_g [Og, Cg] @ x[n, g] [Cg, HW].
// - im2col (everything else): col [Cg kH kW, L] (L = H_out W_out) holds in row
//   (c, i, j) the input pixels that tap (i, j) of channel c reads, then
//   y[n, g] [Og, L] = w_g [Og, Cg kH kW] @ col.  Backward: col = w_g^T @ dy[n, g]
//   then col2im adds each row back to the pixels it came from (dx);
//   dw_g += dy[n, g] @ col^T, summed over the images.
// GEMM paths run one image per thread when the batch has at least as many
// images as threads (each GEMM then single-threaded: small per-image GEMMs
// scale badly across threads), else image after image with multi-threaded
// GEMMs. Per-thread im2col buffers and per-thread dw partial sums live in a
// caller-provided workspace (so the engine can take it from its caching
// allocator); its size is given by conv2d_workspace_size().
//
// Kernels assume valid arguments (checked in engine/ops/conv.cpp) and
// contiguous buffers.
#include <cstdint>

namespace kiln::cpu {

struct Conv2dShape {
    int64_t batch, in_channels, height, width;          // x [N, C_in, H, W]
    int64_t out_channels, kernel_h, kernel_w, groups;   // w [C_out, C_in / groups, kH, kW]
    int64_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
    int64_t out_h, out_w;                               // y [N, C_out, H_out, W_out]
};

enum class Conv2dAlgorithm { depthwise, pointwise, im2col };
Conv2dAlgorithm conv2d_algorithm(const Conv2dShape& s);
const char* conv2d_algorithm_name(Conv2dAlgorithm algorithm);

enum class Conv2dPass { forward, backward_input, backward_weight };
// Elements of T the workspace of `pass` needs (0 when none). Depends on the
// OpenMP thread count of the calling context.
int64_t conv2d_workspace_size(const Conv2dShape& s, Conv2dPass pass);

// y = conv(x, w) + b   (overwrites y; b may be null)
template <typename T>
void conv2d_forward(T* y, const T* x, const T* w, const T* b, const Conv2dShape& s, T* workspace);

// dx += conv2d's input gradient
template <typename T>
void conv2d_backward_input(T* dx, const T* dy, const T* w, const Conv2dShape& s, T* workspace);

// dw += conv2d's weight gradient
template <typename T>
void conv2d_backward_weight(T* dw, const T* dy, const T* x, const Conv2dShape& s, T* workspace);

// db += sum of dy over images and pixels
template <typename T>
void conv2d_backward_bias(T* db, const T* dy, const Conv2dShape& s);

}  // namespace kiln::cpu
