#include "train/early_stopping.h"

#include <cmath>

#include "engine/error.h"

namespace kiln::train {

EarlyStopping::EarlyStopping(std::string mode, int64_t patience, double min_delta)
    : mode_(std::move(mode)), patience_(patience), min_delta_(min_delta) {
    KILN_CHECK(mode_ == "min" || mode_ == "max", "early stopping: mode must be min or max, got \"", mode_, "\"");
    KILN_CHECK(patience_ >= 0, "early stopping: patience must be >= 0, got ", patience_);
    KILN_CHECK(min_delta_ >= 0, "early stopping: min_delta must be >= 0, got ", min_delta_);
}

std::string EarlyStopping::mode_for(const std::string& metric) {
    if (metric == "loss" || metric == "fnr" || metric == "fpr") return "min";
    if (metric == "accuracy" || metric == "macro_f1" || metric == "roc_auc") return "max";
    fail("--monitor: unknown metric \"", metric, "\" (known: loss, accuracy, macro_f1, roc_auc, fnr, fpr)");
}

bool EarlyStopping::update(double value, int64_t epoch) {
    bool better = false;
    if (std::isfinite(value))
        better = !has_best_ || (mode_ == "min" ? value < best_ - min_delta_ : value > best_ + min_delta_);
    if (better) {
        best_ = value, has_best_ = true, best_epoch_ = epoch, bad_epochs_ = 0;
    } else {
        ++bad_epochs_;
    }
    return better;
}

nlohmann::json EarlyStopping::state() const {
    return {{"mode", mode_}, {"patience", patience_}, {"min_delta", min_delta_}, {"best", has_best_ ? nlohmann::json(best_) : nlohmann::json(nullptr)},
            {"best_epoch", best_epoch_}, {"bad_epochs", bad_epochs_}};
}

void EarlyStopping::load_state(const nlohmann::json& s) {
    mode_ = s.at("mode").get<std::string>();
    patience_ = s.at("patience").get<int64_t>();
    min_delta_ = s.at("min_delta").get<double>();
    has_best_ = !s.at("best").is_null();
    best_ = has_best_ ? s.at("best").get<double>() : 0.0;
    best_epoch_ = s.at("best_epoch").get<int64_t>();
    bad_epochs_ = s.at("bad_epochs").get<int64_t>();
}

}  // namespace kiln::train
