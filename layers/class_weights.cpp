#include "layers/class_weights.h"

#include <cmath>

namespace kiln {

namespace {

// counts non-empty, each >= 1; `rule` names the function in the error.
void check_counts(const char* rule, const std::vector<int64_t>& counts) {
    KILN_CHECK(!counts.empty(), rule, ": counts is empty; expected one sample count per class");
    for (size_t c = 0; c < counts.size(); ++c)
        KILN_CHECK(counts[c] >= 1, rule, ": class ", c, " has count ", counts[c],
                   "; every class needs at least one sample (drop the class or merge it with another)");
}

// Scales w so that it sums to `total`.
std::vector<double> normalised_to_sum(std::vector<double> w, double total) {
    double sum = 0;
    for (double v : w) sum += v;
    for (double& v : w) v *= total / sum;
    return w;
}

}  // namespace

std::vector<double> inverse_frequency_weights(const std::vector<int64_t>& counts) {
    check_counts("inverse_frequency_weights", counts);
    std::vector<double> w;
    for (int64_t n : counts) w.push_back(1.0 / double(n));
    return normalised_to_sum(w, double(counts.size()));  // mean 1
}

std::vector<double> balanced_weights(const std::vector<int64_t>& counts) {
    check_counts("balanced_weights", counts);
    double n = 0;
    for (int64_t count : counts) n += double(count);
    const double C = double(counts.size());
    std::vector<double> w;
    for (int64_t count : counts) w.push_back(n / (C * double(count)));
    return w;
}

std::vector<double> effective_number_weights(const std::vector<int64_t>& counts, double beta) {
    check_counts("effective_number_weights", counts);
    KILN_CHECK(beta >= 0 && beta < 1, "effective_number_weights: beta is ", beta, ", expected a value in [0, 1)");
    std::vector<double> w;
    for (int64_t n : counts) {
        // 1 - beta^n = -expm1(n log beta): exact digits when beta^n is close to 1
        const double one_minus_power = beta == 0 ? 1.0 : -std::expm1(double(n) * std::log(beta));
        w.push_back((1 - beta) / one_minus_power);
    }
    return normalised_to_sum(w, double(counts.size()));
}

std::vector<double> defect_factor_weights(const std::vector<int64_t>& counts, double factor, int64_t good_class) {
    check_counts("defect_factor_weights", counts);
    KILN_CHECK(factor > 0 && std::isfinite(factor), "defect_factor_weights: factor is ", factor,
               ", expected a finite value > 0");
    KILN_CHECK(good_class >= 0 && good_class < int64_t(counts.size()), "defect_factor_weights: good_class is ",
               good_class, ", out of range for ", counts.size(), " classes");
    const double good = double(counts[size_t(good_class)]);
    std::vector<double> w;
    for (size_t c = 0; c < counts.size(); ++c)
        w.push_back(int64_t(c) == good_class ? 1.0 : good / double(counts[c]) * factor);
    return w;
}

Tensor class_weights_tensor(const std::vector<double>& weights, DType dtype) {
    KILN_CHECK(!weights.empty(), "class_weights_tensor: weights is empty");
    KILN_CHECK(is_floating(dtype), "class_weights_tensor: dtype is ", dtype_name(dtype),
               ", expected float32 or float64");
    for (size_t c = 0; c < weights.size(); ++c)
        KILN_CHECK(weights[c] >= 0 && std::isfinite(weights[c]), "class_weights_tensor: weight ", c, " is ",
                   weights[c], ", expected a finite value >= 0");
    return Tensor::from_vector(weights, {int64_t(weights.size())}, dtype);
}

}  // namespace kiln
