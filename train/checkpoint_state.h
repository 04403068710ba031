#pragma once
// Training checkpoints: one safetensors file (written atomically) holding
//   - the model's state dict under its own names (layer1.0.conv1.weight, ...),
//   - the optimizer's buffers as "optimizer.state.<i>.<buffer>",
//   - the partial epoch's training predictions as "trainer.partial_probs" and
//     "trainer.partial_labels" (only when saved mid-epoch, on Ctrl-C),
//   - kiln's checkpoint metadata (layers/checkpoint.h: model, classes, input
//     size, normalisation, threshold), plus "train_state": a JSON object with
//     the config, the epoch and batch to continue from, the global step, the
//     optimizer's scalars, the early-stopping state and the plateau schedule's
//     counters. (The epoch history is RUN_DIR/log.jsonl's alone: a checkpoint
//     stays the same size however many epochs a run has.)
// The RNG needs no saved state: every batch reseeds the default generator
// from (seed, epoch, batch), and the loader's batches are pure functions of
// (seed, epoch, batch), so the position alone restores them.
//
// A deployable model (RUN_DIR/model.safetensors) is the same file without the
// optimizer and trainer tensors: kiln::load_model and PyTorch read it as is.
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "layers/checkpoint.h"
#include "optim/optimizer.h"
#include "train/metrics.h"

namespace kiln::train {

struct TrainState {
    nlohmann::json json;             // see the header comment
    optim::OptimizerState optimizer;
    Scores partial;                  // training predictions of the unfinished epoch
};

// Atomic (engine/safetensors.h). `state` null: a plain deployable checkpoint.
void save_training_checkpoint(const std::string& path, const Module& model, const CheckpointInfo& info,
                              const TrainState* state);

struct LoadedCheckpoint {
    std::shared_ptr<Module> model;
    CheckpointInfo info;
    std::optional<TrainState> state;  // when the file has one
};
// Any kiln checkpoint (training or deployable). A model of another zoo name
// than `expect_model` (when not empty) is an error naming both.
LoadedCheckpoint load_training_checkpoint(const std::string& path, const std::string& expect_model = "");
// RUN_DIR -> RUN_DIR/model.safetensors (else best, else last); a file stays as it is.
std::string resolve_checkpoint(const std::string& run_dir_or_file);

}  // namespace kiln::train
