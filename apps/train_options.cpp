// The options of kiln train and its --config reader (apps/train_commands.h).
// A --config file (JSON, or TOML/INI as CLI11 reads them) gives the same keys
// as the flags (names without dashes); flags on the command line win over the
// file. Apart from the zoo (whose names come in as text), so that the config
// fuzz target (tests/fuzz/fuzz_config.cpp) parses a file exactly as kiln does.
#include <nlohmann/json.hpp>
#include <sstream>

#include "apps/train_commands.h"

namespace kiln::apps {

namespace {

// CLI11 config reader: a JSON object (first character '{'), else TOML/INI.
class JsonOrTomlConfig : public CLI::ConfigTOML {
public:
    std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
        std::stringstream buffer;
        buffer << input.rdbuf();
        const std::string text = buffer.str();
        const size_t first = text.find_first_not_of(" \t\r\n");
        if (first == std::string::npos || text[first] != '{') {
            std::istringstream again(text);
            return CLI::ConfigTOML::from_config(again);
        }
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(text);
        } catch (const nlohmann::json::exception& error) {
            throw CLI::ConversionError("--config: not valid JSON (" + std::string(error.what()) + ")");
        }
        std::vector<CLI::ConfigItem> items;
        for (const auto& [key, value] : j.items()) {
            CLI::ConfigItem item;
            item.name = key;
            if (value.is_string()) item.inputs = {value.get<std::string>()};
            else if (value.is_boolean()) item.inputs = {value.get<bool>() ? "true" : "false"};
            else item.inputs = {value.dump()};
            items.push_back(item);
        }
        return items;
    }
};

// Sets the options of `app` that the command line left unset from the config
// file at `path`. (CLI11 2.1 reads a config file for the top-level app only:
// a subcommand's set_config() option is parsed and then never read, so kiln
// train reads its own, the way CLI11 reads one.) A key that names no option
// is an error, as in config_from_json: a typo must not pass unnoticed.
void apply_config_file(CLI::App& app, const std::string& path) {
    const std::string where = "--config " + path + ": ";
    JsonOrTomlConfig reader;
    std::vector<CLI::ConfigItem> items;
    try {
        items = reader.from_file(path);
    } catch (const CLI::FileError&) {
        throw CLI::FileError(where + "cannot open the file");
    }
    for (const CLI::ConfigItem& item : items) {
        // TOML/INI sections: [train] is this command's; no other section exists.
        if (!item.parents.empty() && !(item.parents.size() == 1 && item.parents[0] == app.get_name()))
            throw CLI::ConfigError(where + "unknown section [" + CLI::detail::join(item.parents, ".") + "]");
        if (item.name == "++" || item.name == "--") continue;  // the section's start and end
        CLI::Option* option = app.get_option_no_throw("--" + item.name);
        if (option == nullptr && item.name == "data") option = app.get_option_no_throw("data");
        if (option == nullptr) throw CLI::ConfigError(where + "unknown key \"" + item.name + "\"");
        if (!option->get_configurable()) throw CLI::ConfigError(where + "\"" + item.name + "\" cannot be set in a config file");
        if (option->count() > 0) continue;  // given on the command line: that wins
        if (option->get_expected_min() == 0) option->add_result(option->get_flag_value(item.name, reader.to_flag(item)));
        else option->add_result(item.inputs);
        option->run_callback();
    }
}

}  // namespace

