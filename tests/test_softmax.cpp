// softmax and log_softmax: stability for large logits, rows summing to 1,
// log_softmax = log(softmax), and the backward formulas on a hand example.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/ops.h"

using namespace kiln;

TEST_CASE("softmax of [1000, 1001] is finite and equals [1, e] / (1 + e)") {
    const double e = std::exp(1.0);
    for (DType dtype : {DType::float32, DType::float64}) {
        const std::string name = dtype_name(dtype);
        CAPTURE(name);
        const std::vector<double> y = softmax(Tensor::from_vector({1000, 1001}, {2}, dtype), 0).to_vector();
        CHECK(y[0] == doctest::Approx(1 / (1 + e)).epsilon(1e-6));
        CHECK(y[1] == doctest::Approx(e / (1 + e)).epsilon(1e-6));
        // log_softmax = x - 1001 - log(1 + e^-1): [-1 - log(1 + 1/e), -log(1 + 1/e)]
        const std::vector<double> l = log_softmax(Tensor::from_vector({1000, 1001}, {2}, dtype), 0).to_vector();
        CHECK(l[0] == doctest::Approx(-1 - std::log1p(1 / e)).epsilon(1e-6));
        CHECK(l[1] == doctest::Approx(-std::log1p(1 / e)).epsilon(1e-6));
        // a very unlikely class: log_softmax stays finite where log(softmax) would be log(0) = -inf
        const std::vector<double> far = log_softmax(Tensor::from_vector({-1000, 0}, {2}, dtype), 0).to_vector();
        CHECK(far[0] == doctest::Approx(-1000));
        CHECK(far[1] == 0);
    }
}

TEST_CASE("softmax rows sum to 1 along any dim, and log_softmax = log(softmax)") {
    const Tensor x = Tensor::randn({2, 3, 4}, DType::float64) * 5.0;
    for (int64_t dim : {0, 1, 2, -1}) {
        CAPTURE(dim);
        const Tensor y = softmax(x, dim);
        const std::vector<double> sums = sum(y, {dim}).to_vector();
        for (double s : sums) CHECK(s == doctest::Approx(1).epsilon(1e-14));
        for (double v : y.to_vector()) CHECK(v > 0);
        const std::vector<double> a = log_softmax(x, dim).to_vector(), b = log(y).to_vector();
        for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-13));
    }
    // shifting a row by a constant does not change it
    const std::vector<double> shifted = softmax(x + 100.0, 1).to_vector(), plain = softmax(x, 1).to_vector();
    for (size_t i = 0; i < plain.size(); ++i) CHECK(shifted[i] == doctest::Approx(plain[i]).epsilon(1e-12));
}

TEST_CASE("softmax and log_softmax backward by hand") {
    // x = [0, ln 3]: y = [1/4, 3/4]. With dy = [1, 0]:
    //   softmax:     dx = y (dy - sum(dy y)) = [1/4 (1 - 1/4), 3/4 (0 - 1/4)] = [3/16, -3/16]
    //   log_softmax: dx = dy - y sum(dy)     = [1 - 1/4, -3/4]
    Tensor x = Tensor::from_vector({0, std::log(3.0)}, {2}, DType::float64);
    x.set_requires_grad(true);
    const Tensor dy = Tensor::from_vector({1, 0}, {2}, DType::float64);
    const Tensor y = softmax(x, 0);
    CHECK(y.to_vector()[0] == doctest::Approx(0.25).epsilon(1e-15));
    y.backward(dy);
    CHECK(x.grad().to_vector()[0] == doctest::Approx(3.0 / 16).epsilon(1e-15));
    CHECK(x.grad().to_vector()[1] == doctest::Approx(-3.0 / 16).epsilon(1e-15));
    x.set_grad(Tensor());
    log_softmax(x, 0).backward(dy);
    CHECK(x.grad().to_vector()[0] == doctest::Approx(0.75).epsilon(1e-15));
    CHECK(x.grad().to_vector()[1] == doctest::Approx(-0.75).epsilon(1e-15));
}

TEST_CASE("softmax of a NaN row is NaN, not a silently plausible distribution") {
    const std::vector<double> y = softmax(Tensor::from_vector({1, std::nan(""), 2, 0, 1, 2}, {2, 3}), 1).to_vector();
    for (int i = 0; i < 3; ++i) CHECK(std::isnan(y[size_t(i)]));
    for (int i = 3; i < 6; ++i) CHECK(std::isfinite(y[size_t(i)]));
}
