#include "train/config.h"

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

}  // namespace kiln::train
