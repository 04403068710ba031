#pragma once
// kiln synth and kiln augment: the data pipeline's two commands.
#include <cstdint>
#include <string>

namespace kiln::apps {

struct SynthCommandOptions {
    std::string out;                 // image-folder dataset written here
    std::string masks;               // masks here; default "<out>-masks"
    bool no_masks = false;
    std::string kind = "bottle";
    int size = 128;
    int64_t count = 1000;
    double defect_ratio = 0.35;
    uint64_t seed = 1;
    int threads = 0;
};
int run_synth_command(const SynthCommandOptions& options);

struct AugmentCommandOptions {
    std::string data;                // folder, MVTec folder, .csv, or synth:bottle / synth:casting
    std::string out = "augment.png";
    int size = 128;
    std::string color = "rgb";
    std::string fit = "stretch";
    std::string on_bad_image = "skip";
    bool per_defect = false;
    std::string augment = "standard";
    std::string defect_augment;      // if set: this recipe for the defect classes
    int rows = 4, columns = 8;       // rows: images; columns: the original, then augmentations
    uint64_t seed = 1;
    int64_t epoch = 0;
};
int run_augment_command(const AugmentCommandOptions& options);

}  // namespace kiln::apps
