#pragma once
// Small constructors for the bad-input cases.
#include "engine/tensor.h"

namespace kiln::case_tables {

inline Tensor f32(const Shape& shape) { return Tensor::zeros(shape, DType::float32); }
inline Tensor f64(const Shape& shape) { return Tensor::zeros(shape, DType::float64); }
inline Tensor i64(const Shape& shape) { return Tensor::zeros(shape, DType::int64); }

}  // namespace kiln::case_tables
