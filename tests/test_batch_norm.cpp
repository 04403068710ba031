// batch_norm against hand computation: seed 004's worked example, the
// running-statistics update, eval mode, and the backward's closed forms.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/ops.h"

using namespace kiln;

namespace {
Tensor values(std::vector<double> v, Shape shape, bool requires_grad = false) {
    Tensor t = Tensor::from_vector(v, shape, DType::float64);
    if (requires_grad) t.set_requires_grad(true);
    return t;
}
}  // namespace

TEST_CASE("seed 004's worked example: [2, 0.5, -1, 1.5] normalises to [1.09, -0.22, -1.53, 0.65]") {
    // one channel, four samples: mean 0.75, biased variance 5.25 / 4 = 1.3125
    const Tensor x = values({2, 0.5, -1, 1.5}, {4, 1});
    const Tensor y = batch_norm(x, values({1}, {1}), values({0}, {1}), Tensor(), Tensor(), true);
    const std::vector<double> got = y.to_vector(), rounded{1.09, -0.22, -1.53, 0.65};
    for (size_t i = 0; i < 4; ++i) {
        CHECK(std::round(got[i] * 100) / 100 == doctest::Approx(rounded[i]));
        CHECK(got[i] == doctest::Approx((x.to_vector()[i] - 0.75) / std::sqrt(1.3125 + 1e-5)).epsilon(1e-12));
    }
}

TEST_CASE("training updates the running statistics with momentum and the unbiased variance") {
    const Tensor x = values({2, 0.5, -1, 1.5}, {4, 1});
    Tensor running_mean = values({0}, {1}), running_var = values({1}, {1});
    batch_norm(x, Tensor(), Tensor(), running_mean, running_var, true, 0.1);
    // mean 0.75; unbiased variance 5.25 / 3 = 1.75
    CHECK(running_mean.item() == doctest::Approx(0.9 * 0 + 0.1 * 0.75));   // 0.075
    CHECK(running_var.item() == doctest::Approx(0.9 * 1 + 0.1 * 1.75));    // 1.075
    // a second step moves them again from where they are
    batch_norm(x * 2.0, Tensor(), Tensor(), running_mean, running_var, true, 0.1);
    CHECK(running_mean.item() == doctest::Approx(0.9 * 0.075 + 0.1 * 1.5));
    CHECK(running_var.item() == doctest::Approx(0.9 * 1.075 + 0.1 * 7.0));
}

TEST_CASE("running statistics that are strided views are updated in their storage") {
    const Tensor storage = values({0, 1, 0, 1}, {2, 2});  // column 0: mean of 2 channels, column 1: var
    const Tensor running_mean = storage.narrow(1, 0, 1).squeeze(1), running_var = storage.narrow(1, 1, 1).squeeze(1);
    CHECK_FALSE(running_mean.is_contiguous());
    const Tensor x = values({1, 10, 3, 30}, {2, 2});  // channel 0: {1, 3}, channel 1: {10, 30}
    batch_norm(x, Tensor(), Tensor(), running_mean, running_var, true, 0.5);
    CHECK(storage.to_vector() == std::vector<double>{0.5 * 2, 0.5 + 0.5 * 2, 0.5 * 20, 0.5 + 0.5 * 200});
}

TEST_CASE("eval mode normalises with the running statistics and leaves them alone") {
    const Tensor x = values({1, 2, 3, 4, 5, 6}, {3, 2});
    const Tensor running_mean = values({1, -1}, {2}), running_var = values({4, 0.25}, {2});
    const Tensor weight = values({2, 3}, {2}), bias = values({0.5, -0.5}, {2});
    const Tensor y = batch_norm(x, weight, bias, running_mean, running_var, false, 0.1, 0);
    // channel 0: 2 (x - 1) / 2 + 0.5 = x - 0.5;  channel 1: 3 (x + 1) / 0.5 - 0.5 = 6 x + 5.5
    CHECK(y.to_vector() == std::vector<double>{0.5, 17.5, 2.5, 29.5, 4.5, 41.5});
    CHECK(running_mean.to_vector() == std::vector<double>{1, -1});
    CHECK(running_var.to_vector() == std::vector<double>{4, 0.25});
}

TEST_CASE("eval backward is the affine one: dx = dy gamma rstd, dgamma = sum dy xhat, dbeta = sum dy") {
    Tensor x = values({1, 3, 5}, {3, 1}, true), weight = values({2}, {1}, true), bias = values({0}, {1}, true);
    const Tensor y = batch_norm(x, weight, bias, values({1}, {1}), values({4}, {1}), false, 0.1, 0);
    y.backward(values({1, 2, 3}, {3, 1}));
    CHECK(x.grad().to_vector() == std::vector<double>{1, 2, 3});          // dy * 2 * 0.5
    CHECK(weight.grad().item() == doctest::Approx(1 * 0 + 2 * 1 + 3 * 2));  // xhat = (x - 1) / 2
    CHECK(bias.grad().item() == doctest::Approx(6));
}

TEST_CASE("training backward: dx is orthogonal to 1 and to xhat in every channel") {
    // dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)): sum dx = 0 and, since
    // mean(xhat^2) = 1 exactly when eps = 0, sum dx xhat = 0
    Tensor x = Tensor::rand({4, 3, 2, 5}, DType::float64);
    x.set_requires_grad(true);
    const Tensor weight = values({0.5, 1, 2}, {3});
    const Tensor y = batch_norm(x, weight, Tensor(), Tensor(), Tensor(), true, 0.1, 0);
    y.backward(Tensor::randn({4, 3, 2, 5}, DType::float64));
    const Tensor xhat = batch_norm(x.detach(), Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 0);
    const std::vector<double> sum_dx = sum(x.grad(), {0, 2, 3}).to_vector();
    const std::vector<double> sum_dx_xhat = sum(x.grad() * xhat, {0, 2, 3}).to_vector();
    for (size_t c = 0; c < 3; ++c) {
        CHECK(std::abs(sum_dx[c]) < 1e-12);
        CHECK(std::abs(sum_dx_xhat[c]) < 1e-12);
    }
}

TEST_CASE("training output has zero mean and unit (biased) variance per channel") {
    const Tensor x = Tensor::randn({8, 3, 5, 7}, DType::float64) * 3.0 + 2.0;
    const Tensor y = batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 0);
    const std::vector<double> means = mean(y, {0, 2, 3}).to_vector(), squares = mean(y * y, {0, 2, 3}).to_vector();
    for (size_t c = 0; c < 3; ++c) {
        CHECK(std::abs(means[c]) < 1e-12);
        CHECK(squares[c] == doctest::Approx(1).epsilon(1e-12));
    }
}

TEST_CASE("one value per channel in training is PyTorch's error") {
    CHECK_THROWS_WITH_AS(batch_norm(Tensor::zeros({1, 4}), Tensor(), Tensor(), Tensor(), Tensor(), true),
                         doctest::Contains("Expected more than 1 value per channel when training"), Error);
    // eval mode is fine with batch 1
    CHECK_NOTHROW(batch_norm(Tensor::zeros({1, 4}), Tensor(), Tensor(), Tensor::zeros({4}), Tensor::ones({4}), false));
}
