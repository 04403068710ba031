#include "train/checkpoint_state.h"

#include <filesystem>

#include "engine/safetensors.h"

namespace kiln::train {

using json = nlohmann::json;

void save_training_checkpoint(const std::string& path, const Module& model, const CheckpointInfo& info,
                              const TrainState* state) {
    std::map<std::string, std::string> metadata = checkpoint_metadata(info);
    std::map<std::string, Tensor> tensors = model.state_dict();
    metadata.erase("train_state");
    if (state) {
        json s = state->json;
        s["optimizer_scalars"] = state->optimizer.scalars;
        metadata["train_state"] = s.dump();
        for (const auto& [key, tensor] : state->optimizer.tensors) tensors["optimizer." + key] = tensor.to(Device::cpu());
        if (state->partial.size() > 0) {
            const int64_t n = int64_t(state->partial.size());
            std::vector<double> probs(state->partial.probs.begin(), state->partial.probs.end());
            tensors["trainer.partial_probs"] = Tensor::from_vector(probs, {n, state->partial.num_classes});
            tensors["trainer.partial_labels"] = Tensor::from_int64(state->partial.labels, {n});
        }
    }
    write_safetensors(path, tensors, metadata);
}

LoadedCheckpoint load_training_checkpoint(const std::string& path, const std::string& expect_model) {
    KILN_CHECK(std::filesystem::is_regular_file(path), "checkpoint: ", path, ": no such file");
    Checkpoint checkpoint = read_checkpoint(path);
    LoadedCheckpoint out;
    out.info = checkpoint.info;
    KILN_CHECK(expect_model.empty() || out.info.model == expect_model, "checkpoint: ", path, " is for model \"",
               out.info.model, "\", not \"", expect_model, "\"");
    StateDict model_state;
    TrainState state;
    Tensor partial_probs, partial_labels;
    for (auto& [key, tensor] : checkpoint.state) {
        if (key.rfind("optimizer.", 0) == 0) state.optimizer.tensors[key.substr(10)] = tensor;
        else if (key == "trainer.partial_probs") partial_probs = tensor;
        else if (key == "trainer.partial_labels") partial_labels = tensor;
        else model_state[key] = tensor;
    }
    out.model = models::make_model(out.info.model, out.info.config);
    try {
        out.model->load_state_dict(model_state);
    } catch (const Error& error) {
        fail("checkpoint: ", path, ": does not fit model \"", out.info.model, "\": ",
             std::string(error.what()).substr(std::string("kiln::Error: ").size()));
    }
    const auto it = out.info.extra.find("train_state");
    if (it != out.info.extra.end()) {
        try {
            state.json = json::parse(it->second);
            state.optimizer.scalars = state.json.at("optimizer_scalars").get<std::map<std::string, double>>();
        } catch (const json::exception& error) {
            fail("checkpoint: ", path, ": malformed train_state (", error.what(), ")");
        }
        if (partial_probs.defined()) {
            state.partial.num_classes = partial_probs.shape()[1];
            for (double v : partial_probs.to_vector()) state.partial.probs.push_back(float(v));
            for (double v : partial_labels.to_vector()) state.partial.labels.push_back(int64_t(v));
        }
        out.state = std::move(state);
        out.info.extra.erase("train_state");
    }
    return out;
}

std::string resolve_checkpoint(const std::string& path) {
    namespace fs = std::filesystem;
    KILN_CHECK(fs::exists(path), "checkpoint: ", path, ": no such file or run folder");
    if (!fs::is_directory(path)) return path;
    for (const char* name : {"model.safetensors", "best.safetensors", "last.safetensors"})
        if (fs::is_regular_file(fs::path(path) / name)) return (fs::path(path) / name).string();
    fail("checkpoint: ", path, ": run folder holds no model.safetensors, best.safetensors or last.safetensors");
}

}  // namespace kiln::train
