// Samplers and the threaded loader: the same bytes whatever the worker count.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "data/image_io.h"
#include "data/loader.h"
#include "data/synth.h"
#include "tests/data_util.h"

using namespace kiln;
using namespace kiln::data;

namespace {

ImageDataset small_synth(int64_t count = 60) {
    SynthOptions synth;
    synth.kind = SynthKind::bottle;
    synth.size = 32;
    synth.count = count;
    synth.defect_ratio = 0.4;
    const SynthSet set = generate_synth(synth);
    std::vector<Image> images;
    std::vector<int64_t> labels;
    for (const SynthSample& s : set.samples) images.push_back(s.image), labels.push_back(s.label);
    DatasetOptions options;
    options.height = options.width = 24;
    return ImageDataset::in_memory(set.class_names, images, labels, options);
}

std::vector<Batch> epoch_batches(DataLoader& loader, int64_t epoch) {
    loader.start_epoch(epoch);
    std::vector<Batch> batches;
    Batch batch;
    while (loader.next(batch)) batches.push_back(batch);
    return batches;
}

LoaderOptions augmenting(int workers) {
    LoaderOptions options;
    options.batch_size = 8;
    options.workers = workers;
    options.prefetch = 2;
    options.seed = 9;
    options.augment = true;
    options.augmentation.config = augment_preset("standard");
    options.mean = {0.5f, 0.5f, 0.5f};
    options.std = {0.25f, 0.25f, 0.25f};
    return options;
}

}  // namespace

TEST_CASE("loader: same seed, identical batch bytes with 0, 1 and 4 workers") {
    const ImageDataset dataset = small_synth();
    DataLoader inline_loader(dataset, {}, augmenting(0)), one(dataset, {}, augmenting(1)), four(dataset, {}, augmenting(4));
    for (int64_t epoch : {0, 1}) {
        const std::vector<Batch> a = epoch_batches(inline_loader, epoch), b = epoch_batches(one, epoch),
                                 c = epoch_batches(four, epoch);
        REQUIRE(a.size() == 8);  // 60 / 8, the last one of 4
        REQUIRE(b.size() == a.size());
        REQUIRE(c.size() == a.size());
        for (size_t k = 0; k < a.size(); ++k) {
            CHECK(kiln::test::same_bytes(a[k].images, b[k].images));
            CHECK(kiln::test::same_bytes(a[k].images, c[k].images));
            CHECK(kiln::test::same_bytes(a[k].labels, c[k].labels));
            CHECK(a[k].number == int64_t(k));
        }
        CHECK(a.back().images.shape() == Shape{4, 3, 24, 24});
        CHECK(a.back().labels.dtype() == DType::int64);
    }
    // Another epoch: another order and other augmentations.
    const std::vector<Batch> e0 = epoch_batches(four, 0), e1 = epoch_batches(four, 1);
    CHECK(!kiln::test::same_bytes(e0[0].images, e1[0].images));
}

TEST_CASE("loader: a shuffled epoch visits every sample once, labels match the dataset") {
    const ImageDataset dataset = small_synth();
    LoaderOptions options;
    options.batch_size = 7;
    options.workers = 3;
    DataLoader loader(dataset, {}, options);
    std::multiset<size_t> seen;
    for (const Batch& b : epoch_batches(loader, 3)) {
        const std::vector<double> labels = b.labels.to_vector();
        for (size_t i = 0; i < b.indices.size(); ++i) {
            seen.insert(b.indices[i]);
            CHECK(int64_t(labels[i]) == dataset.sample(b.indices[i]).label);
        }
    }
    CHECK(seen.size() == dataset.size());
    CHECK(std::set<size_t>(seen.begin(), seen.end()).size() == dataset.size());
    options.drop_last = true;
    DataLoader dropping(dataset, {}, options);
    CHECK(dropping.batches_per_epoch() == 60 / 7);
}

