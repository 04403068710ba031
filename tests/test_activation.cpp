// Activations against their published formulas, at values computed by hand
// (or with Python's math module, digits quoted), in float64 and float32.
#include <doctest/doctest.h>

#include <cmath>

#include "tests/support/tensors.h"
#include "engine/autograd.h"
#include "engine/ops.h"

using namespace kiln;

namespace {
Tensor leaf(const std::vector<double>& values, DType dtype = DType::float64) {
    return testing::leaf(values, {int64_t(values.size())}, dtype);
}

// Values and gradients of f at the points `x` (gradient of sum f(x)).
struct Evaluated {
    std::vector<double> y, dy;
};
Evaluated evaluate(Tensor (*f)(const Tensor&), std::vector<double> x, DType dtype = DType::float64) {
    Tensor t = leaf(x, dtype);
    const Tensor y = f(t);
    sum(y).backward();
    return {y.to_vector(), t.grad().to_vector()};
}
}  // namespace

TEST_CASE("gelu: exact erf form and tanh approximation at published values") {
    // gelu(1) = Phi(1) = 0.841344746068543 (the normal CDF at 1)
    // gelu(-1) = -(1 - Phi(1)) = -0.158655253931457
    const Evaluated e = evaluate([](const Tensor& x) { return gelu(x); }, {1, -1, 0});
    CHECK(e.y[0] == doctest::Approx(0.841344746068543).epsilon(1e-14));
    CHECK(e.y[1] == doctest::Approx(-0.158655253931457).epsilon(1e-14));
    CHECK(e.y[2] == 0);
    // gelu'(x) = Phi(x) + x phi(x): at 1, 0.841344746068543 + 0.241970724519143; at 0, 1/2
    CHECK(e.dy[0] == doctest::Approx(0.841344746068543 + 0.241970724519143).epsilon(1e-14));
    CHECK(e.dy[2] == doctest::Approx(0.5).epsilon(1e-15));
    // tanh form at 1: 0.5 (1 + tanh(sqrt(2/pi) * 1.044715)) = 0.841191990608276
    const Tensor approx = gelu(Tensor::from_vector({1}, {1}, DType::float64), true);
    CHECK(approx.item() == doctest::Approx(0.841191990608276).epsilon(1e-14));
    CHECK(approx.item() != doctest::Approx(0.841344746068543).epsilon(1e-6));  // the flag matters
}

TEST_CASE("silu, sigmoid and tanh at published values") {
    // silu(1) = 1 / (1 + e^-1) = 0.731058578630005; silu'(1) = s (1 + 1 (1 - s)) = 0.927670511871487
    const Evaluated s = evaluate([](const Tensor& x) { return silu(x); }, {1});
    CHECK(s.y[0] == doctest::Approx(0.731058578630005).epsilon(1e-14));
    CHECK(s.dy[0] == doctest::Approx(0.927670511871487).epsilon(1e-14));
    // sigmoid(0) = 1/2, sigmoid'(0) = 1/4; tanh(0.5) = 0.462117157260010, tanh'(0.5) = 1 - tanh^2
    const Evaluated g = evaluate([](const Tensor& x) { return sigmoid(x); }, {0, 2});
    CHECK(g.y[0] == 0.5);
    CHECK(g.dy[0] == 0.25);
    CHECK(g.y[1] == doctest::Approx(1 / (1 + std::exp(-2.0))).epsilon(1e-15));
    const Evaluated t = evaluate([](const Tensor& x) { return tanh(x); }, {0.5});
    CHECK(t.y[0] == doctest::Approx(0.462117157260010).epsilon(1e-14));
    CHECK(t.dy[0] == doctest::Approx(1 - 0.462117157260010 * 0.462117157260010).epsilon(1e-13));
}

TEST_CASE("sigmoid and silu stay finite for large |x|, in float32 and float64") {
    for (DType dtype : {DType::float32, DType::float64}) {
        const std::string name = dtype_name(dtype);
        CAPTURE(name);
        const Evaluated g = evaluate([](const Tensor& x) { return sigmoid(x); }, {-1000, 1000, -100, 100}, dtype);
        CHECK(g.y == std::vector<double>{0, 1, g.y[2], 1});
        CHECK(g.y[2] >= 0);
        CHECK(g.y[2] < 1e-40);
        // y (1 - y): 0 at +-1000, not NaN; at +-100 e^-100 = 3.7e-44 (a float32 denormal)
        CHECK(g.dy[0] == 0);
        CHECK(g.dy[1] == 0);
        for (double d : {g.dy[2], g.dy[3]}) {
            CHECK(d >= 0);
            CHECK(d < 1e-40);
        }
        const Evaluated s = evaluate([](const Tensor& x) { return silu(x); }, {-1000, 1000}, dtype);
        CHECK(s.y == std::vector<double>{0, 1000});  // -1000 * 0 is -0, which compares equal to 0
        CHECK(s.dy == std::vector<double>{0, 1});
        const Evaluated u = evaluate([](const Tensor& x) { return gelu(x); }, {-1000, 1000}, dtype);
        CHECK(u.y == std::vector<double>{0, 1000});
        CHECK(u.dy == std::vector<double>{0, 1});
    }
}

