#pragma once
// kiln train | eval | predict | explain: the defect-inspection workflow
// (train/, docs/workflow.md). Each add_* registers a subcommand and its
// options; run_* runs it after parsing (errors as kiln::Error).
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "train/config.h"

namespace kiln::apps {

struct TrainCommand {
    train::TrainConfig config;
    std::string resume;
    std::string config_file;  // --config: read into `config` during parsing
    CLI::App* app = nullptr;
};
void add_train_command(CLI::App& parent, TrainCommand& command);
// The options and the --config reader (JSON, or TOML/INI) of `subcommand`,
// bound to `command`; `models` is the zoo list for the help text.
// (apps/train_options.cpp: without the zoo, for the config fuzz target.)
void add_train_options(CLI::App& subcommand, TrainCommand& command, const std::string& models);
int run_train_command(TrainCommand& command);

struct EvalCommand {
    std::string checkpoint, data, split_file, device = "cpu";
    double target_fnr = -1;
    bool json = false, no_store = false, no_timing = false;
    int64_t limit_per_class = 0;
    CLI::App* app = nullptr;
};
void add_eval_command(CLI::App& parent, EvalCommand& command);
int run_eval_command(const EvalCommand& command);

struct PredictCommand {
    std::string checkpoint, device = "cpu";
    std::vector<std::string> images;
    double threshold = -1;
    bool json = false;
    CLI::App* app = nullptr;
};
void add_predict_command(CLI::App& parent, PredictCommand& command);
int run_predict_command(const PredictCommand& command);

struct ExplainCommand {
    std::string checkpoint, image, out, layer, target, device = "cpu";
    CLI::App* app = nullptr;
};
void add_explain_command(CLI::App& parent, ExplainCommand& command);
int run_explain_command(const ExplainCommand& command);

}  // namespace kiln::apps
