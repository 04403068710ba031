#include "optim/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace kiln::optim {

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer) {
    for (size_t g = 0; g < optimizer.param_groups().size(); ++g) base_lrs_.push_back(optimizer.lr(g));
}

void LRScheduler::apply() {
    for (size_t g = 0; g < base_lrs_.size(); ++g) optimizer_.set_lr(lr_at(step_, base_lrs_[g]), g);
}

void LRScheduler::step() {
    ++step_;
    apply();
}

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
    KILN_CHECK(step_size > 0, "StepLR: step_size ", step_size, " must be positive");
    apply();
}
double StepLR::lr_at(int64_t t, double base_lr) const { return base_lr * std::pow(gamma_, double(t / step_size_)); }

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma)
    : LRScheduler(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
    KILN_CHECK(std::is_sorted(milestones_.begin(), milestones_.end()), "MultiStepLR: milestones must be increasing");
    apply();
}
double MultiStepLR::lr_at(int64_t t, double base_lr) const {
    const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), t) - milestones_.begin();
    return base_lr * std::pow(gamma_, double(passed));
}

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma) : LRScheduler(optimizer), gamma_(gamma) {
    KILN_CHECK(gamma > 0, "ExponentialLR: gamma ", gamma, " must be positive");
    apply();
}
double ExponentialLR::lr_at(int64_t t, double base_lr) const { return base_lr * std::pow(gamma_, double(t)); }

namespace {
// eta_min + (base - eta_min) (1 + cos(pi progress)) / 2, progress in [0, 1]
double cosine_anneal(double base_lr, double eta_min, double progress) {
    return eta_min + (base_lr - eta_min) * (1 + std::cos(std::numbers::pi * progress)) / 2;
}
}  // namespace

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min)
    : LRScheduler(optimizer), T_max_(T_max), eta_min_(eta_min) {
    KILN_CHECK(T_max > 0, "CosineAnnealingLR: T_max ", T_max, " must be positive");
    apply();
}
double CosineAnnealingLR::lr_at(int64_t t, double base_lr) const {
    return cosine_anneal(base_lr, eta_min_, double(t) / double(T_max_));
}

CosineAnnealingWarmRestarts::CosineAnnealingWarmRestarts(Optimizer& optimizer, int64_t T_0, int64_t T_mult,
                                                         double eta_min)
    : LRScheduler(optimizer), T_0_(T_0), T_mult_(T_mult), eta_min_(eta_min) {
    KILN_CHECK(T_0 > 0, "CosineAnnealingWarmRestarts: T_0 ", T_0, " must be positive");
    KILN_CHECK(T_mult >= 1, "CosineAnnealingWarmRestarts: T_mult ", T_mult, " must be >= 1");
    apply();
}

double CosineAnnealingWarmRestarts::lr_at_epoch(double epoch, double base_lr) const {
    // Find the cycle: cycle n starts at T_0 (T_mult^n - 1) / (T_mult - 1) and lasts T_0 T_mult^n.
    double cycle_start = 0, cycle_length = double(T_0_);
    if (T_mult_ == 1) {
        cycle_start = std::floor(epoch / cycle_length) * cycle_length;
    } else {
        const double n = std::floor(std::log(epoch / double(T_0_) * double(T_mult_ - 1) + 1) / std::log(double(T_mult_)));
        cycle_start = double(T_0_) * (std::pow(double(T_mult_), n) - 1) / double(T_mult_ - 1);
        cycle_length = double(T_0_) * std::pow(double(T_mult_), n);
    }
    return cosine_anneal(base_lr, eta_min_, (epoch - cycle_start) / cycle_length);
}

void CosineAnnealingWarmRestarts::step_to(double epoch) {
    KILN_CHECK(epoch >= 0, "CosineAnnealingWarmRestarts: epoch ", epoch, " must be >= 0");
    for (size_t g = 0; g < base_lrs_.size(); ++g) optimizer_.set_lr(lr_at_epoch(epoch, base_lrs_[g]), g);
}

OneCycleLR::OneCycleLR(Optimizer& optimizer, double max_lr, int64_t total_steps, double pct_start, double div_factor,
                       double final_div_factor)
    : LRScheduler(optimizer), max_lr_(max_lr), total_steps_(total_steps), pct_start_(pct_start),
      div_factor_(div_factor), final_div_factor_(final_div_factor) {
    KILN_CHECK(total_steps > 1, "OneCycleLR: total_steps ", total_steps, " must be > 1");
    KILN_CHECK(pct_start > 0 && pct_start < 1, "OneCycleLR: pct_start ", pct_start, " must be in (0, 1)");
    KILN_CHECK(max_lr > 0 && div_factor > 0 && final_div_factor > 0, "OneCycleLR: max_lr, div_factor and "
               "final_div_factor must be positive");
    apply();
}

