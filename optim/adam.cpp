// Adam (L2 weight decay through the moments) and AdamW (decoupled weight
// decay), with optional AMSGrad. Rule: kernels/common/optim.h (adam_update).
#include <cmath>

#include "engine/backend.h"
#include "optim/optimizer.h"

namespace kiln::optim {

namespace {
Options adam_defaults(double weight_decay) {
    return {{"lr", 1e-3}, {"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-8}, {"weight_decay", weight_decay}, {"amsgrad", 0}};
}
}  // namespace

Adam::Adam(std::string name, std::vector<ParamGroup> groups, Options defaults, bool decoupled)
    : Optimizer(std::move(name), std::move(groups), adam_defaults(decoupled ? 1e-2 : 0), defaults),
      decoupled_weight_decay_(decoupled) {
    validate_groups();
}

Adam::Adam(std::vector<ParamGroup> groups, Options defaults) : Adam("Adam", std::move(groups), std::move(defaults), false) {}

AdamW::AdamW(std::vector<ParamGroup> groups, Options defaults)
    : Adam("AdamW", std::move(groups), std::move(defaults), true) {}

void Adam::check_options(const Options& o) const {
    check_range(o, "beta1", 0, 1, false);
    check_range(o, "beta2", 0, 1, false);
    check_range(o, "eps", 0, HUGE_VAL, true);
    check_range(o, "weight_decay", 0, HUGE_VAL, true);
}

void Adam::update(const Options& o, const Tensor& param, const Tensor& grad, ParamState& state) {
    const double t = double(state.step);
    const math::AdamHyper hyper{o.at("lr"),
                                o.at("beta1"),
                                o.at("beta2"),
                                o.at("eps"),
                                o.at("weight_decay"),
                                decoupled_weight_decay_,
                                o.at("amsgrad") != 0,
                                1 - std::pow(o.at("beta1"), t),
                                1 - std::pow(o.at("beta2"), t)};
    dispatch_floating(param.dtype(), name().c_str(), [&]<typename T>() {
        T* exp_avg = buffer(state, "exp_avg", param).data<T>();
        T* exp_avg_sq = buffer(state, "exp_avg_sq", param).data<T>();
        T* max_exp_avg_sq = hyper.amsgrad ? buffer(state, "max_exp_avg_sq", param).data<T>() : nullptr;
        KILN_ON_BACKEND(param.device(), adam_step, param.data<T>(), grad.data<T>(), exp_avg, exp_avg_sq, max_exp_avg_sq, param.numel(), hyper);
    });
}

}  // namespace kiln::optim
