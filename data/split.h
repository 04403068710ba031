#pragma once
// Stratified train / validation / test split.
//
// Each class is shuffled (Philox, keyed by the seed) and cut by the ratios on
// its own, so every class, however rare, appears in every split whose ratio
// is not zero, and each split holds n_c * ratio images of class c within one
// (largest-remainder rounding). A class with fewer images than splits is
// refused with a message naming it. The split can be saved as JSON (sample
// ids, i.e. paths relative to the dataset root) and loaded again, so a model
// is evaluated on the same test images however the folder is later reordered.
#include <cstdint>
#include <string>
#include <vector>

namespace kiln::data {

class ImageDataset;

struct SplitRatios {
    double train = 0.7, val = 0.15, test = 0.15;  // must sum to 1 (within 1e-6)
};
// "0.7,0.15,0.15" or "70/15/15" (normalised to sum 1).
SplitRatios parse_split_ratios(const std::string& text);

struct Split {
    std::vector<size_t> train, val, test;  // dataset indices, ascending
    uint64_t seed = 0;
    SplitRatios ratios;
};

// labels[i] in [0, num_classes).
Split stratified_split(const std::vector<int64_t>& labels, const std::vector<std::string>& class_names,
                       const SplitRatios& ratios, uint64_t seed);
Split stratified_split(const ImageDataset& dataset, const SplitRatios& ratios, uint64_t seed);

// JSON: {"format": "kiln-split", "version": 1, "seed", "ratios", "classes", "train": [ids], "val", "test"}.
void save_split(const std::string& path, const Split& split, const ImageDataset& dataset);
// Maps the ids back to indices of `dataset`; kiln::Error naming the file when an id is
// missing from the dataset or the class names differ. Samples of the dataset that are
// not in the file are left out (and counted in a warning unless quiet).
Split load_split(const std::string& path, const ImageDataset& dataset, bool quiet = false);
// Loads `path` when it exists, else splits and saves it there ("" : just split).
Split split_or_load(const std::string& path, const ImageDataset& dataset, const SplitRatios& ratios, uint64_t seed);

}  // namespace kiln::data