double OneCycleLR::lr_at(int64_t t, double) const {
    KILN_CHECK(t < total_steps_, "OneCycleLR: stepped ", t + 1, " times, but total_steps is ", total_steps_);
    const double initial_lr = max_lr_ / div_factor_, min_lr = initial_lr / final_div_factor_;
    const double warm_end = pct_start_ * double(total_steps_) - 1, last = double(total_steps_ - 1);
    if (double(t) <= warm_end) return cosine_anneal(max_lr_, initial_lr, 1 - double(t) / warm_end);  // rising
    return cosine_anneal(max_lr_, min_lr, (double(t) - warm_end) / (last - warm_end));                 // falling
}

LinearWarmup::LinearWarmup(Optimizer& optimizer, int64_t warmup_steps, std::unique_ptr<LRScheduler> after,
                           double start_factor)
    : LRScheduler(optimizer), warmup_steps_(warmup_steps), after_(std::move(after)), start_factor_(start_factor) {
    KILN_CHECK(warmup_steps > 0, "LinearWarmup: warmup_steps ", warmup_steps, " must be positive");
    KILN_CHECK(start_factor > 0 && start_factor <= 1, "LinearWarmup: start_factor ", start_factor,
               " must be in (0, 1]");
    apply();
}

double LinearWarmup::lr_at(int64_t t, double base_lr) const {
    if (t < warmup_steps_) return base_lr * (start_factor_ + (1 - start_factor_) * double(t) / double(warmup_steps_));
    return after_ ? after_->lr_at(t - warmup_steps_, base_lr) : base_lr;
}

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, Options options)
    : optimizer_(optimizer), options_(std::move(options)) {
    KILN_CHECK(options_.mode == "min" || options_.mode == "max", "ReduceLROnPlateau: mode \"", options_.mode,
               "\" must be min or max");
    KILN_CHECK(options_.threshold_mode == "rel" || options_.threshold_mode == "abs",
               "ReduceLROnPlateau: threshold_mode \"", options_.threshold_mode, "\" must be rel or abs");
    KILN_CHECK(options_.factor > 0 && options_.factor < 1, "ReduceLROnPlateau: factor ", options_.factor,
               " must be in (0, 1)");
    KILN_CHECK(options_.patience >= 0 && options_.cooldown >= 0, "ReduceLROnPlateau: patience and cooldown must be >= 0");
    best_ = options_.mode == "min" ? HUGE_VAL : -HUGE_VAL;
}

bool ReduceLROnPlateau::is_better(double metric) const {
    const bool relative = options_.threshold_mode == "rel";
    if (options_.mode == "min") return metric < (relative ? best_ * (1 - options_.threshold) : best_ - options_.threshold);
    return metric > (relative ? best_ * (1 + options_.threshold) : best_ + options_.threshold);
}

void ReduceLROnPlateau::step(double metric) {
    KILN_CHECK(!std::isnan(metric), "ReduceLROnPlateau: the monitored metric is NaN");
    if (is_better(metric)) {
        best_ = metric;
        bad_steps_ = 0;
    } else {
        ++bad_steps_;
    }
    if (cooldown_left_ > 0) {  // just reduced: give the new lr time before counting again
        --cooldown_left_;
        bad_steps_ = 0;
    }
    if (bad_steps_ > options_.patience) {
        for (size_t g = 0; g < optimizer_.param_groups().size(); ++g) {
            const double old_lr = optimizer_.lr(g), new_lr = std::max(old_lr * options_.factor, options_.min_lr);
            if (old_lr - new_lr > options_.eps) optimizer_.set_lr(new_lr, g);
        }
        cooldown_left_ = options_.cooldown;
        bad_steps_ = 0;
    }
}

std::map<std::string, double> ReduceLROnPlateau::state_dict() const {
    std::map<std::string, double> state{{"bad_steps", double(bad_steps_)}, {"cooldown_left", double(cooldown_left_)}};
    if (std::isfinite(best_)) state["best"] = best_;
    return state;
}

void ReduceLROnPlateau::load_state_dict(const std::map<std::string, double>& state) {
    KILN_CHECK(state.count("bad_steps") && state.count("cooldown_left"),
               "ReduceLROnPlateau: a state needs bad_steps and cooldown_left");
    bad_steps_ = int64_t(state.at("bad_steps"));
    cooldown_left_ = int64_t(state.at("cooldown_left"));
    const auto best = state.find("best");
    best_ = best != state.end() ? best->second : options_.mode == "min" ? HUGE_VAL : -HUGE_VAL;
}

}  // namespace kiln::optim