TEST_CASE("loader: without augmentation a batch is the normalised images, NCHW") {
    const ImageDataset dataset = small_synth(10);
    LoaderOptions options;
    options.batch_size = 4;
    options.workers = 2;
    options.sampler = SamplerKind::sequential;
    options.mean = {0.1f, 0.2f, 0.3f};
    options.std = {0.5f, 0.5f, 2.0f};
    DataLoader loader(dataset, {}, options);
    const std::vector<Batch> batches = epoch_batches(loader, 0);
    const Image second = dataset.load(1);
    const std::vector<double> values = batches[0].images.to_vector();
    const size_t plane = 24 * 24;
    CHECK(values[1 * 3 * plane + 2 * plane + 5 * 24 + 7] == doctest::Approx((second.at(5, 7, 2) - 0.3) / 2.0));
    CHECK(batches[0].indices == std::vector<size_t>{0, 1, 2, 3});
}

TEST_CASE("samplers: weighted oversamples the rare class, balanced batches are equal per class") {
    std::vector<int64_t> labels(1000, 0);
    for (size_t i = 0; i < 50; ++i) labels[i * 20] = 1;  // 950 : 50
    const std::vector<size_t> drawn = weighted_order(inverse_frequency_weights(labels, 2), 10000, 4, 0);
    size_t rare = 0;
    for (size_t i : drawn) rare += labels[i] == 1;
    CHECK(double(rare) / 10000 == doctest::Approx(0.5).epsilon(0.06));
    CHECK(weighted_order(inverse_frequency_weights(labels, 2), 100, 4, 0) == weighted_order(inverse_frequency_weights(labels, 2), 100, 4, 0));

    std::vector<int64_t> three(300, 0);
    for (size_t i = 0; i < 30; ++i) three[i] = 1;
    for (size_t i = 30; i < 36; ++i) three[i] = 2;
    const std::vector<size_t> order = balanced_order(three, 3, 12, 120, 5, 0);
    REQUIRE(order.size() == 120);
    for (size_t b = 0; b < 10; ++b) {
        int per_class[3] = {0, 0, 0};
        for (size_t i = b * 12; i < b * 12 + 12; ++i) per_class[three[order[i]]]++;
        CHECK(per_class[0] == 4);
        CHECK(per_class[1] == 4);
        CHECK(per_class[2] == 4);
    }
    // The 6 rare images each come back (cycled), none skipped.
    std::set<size_t> rare_seen;
    for (size_t i : order)
        if (three[i] == 2) rare_seen.insert(i);
    CHECK(rare_seen.size() == 6);
    const std::vector<size_t> shuffled = shuffled_order(50, 1, 0);
    CHECK(std::set<size_t>(shuffled.begin(), shuffled.end()).size() == 50);
    CHECK(shuffled != shuffled_order(50, 1, 1));
}

TEST_CASE("loader: a weighted loader over a subset only returns that subset") {
    const ImageDataset dataset = small_synth();
    LoaderOptions options;
    options.batch_size = 10;
    options.workers = 2;
    options.sampler = SamplerKind::weighted;
    options.samples_per_epoch = 100;
    const std::vector<size_t> subset = {1, 5, 9, 40, 41, 42, 59};
    DataLoader loader(dataset, subset, options);
    CHECK(loader.batches_per_epoch() == 10);
    for (const Batch& b : epoch_batches(loader, 0))
        for (size_t i : b.indices) CHECK(std::find(subset.begin(), subset.end(), i) != subset.end());
}

TEST_CASE("loader: an image that goes bad after open reaches the consumer as an error naming it") {
    kiln::test::TempDir dir;
    for (int i = 0; i < 6; ++i) {
        kiln::test::put_image(dir / ("a/" + std::to_string(i) + ".png"), Image(8, 8, 1, 0.1f * float(i)));
        kiln::test::put_image(dir / ("b/" + std::to_string(i) + ".png"), Image(8, 8, 1, 0.5f));
    }
    DatasetOptions options;
    options.height = options.width = 8;
    options.cache = false;
    const ImageDataset dataset = ImageDataset::image_folder(dir.path.string(), options);
    kiln::test::write_bytes(dir / "a/3.png", "gone bad");
    LoaderOptions loader_options;
    loader_options.batch_size = 4;
    loader_options.workers = 2;
    loader_options.sampler = SamplerKind::sequential;
    DataLoader loader(dataset, {}, loader_options);
    loader.start_epoch(0);
    Batch batch;
    CHECK_THROWS_WITH_AS(loader.next(batch), doctest::Contains("3.png: not a PNG/JPEG/BMP image"), Error);
    CHECK(loader.next(batch));  // the next batch still comes
    CHECK(batch.number == 1);
}
