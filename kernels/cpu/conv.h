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
// Three algorithms, chosen by conv2d_algorithm(), and on the cpu four more:
// - depthwise (groups == C_in > 1, so Cg = 1; any channel multiplier Og):
//   direct loops, one plane per task. The task copies its input plane into a
//   zero-padded plane split into stride phases, so no inner loop tests a
//   bound and, at any stride, each kernel tap becomes one long contiguous
//   loop over the whole plane (rows of the phase width, the extra columns
//   discarded), which vectorises.
// - pointwise (1x1 kernel, stride 1, no padding): the image is already the
//   GEMM operand: y[n, g] [Og, HW] = w_g [Og, Cg] @ x[n, g] [Cg, HW].
// - im2col (everything else): col [Cg kH kW, L] (L = H_out W_out) holds in row
//   (c, i, j) the input pixels that tap (i, j) of channel c reads, then
//   y[n, g] [Og, L] = w_g [Og, Cg kH kW] @ col.  Backward: col = w_g^T @ dy[n, g]
//   then col2im adds each row back to the pixels it came from (dx);
//   dw_g += dy[n, g] @ col^T, summed over the images.
// - direct (float, one group, kernel > 1x1, W_out >= 8 or 4 at batch 1; the input gradient
//   also stride 1): no im2col. Input planes padded and split into stride
//   phases once; outputs on a flat axis of phase-width rows,
//   Y_o[q] = sum_{c, t} w[o, c, t] P_c[q + offset_t], in register tiles of
//   8 output channels x 3 vectors (4 x 3 with AVX2's 16 registers; vectors
//   of kernels/cpu/simd.h); the input gradient is the same kernel on padded
//   dy with the kernel flipped; the weight gradient keeps 1-4 vectors of
//   output channels in the vector lanes over dy transposed to [q, o].
//   Details at the "direct" section of conv.cpp.
// - winograd (float, one group, 3x3, stride 1, dilation 1; every pass):
//   Winograd F(2x2, 3x3), Y = A^T [(G g G^T) (.) (B^T d B)] A per 2x2
//   output tile (kernels/common/winograd.h), the sum over input channels as
//   16 matrix products in the direct kernel's register tiles; the weight
//   gradient is the adjoint, G^T [sum over tiles (A dY A^T) (.) (B^T d B)] G.
//   Chosen by the policy below for >= 64 channels in and out and >= 64
//   output tiles. The forward takes F(4x4, 3x3) instead (36 products per
//   4x4 outputs, 6x6 patches) from 64 filled 4x4 tiles in the batch.
//   Details at the "Winograd" section of conv.cpp.
// - depthwise across channels (float, depthwise with channel multiplier 1;
//   every pass): a task interleaves `lanes` channels of one image, channels
//   last, so each tap is one vector multiply-add for all of them at any
//   stride, with no per-plane fixed costs (those dominated small planes:
//   MobileNetV2's 8x8 and 4x4 layers at batch 1). The input gradient
//   scatters what the forward gathers; the weight gradient keeps one vector
//   of sums per tap over the images. Details at its section of conv.cpp.
// - pointwise tiles (float, pointwise forward, H_out W_out a multiple of
//   the vector width): y_n = W x_n in the direct kernel's register tiles,
//   W read where it is; the policy takes it for one image whose x_n fits a
//   quarter of L2 (batch-1 inference, where OpenBLAS would pack all of W
//   on every call for one thin product).
// GEMM paths take the images in blocks of nb, chosen so that the GEMM has at
// least 256 columns (nb L) when the batch allows: a thin per-image GEMM (L = 16
// in ResNet-18's last stage at 128x128) runs far below BLAS's best, so nb
// images' columns sit side by side and the output (or dy) is scattered (or
// gathered) per image. Blocks run one per thread when there are at least as
// many blocks as threads (each GEMM then single-threaded), else in turn with
// multi-threaded GEMMs. Per-thread im2col buffers, gathered outputs and
// per-thread partial dw sums live in a caller-provided workspace (so the
// engine can take it from its caching allocator; depthwise uses one padded
// plane per thread); its size is given by conv2d_workspace_size().
//
// The CUDA kernels (kernels/cuda/conv.cu) take the same three paths with the
// same choice, one image-group per GEMM.
//
// Kernels assume valid arguments (checked in engine/ops/conv.cpp) and
// contiguous buffers.
#include <cstdint>
#include <string_view>

