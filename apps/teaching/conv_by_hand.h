#pragma once
// conv_by_hand: a 2-D convolution small enough to check with a pencil.
//
// A 5x5 image x (a brightness ramp with a bright diagonal scratch) and a 3x3
// kernel w (the vertical Sobel edge detector), one channel:
//   y[oh, ow] = sum_{i, j} w[i, j] x[oh s - p + i, ow s - p + j]     (cross-correlation, as every DL framework)
// With L = sum(G * y) for a chosen upstream gradient G = dL/dy:
//   dL/dw[i, j] = sum_{oh, ow} G[oh, ow] x[oh s - p + i, ow s - p + j]   (x correlated with G)
//   dL/dx[a, b] = sum over the (oh, ow, i, j) that read x[a, b] of G[oh, ow] w[i, j]
//                 (G scattered back through the kernel: a "full" convolution with w flipped)
// computed twice: by kiln's conv2d and its backward (engine/ops/conv.cpp ->
// kernels/cpu/conv.cpp), and by hand with im2col + GEMM:
//   columns [kH kW, L]: column l = (oh, ow) holds the 9 pixels the kernel sees there
//   y  [1, L]     = w [1, 9] @ columns                 (one GEMM)
//   dw [1, 9]     = G [1, L] @ columns^T
//   dcolumns      = w^T [9, 1] @ G [1, L], then col2im adds each entry back onto its pixel: dx
// plus a gradient check of conv2d on these inputs.
//
// Then the cost of a MobileNet block: a regular k x k convolution C_in -> C_out
// against its depthwise-separable replacement (k x k depthwise, one filter per
// channel, then 1x1 pointwise C_in -> C_out), each run once through conv2d:
//   parameters:     C_out C_in k^2      vs  C_in k^2 + C_in C_out
//   multiply-adds:  H W C_out C_in k^2  vs  H W (C_in k^2 + C_in C_out)
//   ratio = 1/C_out + 1/k^2   (MobileNet, Howard et al. 2017)
#include <cstdint>
#include <string>

#include "apps/teaching/text.h"
#include "engine/tensor.h"

namespace kiln::teaching {

struct ConvByHandOptions {
    int64_t stride = 1, padding = 0;  // of the 5x5 example
    // The MobileNet block (default: MobileNet v1's first separable block, 112x112, 32 -> 64).
    int64_t block_in = 32, block_out = 64, block_size = 112, block_kernel = 3;
};

struct ConvCost {
    std::string name;
    Shape weight_shape, output_shape;
    int64_t groups = 1;
    int64_t parameters = 0;  // weight elements (no bias: MobileNet follows each conv with BN)
    int64_t macs = 0;        // multiply-adds: output elements x (C_in / groups) k_h k_w
    int64_t flops() const { return 2 * macs; }
    double seconds = 0;      // one conv2d forward on cpu, float32, on this machine (not a benchmark)
};

struct ConvByHandResult {
    ConvByHandOptions options;
    Matrix image, kernel, upstream;             // x, w, G = dL/dy
    Matrix output, grad_input, grad_weight;     // kiln::conv2d and its backward
    Matrix columns;                             // im2col [kH kW, L]
    Matrix output_gemm, grad_weight_gemm;       // by hand: w @ columns, G @ columns^T
    Matrix grad_columns, grad_input_col2im;     // w^T @ G, then col2im
    double max_difference = 0;                  // engine vs by hand, over y, dx and dw
    double gradcheck_error = 0;                 // kiln::gradcheck of conv2d on (x, w)
    bool gradcheck_passed = false;
    ConvCost regular, depthwise, pointwise;
    int64_t separable_parameters = 0, separable_macs = 0;
    double parameter_ratio = 0, mac_ratio = 0;  // separable / regular
    double formula_ratio = 0;                   // 1 / C_out + 1 / k^2
    bool passed = false;                        // both methods agree, gradcheck passes, costs match the formulas
};

ConvByHandResult conv_by_hand(const ConvByHandOptions& options = {});
std::string conv_by_hand_text(const ConvByHandResult& result);

}  // namespace kiln::teaching
