// Cases for sum, mean, max, sum_to.
#include "engine/op_cases/common.h"
#include "engine/op_cases/op_cases.h"
#include "engine/ops.h"

namespace kiln::case_tables {

void add_reduce(std::vector<OpCase>& cases, std::vector<ErrorCase>& errors) {
    for (const char* op : {"sum", "mean"}) {
        const bool is_sum = std::string(op) == "sum";
        auto reduce = [is_sum](const Tensor& x, std::vector<int64_t> dims, bool keepdim) {
            return is_sum ? sum(x, dims, keepdim) : mean(x, dims, keepdim);
        };
        cases.push_back({op, "all dims", {{3, 5}}, [reduce](const Inputs& x) { return reduce(x[0], {}, false); }});
        cases.push_back({op, "one dim, keepdim", {{2, 3, 5}}, [reduce](const Inputs& x) { return reduce(x[0], {1}, true); }});
        cases.push_back({op, "two non-adjacent dims", {{2, 3, 5}}, [reduce](const Inputs& x) { return reduce(x[0], {0, 2}, false); }});
        cases.push_back({op, "negative dim, batch 1", {{1, 4, 3}}, [reduce](const Inputs& x) { return reduce(x[0], {-1}, false); }});
        cases.push_back({op, "size-1 input", {{1}}, [reduce](const Inputs& x) { return reduce(x[0], {}, false); }});
        errors.push_back({op, "dim out of range", [reduce] { reduce(f32({2, 3}), {2}, false); },
                          std::string(op) + ": dim 2 is out of range for a tensor with 2 dims"});
        errors.push_back({op, "dim repeated", [reduce] { reduce(f32({2, 3}), {1, -1}, false); }, "dim repeated"});
        errors.push_back({op, "int64 input", [reduce] { reduce(i64({2}), {}, false); }, "argument x is int64"});
    }
    cases.push_back({"max", "over dim 1", {{3, 5}}, [](const Inputs& x) { return max(x[0], 1).values; }});
    cases.push_back({"max", "over dim 0, keepdim", {{4, 3}}, [](const Inputs& x) { return max(x[0], 0, true).values; }});
    cases.push_back({"max", "middle dim of 3-D, batch 1", {{1, 5, 3}}, [](const Inputs& x) { return max(x[0], -2).values; }});
    cases.push_back({"max", "all elements", {{2, 3}}, [](const Inputs& x) { return max(x[0]); }});
    errors.push_back({"max", "dim out of range", [] { max(f32({2, 3}), 2); }, "max: dim 2 is out of range"});
    errors.push_back({"max", "0-d with a dim", [] { max(f32({}), 0); }, "max: x is 0-d"});
    errors.push_back({"max", "empty dim", [] { max(f32({2, 0}), 1); }, "max: dim 1 of [2, 0] is empty"});

    cases.push_back({"sum_to", "leading and size-1 dims", {{2, 3, 4}}, [](const Inputs& x) { return sum_to(x[0], {3, 1}); }});
    cases.push_back({"sum_to", "to a scalar", {{3, 2}}, [](const Inputs& x) { return sum_to(x[0], {}); }});
    errors.push_back({"sum_to", "shape that does not broadcast", [] { sum_to(f32({2, 3}), {4}); },
                      "sum_to: cannot broadcast a [2, 3] with b [4]"});
}

KILN_REGISTER_CASES(add_reduce);

}  // namespace kiln::case_tables
