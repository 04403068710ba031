// Determinism: a short training loop built from the library (the synthetic
// data set, the threaded DataLoader with augmentation, the tiny_cnn zoo model,
// AdamW) gives bit-identical weights and losses for the same seed, run twice,
// and with 1 or 2 loader workers; so does `kiln train` itself, its log
// included (all but the timing fields).
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "cli_util.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/synth.h"
#include "engine/ops.h"
#include "layers/models/models.h"
#include "optim/optimizer.h"

using namespace kiln;
using namespace kiln::data;

namespace {

ImageDataset synth_dataset(uint64_t seed) {
    SynthOptions synth;
    synth.kind = SynthKind::bottle;
    synth.size = 32;
    synth.count = 16;
    synth.seed = seed;
    synth.threads = 2;
    const SynthSet set = generate_synth(synth);
    std::vector<Image> images;
    std::vector<int64_t> labels;
    for (const SynthSample& s : set.samples) images.push_back(s.image), labels.push_back(s.label);
    DatasetOptions options;
    options.height = options.width = 32;
    options.threads = 2;
    return ImageDataset::in_memory(set.class_names, images, labels, options);
}

struct Run {
    std::vector<double> weights;  // every parameter and buffer, in state-dict order
    std::vector<double> losses;   // one per step
};

Run train(uint64_t seed, int workers, int epochs = 2) {
    const ImageDataset dataset = synth_dataset(seed);
    models::ModelConfig config;
    config.num_classes = dataset.num_classes();
    config.seed = seed;
    auto model = models::tiny_cnn(config);
    model->train();
    optim::AdamW optimizer(model->parameters(), {{"lr", 3e-3}, {"weight_decay", 0.01}});
    LoaderOptions options;
    options.batch_size = 8;
    options.workers = workers;
    options.seed = seed;
    options.augment = true;
    DataLoader loader(dataset, {}, options);
    Run run;
    for (int64_t epoch = 0; epoch < epochs; ++epoch) {
        loader.start_epoch(epoch);
        Batch batch;
        while (loader.next(batch)) {
            optimizer.zero_grad();
            const Tensor loss = cross_entropy((*model)(batch.images), batch.labels);
            loss.backward();
            optimizer.step();
            run.losses.push_back(loss.item());
        }
    }
    for (const auto& [name, tensor] : model->state_dict()) {
        const std::vector<double> values = tensor.to_vector();
        run.weights.insert(run.weights.end(), values.begin(), values.end());
    }
    return run;
}

// Bit-identical, not merely close (NaN == NaN too).
bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

// FNV-1a of the bytes: printed, so that runs under other settings (e.g.
// OMP_NUM_THREADS=1 against 2) can be compared by hand.
uint64_t fingerprint(const std::vector<double>& values) {
    uint64_t h = 1469598103934665603ull;
    const auto* bytes = reinterpret_cast<const unsigned char*>(values.data());
    for (size_t i = 0; i < values.size() * sizeof(double); ++i) h = (h ^ bytes[i]) * 1099511628211ull;
    return h;
}

}  // namespace

TEST_CASE("determinism: the same seed trains bit-identical weights twice, with 1 or 2 loader workers") {
    const Run first = train(7, 1), again = train(7, 1), two_workers = train(7, 2);
    REQUIRE(first.losses.size() == 4);  // 2 epochs of 2 batches
    CHECK(same_bits(first.weights, again.weights));
    CHECK(same_bits(first.losses, again.losses));
    CHECK(same_bits(first.weights, two_workers.weights));
    CHECK(same_bits(first.losses, two_workers.losses));
    std::printf("determinism: weights fingerprint %016llx, losses fingerprint %016llx\n",
                static_cast<unsigned long long>(fingerprint(first.weights)),
                static_cast<unsigned long long>(fingerprint(first.losses)));
    // And the run did train: another seed lands elsewhere.
    const Run other = train(8, 1);
    CHECK_FALSE(same_bits(first.weights, other.weights));
}

TEST_CASE("determinism: kiln train twice, and with 1 or 2 loader workers: the same log and bit-identical checkpoints") {
    namespace fs = std::filesystem;
    const fs::path root = fs::temp_directory_path() / ("kiln_test_determinism_" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root);
    auto run = [&](const std::string& name, int workers, int seed) {
        const fs::path out = root / name;
        // Augmentation, dropout, shuffling, 2 OpenMP threads: every source of randomness and threading of a real run.
        REQUIRE(kiln::test::run_kiln({"train", "synth:bottle:count=32,size=16", "--size", "16", "--model", "tiny_cnn",
                                      "--dropout", "0.2", "--augment", "round", "--epochs", "3", "--batch-size", "4",
                                      "--workers", std::to_string(workers), "--threads", "2", "--report", "false",
                                      "--seed", std::to_string(seed), "--out", out.string()},
                                     (root / (name + ".txt")).string()) == 0);
        return out;
    };
    const fs::path first = run("first", 1, 3), again = run("again", 1, 3), two_workers = run("two_workers", 2, 3),
                   other_seed = run("other_seed", 1, 4);
    const auto log = kiln::test::log_without_timing(first);
    REQUIRE(log.size() == 4);  // 3 epochs and the final record
    for (const fs::path& other : {again, two_workers}) {
        CAPTURE(other.string());
        CHECK(kiln::test::log_without_timing(other) == log);
        for (const std::string file : {"last.safetensors", "best.safetensors", "model.safetensors"})
            CHECK_MESSAGE(kiln::test::same_checkpoint(first / file, other / file, {"out", "workers"}), file);
    }
    CHECK_FALSE(kiln::test::same_checkpoint(first / "last.safetensors", other_seed / "last.safetensors"));
    fs::remove_all(root);
}
