// Losses against closed forms written out by hand: cross-entropy of a 2-class
// example, class weights, label smoothing, sample weights, BCE with
// pos_weight, focal losses, mse, and the consistency of none / sum / mean.
#include <doctest/doctest.h>

#include <cmath>

#include "tests/support/tensors.h"
#include "engine/ops.h"

using namespace kiln;
using kiln::testing::leaf;

namespace {
Tensor f64(std::vector<double> values, Shape shape) { return Tensor::from_vector(values, shape, DType::float64); }
Tensor labels(std::vector<int64_t> values) { return Tensor::from_int64(values, {int64_t(values.size())}); }

CrossEntropyOptions options(Tensor class_weights, Tensor sample_weights, double smoothing, Reduction reduction) {
    CrossEntropyOptions o;
    o.class_weights = class_weights;
    o.sample_weights = sample_weights;
    o.label_smoothing = smoothing;
    o.reduction = reduction;
    return o;
}

void check_close(const std::vector<double>& a, const std::vector<double>& b, double eps = 1e-12) {
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(eps));
}

const double ln2 = std::log(2.0), ln3 = std::log(3.0), ln4_3 = std::log(4.0 / 3);
}  // namespace

TEST_CASE("cross_entropy of a 2-class example by hand, value and gradient") {
    // sample 0: logits [0, ln 3] -> p = [1/4, 3/4], target 1: l0 = -ln(3/4) = ln(4/3)
    // sample 1: logits [2, 0]    -> p = [e^2, 1] / (1 + e^2), target 1: l1 = ln(1 + e^2)
    Tensor logits = leaf({0, ln3, 2, 0}, {2, 2});
    const double l0 = ln4_3, l1 = std::log1p(std::exp(2.0));
    const Tensor loss = cross_entropy(logits, labels({1, 1}));
    CHECK(loss.dim() == 0);
    CHECK(loss.item() == doctest::Approx((l0 + l1) / 2).epsilon(1e-14));
    // d mean / d logits = (p - onehot) / N
    loss.backward();
    const double q = std::exp(2.0) / (1 + std::exp(2.0));
    check_close(logits.grad().to_vector(), {0.25 / 2, (0.75 - 1) / 2, q / 2, (1 - q - 1) / 2});
}

TEST_CASE("reduction none / sum / mean are consistent") {
    const Tensor logits = Tensor::randn({5, 3}, DType::float64);
    const Tensor y = labels({0, 2, 1, 1, 0});
    const std::vector<double> none = cross_entropy(logits, y, options({}, {}, 0, Reduction::none)).to_vector();
    double total = 0;
    for (double l : none) total += l;
    CHECK(none.size() == 5);
    CHECK(cross_entropy(logits, y, options({}, {}, 0, Reduction::sum)).item() == doctest::Approx(total).epsilon(1e-14));
    CHECK(cross_entropy(logits, y).item() == doctest::Approx(total / 5).epsilon(1e-14));
    // and each l_i = -log softmax(logits)_i,y_i
    const std::vector<double> log_p = log_softmax(logits, 1).to_vector();
    const int64_t targets[] = {0, 2, 1, 1, 0};
    for (size_t i = 0; i < 5; ++i) CHECK(none[i] == doctest::Approx(-log_p[i * 3 + size_t(targets[i])]).epsilon(1e-14));
    // nll_loss on log_softmax is the same loss
    CHECK(nll_loss(log_softmax(logits, 1), y).item() == doctest::Approx(total / 5).epsilon(1e-14));
    CHECK(nll_loss(log_softmax(logits, 1), y, {}, Reduction::sum).item() == doctest::Approx(total).epsilon(1e-14));
}