TEST_CASE("hardswish and hardsigmoid: the three pieces and PyTorch's values at the breakpoints") {
    // hardswish(x) = x relu6(x + 3) / 6: hardswish(1) = 1 * 4 / 6 = 2/3, hardswish(-1) = -1 * 2 / 6 = -1/3
    const Evaluated h = evaluate([](const Tensor& x) { return hardswish(x); }, {1, -1, -4, 4, -3, 3});
    CHECK(h.y[0] == doctest::Approx(2.0 / 3).epsilon(1e-15));
    CHECK(h.y[1] == doctest::Approx(-1.0 / 3).epsilon(1e-15));
    CHECK(h.y[2] == 0);
    CHECK(h.y[3] == 4);
    // derivative x/3 + 1/2 inside [-3, 3] (both ends included, as PyTorch), 0 below, 1 above
    CHECK(h.dy == std::vector<double>{1.0 / 3 + 0.5, -1.0 / 3 + 0.5, 0, 1, -0.5, 1.5});
    // hardsigmoid(x) = relu6(x + 3) / 6: 4/6 at 1; derivative 1/6 strictly inside (-3, 3)
    const Evaluated s = evaluate([](const Tensor& x) { return hardsigmoid(x); }, {1, -4, 4, -3, 3});
    CHECK(s.y[0] == doctest::Approx(4.0 / 6).epsilon(1e-15));
    CHECK(s.y[1] == 0);
    CHECK(s.y[2] == 1);
    CHECK(s.dy == std::vector<double>{1.0 / 6, 0, 0, 0, 0});
}

TEST_CASE("relu and leaky_relu, including the gradient at 0") {
    const Evaluated r = evaluate([](const Tensor& x) { return relu(x); }, {-2, 0, 3});
    CHECK(r.y == std::vector<double>{0, 0, 3});
    CHECK(r.dy == std::vector<double>{0, 0, 1});
    Tensor x = leaf({-2, 0, 3});
    const Tensor y = leaky_relu(x, 0.1);
    sum(y).backward();
    CHECK(y.to_vector() == std::vector<double>{-0.2, 0, 3});
    CHECK(x.grad().to_vector() == std::vector<double>{0.1, 0.1, 1});
    CHECK(leaky_relu(Tensor::from_vector({-3}, {1}, DType::float64)).item() == doctest::Approx(-0.03));
}

TEST_CASE("relu6 follows PyTorch's hardtanh at the bounds: gradient 0 at 0 and 6, unlike clamp") {
    // PyTorch: nn.ReLU6 is hardtanh(x, 0, 6), whose backward passes dy only where 0 < x < 6;
    // clamp's backward passes on [lo, hi], both ends included.
    const std::vector<double> points{-1, 0, 0.5, 6, 7, 5.999};
    for (DType dtype : {DType::float64, DType::float32}) {
        const Evaluated r = evaluate([](const Tensor& x) { return relu6(x); }, points, dtype);
        CHECK(r.y[0] == 0);
        CHECK(r.y[1] == 0);
        CHECK(r.y[2] == 0.5);
        CHECK(r.y[3] == 6);
        CHECK(r.y[4] == 6);
        CHECK(r.dy == std::vector<double>{0, 0, 1, 0, 0, 1});
        const Evaluated c = evaluate([](const Tensor& x) { return clamp(x, 0.0, 6.0); }, points, dtype);
        CHECK(c.y == r.y);
        CHECK(c.dy == std::vector<double>{0, 1, 1, 1, 0, 1});
    }
    const Tensor nan = relu6(Tensor::from_vector({std::nan("")}, {1}, DType::float32));
    CHECK(std::isnan(nan.item()));  // NaN passes through, as clamp and PyTorch
}

TEST_CASE("activations keep the shape and dtype, and name their backward node") {
    Tensor x = Tensor::zeros({2, 3, 1}, DType::float32);
    x.set_requires_grad(true);
    const Tensor y = leaky_relu(x);
    CHECK(y.shape() == Shape{2, 3, 1});
    CHECK(y.dtype() == DType::float32);
    CHECK(y.grad_fn()->name() == "LeakyReluBackward");
    CHECK(gelu(x).grad_fn()->name() == "GeluBackward");
}
