#pragma once
// Learning-rate schedules, as in torch.optim.lr_scheduler. A schedule is a
// closed-form function lr_at(t, base_lr) of the step count t; step() advances
// t by one and writes the new lr into every parameter group of the optimizer.
// Whether a step is an epoch or a batch is the caller's choice (seed 003 steps
// cosine-with-restarts per batch). Creating a schedule sets lr_at(0).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "optim/optimizer.h"

namespace kiln::optim {

class LRScheduler {
public:
    explicit LRScheduler(Optimizer& optimizer);
    virtual ~LRScheduler() = default;
    void step();
    int64_t steps_taken() const { return step_; }
    double lr(size_t group = 0) const { return optimizer_.lr(group); }
    // The learning rate after t steps, for a group whose initial lr is base_lr.
    virtual double lr_at(int64_t t, double base_lr) const = 0;

protected:
    // Sets every group's lr to lr_at(step_). Derived constructors call it once.
    void apply();
    Optimizer& optimizer_;
    std::vector<double> base_lrs_;
    int64_t step_ = 0;
};

// lr = base * gamma^floor(t / step_size)
class StepLR : public LRScheduler {
public:
    StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);
    double lr_at(int64_t t, double base_lr) const override;

private:
    int64_t step_size_;
    double gamma_;
};

// lr = base * gamma^(number of milestones <= t)
class MultiStepLR : public LRScheduler {
public:
    MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma = 0.1);
    double lr_at(int64_t t, double base_lr) const override;

private:
    std::vector<int64_t> milestones_;
    double gamma_;
};

// lr = base * gamma^t
class ExponentialLR : public LRScheduler {
public:
    ExponentialLR(Optimizer& optimizer, double gamma);
    double lr_at(int64_t t, double base_lr) const override;

private:
    double gamma_;
};

// lr = eta_min + (base - eta_min) (1 + cos(pi t / T_max)) / 2
class CosineAnnealingLR : public LRScheduler {
public:
    CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min = 0);
    double lr_at(int64_t t, double base_lr) const override;

private:
    int64_t T_max_;
    double eta_min_;
};

// SGDR (Loshchilov & Hutter 2017): cosine from base to eta_min over cycles of
// T_0, T_0 T_mult, T_0 T_mult^2, ... steps, restarting at base each time.
// step_to(epoch) accepts a fractional epoch (epoch + batch / batches), as
// PyTorch's step(epoch) does.
class CosineAnnealingWarmRestarts : public LRScheduler {
public:
    CosineAnnealingWarmRestarts(Optimizer& optimizer, int64_t T_0, int64_t T_mult = 1, double eta_min = 0);
    double lr_at(int64_t t, double base_lr) const override { return lr_at_epoch(double(t), base_lr); }
    double lr_at_epoch(double epoch, double base_lr) const;
    void step_to(double epoch);

private:
    int64_t T_0_, T_mult_;
    double eta_min_;
};

// Smith's one-cycle policy (PyTorch's OneCycleLR, cosine annealing, two phases):
// from max_lr / div_factor up to max_lr over the first pct_start of the steps,
// then down to max_lr / (div_factor * final_div_factor). The lr only; momentum
// is not cycled. Stepping past total_steps is an error.
class OneCycleLR : public LRScheduler {
public:
    OneCycleLR(Optimizer& optimizer, double max_lr, int64_t total_steps, double pct_start = 0.3,
               double div_factor = 25, double final_div_factor = 1e4);
    double lr_at(int64_t t, double base_lr) const override;

private:
    double max_lr_;
    int64_t total_steps_;
    double pct_start_, div_factor_, final_div_factor_;
};

// Linear warm-up, then another schedule (which sees t - warmup_steps):
//   t < warmup: lr = base (start_factor + (1 - start_factor) t / warmup_steps)
class LinearWarmup : public LRScheduler {
public:
    LinearWarmup(Optimizer& optimizer, int64_t warmup_steps, std::unique_ptr<LRScheduler> after = nullptr,
                 double start_factor = 1.0 / 3);
    double lr_at(int64_t t, double base_lr) const override;

private:
    int64_t warmup_steps_;
    std::unique_ptr<LRScheduler> after_;
    double start_factor_;
};

// Reduce the lr by `factor` when a monitored metric stops improving for more
// than `patience` steps (PyTorch's ReduceLROnPlateau). mode "min" or "max";
// threshold_mode "rel" (better than best * (1 -/+ threshold)) or "abs".
class ReduceLROnPlateau {
public:
    struct Options {
        std::string mode = "min";
        double factor = 0.1;
        int64_t patience = 10;
        double threshold = 1e-4;
        std::string threshold_mode = "rel";
        int64_t cooldown = 0;
        double min_lr = 0;
        double eps = 1e-8;  // changes smaller than this are ignored
    };
    ReduceLROnPlateau(Optimizer& optimizer, Options options);
    explicit ReduceLROnPlateau(Optimizer& optimizer) : ReduceLROnPlateau(optimizer, Options{}) {}
    void step(double metric);
    double best() const { return best_; }
    // Its counters, for a checkpoint: "bad_steps", "cooldown_left", and
    // "best" once a metric was seen (the starting +-inf has no JSON form).
    std::map<std::string, double> state_dict() const;
    void load_state_dict(const std::map<std::string, double>& state);

private:
    bool is_better(double metric) const;
    Optimizer& optimizer_;
    Options options_;
    double best_;
    int64_t bad_steps_ = 0, cooldown_left_ = 0;
};

}  // namespace kiln::optim