TEST_CASE("class weights: l_i = w[y_i] l_i, and the mean divides by sum_i w[y_i]") {
    const Tensor logits = Tensor::randn({4, 2}, DType::float64);
    const Tensor y = labels({0, 1, 1, 0});
    // seed 002's rule: w_good = 1, w_bad = 1000 / 350 * 2 = 5.714...
    const Tensor w = f64({1, 1000.0 / 350 * 2}, {2});
    const std::vector<double> plain = cross_entropy(logits, y, options({}, {}, 0, Reduction::none)).to_vector();
    const double w_y[] = {1, 40.0 / 7, 40.0 / 7, 1};
    const std::vector<double> weighted = cross_entropy(logits, y, options(w, {}, 0, Reduction::none)).to_vector();
    double numerator = 0, denominator = 0;
    for (size_t i = 0; i < 4; ++i) {
        CHECK(weighted[i] == doctest::Approx(w_y[i] * plain[i]).epsilon(1e-14));
        numerator += w_y[i] * plain[i];
        denominator += w_y[i];
    }
    CHECK(cross_entropy(logits, y, options(w, {}, 0, Reduction::mean)).item() ==
          doctest::Approx(numerator / denominator).epsilon(1e-14));
    CHECK(cross_entropy(logits, y, options(w, {}, 0, Reduction::sum)).item() == doctest::Approx(numerator).epsilon(1e-14));
    CHECK(nll_loss(log_softmax(logits, 1), y, w).item() == doctest::Approx(numerator / denominator).epsilon(1e-14));
    // the weighted mean is not the plain mean of the weighted losses
    CHECK(numerator / denominator != doctest::Approx(numerator / 4));
}

TEST_CASE("label smoothing by hand, with and without class weights") {
    // logits [0, ln 3]: -log p = [ln 4, ln(4/3)]; target 1, s = 0.1, C = 2:
    //   l = (1 - s)(ln 4/3) + (s / 2)(ln 4 + ln 4/3)
    const Tensor logits = f64({0, ln3}, {1, 2});
    const double ln4 = std::log(4.0);
    CHECK(cross_entropy(logits, labels({1}), options({}, {}, 0.1, Reduction::mean)).item() ==
          doctest::Approx(0.9 * ln4_3 + 0.05 * (ln4 + ln4_3)).epsilon(1e-14));
    // class weights w = [2, 0.5]: l = (1 - s) w_1 ln(4/3) + (s / 2)(w_0 ln 4 + w_1 ln(4/3)), mean divides by w_1
    const Tensor w = f64({2, 0.5}, {2});
    const double weighted = 0.9 * 0.5 * ln4_3 + 0.05 * (2 * ln4 + 0.5 * ln4_3);
    CHECK(cross_entropy(logits, labels({1}), options(w, {}, 0.1, Reduction::none)).item() ==
          doctest::Approx(weighted).epsilon(1e-14));
    CHECK(cross_entropy(logits, labels({1}), options(w, {}, 0.1, Reduction::mean)).item() ==
          doctest::Approx(weighted / 0.5).epsilon(1e-14));
    // two samples, targets 1 and 0 (second row [ln 3, 0]: the same probabilities mirrored):
    //   l_1 = (1 - s) w_0 ln(4/3) + (s / 2)(w_0 ln(4/3) + w_1 ln 4); mean divides by w_1 + w_0
    const Tensor two = f64({0, ln3, ln3, 0}, {2, 2});
    const double second = 0.9 * 2 * ln4_3 + 0.05 * (2 * ln4_3 + 0.5 * ln4);
    CHECK(cross_entropy(two, labels({1, 0}), options(w, {}, 0.1, Reduction::mean)).item() ==
          doctest::Approx((weighted + second) / 2.5).epsilon(1e-14));
}

