#pragma once
// The synthetic defect generator: kiln's built-in data set, needing no download.
//
//   bottle:  MVTec-AD-bottle-like top views of a glass bottle mouth on a dark
//            background (RGB); classes good, broken_large, broken_small, contamination.
//   casting: cast round parts (an impeller-like disc with hub, ridge and bolt
//            holes) on a grey background (grayscale); classes good, defect,
//            the defect being blowholes, a crack or a chipped edge.
//
// Good parts vary (position, size, lighting direction and strength, tint,
// texture noise, dust specks, for castings the number and phase of the bolt
// holes), so a classifier has to learn the defects' shapes, not a pixel's
// brightness. Each image is a pure function of (seed, index): generation runs
// on several threads and gives the same images whatever their number.
#include <cstdint>
#include <string>
#include <vector>

#include "data/image.h"

namespace kiln::data {

enum class SynthKind { bottle, casting };
SynthKind parse_synth_kind(const std::string& name);  // "bottle" or "casting"
const char* synth_kind_name(SynthKind kind);

struct SynthOptions {
    SynthKind kind = SynthKind::bottle;
    int size = 128;              // images are size x size
    int64_t count = 1000;        // images in all
    double defect_ratio = 0.35;  // fraction of them that show a defect (rounded to a whole count)
    uint64_t seed = 1;
    int threads = 0;             // 0: the machine's core count
};

struct SynthSample {
    Image image;         // 3 channels (bottle) or 1 (casting), values in [0, 1]
    Image mask;          // 1 channel, 1 on the defect, 0 elsewhere (all 0 for good parts)
    int64_t label = 0;   // index into synth_class_names(kind)
    std::string defect;  // "" for good parts, else the defect type (casting: blowhole, crack, chipped_edge)
};

struct SynthSet {
    std::vector<std::string> class_names;
    std::vector<SynthSample> samples;
};

std::vector<std::string> synth_class_names(SynthKind kind);
// Good parts first (indices [0, good_count)), then the defects, their classes in turn.
int64_t synth_good_count(const SynthOptions& options);
SynthSample generate_synth_sample(const SynthOptions& options, int64_t index);
SynthSet generate_synth(const SynthOptions& options);

// Writes out_dir/<class>/<class>_NNNN.png and, unless mask_dir is empty,
// mask_dir/<class>/<class>_NNNN.png (the layout of ../shared/datasets'
// "<name>" and "<name>-masks"). Returns the number of images per class.
std::vector<int64_t> write_synth(const SynthOptions& options, const std::string& out_dir, const std::string& mask_dir);

}  // namespace kiln::data
