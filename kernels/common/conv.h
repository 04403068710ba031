#pragma once
// conv2d's shape and algorithm choice, shared by every backend
// (kernels/cpu/conv.cpp, kernels/cuda/conv.cu): the formula and the three
// algorithms are described in kernels/cpu/conv.h.
#include <cstdint>

#include "kernels/common/hd.h"

namespace kiln::math {

struct Conv2dShape {
    int64_t batch, in_channels, height, width;          // x [N, C_in, H, W]
    int64_t out_channels, kernel_h, kernel_w, groups;   // w [C_out, C_in / groups, kH, kW]
    int64_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
    int64_t out_h, out_w;                               // y [N, C_out, H_out, W_out]
};

enum class Conv2dAlgorithm { depthwise, pointwise, im2col };
enum class Conv2dPass { forward, backward_input, backward_weight };

// depthwise: groups == C_in > 1 (one input channel per group); pointwise: 1x1,
// stride 1, no padding (the image is the GEMM operand); im2col: everything else.
inline Conv2dAlgorithm conv2d_algorithm(const Conv2dShape& s) {
    if (s.groups > 1 && s.groups == s.in_channels) return Conv2dAlgorithm::depthwise;
    if (s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 && s.pad_w == 0)
        return Conv2dAlgorithm::pointwise;
    return Conv2dAlgorithm::im2col;
}

inline const char* conv2d_algorithm_name(Conv2dAlgorithm algorithm) {
    switch (algorithm) {
        case Conv2dAlgorithm::depthwise: return "depthwise";
        case Conv2dAlgorithm::pointwise: return "pointwise";
        case Conv2dAlgorithm::im2col: return "im2col";
    }
    return "?";
}

// Along one axis: the input index that tap `tap` of output `out` reads
// (outside [0, size) it reads padding).
KILN_HD int64_t conv_input_index(int64_t out, int64_t tap, int64_t stride, int64_t pad, int64_t dilation) {
    return out * stride - pad + tap * dilation;
}

// The inverse: the output whose tap `tap` reads input index `in`, or -1 when
// no output in [0, out_size) does (the backward gathers with it).
KILN_HD int64_t conv_output_reading(int64_t in, int64_t tap, int64_t stride, int64_t pad, int64_t dilation,
                                    int64_t out_size) {
    const int64_t offset = in + pad - tap * dilation;  // = out * stride
    if (offset < 0 || offset % stride != 0) return -1;
    const int64_t out = offset / stride;
    return out < out_size ? out : -1;
}

}  // namespace kiln::math
