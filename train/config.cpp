#include "train/config.h"

#include <CLI/CLI.hpp>
#include <fstream>
#include <sstream>

#include "engine/error.h"

namespace kiln::train {

#define KILN_TRAIN_FIELDS(X)                                                                                         \
    X("data", data) X("out", out) X("size", size) X("grayscale", grayscale) X("binary", binary) X("split", split)       \
    X("limit-per-class", limit_per_class) X("augment", augment) X("defect-augment", defect_augment)                     \
    X("sampler", sampler) X("workers", workers) X("model", model) X("width", width) X("dropout", dropout)               \
    X("pretrained", pretrained) X("epochs", epochs) X("batch-size", batch_size) X("effective-batch", effective_batch)   \
    X("optimizer", optimizer) X("lr", lr) X("weight-decay", weight_decay) X("schedule", schedule)                       \
    X("restart-period", restart_period) X("restart-mult", restart_mult) X("min-lr", min_lr) X("loss", loss)             \
    X("focal-gamma", focal_gamma) X("class-weights", class_weights) X("label-smoothing", label_smoothing)               \
    X("grad-clip", grad_clip) X("accumulate", accumulate) X("monitor", monitor) X("patience", patience)                 \
    X("min-delta", min_delta) X("restore-best", restore_best) X("target-fnr", target_fnr)                               \
    X("stop-accuracy", stop_accuracy) X("device", device) X("seed", seed) X("threads", threads) X("report", report)

nlohmann::json to_json(const TrainConfig& c) {
    nlohmann::json j;
#define KILN_TO(key, field) j[key] = c.field;
    KILN_TRAIN_FIELDS(KILN_TO)
#undef KILN_TO
    return j;
}

TrainConfig config_from_json(const nlohmann::json& j) {
    KILN_CHECK(j.is_object(), "config: expected a JSON object");
    TrainConfig c;
    for (const auto& [key, value] : j.items()) {
        bool known = false;
        try {
#define KILN_FROM(k, field) \
    if (key == k) value.get_to(c.field), known = true;
            KILN_TRAIN_FIELDS(KILN_FROM)
#undef KILN_FROM
        } catch (const nlohmann::json::exception&) {
            fail("config: \"", key, "\" has a value of the wrong type: ", value.dump());
        }
        KILN_CHECK(known, "config: unknown key \"", key, "\"");
    }
    return c;
}

namespace {

// A TOML value (as CLI11 reads it: one string) as the JSON type of its field.
nlohmann::json toml_value(const std::string& key, const std::string& text, const std::string& origin) {
    const TrainConfig defaults;
    nlohmann::json j;
    auto convert = [&](const auto& field) {
        using T = std::decay_t<decltype(field)>;
        if constexpr (std::is_same_v<T, std::string>) {
            j = text;
        } else if constexpr (std::is_same_v<T, bool>) {
            KILN_CHECK(text == "true" || text == "false", origin, ": \"", key, "\" must be true or false, got ", text);
            j = text == "true";
        } else {
            T value{};
            std::istringstream in(text);
            in >> value;
            KILN_CHECK(!in.fail() && in.peek() == std::char_traits<char>::eof(), origin, ": \"", key,
                       "\" must be a number, got ", text);
            j = value;
        }
    };
    bool known = false;
#define KILN_CONVERT(k, field) \
    if (key == k) convert(defaults.field), known = true;
    KILN_TRAIN_FIELDS(KILN_CONVERT)
#undef KILN_CONVERT
    KILN_CHECK(known, origin, ": unknown key \"", key, "\"");
    return j;
}

}  // namespace

nlohmann::json parse_config_text(const std::string& text, const std::string& origin) {
    const size_t first = text.find_first_not_of(" \t\r\n");
    nlohmann::json j = nlohmann::json::object();
    if (first != std::string::npos && text[first] == '{') {
        try {
            j = nlohmann::json::parse(text);
        } catch (const nlohmann::json::exception& error) {
            fail(origin, ": not valid JSON (", error.what(), ")");
        }
    } else {
        std::istringstream in(text);
        std::vector<CLI::ConfigItem> items;
        try {
            items = CLI::ConfigTOML().from_config(in);
        } catch (const std::exception& error) {
            fail(origin, ": not valid TOML (", error.what(), ")");
        }
        for (const CLI::ConfigItem& item : items) {
            if (item.name == "++" || item.name == "--") continue;  // section markers
            KILN_CHECK(item.parents.empty(), origin, ": sections are not supported (key \"", item.fullname(), "\")");
            KILN_CHECK(item.inputs.size() == 1, origin, ": \"", item.name, "\" must have one value, got ",
                       item.inputs.size());
            j[item.name] = toml_value(item.name, item.inputs[0], origin);
        }
    }
    try {
        (void)config_from_json(j);  // unknown keys and wrong types, named
    } catch (const Error& error) {
        fail(origin, ": ", std::string(error.what()).substr(std::string("kiln::Error: config: ").size()));
    }
    return j;
}

nlohmann::json read_config_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    KILN_CHECK(in, "--config ", path, ": cannot open the file");
    std::stringstream buffer;
    buffer << in.rdbuf();
    return parse_config_text(buffer.str(), "--config " + path);
}

}  // namespace kiln::train
