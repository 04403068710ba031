#pragma once
// The functional op API. Every op checks its arguments (throwing kiln::Error
// that names the op, the argument and what it got), allocates its output,
// dispatches to the tensor's backend and, when a gradient is needed, records
// its backward node. One file per op family in engine/ops/, the math in
// kernels/<backend>/.
#include <optional>
#include <vector>

#include "engine/tensor.h"

namespace kiln {

// ---- element-wise binary, NumPy broadcasting (engine/ops/binary.cpp) ----
// Shapes are aligned from the right; each pair of sizes must be equal or one of
// them 1. Both operands must have the same dtype (no silent promotion).
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
// The broadcast shape of a and b, or an error naming `op`.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// dst += src in place, outside autograd (gradient accumulation). Same shape and dtype.
void accumulate_(Tensor& dst, const Tensor& src);

// ---- element-wise unary (engine/ops/unary.cpp) ----
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor pow(const Tensor& x, double exponent);
// min(max(x, lo), hi); either bound may be absent. Gradient passes where lo <= x <= hi.
Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi);

// ---- reductions (engine/ops/reduce.cpp) ----
// Over `dims` (all dims when empty); keepdim keeps them as size 1.
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
struct MaxResult {
    Tensor values;   // differentiable: the gradient goes to the (first) arg-max
    Tensor indices;  // int64
};
MaxResult max(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor max(const Tensor& x);  // over all elements, 0-d
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
// Sums `x` down to `shape` over the dims that broadcasting expanded (the
// backward of broadcasting). Differentiable.
Tensor sum_to(const Tensor& x, const Shape& shape);

// ---- linear algebra (engine/ops/matmul.cpp) ----
// torch.matmul semantics: 1-D operands are promoted and the added dim removed;
// batch dims broadcast. [.., n, k] @ [.., k, m] -> [.., n, m].
Tensor matmul(const Tensor& a, const Tensor& b);
// y = x @ weight^T + bias,  x [..., in], weight [out, in], bias [out] or undefined.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// ---- joining (engine/ops/cat.cpp) ----
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim);

// ---- operators ----
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
// A scalar operand becomes a 0-d tensor of the other operand's dtype.
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);

}  // namespace kiln
