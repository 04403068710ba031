// The op case table (engine/op_cases/) run three ways: float64 gradcheck,
// float32 against float64, and every bad-input case. Coverage tests fail when
// a registered op has no gradcheck case or no bad-input case.
#include <doctest/doctest.h>

#include <set>

#include "engine/autograd.h"
#include "engine/gradcheck.h"
#include "engine/ops.h"
#include "engine/ops/registry.h"

using namespace kiln;

namespace {
std::string describe(const OpCase& c) {
    std::string shapes;
    for (const Shape& s : c.shapes) shapes += " " + shape_str(s);
    return c.op + " (" + c.label + "):" + shapes;
}
}  // namespace

TEST_CASE("every registered op has a gradcheck case and a bad-input case") {
    std::set<std::string> with_case, with_error;
    for (const OpCase& c : op_cases()) with_case.insert(c.op);
    for (const ErrorCase& e : error_cases()) with_error.insert(e.op);
    const std::vector<std::string> ops = registered_ops();
    CHECK(ops.size() >= 25);
    for (const std::string& op : ops) {
        CAPTURE(op);
        CHECK(with_case.count(op) == 1);
        CHECK(with_error.count(op) == 1);
    }
    // and no case names an op that is not registered (a typo would hide a gap)
    for (const std::string& op : with_case) CHECK_MESSAGE(std::count(ops.begin(), ops.end(), op) == 1, op);
    for (const std::string& op : with_error) CHECK_MESSAGE(std::count(ops.begin(), ops.end(), op) == 1, op);
}

TEST_CASE("float64 gradcheck of every op case (grad buffers seeded, so backward must add)") {
    for (const OpCase& c : op_cases()) {
        const GradcheckResult result = run_gradcheck(c);
        CHECK_MESSAGE(result.passed, describe(c), ": ", result.failure, " (max error ", result.max_abs_error, ")");
    }
}

TEST_CASE("float32 forward and backward agree with float64 on every op case") {
    for (const OpCase& c : op_cases()) {
        const PrecisionResult result = run_float32_check(c);
        CHECK_MESSAGE(result.passed, describe(c), ": ", result.worst, " (error ", result.max_error, ")");
    }
}

TEST_CASE("bad input raises kiln::Error naming the op and what was wrong") {
    for (const ErrorCase& e : error_cases()) {
        CAPTURE(e.op);
        CAPTURE(e.label);
        std::string message;
        try {
            e.call();
        } catch (const Error& error) {
            message = error.what();
        }
        CHECK_MESSAGE(message.find(e.expected) != std::string::npos, "expected \"", e.expected, "\", got \"",
                      message, "\"");
    }
}

TEST_CASE("gradcheck itself catches a wrong backward and an overwriting backward") {
    // A correct op passes...
    const OpCase square{"mul", "x*x", {{3, 2}}, [](const std::vector<Tensor>& x) { return x[0] * x[0]; }};
    CHECK(run_gradcheck(square).passed);
    // ...an op whose backward is off by a factor fails...
    const OpCase wrong{"mul", "x*x with a detached factor", {{3, 2}},
                       [](const std::vector<Tensor>& x) { return x[0] * x[0].detach(); }};
    const GradcheckResult result = run_gradcheck(wrong);
    CHECK_FALSE(result.passed);
    CHECK(result.failure.find("input 0 element") != std::string::npos);
}

namespace {
// identity whose backward *writes* the leaf's gradient instead of adding to it
class OverwritingIdentityBackward : public Node {
public:
    explicit OverwritingIdentityBackward(Tensor leaf) : leaf_(std::move(leaf)) {}
    std::string name() const override { return "OverwritingIdentityBackward"; }
    std::vector<Tensor> backward(const Tensor& dy) override {
        leaf_.set_grad(dy.clone());
        return {Tensor()};
    }

private:
    Tensor leaf_;
};
}  // namespace

TEST_CASE("gradcheck catches a backward that overwrites .grad instead of adding") {
    const OpFunction overwriting = [](const std::vector<Tensor>& x) {
        Tensor out = x[0].detach().clone();
        if (needs_grad({x[0]})) record(out, std::make_shared<OverwritingIdentityBackward>(x[0]), {x[0]});
        return out;
    };
    const OpCase c{"clone", "overwriting identity", {{4}}, overwriting};
    CHECK_FALSE(run_gradcheck(c).passed);
}
