#include "train/config.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <type_traits>
#include <vector>

#include "engine/error.h"
#include "engine/utf8.h"
#include "train/early_stopping.h"

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

void check_config(const TrainConfig& c) {
    // Text goes into config.json and every checkpoint (JSON: UTF-8 only).
    const auto utf8 = [](const char* key, const auto& value) {
        if constexpr (std::is_same_v<std::decay_t<decltype(value)>, std::string>)
            KILN_CHECK(is_valid_utf8(value), std::string_view(key) == "data" ? "" : "--", key, ": \"", value,
                       "\" is not valid UTF-8 (the run's config.json could not hold it); rename the file or folder");
    };
#define KILN_UTF8(key, field) utf8(key, c.field);
    KILN_TRAIN_FIELDS(KILN_UTF8)
#undef KILN_UTF8
    for (const auto& [flag, value] : {std::pair{"--width", c.width}, {"--dropout", c.dropout}, {"--lr", c.lr},
                                      {"--weight-decay", c.weight_decay}, {"--min-lr", c.min_lr},
                                      {"--focal-gamma", c.focal_gamma}, {"--label-smoothing", c.label_smoothing},
                                      {"--grad-clip", c.grad_clip}, {"--min-delta", c.min_delta},
                                      {"--target-fnr", c.target_fnr}, {"--stop-accuracy", c.stop_accuracy}})
        KILN_CHECK(std::isfinite(value), flag, " must be a finite number, got ", value);
    KILN_CHECK(c.epochs >= 1 && c.epochs <= 1000000, "--epochs must be in [1, 1000000], got ", c.epochs);
    KILN_CHECK(c.size >= 8 && c.size <= 4096, "--size must be in [8, 4096], got ", c.size);
    KILN_CHECK(c.width > 0, "--width must be > 0, got ", c.width);
    KILN_CHECK(c.lr > 0, "--lr must be > 0, got ", c.lr);
    KILN_CHECK(c.accumulate >= 1 && c.accumulate <= 1000000, "--accumulate must be in [1, 1000000], got ", c.accumulate);
    KILN_CHECK(c.loss == "ce" || c.loss == "focal", "--loss must be ce or focal, got \"", c.loss, "\"");
    KILN_CHECK(c.label_smoothing >= 0 && c.label_smoothing < 1, "--label-smoothing must be in [0, 1), got ", c.label_smoothing);
    KILN_CHECK(c.grad_clip >= 0, "--grad-clip must be >= 0, got ", c.grad_clip);
    const std::vector<std::string> schedules{"none", "cosine", "cosine_restarts", "step", "plateau", "onecycle"};
    KILN_CHECK(std::find(schedules.begin(), schedules.end(), c.schedule) != schedules.end(), "--schedule: unknown \"",
               c.schedule, "\" (none, cosine, cosine_restarts, step, plateau, onecycle)");
    KILN_CHECK(c.restart_period >= 1 && c.restart_mult >= 1 && c.restart_period <= 1000000 && c.restart_mult <= 1000000,
               "--restart-period and --restart-mult must be in [1, 1000000]");
    EarlyStopping::mode_for(c.monitor);
    KILN_CHECK(c.patience >= 0 && c.min_delta >= 0, "--patience and --min-delta must be >= 0");
    // At most 6 digits: std::stoll of a longer string could overflow (and throw).
    const bool digits = !c.batch_size.empty() && c.batch_size.size() <= 6 &&
                        std::all_of(c.batch_size.begin(), c.batch_size.end(), [](char d) { return d >= '0' && d <= '9'; });
    KILN_CHECK(c.batch_size == "auto" || (digits && std::stoll(c.batch_size) >= 1),
               "--batch-size must be a number in [1, 999999] or auto, got \"", c.batch_size, "\"");
    KILN_CHECK(c.effective_batch >= 0 && c.effective_batch <= 1000000, "--effective-batch must be in [0, 1000000], got ",
               c.effective_batch);
    KILN_CHECK(c.limit_per_class >= 0, "--limit-per-class must be >= 0, got ", c.limit_per_class);
    KILN_CHECK(c.workers >= 0 && c.workers <= 256, "--workers must be in [0, 256], got ", c.workers);
    KILN_CHECK(c.threads >= 0 && c.threads <= 4096, "--threads must be in [0, 4096] (0: all cores), got ", c.threads);
}

}  // namespace kiln::train
