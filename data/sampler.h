#pragma once
// Samplers: the order in which an epoch visits the samples of a subset.
// Each returns positions into the subset (0 .. n-1) and is a pure function of
// (seed, epoch), so the loader's batches can be rebuilt by any thread.
//
//   sequential:  0, 1, 2, ...                         (evaluation)
//   shuffle:     a fresh permutation every epoch     (training, the default)
//   weighted:    `count` draws with replacement, sample i with probability
//                w_i / sum w (oversampling rare classes; weights default to
//                1 / class count, so every class is drawn equally often)
//   balanced:    batches with the same number of images of every class
//                (batch_size / classes each, the remainder to classes in
//                turn); within a class, images are drawn without replacement
//                from a reshuffled cycle, so rare ones repeat, common ones rotate
#include <cstdint>
#include <string>
#include <vector>

namespace kiln::data {

enum class SamplerKind { sequential, shuffle, weighted, balanced };
SamplerKind parse_sampler(const std::string& name);
const char* sampler_name(SamplerKind kind);

std::vector<size_t> sequential_order(size_t n);
std::vector<size_t> shuffled_order(size_t n, uint64_t seed, int64_t epoch);
std::vector<size_t> weighted_order(const std::vector<double>& weights, size_t count, uint64_t seed, int64_t epoch);
// labels of the subset's samples in [0, num_classes); `count` positions (whole batches).
std::vector<size_t> balanced_order(const std::vector<int64_t>& labels, int64_t num_classes, int64_t batch_size,
                                   size_t count, uint64_t seed, int64_t epoch);

// 1 / (count of the sample's class), the weights that equalise classes.
std::vector<double> inverse_frequency_weights(const std::vector<int64_t>& labels, int64_t num_classes);

}  // namespace kiln::data
