// kiln augment: a grid of augmented samples, to see what the trainer sees.
// Row r shows one image of class r mod C (classes in turn); column 0 is the
// image as loaded (resized), the other columns are augmentations of it, each
// drawn exactly as the loader draws them.
#include <algorithm>
#include <cstdio>

#include "apps/data_commands.h"
#include "data/dataset.h"
#include "data/image_io.h"
#include "data/sample_rng.h"
#include "data/transforms.h"

namespace kiln::apps {

namespace {
constexpr int grid_gap = 2;            // pixels between tiles
constexpr float grid_background = 0.5f;  // mid grey, so black and white tiles both show their edges
constexpr uint64_t preview_stream_tag = 0x70726576ull;  // "prev"
}

int run_augment_command(const AugmentCommandOptions& options) {
    KILN_CHECK(options.rows >= 1 && options.columns >= 2, "augment: need at least 1 row and 2 columns");
    data::DatasetOptions dataset_options;
    dataset_options.color = data::parse_color_mode(options.color);
    dataset_options.height = dataset_options.width = options.size;
    dataset_options.fit = data::parse_fit(options.fit);
    dataset_options.on_bad_image = data::parse_bad_image_policy(options.on_bad_image);
    dataset_options.cache = false;   // a preview shows a handful of images; verifying
                                     // still decodes each once, so --on-bad-image applies
    const data::ImageDataset dataset = data::ImageDataset::open(options.data, dataset_options, options.per_defect);
    const data::AugmentConfig config = data::parse_augment(options.augment);
    const data::AugmentPolicy policy =
        options.defect_augment.empty()
            ? data::AugmentPolicy{config, {}}
            : data::good_and_defect_policy(dataset.class_names(), config, data::parse_augment(options.defect_augment));

    // Samples per class, in a seeded order.
    std::vector<std::vector<size_t>> by_class(static_cast<size_t>(dataset.num_classes()));
    for (size_t i = 0; i < dataset.size(); ++i) by_class[static_cast<size_t>(dataset.sample(i).label)].push_back(i);
    data::SampleRng pick(data::stream_key(options.seed, preview_stream_tag, 0), 0);
    for (auto& members : by_class)
        for (size_t i = members.size(); i > 1; --i) std::swap(members[i - 1], members[pick.below(uint32_t(i))]);

    const int tile = options.size, channels = dataset.channels();
    data::Image grid(options.rows * (tile + grid_gap) + grid_gap, options.columns * (tile + grid_gap) + grid_gap,
                     channels, grid_background);
    const uint64_t key = data::stream_key(options.seed, preview_stream_tag + 1, uint64_t(options.epoch));
    std::printf("kiln augment: %s (%zu images, classes:", options.data.c_str(), dataset.size());
    for (const std::string& name : dataset.class_names()) std::printf(" %s", name.c_str());
    std::printf(")\n");
    for (int row = 0; row < options.rows; ++row) {
        const size_t c = static_cast<size_t>(row) % by_class.size();
        if (by_class[c].empty()) continue;
        const size_t index = by_class[c][(static_cast<size_t>(row) / by_class.size()) % by_class[c].size()];
        const data::Image original = dataset.load(index);
        const data::AugmentConfig& recipe = policy.for_class(dataset.sample(index).label);
        std::printf("  row %d: %s (%s): %s\n", row, dataset.sample(index).id.c_str(),
                    dataset.class_names()[c].c_str(), data::describe(recipe).c_str());
        for (int col = 0; col < options.columns; ++col) {
            data::SampleRng rng(key, uint64_t(row * options.columns + col));
            const data::Image shown = col == 0 ? original : data::augment(original, recipe, rng);
            const int top = grid_gap + row * (tile + grid_gap), left = grid_gap + col * (tile + grid_gap);
            for (int y = 0; y < tile; ++y)
                for (int x = 0; x < tile; ++x)
                    for (int k = 0; k < channels; ++k) grid.at(top + y, left + x, k) = shown.at(y, x, k);
        }
    }
    data::write_image(options.out, grid);
    std::printf("wrote %s (%d x %d: column 1 as loaded, then %d augmentations each)\n", options.out.c_str(),
                grid.width, grid.height, options.columns - 1);
    return 0;
}

}  // namespace kiln::apps
