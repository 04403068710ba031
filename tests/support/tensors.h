#pragma once
// Small tensor constructors shared by the test suites.
#include <vector>

#include "engine/tensor.h"

namespace kiln::testing {

// A leaf tensor that requires grad, from values (float64 unless asked).
inline Tensor leaf(const std::vector<double>& values, const Shape& shape, DType dtype = DType::float64) {
    Tensor t = Tensor::from_vector(values, shape, dtype);
    t.set_requires_grad(true);
    return t;
}

}  // namespace kiln::testing
