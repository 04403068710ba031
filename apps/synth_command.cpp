// kiln synth: writes the synthetic defect data set as an image folder.
#include <chrono>
#include <cstdio>

#include "apps/data_commands.h"
#include "data/synth.h"

namespace kiln::apps {

int run_synth_command(const SynthCommandOptions& options) {
    data::SynthOptions synth;
    synth.kind = data::parse_synth_kind(options.kind);
    synth.size = options.size;
    synth.count = options.count;
    synth.defect_ratio = options.defect_ratio;
    synth.seed = options.seed;
    synth.threads = options.threads;
    std::string out = options.out;
    while (out.size() > 1 && out.back() == '/') out.pop_back();
    const std::string masks = options.no_masks ? "" : (options.masks.empty() ? out + "-masks" : options.masks);
    const auto start = std::chrono::steady_clock::now();
    const std::vector<int64_t> counts = data::write_synth(synth, out, masks);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::vector<std::string> names = data::synth_class_names(synth.kind);
    std::printf("kiln synth: %lld %s images of %dx%d in %s (%.2f s)\n", static_cast<long long>(options.count),
                options.kind.c_str(), options.size, options.size, out.c_str(), seconds);
    for (size_t i = 0; i < names.size(); ++i)
        std::printf("  %-14s %6lld\n", names[i].c_str(), static_cast<long long>(counts[i]));
    if (!masks.empty()) std::printf("masks in %s\n", masks.c_str());
    return 0;
}

}  // namespace kiln::apps
