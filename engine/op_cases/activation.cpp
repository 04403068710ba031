// Cases for relu, relu6, leaky_relu, sigmoid, tanh, silu, hardswish, hardsigmoid, gelu.
//
// Kinks: relu and leaky_relu at 0, relu6 at 0 and 6, hardswish and hardsigmoid at -3 and 3. A
// central difference that straddles a kink is wrong by O(1), so a value must
// not land within eps = 1e-6 of one. Inputs are drawn uniformly (fixed seed),
// so a given value lands there with probability about 2e-6 / range: with the
// ~200 values below, about 1e-4 in all. The ranges cross the kinks on
// purpose, so both sides of each are checked.
#include <cmath>

#include "engine/op_cases/common.h"
#include "engine/op_cases/op_cases.h"
#include "engine/ops.h"

namespace kiln::case_tables {

void add_activation(std::vector<OpCase>& cases, std::vector<ErrorCase>& errors) {
    auto activation = [&](const char* op, OpFunction fn, std::pair<double, double> range) {
        cases.push_back({op, "odd sizes", {{3, 5}}, fn, {range}});
        cases.push_back({op, "0-d", {{}}, fn, {range}});
        cases.push_back({op, "batch 1, 4-D", {{1, 2, 3, 5}}, fn, {range}});
        errors.push_back({op, "int64 input", [fn] { fn({i64({2})}); }, str(op, ": argument x is int64")});
        errors.push_back({op, "undefined input", [fn] { fn({Tensor()}); }, str(op, ": argument x is an undefined tensor")});
    };
    activation("relu", [](const Inputs& x) { return relu(x[0]); }, {-1, 1});
    activation("relu6", [](const Inputs& x) { return relu6(x[0]); }, {-2, 8});  // both kinks, all three pieces
    activation("leaky_relu", [](const Inputs& x) { return leaky_relu(x[0]); }, {-1, 1});
    cases.push_back({"leaky_relu", "slope 0.2", {{4, 5}}, [](const Inputs& x) { return leaky_relu(x[0], 0.2); }});
    errors.push_back({"leaky_relu", "NaN slope", [] { leaky_relu(f32({2}), std::nan("")); },
                      "leaky_relu: negative_slope is nan"});
    activation("sigmoid", [](const Inputs& x) { return sigmoid(x[0]); }, {-4, 4});
    cases.push_back({"sigmoid", "saturating both ways", {{5, 3}}, [](const Inputs& x) { return sigmoid(x[0]); },
                     {{-30, 30}}});
    activation("tanh", [](const Inputs& x) { return tanh(x[0]); }, {-3, 3});
    activation("silu", [](const Inputs& x) { return silu(x[0]); }, {-6, 6});
    // hardswish and hardsigmoid over [-4, 4]: all three pieces (see the note on kinks above).
    activation("hardswish", [](const Inputs& x) { return hardswish(x[0]); }, {-4, 4});
    activation("hardsigmoid", [](const Inputs& x) { return hardsigmoid(x[0]); }, {-4, 4});
    activation("gelu", [](const Inputs& x) { return gelu(x[0]); }, {-4, 4});
    cases.push_back({"gelu", "tanh approximation", {{3, 5}}, [](const Inputs& x) { return gelu(x[0], true); },
                     {{-4, 4}}});
    cases.push_back({"gelu", "tanh approximation, batch 1, 4-D", {{1, 2, 3, 5}},
                     [](const Inputs& x) { return gelu(x[0], true); }, {{-4, 4}}});
}

KILN_REGISTER_CASES(add_activation);

}  // namespace kiln::case_tables
