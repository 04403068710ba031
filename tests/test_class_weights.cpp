// Class-weight rules against values worked out by hand.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/ops.h"
#include "layers/class_weights.h"

using namespace kiln;

namespace {
void check_close(const std::vector<double>& a, const std::vector<double>& b, double eps = 1e-12) {
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(eps));
}
double sum_of(const std::vector<double>& w) {
    double s = 0;
    for (double v : w) s += v;
    return s;
}
const std::vector<int64_t> seed002{1000, 350};  // good, bad (seed 002's dataset)
}  // namespace

TEST_CASE("seed 002's rule: w_good = 1, w_bad = good / bad * factor") {
    // 1000 / 350 * 2 = 40 / 7 = 5.714285...  (seed 002's log prints 5.738: the
    // counts it ran on were not 1000 / 350, e.g. a 700 / 244 split gives 5.7377)
    check_close(defect_factor_weights(seed002), {1, 40.0 / 7});
    check_close(defect_factor_weights(seed002, 1.0), {1, 1000.0 / 350});
    // three classes, the good one in the middle: 200 / 50 * 2 = 8, 200 / 25 * 2 = 16
    check_close(defect_factor_weights({50, 200, 25}, 2.0, 1), {8, 1, 16});
}

TEST_CASE("inverse frequency, normalised to mean 1") {
    // w_c = C / (n_c sum 1/n_k): sum 1/n_k = 1350 / 350000, so w = [700 / 1350, 2000 / 1350]
    const std::vector<double> w = inverse_frequency_weights(seed002);
    check_close(w, {700.0 / 1350, 2000.0 / 1350});
    CHECK(sum_of(w) == doctest::Approx(2));
    CHECK(w[1] / w[0] == doctest::Approx(1000.0 / 350));
    check_close(inverse_frequency_weights({7, 7, 7}), {1, 1, 1});
}

TEST_CASE("balanced: n / (C n_c), scikit-learn's rule") {
    // n = 1350, C = 2: [1350 / 2000, 1350 / 700]
    check_close(balanced_weights(seed002), {0.675, 1350.0 / 700});
    // scikit-learn's docs example: y = [0, 0, 0, 1] -> [4 / 6, 4 / 2]
    check_close(balanced_weights({3, 1}), {2.0 / 3, 2});
    // every class carries the same total weight n / C
    const std::vector<int64_t> counts{10, 40, 3};
    const std::vector<double> w = balanced_weights(counts);
    for (size_t c = 0; c < 3; ++c) CHECK(w[c] * double(counts[c]) == doctest::Approx(53.0 / 3));
}

TEST_CASE("effective number of samples (Cui et al. 2019), normalised to sum C") {
    // beta = 0.999: raw_c = (1 - beta) / (1 - beta^n_c), then scaled to sum 2
    const double raw0 = 0.001 / (1 - std::pow(0.999, 1000)), raw1 = 0.001 / (1 - std::pow(0.999, 350));
    const std::vector<double> w = effective_number_weights(seed002);
    check_close(w, {2 * raw0 / (raw0 + raw1), 2 * raw1 / (raw0 + raw1)}, 1e-10);
    CHECK(w[0] == doctest::Approx(0.63696).epsilon(1e-4));  // 0.999^1000 = 0.36770, 0.999^350 = 0.70451
    CHECK(sum_of(w) == doctest::Approx(2));
    // milder than inverse frequency for large counts
    CHECK(w[1] / w[0] < 1000.0 / 350);
    // beta = 0: equal weights; beta -> 1: inverse frequency
    check_close(effective_number_weights(seed002, 0), {1, 1});
    check_close(effective_number_weights(seed002, 1 - 1e-9), inverse_frequency_weights(seed002), 1e-5);
}

TEST_CASE("class_weights_tensor feeds cross_entropy") {
    const Tensor w = class_weights_tensor(defect_factor_weights(seed002));
    CHECK(w.dtype() == DType::float32);
    CHECK(w.shape() == Shape{2});
    CHECK(w.to_vector()[1] == doctest::Approx(40.0 / 7).epsilon(1e-6));
    CrossEntropyOptions options;
    options.class_weights = w;
    const Tensor logits = Tensor::zeros({2, 2});  // p = 1/2 everywhere: every l_i = ln 2
    CHECK(cross_entropy(logits, Tensor::from_int64({0, 1}, {2}), options).item() ==
          doctest::Approx(std::log(2.0)).epsilon(1e-6));
    CHECK(class_weights_tensor({1, 2}, DType::float64).dtype() == DType::float64);
}

TEST_CASE("class weights: bad counts and parameters are errors") {
    CHECK_THROWS_WITH_AS(balanced_weights({}), doctest::Contains("balanced_weights: counts is empty"), Error);
    CHECK_THROWS_WITH_AS(inverse_frequency_weights({10, 0, 3}),
                         doctest::Contains("inverse_frequency_weights: class 1 has count 0"), Error);
    CHECK_THROWS_WITH_AS(defect_factor_weights({10, -2}), doctest::Contains("class 1 has count -2"), Error);
    CHECK_THROWS_WITH_AS(effective_number_weights(seed002, 1),
                         doctest::Contains("effective_number_weights: beta is 1, expected a value in [0, 1)"), Error);
    CHECK_THROWS_WITH_AS(effective_number_weights(seed002, -0.5), doctest::Contains("beta is -0.5"), Error);
    CHECK_THROWS_WITH_AS(effective_number_weights({5, 0}), doctest::Contains("class 1 has count 0"), Error);
    CHECK_THROWS_WITH_AS(defect_factor_weights(seed002, 0), doctest::Contains("factor is 0, expected a finite value > 0"),
                         Error);
    CHECK_THROWS_WITH_AS(defect_factor_weights(seed002, 2, 2),
                         doctest::Contains("defect_factor_weights: good_class is 2, out of range for 2 classes"), Error);
    CHECK_THROWS_WITH_AS(class_weights_tensor({1, -1}), doctest::Contains("weight 1 is -1"), Error);
    CHECK_THROWS_WITH_AS(class_weights_tensor({}), doctest::Contains("weights is empty"), Error);
}
