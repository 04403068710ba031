#pragma once
// TrainConfig: every setting of a training run, one field per `kiln train`
// flag (the JSON keys are the flag names without the dashes), saved as
// RUN_DIR/config.json and inside every checkpoint, so a run can be repeated
// (`kiln train --config RUN_DIR/config.json`) and resumed.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace kiln::train {

struct TrainConfig {
    // data
    std::string data = "synth:bottle:count=2000";  // 1400 training images: >= 95 % val accuracy in 30 epochs
    std::string out = "runs/train";
    int size = 64;                 // images are brought to size x size
    bool grayscale = false;        // 1 channel instead of 3
    bool binary = false;           // relabel: the good class vs any defect
    std::string split = "0.7,0.15,0.15";
    int64_t limit_per_class = 0;   // > 0: only the first N images of each class
    std::string augment = "round";
    std::string defect_augment;    // "" : as --augment
    std::string sampler = "shuffle";
    int workers = 2;
    // model
    std::string model = "resnet_inspired";
    double width = 0.5;
    double dropout = -1;           // < 0: the model's default
    std::string pretrained;
    // optimisation
    int64_t epochs = 30;
    std::string batch_size = "32"; // a number or "auto"
    int64_t effective_batch = 0;   // with auto: accumulate to reach this batch (0: none)
    std::string optimizer = "adamw";
    double lr = 3e-3;
    double weight_decay = 1e-4;
    std::string schedule = "cosine_restarts";  // none, cosine, cosine_restarts, step, plateau, onecycle
    int64_t restart_period = 10;   // T_0 in epochs (cosine_restarts), step_size (step)
    int64_t restart_mult = 2;      // T_mult
    double min_lr = 1e-6;
    std::string loss = "ce";       // ce or focal
    double focal_gamma = 2;
    std::string class_weights = "none";  // none, balanced, inverse, effective, defect, or w1,w2,...
    double label_smoothing = 0.1;
    double grad_clip = 1.0;        // 0: off
    int64_t accumulate = 1;
    // early stopping and checkpoints
    std::string monitor = "loss";  // loss, accuracy, macro_f1, roc_auc, fnr
    int64_t patience = 15;
    double min_delta = 0;
    bool restore_best = true;
    double target_fnr = -1;        // < 0: tune the threshold to best F1
    double stop_accuracy = 0;      // > 0: stop once val accuracy >= this (quick runs)
    // run
    std::string device = "cpu";
    uint64_t seed = 1;
    int threads = 0;               // OpenMP threads, 0: all cores
    bool report = true;
    int64_t stop_after = 0;        // > 0: leave after this many epochs in this invocation (as Ctrl-C)
};

nlohmann::json to_json(const TrainConfig& config);
// Unknown keys are an error naming them.
TrainConfig config_from_json(const nlohmann::json& j);
// A kiln::Error naming the flag for a value no run can use: out of range,
// unknown name, or a non-finite number (NaN would be written to config.json as
// null, which neither --config nor --resume could read back).
void check_config(const TrainConfig& config);

}  // namespace kiln::train
