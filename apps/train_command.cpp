// kiln train: CLI over train/trainer.h. A --config file (JSON, or TOML; see
// train/config.h) gives the same keys as the flags (names without dashes);
// flags on the command line win over the file.
#include <nlohmann/json.hpp>

#include "apps/train_commands.h"
#include "layers/models/models.h"
#include "train/trainer.h"

namespace kiln::apps {

void add_train_command(CLI::App& parent, TrainCommand& command) {
    train::TrainConfig& c = command.config;
    CLI::App* app = parent.add_subcommand("train", "train a defect classifier; checkpoints, log, report in --out");
    command.app = app;
    app->add_option("--config", command.config_file,
                    "JSON (or TOML) file with the same keys as the flags (e.g. a run's config.json); flags win");
    std::string models;
    for (const auto& name : models::model_names()) models += (models.empty() ? "" : ", ") + name;
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

namespace {

// The --config file's settings, under the flags given on the command line.
void apply_config_file(TrainCommand& command) {
    const nlohmann::json file = train::read_config_file(command.config_file);
    nlohmann::json merged = train::to_json(command.config);
    for (const auto& [key, value] : file.items()) {
        const CLI::Option* flag = command.app->get_option_no_throw(key == "data" ? key : "--" + key);
        if (!flag || flag->count() == 0) merged[key] = value;
    }
    const int64_t stop_after = command.config.stop_after;  // not a config key: per invocation
    command.config = train::config_from_json(merged);
    command.config.stop_after = stop_after;
}

}  // namespace

int run_train_command(TrainCommand& command) {
    if (!command.config_file.empty()) apply_config_file(command);
    train::install_interrupt_handler();
    const train::TrainResult result =
        command.resume.empty() ? train::train(command.config) : train::resume(command.resume, command.config.stop_after);
    return result.interrupted && result.stop_reason == "interrupted" && train::interrupt_requested() ? 130 : 0;
}

}  // namespace kiln::apps
