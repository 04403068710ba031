#pragma once
// kiln checkpoints: a zoo model's state dict in a safetensors file, with what
// is needed to rebuild and use it in the header's "__metadata__" (all values
// strings; lists as JSON):
//   kiln_version  model  num_classes  in_channels  width  dropout  seed
//   class_names ["good", "crack"]  input_size "224x224"
//   mean [0.485, ...]  std [0.229, ...]  threshold "0.5" (only when set)
// Other metadata keys are kept as they are (`extra`).
#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "layers/models/models.h"

namespace kiln {

// The version written into checkpoints (kiln has no release yet).
constexpr const char* kiln_version = "0.1.0";

struct CheckpointInfo {
    std::string model;                        // zoo name, e.g. "resnet18"
    models::ModelConfig config;
    std::vector<std::string> class_names;     // index -> name; empty when unknown
    std::array<int64_t, 2> input_size{224, 224};  // height, width the model was trained at
    std::vector<double> mean, std;            // per-channel normalisation; empty when none
    std::optional<double> threshold;          // decision threshold on the defect probability
    std::map<std::string, std::string> extra; // any other metadata
};

struct Checkpoint {
    CheckpointInfo info;
    StateDict state;
};

// Writes model.state_dict() and `info` atomically (engine/safetensors.h).
// The "__metadata__" entries save_checkpoint writes for `info` (each value
// JSON-encoded), for writers that add tensors or keys of their own.
std::map<std::string, std::string> checkpoint_metadata(const CheckpointInfo& info);

void save_checkpoint(const std::string& path, const Module& model, const CheckpointInfo& info);
// Reads and checks a checkpoint: a missing or malformed kiln key is an error
// naming the file and the key.
Checkpoint read_checkpoint(const std::string& path);
// Rebuilds the zoo model a checkpoint names and loads its weights (strict).
std::shared_ptr<Module> load_model(const std::string& path, CheckpointInfo* info = nullptr);

}  // namespace kiln
