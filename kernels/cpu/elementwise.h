#pragma once
// Element-wise unary and broadcasting binary ops, forward and backward. The
// formulas are in kernels/common/elementwise.h; these loops apply them.
#include <cstdint>
#include <vector>

#include "kernels/common/elementwise.h"

namespace kiln::cpu {

// y[i] = f(x[i]),  i < count; x, y contiguous.
template <typename T>
void unary_forward(math::UnaryOp op, const math::UnaryParams& params, T* y, const T* x, int64_t count);

// dx[i] += dy[i] * f'(x[i], y[i])   (accumulates into dx)
template <typename T>
void unary_backward(math::UnaryOp op, const math::UnaryParams& params, T* dx, const T* dy, const T* x, const T* y,
                    int64_t count);

// out[idx] = f(a[idx . a_strides], b[idx . b_strides]) for each idx of `shape`;
// out contiguous with `shape`; a stride of 0 broadcasts.
template <typename T>
void binary_forward(math::BinaryOp op, T* out, const T* a, const std::vector<int64_t>& a_strides, const T* b,
                    const std::vector<int64_t>& b_strides, const std::vector<int64_t>& shape);

// da[idx . a_strides] += dy[idx] * df/da,  db[idx . b_strides] += dy[idx] * df/db.
// da and db are laid out like a and b, so a broadcast dimension (stride 0)
// sums the gradient over it. Either may be null.
template <typename T>
void binary_backward(math::BinaryOp op, T* da, T* db, const T* dy, const T* a, const std::vector<int64_t>& a_strides,
                     const T* b, const std::vector<int64_t>& b_strides, const std::vector<int64_t>& shape);

}  // namespace kiln::cpu
