// Anomaly mode (engine/anomaly.h): off, a NaN gradient passes silently; on,
// backward() stops at the first node that makes one and names it.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/anomaly.h"
#include "engine/ops.h"

using namespace kiln;

TEST_CASE("anomaly: off by default, a non-finite gradient reaches .grad unnoticed") {
    CHECK_FALSE(anomaly_detection_enabled());
    Tensor w = Tensor::from_vector({0.0, 1.0, 4.0}, {3});
    w.set_requires_grad(true);
    sum(sqrt(w)).backward();  // d sqrt(w) / dw = 1 / (2 sqrt(w)): Inf at 0
    CHECK(std::isinf(w.grad().to_vector()[0]));
}

TEST_CASE("anomaly: names the node whose gradient first goes non-finite, its op and the parameter") {
    Tensor w = Tensor::from_vector({0.0, 1.0, 4.0}, {3});
    w.set_requires_grad(true).set_name("fc.weight");
    const Tensor loss = sum(mul(sqrt(w), Tensor::from_vector({1, 2, 3}, {3})));
    AnomalyModeGuard anomaly;
    CHECK_THROWS_WITH_AS(loss.backward(),
                         doctest::Contains("anomaly: SqrtBackward (the backward of sqrt, output [3]) produced a "
                                           "non-finite gradient for input 0 (0 NaN, 1 Inf of 3 values) from a finite "
                                           "incoming gradient; it flows into parameter \"fc.weight\""),
                         Error);
}

TEST_CASE("anomaly: a NaN loss is reported before backward runs") {
    Tensor w = Tensor::from_vector({-1.0, 2.0}, {2});
    w.set_requires_grad(true);
    const Tensor loss = sum(log(w));  // log(-1) = NaN
    AnomalyModeGuard anomaly;
    CHECK_THROWS_WITH_AS(loss.backward(), doctest::Contains("the loss itself is NaN"), Error);
}

TEST_CASE("anomaly: finite gradients pass, and the guard restores the previous mode") {
    Tensor w = Tensor::from_vector({1.0, 2.0}, {2});
    w.set_requires_grad(true);
    {
        AnomalyModeGuard anomaly;
        CHECK(anomaly_detection_enabled());
        sum(mul(w, w)).backward();
    }
    CHECK_FALSE(anomaly_detection_enabled());
    CHECK(w.grad().to_vector() == std::vector<double>{2.0, 4.0});
}
