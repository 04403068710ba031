// kiln explain CKPT IMAGE: Grad-CAM heatmap overlay PNG (train/grad_cam.h).
#include <cstdio>
#include <filesystem>

#include "apps/train_commands.h"
#include "data/image_io.h"
#include "data/resize.h"
#include "train/checkpoint_state.h"
#include "train/data_setup.h"
#include "train/grad_cam.h"

namespace kiln::apps {

void add_explain_command(CLI::App& parent, ExplainCommand& command) {
    CLI::App* app = parent.add_subcommand("explain", "Grad-CAM: where the net looked, as a heatmap overlay PNG");
    command.app = app;
    app->add_option("checkpoint", command.checkpoint, "run folder or checkpoint file")->required();
    app->add_option("image", command.image, "image file")->required();
    app->add_option("--out", command.out, "overlay PNG to write (default: <image stem>_gradcam.png here)");
    app->add_option("--layer", command.layer, "stage to explain (default: the last conv stage, e.g. features.7, layer4)");
    app->add_option("--class", command.target, "class name or index to explain (default: the predicted one)");
    app->add_option("--device", command.device, "cpu, cuda or emu")->capture_default_str();
}

int run_explain_command(const ExplainCommand& cmd) {
    const std::string path = train::resolve_checkpoint(cmd.checkpoint);
    train::LoadedCheckpoint ck = train::load_training_checkpoint(path);
    const Device device = Device::parse(cmd.device);
    ck.model->to(device);
    int64_t target = -1;
    if (!cmd.target.empty()) {
        for (size_t c = 0; c < ck.info.class_names.size(); ++c)
            if (ck.info.class_names[c] == cmd.target || std::to_string(c) == cmd.target) target = int64_t(c);
        KILN_CHECK(target >= 0, "--class: \"", cmd.target, "\" is not a class of ", path);
    }
    const data::ColorMode color = ck.info.config.in_channels == 1 ? data::ColorMode::gray : data::ColorMode::rgb;
    const data::Image image = data::resize(data::read_image(cmd.image, color), int(ck.info.input_size[0]), int(ck.info.input_size[1]));
    std::vector<float> mean(ck.info.mean.begin(), ck.info.mean.end()), std(ck.info.std.begin(), ck.info.std.end());
    const train::GradCam cam = train::grad_cam(*ck.model, train::image_input(image, mean, std).to(device), target, cmd.layer);
    const std::string out = cmd.out.empty() ? std::filesystem::path(cmd.image).stem().string() + "_gradcam.png" : cmd.out;
    data::write_image(out, train::overlay_heatmap(image, cam));
    std::printf("%s: class %s (p %.3f), Grad-CAM of %s written to %s\n", cmd.image.c_str(),
                ck.info.class_names[size_t(cam.target_class)].c_str(), cam.probs[size_t(cam.target_class)], cam.layer.c_str(),
                out.c_str());
    return 0;
}

}  // namespace kiln::apps
