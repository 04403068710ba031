#include "layers/checkpoint.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "engine/safetensors.h"

namespace kiln {

namespace {

using json = nlohmann::json;

const char* const kiln_keys[] = {"kiln_version", "model", "num_classes", "in_channels", "width", "dropout",
                                 "seed", "class_names", "input_size", "mean", "std", "threshold"};

// Parses metadata[key] as JSON of the type `T`, or fails naming the file and key.
template <typename T>
T field(const std::map<std::string, std::string>& metadata, const std::string& key, const std::string& path) {
    const auto it = metadata.find(key);
    KILN_CHECK(it != metadata.end(), "checkpoint: ", path, ": metadata has no \"", key,
               "\" (not a kiln checkpoint? plain weights load with read_safetensors + load_state_dict)");
    try {
        return json::parse(it->second).get<T>();
    } catch (const json::exception&) {
        fail("checkpoint: ", path, ": metadata \"", key, "\" has a malformed value \"", it->second, "\"");
    }
}

}  // namespace

std::map<std::string, std::string> checkpoint_metadata(const CheckpointInfo& info) {
    std::map<std::string, std::string> metadata = info.extra;
    metadata["kiln_version"] = json(kiln_version).dump();
    metadata["model"] = json(info.model).dump();
    metadata["num_classes"] = json(info.config.num_classes).dump();
    metadata["in_channels"] = json(info.config.in_channels).dump();
    metadata["width"] = json(info.config.width).dump();
    if (info.config.dropout) metadata["dropout"] = json(*info.config.dropout).dump();
    metadata["seed"] = json(info.config.seed).dump();
    metadata["class_names"] = json(info.class_names).dump();
    metadata["input_size"] = json(info.input_size).dump();
    metadata["mean"] = json(info.mean).dump();
    metadata["std"] = json(info.std).dump();
    if (info.threshold) metadata["threshold"] = json(*info.threshold).dump();
    return metadata;
}

void save_checkpoint(const std::string& path, const Module& model, const CheckpointInfo& info) {
    write_safetensors(path, model.state_dict(), checkpoint_metadata(info));
}

Checkpoint read_checkpoint(const std::string& path) {
    SafetensorsContents contents = read_safetensors(path);
    const auto& m = contents.metadata;
    Checkpoint checkpoint;
    CheckpointInfo& info = checkpoint.info;
    field<std::string>(m, "kiln_version", path);
    info.model = field<std::string>(m, "model", path);
    info.config.num_classes = field<int64_t>(m, "num_classes", path);
    info.config.in_channels = field<int64_t>(m, "in_channels", path);
    info.config.width = field<double>(m, "width", path);
    if (m.count("dropout")) info.config.dropout = field<double>(m, "dropout", path);
    info.config.seed = field<uint64_t>(m, "seed", path);
    info.class_names = field<std::vector<std::string>>(m, "class_names", path);
    info.input_size = field<std::array<int64_t, 2>>(m, "input_size", path);
    info.mean = field<std::vector<double>>(m, "mean", path);
    info.std = field<std::vector<double>>(m, "std", path);
    if (m.count("threshold")) info.threshold = field<double>(m, "threshold", path);
    KILN_CHECK(info.class_names.empty() || int64_t(info.class_names.size()) == info.config.num_classes, "checkpoint: ",
               path, ": ", info.class_names.size(), " class names for ", info.config.num_classes, " classes");
    for (const auto& [key, value] : m)
        if (std::find(std::begin(kiln_keys), std::end(kiln_keys), key) == std::end(kiln_keys)) info.extra[key] = value;
    checkpoint.state = std::move(contents.tensors);
    return checkpoint;
}

std::shared_ptr<Module> load_model(const std::string& path, CheckpointInfo* info) {
    Checkpoint checkpoint = read_checkpoint(path);
    auto model = models::make_model(checkpoint.info.model, checkpoint.info.config);
    try {
        model->load_state_dict(checkpoint.state);
    } catch (const Error& error) {
        fail("checkpoint: ", path, ": ", std::string(error.what()).substr(std::string("kiln::Error: ").size()));
    }
    if (info) *info = std::move(checkpoint.info);
    return model;
}

}  // namespace kiln
