// kiln train: CLI over train/trainer.h (its options: apps/train_options.cpp).
#include "apps/train_commands.h"
#include "layers/models/models.h"
#include "train/trainer.h"

namespace kiln::apps {

void add_train_command(CLI::App& parent, TrainCommand& command) {
    CLI::App* app = parent.add_subcommand("train", "train a defect classifier; checkpoints, log, report in --out");
    command.app = app;
    std::string models;
    for (const auto& name : models::model_names()) models += (models.empty() ? "" : ", ") + name;
    add_train_options(*app, command, models);
}

int run_train_command(TrainCommand& command) {
    train::install_interrupt_handler();
    const train::TrainResult result =
        command.resume.empty() ? train::train(command.config) : train::resume(command.resume, command.config.stop_after);
    return result.interrupted && result.stop_reason == "interrupted" && train::interrupt_requested() ? 130 : 0;
}

}  // namespace kiln::apps
