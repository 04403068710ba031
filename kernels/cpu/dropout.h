#pragma once
// Inverted dropout (mask: kernels/common/dropout.h).
//   y_i  = x_i * keep(i / group) * scale,    scale = 1 / (1 - p)
//   dx_i += dy_i * keep(i / group) * scale
// group = 1 drops elements (dropout); group = H * W drops whole channels of
// [N, C, H, W] (dropout2d: one draw per (n, c)). The backward recomputes the
// mask from (seed, offset) instead of saving it: no memory per element, and
// the same bits by construction. The engine checks p in [0, 1] and reserves
// count / group draws of the stream.
#include <cstdint>

namespace kiln::cpu {

template <typename T>
void dropout_forward(T* y, const T* x, int64_t count, int64_t group, double p, uint64_t seed, uint64_t offset);

template <typename T>
void dropout_backward(T* dx, const T* dy, int64_t count, int64_t group, double p, uint64_t seed, uint64_t offset);

}  // namespace kiln::cpu