TEST_CASE("sample weights multiply l_i, the mean divides by sum_i s_i w[y_i]") {
    const Tensor logits = Tensor::randn({3, 3}, DType::float64);
    const Tensor y = labels({2, 0, 2});
    const Tensor w = f64({1, 2, 4}, {3}), s = f64({0.5, 3, 0}, {3});
    const std::vector<double> weighted = cross_entropy(logits, y, options(w, {}, 0, Reduction::none)).to_vector();
    const double numerator = 0.5 * weighted[0] + 3 * weighted[1] + 0 * weighted[2];
    const double denominator = 0.5 * 4 + 3 * 1 + 0 * 4;
    CHECK(cross_entropy(logits, y, options(w, s, 0, Reduction::mean)).item() ==
          doctest::Approx(numerator / denominator).epsilon(1e-14));
    CHECK(cross_entropy(logits, y, options(w, s, 0, Reduction::sum)).item() == doctest::Approx(numerator).epsilon(1e-14));
    // without class weights the mean divides by sum_i s_i
    const std::vector<double> plain = cross_entropy(logits, y, options({}, {}, 0, Reduction::none)).to_vector();
    CHECK(cross_entropy(logits, y, options({}, s, 0, Reduction::mean)).item() ==
          doctest::Approx((0.5 * plain[0] + 3 * plain[1]) / 3.5).epsilon(1e-14));
}

TEST_CASE("focal_loss with gamma 0 and no alpha is cross-entropy (value and gradient)") {
    Tensor a = leaf({0.3, -1.2, 2.0, 0.7, 0.1, -0.4, 1.5, 1.4, -2.0}, {3, 3});
    Tensor b = leaf({0.3, -1.2, 2.0, 0.7, 0.1, -0.4, 1.5, 1.4, -2.0}, {3, 3});
    FocalLossOptions focal;
    focal.gamma = 0;
    const Tensor fl = focal_loss(a, labels({1, 0, 2}), focal);
    const Tensor ce = cross_entropy(b, labels({1, 0, 2}));
    CHECK(fl.item() == doctest::Approx(ce.item()).epsilon(1e-14));
    fl.backward();
    ce.backward();
    check_close(a.grad().to_vector(), b.grad().to_vector());
}

TEST_CASE("focal losses by hand") {
    // multi-class: logits [0, ln 3], target 1: p = 3/4; gamma 2, alpha [0.25, 0.75]:
    //   l = alpha_1 (1 - 3/4)^2 (-ln 3/4) = 0.75 * 0.0625 * ln(4/3)
    FocalLossOptions focal;
    focal.gamma = 2;
    focal.alpha = f64({0.25, 0.75}, {2});
    CHECK(focal_loss(f64({0, ln3}, {1, 2}), labels({1}), focal).item() ==
          doctest::Approx(0.75 * 0.0625 * ln4_3).epsilon(1e-14));
    // binary: x = 0 (p = 1/2), t = 1, gamma 2, alpha 0.25: l = 0.25 (1/2)^2 ln 2
    //         x = ln 3 (p = 3/4), t = 0: p_t = 1/4, alpha_t = 0.75: l = 0.75 (3/4)^2 ln 4
    focal.alpha = Tensor::scalar(0.25, DType::float64);
    focal.reduction = Reduction::none;
    const std::vector<double> l = binary_focal_loss(f64({0, ln3}, {2}), f64({1, 0}, {2}), focal).to_vector();
    CHECK(l[0] == doctest::Approx(0.25 * 0.25 * ln2).epsilon(1e-14));
    CHECK(l[1] == doctest::Approx(0.75 * 0.5625 * std::log(4.0)).epsilon(1e-14));
    // gamma 0, no alpha: binary focal = BCE
    FocalLossOptions plain;
    plain.gamma = 0;
    const Tensor x = Tensor::randn({2, 3}, DType::float64), t = Tensor::rand({2, 3}, DType::float64);
    CHECK(binary_focal_loss(x, t, plain).item() ==
          doctest::Approx(binary_cross_entropy_with_logits(x, t).item()).epsilon(1e-14));
    // the focusing term shrinks easy examples more than hard ones
    FocalLossOptions gamma2;
    gamma2.gamma = 2;
    gamma2.reduction = Reduction::none;
    const std::vector<double> easy_hard = focal_loss(f64({4, 0, 0, 4}, {2, 2}), labels({0, 0}), gamma2).to_vector();
    const std::vector<double> ce = cross_entropy(f64({4, 0, 0, 4}, {2, 2}), labels({0, 0}),
                                                 options({}, {}, 0, Reduction::none)).to_vector();
    CHECK(easy_hard[0] / ce[0] < 1e-3);
    CHECK(easy_hard[1] / ce[1] > 0.9);
}