#include "kernels/common/batch_norm.h"  // math::BatchNormEpilogue
#include "kernels/common/conv.h"

namespace kiln::cpu {

// The shape, the algorithm choice and the pass names: kernels/common/conv.h.
using math::Conv2dAlgorithm;
using math::conv2d_algorithm;
using math::conv2d_algorithm_name;
using math::Conv2dPass;
using math::Conv2dShape;

// Where the direct kernels can run a float convolution (one group, kernel
// > 1x1, W_out >= 8, ...), whether they do (and Winograd, below): `automatic` as measured
// (docs/benchmarks.md): direct for every pass with AVX-512, and with AVX2's
// 16 registers direct for the forward and input-gradient passes but
// im2col + GEMM for the weight gradient (whose 12-accumulator tile lost to
// OpenBLAS there); `direct` wherever they can, `gemm` never. Process-wide;
// for tests (every kernel checked on every machine, sanitizer builds
// included) and benchmarks (both paths in one process).
// `winograd`: Winograd F(2x2, 3x3) wherever it applies (float 3x3
// convolutions at stride 1, every pass), elsewhere as `automatic`;
// `winograd4` the same with F(4x4, 3x3) for the forward and input gradient
// (the weight gradient stays F(2x2, 3x3)).
// The two newer cpu paths follow the same switch. Pointwise tiles:
// `automatic` for one image whose input fits a quarter of L2, `direct` for
// every pointwise forward with whole vectors of positions, `gemm` never.
// Depthwise across channels: `automatic` everywhere but the forward of
// planes over 32x32 at stride 1 (the only case the per-plane loops won,
// docs/benchmarks.md round 7), `direct` everywhere, `gemm` never (the
// per-plane loops).
enum class ConvDirectPolicy { automatic, direct, gemm, winograd, winograd4 };
void set_conv_direct_policy(ConvDirectPolicy policy);
ConvDirectPolicy conv_direct_policy();
// The policy of that name ("automatic", "direct", "gemm", "winograd", "winograd4"); false for any other name.
bool conv_direct_policy_named(std::string_view name, ConvDirectPolicy& policy);

// The algorithm the cpu kernels run for `pass` in T: conv2d_algorithm_name's,
// or "winograd", "winograd4", "direct", "pointwise-tiles", "depthwise-channels" (for
// reports such as bench_conv's).
template <typename T>
const char* conv2d_cpu_algorithm_name(const Conv2dShape& s, Conv2dPass pass);

// Elements of T the workspace of `pass` needs (0 when none). Depends on the
// OpenMP thread count of the calling context.
template <typename T>
int64_t conv2d_workspace_size(const Conv2dShape& s, Conv2dPass pass);

// y = conv(x, w) + b   (overwrites y; b may be null); with an epilogue
// (inference, conv2d_batch_norm), y = act(bn_eval(conv(x, w) + b)), applied
// to each output plane right after it is computed, while it is in cache.
template <typename T>
void conv2d_forward(T* y, const T* x, const T* w, const T* b, const Conv2dShape& s, T* workspace,
                    const math::BatchNormEpilogue<T>& epilogue = {});

// Prepared weights (inference with frozen weights, engine/frozen.h): a
// float forward may use what it would otherwise derive from the weights
// alone on every call, derived once by the caller: Winograd's transformed
// kernels U [points][K'][C]. With them in hand Winograd pays on fewer tiles
// (the transform of C_in C_out kernels was what it lost at batch 1), so the
// choice differs from conv2d_forward's (conv.cpp, "Winograd").
// conv2d_prepared_kind: 0 when this forward would use no prepared weights,
// else the layout's id (the Winograd tile, 2 or 4); then
// conv2d_prepared_size floats hold what conv2d_prepare writes, and
// conv2d_forward_prepared runs the forward with them (its workspace:
// conv2d_prepared_workspace_size floats).
int conv2d_prepared_kind(const Conv2dShape& s);
int64_t conv2d_prepared_size(const Conv2dShape& s, int kind);
void conv2d_prepare(float* prepared, const float* w, const Conv2dShape& s, int kind);
int64_t conv2d_prepared_workspace_size(const Conv2dShape& s, int kind);
void conv2d_forward_prepared(float* y, const float* x, const float* prepared, int kind, const float* b,
                             const Conv2dShape& s, float* workspace, const math::BatchNormEpilogue<float>& epilogue = {});

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
