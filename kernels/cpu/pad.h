#pragma once
// Padding of a contiguous tensor. x has shape in_shape; y has
//   out_shape[d] = in_shape[d] + before[d] + after[d]   (negative before/after crop).
// Along each dim, output index o reads input index i = o - before[d], mapped by the
// mode (kernels/common/pad.h, shared with kernels/cuda/pad.cu):
//   constant:  x[i] if 0 <= i < n, else value
//   reflect:   i < 0 -> -i,  i >= n -> 2 (n - 1) - i    (the edge is not repeated; needs pad < n)
//   replicate: clamp(i, 0, n - 1)                        (needs n > 0)
// Backward: dx[source(o)] += dy[o] for every o that reads an input element
// (reflect and replicate add several outputs into one input).
// The engine (engine/ops/pad.cpp) checks the arguments; these kernels assume
// them valid; reflect and replicate pad at most the last two dims.
#include <cstdint>
#include <vector>

#include "kernels/common/pad.h"

namespace kiln::cpu {

using math::PadKind;

template <typename T>
void pad_forward(T* y, const T* x, const std::vector<int64_t>& in_shape, const std::vector<int64_t>& before,
                 const std::vector<int64_t>& out_shape, PadKind kind, double value);

template <typename T>
void pad_backward(T* dx, const T* dy, const std::vector<int64_t>& in_shape, const std::vector<int64_t>& before,
                  const std::vector<int64_t>& out_shape, PadKind kind);

}  // namespace kiln::cpu