void add_train_options(CLI::App& subcommand, TrainCommand& command, const std::string& models) {
    train::TrainConfig& c = command.config;
    CLI::App* app = &subcommand;
    app->add_option("--config", command.config_file,
                    "JSON (or TOML) file with the same keys as the flags (e.g. a run's config.json); flags given here win")
        ->configurable(false);
    app->parse_complete_callback([app, &command] {
        if (!command.config_file.empty()) apply_config_file(*app, command.config_file);
    });
    app->add_option("data", c.data, "image folder, MVTec-AD category, CSV list, or synth:bottle / synth:casting[:count=N,size=P]")
        ->capture_default_str();
    app->add_option("--out", c.out, "run folder (checkpoints, log.jsonl, report.html)")->capture_default_str();
    app->add_option("--resume", command.resume, "continue the run in this folder from its last.safetensors");
    app->add_option("--model", c.model, "zoo model: " + models)->capture_default_str();
    app->add_option("--width", c.width, "channel width multiplier of the model")->capture_default_str()->check(CLI::PositiveNumber);
    app->add_option("--dropout", c.dropout, "classifier dropout (< 0: the model's default)")->capture_default_str();
    app->add_option("--pretrained", c.pretrained, "start from these weights (safetensors; tensors of other shapes are skipped)");
    app->add_option("--size", c.size, "input size (images are resized to size x size)")->capture_default_str();
    app->add_flag("--grayscale", c.grayscale, "1 input channel instead of 3");
    app->add_flag("--binary", c.binary, "train good vs any defect (classes merged)");
    app->add_option("--split", c.split, "train/val/test ratios (stratified; saved as split.json)")->capture_default_str();
    app->add_option("--limit-per-class", c.limit_per_class, "only the first N images of each class (quick looks)");
    app->add_option("--augment", c.augment, "recipe: none, light, standard, round[:field=value,...]")->capture_default_str();
    app->add_option("--defect-augment", c.defect_augment, "a milder recipe for the defect classes (e.g. light)");
    app->add_option("--sampler", c.sampler, "shuffle, weighted, balanced")->capture_default_str();
    app->add_option("--workers", c.workers, "loader threads")->capture_default_str();
    app->add_option("--epochs", c.epochs, "maximum epochs")->capture_default_str();
    app->add_option("--batch-size", c.batch_size, "images per step, or auto (largest power of two that fits)")->capture_default_str();
    app->add_option("--effective-batch", c.effective_batch, "with --batch-size auto: accumulate up to this batch");
    app->add_option("--optimizer", c.optimizer, "sgd, adam, adamw, rmsprop, adagrad, lion")->capture_default_str();
    app->add_option("--lr", c.lr, "initial learning rate")->capture_default_str();
    app->add_option("--weight-decay", c.weight_decay, "weight decay (weights only, not biases or BatchNorm)")->capture_default_str();
    app->add_option("--schedule", c.schedule, "none, cosine, cosine_restarts (per batch), step, plateau, onecycle")->capture_default_str();
    app->add_option("--restart-period", c.restart_period, "cosine_restarts: T_0 epochs; step: step size")->capture_default_str();
    app->add_option("--restart-mult", c.restart_mult, "cosine_restarts: T_mult")->capture_default_str();
    app->add_option("--min-lr", c.min_lr, "lowest lr of the cosine schedules and plateau")->capture_default_str();
    app->add_option("--loss", c.loss, "ce or focal")->capture_default_str();
    app->add_option("--focal-gamma", c.focal_gamma, "focal loss gamma")->capture_default_str();
    app->add_option("--class-weights", c.class_weights, "none, balanced, inverse, effective, defect, or w1,w2,...")->capture_default_str();
    app->add_option("--label-smoothing", c.label_smoothing, "cross-entropy label smoothing")->capture_default_str();
    app->add_option("--grad-clip", c.grad_clip, "clip the global gradient norm (0: off)")->capture_default_str();
    app->add_option("--accumulate", c.accumulate, "micro-batches per optimizer step")->capture_default_str();
    app->add_option("--monitor", c.monitor, "val metric for best/early stopping: loss, accuracy, macro_f1, roc_auc, fnr")->capture_default_str();
    app->add_option("--patience", c.patience, "epochs without improvement before stopping (0: never)")->capture_default_str();
    app->add_option("--min-delta", c.min_delta, "smallest change that counts as improvement")->capture_default_str();
    app->add_option("--restore-best", c.restore_best, "true: end with the best epoch's weights")->capture_default_str();
    app->add_option("--target-fnr", c.target_fnr, "tune the threshold on val to this miss rate (< 0: best F1)")->capture_default_str();
    app->add_option("--stop-accuracy", c.stop_accuracy, "stop once val accuracy reaches this (0: off)")->capture_default_str();
    app->add_option("--device", c.device, "cpu, cuda, cuda:N or emu")->capture_default_str();
    app->add_option("--seed", c.seed, "seed of split, weights, order, augmentation, dropout")->capture_default_str();
    app->add_option("--threads", c.threads, "CPU threads (0: all cores)")->capture_default_str();
    app->add_option("--report", c.report, "write report.html")->capture_default_str();
    app->add_option("--stop-after", c.stop_after, "leave after N epochs of this invocation (resumable, as Ctrl-C)");
}

}  // namespace kiln::apps