TEST_CASE("binary_cross_entropy_with_logits with pos_weight by hand, stable for large logits") {
    // l = -[pw t log s(x) + (1 - t) log(1 - s(x))], s = sigmoid; pos_weight [3, 1, 2] over the last dim
    //   x = 0.5, t = 1, pw = 3:    3 ln(1 + e^-0.5)
    //   x = -1,  t = 0, pw = 1:    ln(1 + e^-1)
    //   x = 2, t = 1/4, pw = 2:    -(2 * 0.25 log s(2) + 0.75 log(1 - s(2))) = 0.5 ln(1 + e^-2) + 0.75 ln(1 + e^2)
    const Tensor x = f64({0.5, -1, 2}, {1, 3}), t = f64({1, 0, 0.25}, {1, 3}), pw = f64({3, 1, 2}, {3});
    const std::vector<double> l = binary_cross_entropy_with_logits(x, t, pw, Reduction::none).to_vector();
    check_close(l, {3 * std::log1p(std::exp(-0.5)), std::log1p(std::exp(-1.0)),
                    0.5 * std::log1p(std::exp(-2.0)) + 0.75 * std::log1p(std::exp(2.0))},
                1e-14);
    CHECK(binary_cross_entropy_with_logits(x, t, pw).item() == doctest::Approx((l[0] + l[1] + l[2]) / 3).epsilon(1e-14));
    // a single pos_weight value broadcasts to every element
    CHECK(binary_cross_entropy_with_logits(x, t, Tensor::scalar(2, DType::float64), Reduction::sum).item() ==
          doctest::Approx(2 * std::log1p(std::exp(-0.5)) + l[1] + l[2]).epsilon(1e-14));
    // confidently wrong logits give a large finite loss and a gradient of exactly -1 / +1
    for (DType dtype : {DType::float32, DType::float64}) {
        Tensor far = Tensor::from_vector({-1000, 1000}, {2}, dtype);
        far.set_requires_grad(true);
        const Tensor loss = binary_cross_entropy_with_logits(far, Tensor::from_vector({1, 0}, {2}, dtype),
                                                             Tensor(), Reduction::none);
        CHECK(loss.to_vector() == std::vector<double>{1000, 1000});
        sum(loss).backward();
        CHECK(far.grad().to_vector() == std::vector<double>{-1, 1});
    }
}

TEST_CASE("mse_loss by hand") {
    Tensor x = leaf({1, 2, 3}, {3});
    const Tensor t = f64({0, 2, 5}, {3});
    CHECK(mse_loss(x, t, Reduction::none).to_vector() == std::vector<double>{1, 0, 4});
    CHECK(mse_loss(x, t, Reduction::sum).item() == 5);
    const Tensor mean_loss = mse_loss(x, t);
    CHECK(mean_loss.item() == doctest::Approx(5.0 / 3).epsilon(1e-15));
    mean_loss.backward();  // 2 (x - t) / N
    check_close(x.grad().to_vector(), {2.0 / 3, 0, -4.0 / 3});
}

TEST_CASE("loss errors name the loss and the argument") {
    CHECK_THROWS_WITH_AS(cross_entropy(f64({0, 0}, {1, 2}), labels({2})),
                         doctest::Contains("cross_entropy: target[0] = 2 is out of range for 2 classes"), Error);
    CHECK_THROWS_WITH_AS(cross_entropy(f64({0, std::nan("")}, {1, 2}), labels({1})),
                         doctest::Contains("cross_entropy: logits [1, 2] contains NaN"), Error);
    CHECK_THROWS_WITH_AS(binary_cross_entropy_with_logits(f64({0}, {1}), f64({std::nan("")}, {1})),
                         doctest::Contains("binary_cross_entropy_with_logits: target [1] contains NaN"), Error);
}
