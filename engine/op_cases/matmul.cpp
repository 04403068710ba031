// Cases for matmul and linear.
#include "engine/op_cases/common.h"
#include "engine/op_cases/op_cases.h"
#include "engine/ops.h"

namespace kiln::case_tables {

void add_matmul(std::vector<OpCase>& cases, std::vector<ErrorCase>& errors) {
    auto mm = [](const Inputs& x) { return matmul(x[0], x[1]); };
    cases.push_back({"matmul", "2-D, odd sizes", {{3, 5}, {5, 7}}, mm});
    cases.push_back({"matmul", "batched with a 2-D right side", {{2, 3, 4}, {4, 2}}, mm});
    cases.push_back({"matmul", "broadcast batch dims", {{2, 1, 3, 4}, {3, 4, 2}}, mm});
    cases.push_back({"matmul", "vector @ matrix", {{4}, {4, 3}}, mm});
    cases.push_back({"matmul", "matrix @ vector", {{3, 4}, {4}}, mm});
    cases.push_back({"matmul", "vector @ vector", {{4}, {4}}, mm});
    cases.push_back({"matmul", "batch 1, 1x1 result", {{1, 1, 3}, {1, 3, 1}}, mm});
    cases.push_back({"matmul", "larger than one GEMM tile, odd sizes", {{19, 37}, {37, 70}}, mm});
    cases.push_back({"matmul", "transposed (non-contiguous) input", {{4, 3}, {4, 5}},
                     [](const Inputs& x) { return matmul(x[0].transpose(0, 1), x[1]); }});
    errors.push_back({"matmul", "inner sizes differ", [] { matmul(f32({3, 4}), f32({5, 2})); },
                      "matmul: a [3, 4] has 4 columns but b [5, 2] has 5 rows"});
    errors.push_back({"matmul", "0-d operand", [] { matmul(f32({}), f32({3})); }, "at least 1-D"});
    errors.push_back({"matmul", "batch dims that do not broadcast", [] { matmul(f32({2, 3, 4}), f32({3, 4, 2})); },
                      "matmul: cannot broadcast"});
    errors.push_back({"matmul", "mixed dtypes", [] { matmul(f32({3, 4}), f64({4, 2})); }, "b is float64 but a is float32"});

    cases.push_back({"linear", "with bias", {{5, 4}, {3, 4}, {3}},
                     [](const Inputs& x) { return linear(x[0], x[1], x[2]); }});
    cases.push_back({"linear", "3-D input, no bias", {{2, 3, 4}, {5, 4}},
                     [](const Inputs& x) { return linear(x[0], x[1]); }});
    cases.push_back({"linear", "past one GEMM tile in every dim", {{67, 18}, {65, 18}, {65}},
                     [](const Inputs& x) { return linear(x[0], x[1], x[2]); }});
    cases.push_back({"linear", "batch 1, one output", {{1, 7}, {1, 7}, {1}},
                     [](const Inputs& x) { return linear(x[0], x[1], x[2]); }});
    errors.push_back({"linear", "input features differ", [] { linear(f32({2, 5}), f32({3, 4})); },
                      "linear: x [2, 5] has last dim 5 but weight [3, 4] expects 4 input features"});
    errors.push_back({"linear", "bias of wrong length", [] { linear(f32({2, 4}), f32({3, 4}), f32({4})); },
                      "linear: bias must be [3]"});
    errors.push_back({"linear", "1-D weight", [] { linear(f32({2, 4}), f32({4})); }, "weight must be [out, in]"});
}

KILN_REGISTER_CASES(add_matmul);

}  // namespace kiln::case_tables
