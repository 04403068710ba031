#pragma once
// Class weights for imbalanced data (good parts vastly outnumber defects),
// computed from the number of training samples of each class. Each rule maps
// counts n_c (c = 0 .. C-1, every n_c >= 1) to one weight per class, for
// CrossEntropyOptions::class_weights or FocalLossOptions::alpha.
//
// Throws kiln::Error for empty counts, a count below 1 (a class with no
// samples has no defined frequency: drop or merge it), and parameters out of
// range.
#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace kiln {

// Inverse frequency, w_c proportional to 1 / n_c, normalised so the weights
// average to 1 (sum to C): w_c = C / (n_c sum_k 1/n_k). With the mean at 1 the
// loss keeps the scale of the unweighted loss, so a learning rate tuned
// without weights still fits.
std::vector<double> inverse_frequency_weights(const std::vector<int64_t>& counts);

// scikit-learn's "balanced" rule: w_c = n / (C n_c), n = sum_c n_c. Every class
// then carries the same total weight n / C. (Proportional to inverse_frequency;
// the two differ only in scale.)
std::vector<double> balanced_weights(const std::vector<int64_t>& counts);

// Effective number of samples (Cui et al., "Class-Balanced Loss Based on
// Effective Number of Samples", CVPR 2019): w_c proportional to
// (1 - beta) / (1 - beta^n_c), normalised so the weights sum to C, as in the
// paper. beta in [0, 1): beta = 0 gives equal weights, beta -> 1 tends to
// inverse frequency. The paper's usual values are 0.9, 0.99, 0.999, 0.9999.
constexpr double default_effective_number_beta = 0.999;
std::vector<double> effective_number_weights(const std::vector<int64_t>& counts,
                                             double beta = default_effective_number_beta);

// The factory engineer's rule (seed 002): the good class keeps weight 1, and
// every defect class c gets w_c = n_good / n_c * factor, so defects weigh
// `factor` times more than plain inverse frequency would make them. (Seed 002
// wrote w_bad = good / (bad + 1e-8) * 2.0; the 1e-8 only guarded against a
// zero count, which is an error here.) good_class is the index of the good
// class (default 0); factor must be positive.
constexpr double default_defect_factor = 2.0;
std::vector<double> defect_factor_weights(const std::vector<int64_t>& counts, double factor = default_defect_factor,
                                          int64_t good_class = 0);

// The weights as a [C] tensor (float32 by default, the training dtype; pass
// the logits' dtype), ready for CrossEntropyOptions::class_weights.
Tensor class_weights_tensor(const std::vector<double>& weights, DType dtype = DType::float32);

}  // namespace kiln
