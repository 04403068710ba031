#pragma once
// softmax and log_softmax along the middle axis of a contiguous
// [outer, reduce, inner] view (the engine folds the softmax dim into that shape).
// Kernels assume valid input: x, y, dx, dy are contiguous [outer, reduce, inner].
#include <cstdint>

namespace kiln::cpu {

// y = exp(x - m) / sum_r exp(x - m),  m = max_r x   (subtracting m keeps exp <= 1)
template <typename T>
void softmax_forward(T* y, const T* x, int64_t outer, int64_t reduce, int64_t inner);

// dx += y (dy - sum_r dy y)
template <typename T>
void softmax_backward(T* dx, const T* dy, const T* y, int64_t outer, int64_t reduce, int64_t inner);

// y = x - m - log sum_r exp(x - m)
template <typename T>
void log_softmax_forward(T* y, const T* x, int64_t outer, int64_t reduce, int64_t inner);

// dx += dy - exp(y) sum_r dy     (exp(y) is the softmax)
template <typename T>
void log_softmax_backward(T* dx, const T* dy, const T* y, int64_t outer, int64_t reduce, int64_t inner);

}  // namespace kiln::cpu
