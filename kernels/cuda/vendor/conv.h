#pragma once
// cuDNN convolution (conv.cpp): the same passes as kernels/cuda/conv.h, NCHW,
// grouped and dilated included. cuDNN's heuristics pick the algorithm
// (cudnnGetConvolution{Forward,BackwardData,BackwardFilter}Algorithm_v7): the
// first one that succeeds, uses FMA math (no TF32: results comparable with
// the hand-written kernels) and needs at most max_workspace_bytes. The choice
// is cached per shape, and the workspace comes from the per-device workspace
// cache of handles.h, so no argument carries one.
#include <cstdint>
#include <string>

#include "kernels/common/conv.h"

namespace kiln::vendor {

using math::Conv2dPass;
using math::Conv2dShape;

template <typename T>
void conv2d_forward(T* y, const T* x, const T* w, const T* b, const Conv2dShape& s);
template <typename T>
void conv2d_backward_input(T* dx, const T* dy, const T* w, const Conv2dShape& s);
template <typename T>
void conv2d_backward_weight(T* dw, const T* dy, const T* x, const Conv2dShape& s);
template <typename T>
void conv2d_backward_bias(T* db, const T* dy, const Conv2dShape& s);

// The algorithm cuDNN's heuristics pick for `pass` (e.g. "IMPLICIT_PRECOMP_GEMM"),
// and its workspace, for bench/kernels' table.
struct Conv2dChoice {
    std::string algorithm;
    size_t workspace_bytes;
};
template <typename T>
Conv2dChoice conv2d_choice(const Conv2dShape& s, Conv2dPass pass);

}  // namespace kiln::vendor
