#pragma once
// Reductions over the middle axis of a contiguous [outer, reduce, inner] view:
// the engine folds any set of dims into that shape (permuting when needed).
#include <cstdint>

namespace kiln::cpu {

// out[o, i] = sum_r in[o, r, i]      out is [outer, inner]
template <typename T>
void sum_forward(T* out, const T* in, int64_t outer, int64_t reduce, int64_t inner);

// values[o, i] = max_r in[o, r, i], indices[o, i] = the first r attaining it
template <typename T>
void max_forward(T* values, int64_t* indices, const T* in, int64_t outer, int64_t reduce, int64_t inner);

// dx[o, indices[o, i], i] += dy[o, i]   (the gradient flows to the arg-max only)
template <typename T>
void max_backward(T* dx, const T* dy, const int64_t* indices, int64_t outer, int64_t reduce, int64_t inner);

}  // namespace kiln::cpu
