#pragma once
// gradcheck: compares an op's backward with central finite differences in
// float64, and the op case table that every differentiable op must appear in.
//
// For out = f(inputs), a fixed random projection r turns the output into the
// scalar L = sum(out * r); backward(r) must give dL/dx for every input, and
//   numeric dL/dx_i = (L(x_i + eps) - L(x_i - eps)) / (2 eps).
// Before backward, each input's .grad is seeded with random non-zero values;
// the check subtracts them, so an op that overwrites .grad instead of adding
// to it fails.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace kiln {

using OpFunction = std::function<Tensor(const std::vector<Tensor>&)>;

struct GradcheckOptions {
    // Central differences have error O(eps^2 f''') + O(ulp / eps); 1e-6 balances
    // the two for float64 values of order 1. One step size for all ops: a step
    // that needs tuning per op hides bugs (see docs/architecture.md).
    double eps = 1e-6;
    double atol = 1e-6;
    double rtol = 1e-5;
    uint64_t seed = 1;
};

struct GradcheckResult {
    bool passed = true;
    double max_abs_error = 0;  // over all inputs and elements, |analytic - numeric|
    std::string worst;         // where that happened: input, index, both values
    std::string failure;       // the first element outside tolerance, or empty
};

// inputs: float64 leaf tensors that require grad.
GradcheckResult gradcheck(const OpFunction& fn, const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

// One entry of the op case table (engine/op_cases/*.cpp).
struct OpCase {
    std::string op;     // the registered op it exercises
    std::string label;  // what is special about this case, e.g. "broadcast [3, 1] with [4]"
    std::vector<Shape> shapes;
    OpFunction fn;
    // Uniform range of each input's random values (default [-1, 1]), e.g.
    // [0.5, 2] for log's argument.
    std::vector<std::pair<double, double>> ranges = {};
    // Step and absolute tolerance, when this case needs other than the
    // defaults (with the reason next to the case).
    double eps = GradcheckOptions{}.eps;
    double atol = GradcheckOptions{}.atol;
};

// A bad call and the words its kiln::Error must contain.
struct ErrorCase {
    std::string op;
    std::string label;
    std::function<void()> call;
    std::string expected;
};

const std::vector<OpCase>& op_cases();
const std::vector<ErrorCase>& error_cases();

// Random inputs for `c` in `dtype`, leaves requiring grad (the same values for
// float32 and float64 with the same seed).
std::vector<Tensor> make_inputs(const OpCase& c, DType dtype, uint64_t seed);

GradcheckResult run_gradcheck(const OpCase& c, uint64_t seed = 1);

// float32 forward and backward against float64 on the same inputs:
// max |f32 - f64| / max(1, max |f64|) over the output and every input gradient.
struct PrecisionResult {
    bool passed = true;
    double max_error = 0;
    std::string worst;
};
// float32 carries ~7 digits; sums over a few hundred terms keep ~5.
constexpr double float32_tolerance = 1e-5;
PrecisionResult run_float32_check(const OpCase& c, uint64_t seed = 1);

}  // namespace kiln
