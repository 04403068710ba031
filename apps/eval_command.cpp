// kiln eval RUN_DIR|CKPT [DATA]: metrics on the test split, the decision
// threshold tuned on the validation split (stored in the checkpoint), latency
// at batch 1, throughput at batch 32, and the model size.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "apps/train_commands.h"
#include "data/split.h"
#include "engine/autograd.h"
#include "engine/frozen.h"
#include "train/checkpoint_state.h"
#include "train/data_setup.h"
#include "train/threshold.h"

namespace kiln::apps {

namespace fs = std::filesystem;
using json = nlohmann::json;

void add_eval_command(CLI::App& parent, EvalCommand& command) {
    CLI::App* app = parent.add_subcommand("eval", "test metrics, threshold tuned on val (stored), latency and size");
    command.app = app;
    app->add_option("checkpoint", command.checkpoint, "run folder (its model.safetensors) or checkpoint file")->required();
    app->add_option("data", command.data, "data set (default: the run's, from RUN_DIR/config.json)");
    app->add_option("--split-file", command.split_file, "split.json to use (default: the run's)");
    app->add_option("--target-fnr", command.target_fnr, "tune the threshold to this miss rate on val (< 0: best F1)")
        ->capture_default_str();
    app->add_option("--device", command.device, "cpu, cuda or emu")->capture_default_str();
    app->add_option("--limit-per-class", command.limit_per_class, "only the first N images of each class");
    app->add_flag("--json", command.json, "print one JSON object");
    app->add_flag("--no-store", command.no_store, "do not write the tuned threshold into the checkpoint");
    app->add_flag("--no-timing", command.no_timing, "skip the latency and throughput measurement");
}

int run_eval_command(const EvalCommand& cmd) {
    const std::string path = train::resolve_checkpoint(cmd.checkpoint);
    train::LoadedCheckpoint ck = train::load_training_checkpoint(path);
    const Device device = Device::parse(cmd.device);
    ck.model->to(device);
    const fs::path run_dir = fs::is_directory(cmd.checkpoint) ? fs::path(cmd.checkpoint) : fs::path(path).parent_path();
    train::DataSpec spec;
    spec.data = cmd.data;
    spec.size = int(ck.info.input_size[0]);
    spec.grayscale = ck.info.config.in_channels == 1;
    spec.limit_per_class = cmd.limit_per_class;
    std::string split_ratios = "0.7,0.15,0.15";
    uint64_t seed = 1;
    if (fs::is_regular_file(run_dir / "config.json")) {
        std::ifstream in(run_dir / "config.json");
        const json config = json::parse(in);
        if (spec.data.empty()) spec.data = config.value("data", std::string());
        spec.binary = config.value("binary", false);
        if (!cmd.limit_per_class) spec.limit_per_class = config.value("limit-per-class", int64_t(0));
        split_ratios = config.value("split", split_ratios);
        seed = config.value("seed", uint64_t(1));
    }
    KILN_CHECK(!spec.data.empty(), "eval: give the data set (no config.json beside ", path, ")");
    const data::ImageDataset dataset = train::open_run_dataset(spec);
    KILN_CHECK(dataset.class_names() == ck.info.class_names, "eval: ", spec.data, " has classes that differ from the checkpoint's");
    const std::string split_file = !cmd.split_file.empty() ? cmd.split_file
                                   : fs::is_regular_file(run_dir / "split.json") && cmd.data.empty() ? (run_dir / "split.json").string()
                                                                                                   : "";
    const data::Split split = split_file.empty() ? data::stratified_split(dataset, data::parse_split_ratios(split_ratios), seed)
                                                 : data::load_split(split_file, dataset);
    std::vector<float> mean(ck.info.mean.begin(), ck.info.mean.end()), std(ck.info.std.begin(), ck.info.std.end());
    const int64_t good = train::good_class_index(ck.info.class_names);
    const FrozenWeightsGuard frozen;  // the weights stay as loaded from here on (engine/frozen.h)

    json out = {{"checkpoint", path}, {"data", spec.data}, {"model", ck.info.model}};
    std::optional<double> threshold = ck.info.threshold;
    if (good >= 0 && !split.val.empty()) {
        const train::Scores val = train::predict(*ck.model, dataset, split.val, mean, std, 32, device);
        const std::vector<double> s = train::defect_scores(val, good);
        std::vector<bool> defect(val.size());
        for (size_t i = 0; i < defect.size(); ++i) defect[i] = val.labels[i] != good;
        const train::ThresholdResult t = cmd.target_fnr >= 0 ? train::tune_threshold_for_fnr(s, defect, cmd.target_fnr)
                                                             : train::tune_threshold_for_f1(s, defect);
        threshold = t.threshold;
        out["threshold"] = {{"value", t.threshold}, {"goal", t.goal}, {"val_fnr", t.fnr}, {"val_fpr", t.fpr}, {"val_f1", t.f1}};
        if (!cmd.no_store) {
            ck.info.threshold = t.threshold;
            ck.info.extra["threshold_goal"] = json(t.goal).dump();
            ck.model->to(Device::cpu());
            train::save_training_checkpoint(path, *ck.model, ck.info, ck.state ? &*ck.state : nullptr);
            ck.model->to(device);
        }
    }
    const std::vector<size_t>& test = split.test.empty() ? split.val : split.test;
    const train::Scores scores = train::predict(*ck.model, dataset, test, mean, std, 32, device);
    const train::Metrics m = train::compute_metrics(scores, good, threshold);
    out["split"] = split.test.empty() ? "val" : "test";
    out["metrics"] = train::to_json(m);
    out["class_names"] = ck.info.class_names;
    int64_t bytes = 0;
    for (const auto& [name, t] : ck.model->state_dict()) bytes += t.numel() * int64_t(dtype_size(t.dtype()));
    out["model_size_bytes"] = bytes;
    out["parameters"] = ck.model->parameter_count();
    if (!cmd.no_timing) {
        NoGradGuard no_grad;
        ck.model->eval();
        using Clock = std::chrono::steady_clock;
        const int64_t C = ck.info.config.in_channels, H = ck.info.input_size[0], W = ck.info.input_size[1];
        auto time_batch = [&](int64_t batch, int repeats) {
            const Tensor x = Tensor::rand({batch, C, H, W}).to(device);
            (*ck.model)(x).to(Device::cpu());  // warm-up
            const auto start = Clock::now();
            for (int i = 0; i < repeats; ++i) (*ck.model)(x).to(Device::cpu());
            return std::chrono::duration<double>(Clock::now() - start).count() / repeats;
        };
        const double one = time_batch(1, 20), many = time_batch(32, 5);
        out["latency_ms_batch1"] = one * 1000;
        out["throughput_img_per_s_batch32"] = 32 / many;
        out["device"] = device.str();
    }
    if (fs::is_directory(run_dir)) {
        std::ofstream file(run_dir / "eval.json");
        file << out.dump(2) << "\n";
    }
    if (cmd.json) {
        std::printf("%s\n", out.dump().c_str());
        return 0;
    }
    std::printf("%s on %s (%s split, %lld images)\n", path.c_str(), spec.data.c_str(), out["split"].get<std::string>().c_str(),
                (long long)m.count);
    if (out.contains("threshold"))
        std::printf("threshold %.4f tuned on val (%s): val FNR %.4f FPR %.4f%s\n", out["threshold"]["value"].get<double>(),
                    out["threshold"]["goal"].get<std::string>().c_str(), out["threshold"]["val_fnr"].get<double>(),
                    out["threshold"]["val_fpr"].get<double>(), cmd.no_store ? "" : " (stored in the checkpoint)");
    std::printf("accuracy %.4f  macro-F1 %.4f  ROC-AUC %.4f", m.accuracy, m.macro_f1, m.roc_auc);
    if (good >= 0) std::printf("  FNR %.4f  FPR %.4f", m.fnr, m.fpr);
    std::printf("\n%-20s %10s %10s %10s %8s\n", "class", "precision", "recall", "F1", "support");
    for (size_t c = 0; c < ck.info.class_names.size(); ++c)
        std::printf("%-20s %10.4f %10.4f %10.4f %8lld\n", ck.info.class_names[c].c_str(), m.precision[c], m.recall[c], m.f1[c],
                    (long long)m.support[c]);
    std::printf("confusion (rows true, columns predicted):\n");
    for (const auto& row : m.confusion) {
        for (int64_t v : row) std::printf("%7lld", (long long)v);
        std::printf("\n");
    }
    std::printf("model: %lld parameters, %.2f MB\n", (long long)ck.model->parameter_count(), double(bytes) / 1e6);
    if (!cmd.no_timing)
        std::printf("%s: latency %.2f ms/image at batch 1, throughput %.0f img/s at batch 32\n", device.str().c_str(),
                    out["latency_ms_batch1"].get<double>(), out["throughput_img_per_s_batch32"].get<double>());
    return 0;
}

}  // namespace kiln::apps
