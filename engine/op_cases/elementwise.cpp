// Cases for add, sub, mul, div, neg, exp, log, sqrt, abs, pow, clamp.
#include "engine/ops.h"
#include "engine/op_cases/common.h"
#include "engine/op_cases/op_cases.h"

namespace kiln::case_tables {

constexpr std::pair<double, double> positive{0.5, 2.0};  // log, sqrt, divisors: away from 0

void add_elementwise(std::vector<OpCase>& cases, std::vector<ErrorCase>& errors) {
    auto binary = [&](const char* op, Tensor (*fn)(const Tensor&, const Tensor&)) {
        auto call = [fn](const Inputs& x) { return fn(x[0], x[1]); };
        const std::vector<std::pair<double, double>> ranges =
            std::string(op) == "div" ? std::vector<std::pair<double, double>>{{-1, 1}, positive}
                                     : std::vector<std::pair<double, double>>{};
        cases.push_back({op, "same shape, odd sizes", {{5, 7}, {5, 7}}, call, ranges});
        cases.push_back({op, "broadcast both ways", {{3, 1}, {1, 4}}, call, ranges});
        cases.push_back({op, "broadcast missing leading dims", {{2, 3, 4}, {4}}, call, ranges});
        cases.push_back({op, "0-d with a vector", {{}, {5}}, call, ranges});
        cases.push_back({op, "size-1 with size-1", {{1}, {1}}, call, ranges});
        cases.push_back({op, "batch 1, broadcast middle", {{1, 3, 1}, {1, 1, 2}}, call, ranges});
        errors.push_back({op, "shapes that do not broadcast", [fn] { fn(f32({2, 3}), f32({4, 3})); },
                          "cannot broadcast a [2, 3] with b [4, 3]"});
        errors.push_back({op, "float32 with float64", [fn] { fn(f32({2}), f64({2})); },
                          "b is float64 but a is float32"});
        errors.push_back({op, "int64 operand", [fn] { fn(i64({2}), i64({2})); }, "expected float32 or float64"});
    };
    binary("add", add);
    binary("sub", sub);
    binary("mul", mul);
    binary("div", div);
    cases.push_back({"mul", "same input twice (x * x): two paths add", {{4, 3}},
                     [](const Inputs& x) { return mul(x[0], x[0]); }});

    auto unary = [&](const char* op, OpFunction fn, std::pair<double, double> range) {
        cases.push_back({op, "odd sizes", {{3, 5}}, fn, {range}});
        cases.push_back({op, "0-d", {{}}, fn, {range}});
        cases.push_back({op, "batch 1, 3-D", {{1, 2, 7}}, fn, {range}});
        errors.push_back({op, "int64 input", [fn] { fn({i64({2})}); }, "argument x is int64"});
    };
    unary("neg", [](const Inputs& x) { return neg(x[0]); }, {-1, 1});
    unary("exp", [](const Inputs& x) { return exp(x[0]); }, {-2, 2});
    unary("log", [](const Inputs& x) { return log(x[0]); }, positive);
    unary("sqrt", [](const Inputs& x) { return sqrt(x[0]); }, positive);
    unary("abs", [](const Inputs& x) { return abs(x[0]); }, {-1, 1});
    unary("pow", [](const Inputs& x) { return pow(x[0], 3); }, {-1, 1});
    cases.push_back({"pow", "fractional exponent", {{4, 3}}, [](const Inputs& x) { return pow(x[0], 0.5); }, {positive}});
    cases.push_back({"pow", "negative exponent", {{4, 3}}, [](const Inputs& x) { return pow(x[0], -2); }, {positive}});
    unary("clamp", [](const Inputs& x) { return clamp(x[0], -0.5, 0.5); }, {-1, 1});
    cases.push_back({"clamp", "lower bound only", {{6, 5}}, [](const Inputs& x) { return clamp(x[0], 0.1, {}); }});
    cases.push_back({"clamp", "upper bound only", {{6, 5}}, [](const Inputs& x) { return clamp(x[0], {}, -0.2); }});
    errors.push_back({"clamp", "lo above hi", [] { clamp(f32({2}), 1, 0); }, "clamp: lo 1 is greater than hi 0"});
    errors.push_back({"clamp", "no bound", [] { clamp(f32({2}), {}, {}); }, "at least one of lo and hi"});
}

KILN_REGISTER_CASES(add_elementwise);

}  // namespace kiln::case_tables
