// Stratified splits: every class in every split, proportions within one
// sample, refusal of too-small classes, and the split file.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "data/dataset.h"
#include "data/split.h"
#include "tests/data_util.h"

using namespace kiln;
using namespace kiln::data;

namespace {

std::vector<int64_t> labels_with_counts(const std::vector<int>& counts) {
    std::vector<int64_t> labels;
    // Interleaved, so a class's members are spread over the index range.
    for (int round = 0; labels.size() < size_t(std::accumulate(counts.begin(), counts.end(), 0)); ++round)
        for (size_t c = 0; c < counts.size(); ++c)
            if (round < counts[c]) labels.push_back(int64_t(c));
    return labels;
}

}  // namespace

TEST_CASE("stratified split: every class in every split, proportions within one sample") {
    // Seed 002's imbalance, with a rare class of 3 and a tiny class of 5.
    const std::vector<int> counts = {1000, 350, 3, 5, 41};
    const std::vector<std::string> names = {"good", "bad", "rare", "tiny", "odd"};
    const std::vector<int64_t> labels = labels_with_counts(counts);
    const SplitRatios ratios{0.7, 0.15, 0.15};
    const Split split = stratified_split(labels, names, ratios, 17);
    CHECK(split.train.size() + split.val.size() + split.test.size() == labels.size());
    std::set<size_t> all(split.train.begin(), split.train.end());
    all.insert(split.val.begin(), split.val.end());
    all.insert(split.test.begin(), split.test.end());
    CHECK(all.size() == labels.size());  // disjoint and complete
    const double r[3] = {ratios.train, ratios.val, ratios.test};
    const std::vector<size_t>* parts[3] = {&split.train, &split.val, &split.test};
    for (size_t c = 0; c < counts.size(); ++c) {
        for (int k = 0; k < 3; ++k) {
            const auto n = std::count_if(parts[k]->begin(), parts[k]->end(), [&](size_t i) { return labels[i] == int64_t(c); });
            CAPTURE(names[c]);
            CAPTURE(k);
            CHECK(n >= 1);
            // Within one sample of the exact share, unless a share is below one image: then the
            // minimum of one per split comes first (rare: 3 images -> 1, 1, 1 against 2.1, 0.45, 0.45).
            if (counts[c] * std::min({r[0], r[1], r[2]}) >= 1) CHECK(std::fabs(double(n) - counts[c] * r[k]) < 1.0);
            if (names[c] == "rare") CHECK(n == 1);
        }
    }
}

TEST_CASE("stratified split: deterministic in the seed, different across seeds") {
    const std::vector<int64_t> labels = labels_with_counts({60, 20});
    const Split a = stratified_split(labels, {"a", "b"}, {}, 1), b = stratified_split(labels, {"a", "b"}, {}, 1);
    const Split c = stratified_split(labels, {"a", "b"}, {}, 2);
    CHECK(a.train == b.train);
    CHECK(a.test == b.test);
    CHECK(a.test != c.test);
}

TEST_CASE("stratified split: a class with fewer images than splits is refused by name") {
    const std::vector<int64_t> labels = labels_with_counts({50, 2});
    CHECK_THROWS_WITH_AS(stratified_split(labels, {"good", "crack"}, {}, 1),
                         doctest::Contains("class \"crack\" has 2 images, too few for 3 splits"), Error);
    // Two splits (no test) are fine with 2 images.
    const Split two = stratified_split(labels, {"good", "crack"}, {0.8, 0.2, 0.0}, 1);
    CHECK(two.test.empty());
    CHECK_THROWS_AS(stratified_split(labels, {"good", "crack"}, {0.5, 0.2, 0.2}, 1), Error);  // sums to 0.9
    CHECK(parse_split_ratios("70/15/15").train == doctest::Approx(0.7));
    CHECK_THROWS_AS(parse_split_ratios("0.7,x,0.3"), Error);
}

TEST_CASE("split file: save and load give the same split, a missing file is named") {
    kiln::test::TempDir dir;
    std::vector<Image> images;
    std::vector<int64_t> labels = labels_with_counts({20, 7});
    for (size_t i = 0; i < labels.size(); ++i) images.push_back(Image(4, 4, 1, float(i) / 30));
    DatasetOptions options;
    options.height = options.width = 4;
    options.color = ColorMode::gray;
    const ImageDataset dataset = ImageDataset::in_memory({"good", "bad"}, images, labels, options);
    const Split split = stratified_split(dataset, {}, 5);
    save_split(dir / "split.json", split, dataset);
    const Split back = load_split(dir / "split.json", dataset);
    CHECK(back.train == split.train);
    CHECK(back.val == split.val);
    CHECK(back.test == split.test);
    CHECK(back.seed == 5);
    CHECK(split_or_load(dir / "split.json", dataset, {0.5, 0.25, 0.25}, 99).test == split.test);  // reused

    std::string text = kiln::test::read_bytes(dir / "split.json");
    const std::string id = dataset.sample(split.test[0]).id;
    text.replace(text.find(id), id.size(), "memory/gone/999");
    kiln::test::write_bytes(dir / "edited.json", text);
    CHECK_THROWS_WITH_AS(load_split(dir / "edited.json", dataset), doctest::Contains("\"memory/gone/999\" (test) is not in the dataset"), Error);
    kiln::test::write_bytes(dir / "junk.json", "{not json");
    CHECK_THROWS_WITH_AS(load_split(dir / "junk.json", dataset), doctest::Contains("junk.json: not valid JSON"), Error);
}
