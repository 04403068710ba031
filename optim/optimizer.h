#pragma once
// Optimizers with PyTorch's parameter conventions and defaults.
//
// An optimizer holds parameter groups: a list of tensors and their options
// (lr, weight_decay, ...), so BN and bias parameters can go without weight
// decay. Options are named like PyTorch's (beta1 and beta2 for its betas;
// flags are 0 or 1); a group's missing options take the optimizer's
// defaults, and an unknown key is an error. step() applies the update rule of
// kernels/common/optim.h to every parameter that has a gradient.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace kiln::optim {

using Options = std::map<std::string, double>;

struct ParamGroup {
    std::vector<Tensor> params;
    Options options;  // overrides the optimizer's defaults for this group
};

// Everything needed to resume: per-parameter buffers and step counts, and
// every group's options. Keys: "state.<i>.<buffer>", "state.<i>.step",
// "param_groups.<g>.<option>", i counting parameters across groups in order.
struct OptimizerState {
    std::map<std::string, Tensor> tensors;
    std::map<std::string, double> scalars;
};

class Optimizer {
public:
    virtual ~Optimizer() = default;

    // One update of every parameter that has a gradient (under no-grad).
    void step();
    // Drops every parameter's gradient (PyTorch's set_to_none=True).
    void zero_grad();

    const std::string& name() const { return name_; }
    std::vector<ParamGroup>& param_groups() { return groups_; }
    const std::vector<ParamGroup>& param_groups() const { return groups_; }
    double lr(size_t group = 0) const;
    void set_lr(double lr, size_t group);

    OptimizerState state_dict() const;
    // Restores a state_dict of an optimizer of the same kind over parameters
    // of the same shapes; anything missing or mismatched is an error.
    void load_state_dict(const OptimizerState& state);

protected:
    // `builtin` lists every option the optimizer knows, with its default;
    // `overrides` changes defaults for all groups. Derived constructors call
    // validate_groups() once they are complete.
    Optimizer(std::string name, std::vector<ParamGroup> groups, Options builtin, const Options& overrides);
    void validate_groups() const;

    struct ParamState {
        int64_t step = 0;
        std::map<std::string, Tensor> buffers;
    };
    // The buffer `buffer_name` of a parameter's state, zeros like `param` at first use.
    static Tensor& buffer(ParamState& state, const std::string& buffer_name, const Tensor& param);
    // Updates one parameter in place; state.step has already been incremented.
    virtual void update(const Options& options, const Tensor& param, const Tensor& grad, ParamState& state) = 0;
    // Range checks of one group's options beyond lr >= 0.
    virtual void check_options(const Options& options) const = 0;
    // value of options[key] in [lo, hi] (or [lo, hi)), else an error naming the optimizer and key.
    void check_range(const Options& options, const char* key, double lo, double hi, bool hi_inclusive) const;

private:
    std::string name_;
    std::vector<ParamGroup> groups_;
    std::vector<ParamState> states_;  // one per parameter, in group order
};

// SGD: lr (required, default 0.001 here as PyTorch 2's), momentum 0, dampening 0, weight_decay 0, nesterov 0.
class SGD : public Optimizer {
public:
    SGD(std::vector<ParamGroup> groups, Options defaults = {});
    SGD(std::vector<Tensor> params, Options defaults = {}) : SGD({{std::move(params), {}}}, std::move(defaults)) {}

protected:
    void update(const Options& options, const Tensor& param, const Tensor& grad, ParamState& state) override;
    void check_options(const Options& options) const override;
};

// AdaGrad: lr 0.01, lr_decay 0, weight_decay 0, initial_accumulator_value 0, eps 1e-10.
class Adagrad : public Optimizer {
public:
    Adagrad(std::vector<ParamGroup> groups, Options defaults = {});
    Adagrad(std::vector<Tensor> params, Options defaults = {}) : Adagrad({{std::move(params), {}}}, std::move(defaults)) {}

protected:
    void update(const Options& options, const Tensor& param, const Tensor& grad, ParamState& state) override;
    void check_options(const Options& options) const override;
};

// RMSProp: lr 0.01, alpha 0.99, eps 1e-8, weight_decay 0, momentum 0, centered 0.
class RMSprop : public Optimizer {
public:
    RMSprop(std::vector<ParamGroup> groups, Options defaults = {});
    RMSprop(std::vector<Tensor> params, Options defaults = {}) : RMSprop({{std::move(params), {}}}, std::move(defaults)) {}

protected:
    void update(const Options& options, const Tensor& param, const Tensor& grad, ParamState& state) override;
    void check_options(const Options& options) const override;
};

// Adam: lr 0.001, beta1 0.9, beta2 0.999, eps 1e-8, weight_decay 0 (L2, through the moments), amsgrad 0.
// AdamW: the same with weight_decay 0.01, decoupled (applied to w directly).
class Adam : public Optimizer {
public:
    Adam(std::vector<ParamGroup> groups, Options defaults = {});
    Adam(std::vector<Tensor> params, Options defaults = {}) : Adam({{std::move(params), {}}}, std::move(defaults)) {}

protected:
    Adam(std::string name, std::vector<ParamGroup> groups, Options defaults, bool decoupled);
    void update(const Options& options, const Tensor& param, const Tensor& grad, ParamState& state) override;
    void check_options(const Options& options) const override;

private:
    bool decoupled_weight_decay_;
};

class AdamW : public Adam {
public:
    AdamW(std::vector<ParamGroup> groups, Options defaults = {});
    AdamW(std::vector<Tensor> params, Options defaults = {}) : AdamW({{std::move(params), {}}}, std::move(defaults)) {}
};

// Lion: lr 1e-4, beta1 0.9, beta2 0.99, weight_decay 0 (decoupled).
class Lion : public Optimizer {
public:
    Lion(std::vector<ParamGroup> groups, Options defaults = {});
    Lion(std::vector<Tensor> params, Options defaults = {}) : Lion({{std::move(params), {}}}, std::move(defaults)) {}

protected:
    void update(const Options& options, const Tensor& param, const Tensor& grad, ParamState& state) override;
    void check_options(const Options& options) const override;
};

// By name: sgd, adagrad, rmsprop, adam, adamw, lion.
std::unique_ptr<Optimizer> make_optimizer(const std::string& name, std::vector<ParamGroup> groups,
                                          Options defaults = {});

}  // namespace kiln::optim
