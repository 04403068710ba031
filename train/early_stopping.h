#pragma once
// Early stopping on a monitored validation metric, with patience and min-delta.
//
// A metric improves when it beats the best so far by more than min_delta
// (mode "min": value < best - min_delta; "max": value > best + min_delta).
// After `patience` epochs in a row without improvement, should_stop() is true;
// the trainer then restores the weights of best_epoch (restore-best). A NaN
// value never improves (the miss rate of a set without defects).
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace kiln::train {

class EarlyStopping {
public:
    EarlyStopping() = default;
    // mode "min" or "max"; patience 0 disables stopping (the best is still tracked).
    EarlyStopping(std::string mode, int64_t patience, double min_delta);
    // "min" for loss, fnr, fpr; "max" for accuracy, macro_f1, roc_auc.
    static std::string mode_for(const std::string& metric);
    // Records epoch's value; true when it is the new best.
    bool update(double value, int64_t epoch);
    bool should_stop() const { return patience_ > 0 && bad_epochs_ >= patience_; }
    double best() const { return best_; }
    int64_t best_epoch() const { return best_epoch_; }
    int64_t bad_epochs() const { return bad_epochs_; }
    nlohmann::json state() const;
    void load_state(const nlohmann::json& state);

private:
    std::string mode_ = "min";
    int64_t patience_ = 0;
    double min_delta_ = 0;
    double best_ = 0;
    bool has_best_ = false;
    int64_t best_epoch_ = -1, bad_epochs_ = 0;
};

}  // namespace kiln::train
