#pragma once
// cuDNN pooling (pool.cpp) over NCHW planes, geometry as kernels/common/pool.h.
// The planes are passed to cuDNN as one image of N C channels. NaN propagates
// (as kiln's max_pool2d). cuDNN computes the output size with floor: windows
// that ceil_mode adds are not supported (pool2d_supported says which shapes
// are). cuDNN's max-pool backward finds the maximum again from x and y instead
// of an argmax buffer; among equal maxima it may choose another element than
// kiln's "first in row-major order" rule.
#include <cstdint>

#include "kernels/common/pool.h"

namespace kiln::vendor {

using math::Pool2dGeometry;

// cuDNN's output size, floor((H + 2 pad - kernel) / stride) + 1, is g's.
inline bool pool2d_supported(const Pool2dGeometry& g) {
    return g.out_height == (g.height + 2 * g.pad_h - g.kernel_h) / g.stride_h + 1 &&
           g.out_width == (g.width + 2 * g.pad_w - g.kernel_w) / g.stride_w + 1 && g.pad_h < g.kernel_h &&
           g.pad_w < g.kernel_w;
}

template <typename T>
void max_pool2d_forward(T* y, const T* x, const Pool2dGeometry& g);
// Adds into dx; x and y are the forward's input and output.
template <typename T>
void max_pool2d_backward(T* dx, const T* dy, const T* x, const T* y, const Pool2dGeometry& g);

template <typename T>
void avg_pool2d_forward(T* y, const T* x, const Pool2dGeometry& g, bool count_include_pad);
template <typename T>
void avg_pool2d_backward(T* dx, const T* dy, const T* x, const T* y, const Pool2dGeometry& g,
                         bool count_include_pad);

}  // namespace kiln::vendor
