#pragma once
// 2-D pooling over NCHW planes: x is [planes, H, W] (planes = N * C), y is
// [planes, OH, OW]. Every plane is pooled on its own, so the loops run in
// parallel over planes. The engine (engine/ops/pool.cpp) checks the arguments;
// these kernels assume them valid: every window holds at least one input
// element (padding <= kernel / 2 and, in ceil mode, the last window starts
// inside the input or its left padding).
//
// Window of output (oh, ow): rows [oh * stride_h - pad_h, + kernel_h), columns
// likewise, clipped to the input.
//   max_pool2d: y = max over the window (padding counts as -inf; NaN wins)
//               argmax = h * W + w of the first maximal element
//               dx[argmax] += dy
//   avg_pool2d: y = sum over the window / divisor, where divisor is the window
//               clipped to the padded input (count_include_pad) or to the input
//               dx[window] += dy / divisor
// adaptive_avg_pool2d: output cell (i, j) averages rows
//   [floor(i H / OH), ceil((i + 1) H / OH)) and the same for columns
//               dx[cell] += dy / cell size
// The geometry and the per-window rules live in kernels/common/pool.h,
// shared with the CUDA kernels (kernels/cuda/pool.cu).
#include <cstdint>

#include "kernels/common/pool.h"

namespace kiln::cpu {

using math::Pool2dGeometry;

// argmax may be null (inference: no gradient needed); then only y is
// written, on cpu by a separable path (rows' maxima, then columns'), whose
// values are the same but which of several NaNs it keeps may differ.
template <typename T>
void max_pool2d_forward(T* y, int64_t* argmax, const T* x, const Pool2dGeometry& g);
template <typename T>
void max_pool2d_backward(T* dx, const T* dy, const int64_t* argmax, const Pool2dGeometry& g);

template <typename T>
void avg_pool2d_forward(T* y, const T* x, const Pool2dGeometry& g, bool count_include_pad);
template <typename T>
void avg_pool2d_backward(T* dx, const T* dy, const Pool2dGeometry& g, bool count_include_pad);

// Only planes, height, width, out_height, out_width of `g` are used.
template <typename T>
void adaptive_avg_pool2d_forward(T* y, const T* x, const Pool2dGeometry& g);
template <typename T>
void adaptive_avg_pool2d_backward(T* dx, const T* dy, const Pool2dGeometry& g);

}  // namespace kiln::cpu
