// Lion: the sign of an interpolated momentum, decoupled weight decay. Rule: kernels/common/optim.h (lion_update).
#include "engine/backend.h"
#include "optim/optimizer.h"

namespace kiln::optim {

Lion::Lion(std::vector<ParamGroup> groups, Options defaults)
    : Optimizer("Lion", std::move(groups), {{"lr", 1e-4}, {"beta1", 0.9}, {"beta2", 0.99}, {"weight_decay", 0}},
                defaults) {
    validate_groups();
}

void Lion::check_options(const Options& o) const {
    check_range(o, "beta1", 0, 1, false);
    check_range(o, "beta2", 0, 1, false);
    check_range(o, "weight_decay", 0, HUGE_VAL, true);
}

void Lion::update(const Options& o, const Tensor& param, const Tensor& grad, ParamState& state) {
    const math::LionHyper hyper{o.at("lr"), o.at("beta1"), o.at("beta2"), o.at("weight_decay")};
    dispatch_floating(param.dtype(), "Lion", [&]<typename T>() {
        KILN_ON_BACKEND(param.device(), lion_step, param.data<T>(), grad.data<T>(), buffer(state, "exp_avg", param).data<T>(), param.numel(), hyper);
    });
}

}  // namespace kiln::optim
