// kiln predict CKPT IMAGES...: class, probability, and defect yes/no at the
// checkpoint's tuned threshold (or --threshold); --json: one JSON object per line.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "apps/train_commands.h"
#include "data/image_io.h"
#include "data/resize.h"
#include "engine/autograd.h"
#include "engine/frozen.h"
#include "engine/ops.h"
#include "train/checkpoint_state.h"
#include "train/data_setup.h"

namespace kiln::apps {

void add_predict_command(CLI::App& parent, PredictCommand& command) {
    CLI::App* app = parent.add_subcommand("predict", "classify images with a trained checkpoint");
    command.app = app;
    app->add_option("checkpoint", command.checkpoint, "run folder or checkpoint file")->required();
    app->add_option("images", command.images, "image files")->required();
    app->add_option("--threshold", command.threshold, "defect threshold (default: the checkpoint's, else argmax)");
    app->add_option("--device", command.device, "cpu, cuda or emu")->capture_default_str();
    app->add_flag("--json", command.json, "one JSON object per image");
}

int run_predict_command(const PredictCommand& cmd) {
    const std::string path = train::resolve_checkpoint(cmd.checkpoint);
    train::LoadedCheckpoint ck = train::load_training_checkpoint(path);
    const Device device = Device::parse(cmd.device);
    ck.model->to(device);
    ck.model->eval();
    const int64_t good = train::good_class_index(ck.info.class_names);
    std::optional<double> threshold = cmd.threshold >= 0 ? std::optional<double>(cmd.threshold) : ck.info.threshold;
    std::vector<float> mean(ck.info.mean.begin(), ck.info.mean.end()), std(ck.info.std.begin(), ck.info.std.end());
    const data::ColorMode color = ck.info.config.in_channels == 1 ? data::ColorMode::gray : data::ColorMode::rgb;
    const FrozenWeightsGuard frozen;  // the weights stay as loaded (engine/frozen.h)
    for (const std::string& file : cmd.images) {
        const data::Image image = data::resize(data::read_image(file, color), int(ck.info.input_size[0]), int(ck.info.input_size[1]));
        NoGradGuard no_grad;
        const std::vector<double> p = softmax((*ck.model)(train::image_input(image, mean, std).to(device)), 1).to(Device::cpu()).to_vector();
        std::vector<float> probs(p.begin(), p.end());
        const int64_t c = train::predict_class(probs.data(), int64_t(probs.size()), good, threshold);
        const double score = good >= 0 ? 1.0 - probs[size_t(good)] : NAN;
        const bool defect = good >= 0 ? c != good : true;
        if (cmd.json) {
            nlohmann::json j = {{"file", file}, {"class", ck.info.class_names[size_t(c)]}, {"probability", probs[size_t(c)]},
                                {"probabilities", probs}, {"defect", defect}};
            j["defect_score"] = good >= 0 ? nlohmann::json(score) : nlohmann::json(nullptr);
            j["threshold"] = threshold && good >= 0 ? nlohmann::json(*threshold) : nlohmann::json(nullptr);
            // A file name that is not UTF-8 is printed with U+FFFD for its bad bytes.
            std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        } else {
            std::printf("%s: %s (p %.3f)", file.c_str(), ck.info.class_names[size_t(c)].c_str(), probs[size_t(c)]);
            if (good >= 0)
                std::printf("  defect: %s (score %.3f, threshold %s)", defect ? "yes" : "no", score,
                            threshold ? std::to_string(*threshold).c_str() : "argmax");
            std::printf("\n");
        }
    }
    return 0;
}

}  // namespace kiln::apps
