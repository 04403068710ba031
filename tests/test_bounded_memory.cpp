// Bounded memory: a training loop of many steps on a tiny data set reaches a
// steady state of the caching allocator after the first steps (bytes in use
// and cached stop growing: every step asks for the same sizes) and the
// process's peak RSS stops growing with it.
#include <doctest/doctest.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "cli_util.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/synth.h"
#include "engine/allocator.h"
#include "engine/ops.h"
#include "layers/models/models.h"
#include "optim/optimizer.h"

using namespace kiln;
using namespace kiln::data;

namespace {

long peak_rss_kib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;  // KiB on Linux
}

}  // namespace

TEST_CASE("bounded memory: 30 epochs on 8 images, the allocator and peak RSS stop growing after the first few") {
    SynthOptions synth;
    synth.size = 32, synth.count = 8, synth.threads = 2;
    const SynthSet set = generate_synth(synth);
    std::vector<Image> images;
    std::vector<int64_t> labels;
    for (const SynthSample& s : set.samples) images.push_back(s.image), labels.push_back(s.label);
    DatasetOptions dataset_options;
    dataset_options.height = dataset_options.width = 32;
    const ImageDataset dataset = ImageDataset::in_memory(set.class_names, images, labels, dataset_options);
    models::ModelConfig config;
    config.num_classes = dataset.num_classes();
    auto model = models::tiny_cnn(config);
    optim::AdamW optimizer(model->parameters(), {{"lr", 1e-3}});
    LoaderOptions options;
    options.batch_size = 4, options.workers = 2, options.augment = true;
    DataLoader loader(dataset, {}, options);

    // KILN_BOUNDED_MEMORY_EPOCHS=200 for the long run of docs/reliability.md.
    const char* long_run = std::getenv("KILN_BOUNDED_MEMORY_EPOCHS");
    const int epochs = long_run ? std::max(4, std::atoi(long_run)) : 30;
    std::vector<AllocatorStats> after_epoch;
    std::vector<long> rss_after_epoch;
    for (int64_t epoch = 0; epoch < epochs; ++epoch) {
        loader.start_epoch(epoch);
        Batch batch;
        while (loader.next(batch)) {
            optimizer.zero_grad();
            cross_entropy((*model)(batch.images), batch.labels).backward();
            optimizer.step();
        }
        batch = Batch();
        after_epoch.push_back(CachingAllocator::host().stats());
        rss_after_epoch.push_back(peak_rss_kib());
    }
    // From the third epoch on (the optimizer's state is allocated in the
    // first step, the loader's prefetch fills in the first epochs), nothing grows.
    const AllocatorStats& settled = after_epoch[2];
    for (int e = 3; e < epochs; ++e) {
        CAPTURE(e);
        CHECK(after_epoch[static_cast<size_t>(e)].bytes_in_use == settled.bytes_in_use);
        CHECK(after_epoch[static_cast<size_t>(e)].bytes_cached + after_epoch[static_cast<size_t>(e)].bytes_in_use <=
              settled.bytes_cached + settled.bytes_in_use);
        CHECK(after_epoch[static_cast<size_t>(e)].peak_bytes_in_use == settled.peak_bytes_in_use);
    }
    // Peak RSS: at most 1 MiB more at the end than after epoch 3 (heap noise), however long it runs.
    // (Not under AddressSanitizer: its quarantine holds freed memory back on purpose.)
#if !defined(__SANITIZE_ADDRESS__)
    CHECK(rss_after_epoch.back() - rss_after_epoch[2] <= 1024);
#endif
    std::printf("bounded memory: allocator %zu bytes in use, %zu cached, peak %zu; peak RSS %ld KiB after epoch 3, "
                "%ld KiB after epoch %d\n",
                settled.bytes_in_use, settled.bytes_cached, settled.peak_bytes_in_use, rss_after_epoch[2],
                rss_after_epoch.back(), epochs);
}

TEST_CASE("bounded memory: kiln train for 30 epochs on a tiny data set, the peak RSS it logs stops growing after the first") {
    namespace fs = std::filesystem;
    const fs::path out = fs::temp_directory_path() / ("kiln_test_bounded_" + std::to_string(::getpid()));
    fs::remove_all(out);
    // KILN_BOUNDED_MEMORY_EPOCHS=200 for the long run of docs/reliability.md.
    const char* long_run = std::getenv("KILN_BOUNDED_MEMORY_EPOCHS");
    const int epochs = long_run ? std::max(4, std::atoi(long_run)) : 30;
    REQUIRE(kiln::test::run_kiln({"train", "synth:bottle:count=32,size=16", "--size", "16", "--model", "tiny_cnn",
                                  "--epochs", std::to_string(epochs), "--batch-size", "4", "--workers", "2", "--threads",
                                  "2", "--patience", "0", "--report", "false", "--out", out.string()},
                                 out.string() + ".txt") == 0);
    std::vector<long> rss;  // peak RSS after each epoch, as the log records it
    std::ifstream in(out / "log.jsonl");
    for (std::string line; std::getline(in, line);) {
        const nlohmann::json record = nlohmann::json::parse(line);
        if (record.contains("peak_rss_kib")) rss.push_back(record["peak_rss_kib"].get<long>());
    }
    REQUIRE(rss.size() == size_t(epochs));
    // The first epoch's record comes before the run's first checkpoint write;
    // from the second on, every epoch does the same work (train, validate,
    // write last.safetensors and maybe best): at most 1 MiB of heap noise.
#if !defined(__SANITIZE_ADDRESS__)
    for (size_t e = 2; e < rss.size(); ++e) CHECK_MESSAGE(rss[e] - rss[1] <= 1024, "epoch " << e + 1);
#endif
    std::printf("bounded memory (kiln train): peak RSS %ld KiB after epoch 1, %ld after epoch 2, %ld after epoch %d "
                "(the most after any epoch: %ld)\n",
                rss[0], rss[1], rss.back(), epochs, *std::max_element(rss.begin(), rss.end()));
    fs::remove_all(out);
    fs::remove(out.string() + ".txt");
}
