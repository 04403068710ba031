// bench/loader: images per second through the data pipeline at 128 x 128.
//
//   build/bench/bench_loader [DATA] [--size 128] [--batch 32]
//
// DATA defaults to ../shared/datasets/magnetic-tile (real JPEGs of varying
// size), then neu-det, then a synthetic bottle set written to a temporary
// folder as PNG. Three configurations, each with 1 and 2 worker threads:
//   decode+augment  no cache: every image is read, decoded, resized and
//                   augmented (seed 003's "standard" recipe) in every epoch
//   cached+augment  the decoded, resized images are in memory (the default
//                   for data sets that fit): augmentation and batching only
//   cached          no augmentation (validation): batching and normalisation
// Each figure is one full epoch after a warm-up epoch, images / second.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "data/dataset.h"
#include "data/loader.h"
#include "data/synth.h"

using namespace kiln;
using namespace kiln::data;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double images_per_second(const ImageDataset& dataset, int workers, bool augment, int64_t batch_size) {
    LoaderOptions options;
    options.batch_size = batch_size;
    options.workers = workers;
    options.prefetch = 4;
    options.augment = augment;
    options.augmentation.config = augment_preset("standard");
    options.mean.assign(static_cast<size_t>(dataset.channels()), 0.5f);
    options.std.assign(static_cast<size_t>(dataset.channels()), 0.25f);
    DataLoader loader(dataset, {}, options);
    Batch batch;
    double best = 0;
    for (int64_t epoch = 0; epoch < 2; ++epoch) {  // epoch 0 warms the allocator and the page cache
        const auto start = std::chrono::steady_clock::now();
        loader.start_epoch(epoch);
        size_t images = 0;
        while (loader.next(batch)) images += batch.indices.size();
        const double rate = double(images) / seconds_since(start);
        if (epoch > 0) best = rate;
    }
    return best;
}

}  // namespace

int main(int argc, char** argv) {
    std::string data;
    int size = 128;
    int64_t batch_size = 32;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--size" && i + 1 < argc) size = std::atoi(argv[++i]);
        else if (arg == "--batch" && i + 1 < argc) batch_size = std::atoll(argv[++i]);
        else if (arg == "--help" || arg == "-h") {
            std::printf("usage: bench_loader [DATA] [--size 128] [--batch 32]\n");
            return 0;
        } else data = arg;
    }
    namespace fs = std::filesystem;
    const std::string shared = KILN_SOURCE_DIR "/../shared/datasets";
    std::string temporary;
    if (data.empty()) {
        for (const char* name : {"magnetic-tile", "neu-det"})
            if (fs::is_directory(shared + "/" + name)) {
                data = shared + "/" + name;
                break;
            }
    }
    if (data.empty()) {
        temporary = (fs::temp_directory_path() / "kiln_bench_loader_synth").string();
        SynthOptions synth;
        synth.count = 1350;
        synth.defect_ratio = 350.0 / 1350.0;
        synth.size = 256;  // decode then resize, as for real files
        write_synth(synth, temporary, "");
        data = temporary;
    }
    try {
        std::printf("data: %s\ninput: %dx%d gray, batch %lld, augmentation \"standard\" (seed 003)\n", data.c_str(), size,
                    size, static_cast<long long>(batch_size));
        DatasetOptions uncached;
        uncached.color = ColorMode::gray;
        uncached.height = uncached.width = size;
        uncached.cache = false;
        uncached.verify = false;
        const ImageDataset from_disk = ImageDataset::open(data, uncached);

        DatasetOptions cached = uncached;
        cached.cache = true;
        cached.threads = 2;
        const auto open_start = std::chrono::steady_clock::now();
        const ImageDataset in_memory = ImageDataset::open(data, cached);
        const double open_seconds = seconds_since(open_start);
        std::printf("%zu images, %lld classes; open with cache (decode+resize all, 2 threads): %.2f s, %.0f images/s\n\n",
                    in_memory.size(), static_cast<long long>(in_memory.num_classes()), open_seconds,
                    double(in_memory.size()) / open_seconds);
        std::printf("%-16s %10s %10s\n", "images/s", "1 worker", "2 workers");
        struct Row {
            const char* name;
            const ImageDataset* dataset;
            bool augment;
        };
        for (const Row& row : {Row{"decode+augment", &from_disk, true}, Row{"cached+augment", &in_memory, true},
                               Row{"cached", &in_memory, false}}) {
            const double one = images_per_second(*row.dataset, 1, row.augment, batch_size);
            const double two = images_per_second(*row.dataset, 2, row.augment, batch_size);
            std::printf("%-16s %10.0f %10.0f\n", row.name, one, two);
        }
    } catch (const std::exception& error) {
        std::fprintf(stderr, "%s\n", error.what());
        return 1;
    }
    if (!temporary.empty()) fs::remove_all(temporary);
    return 0;
}
