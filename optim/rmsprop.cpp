// RMSProp, plain or centered, with optional momentum. Rule: kernels/common/optim.h (rmsprop_update).
#include "engine/backend.h"
#include "optim/optimizer.h"

namespace kiln::optim {

RMSprop::RMSprop(std::vector<ParamGroup> groups, Options defaults)
    : Optimizer("RMSprop", std::move(groups),
                {{"lr", 1e-2}, {"alpha", 0.99}, {"eps", 1e-8}, {"weight_decay", 0}, {"momentum", 0}, {"centered", 0}},
                defaults) {
    validate_groups();
}

void RMSprop::check_options(const Options& o) const {
    check_range(o, "alpha", 0, 1, true);
    check_range(o, "eps", 0, HUGE_VAL, true);
    check_range(o, "weight_decay", 0, HUGE_VAL, true);
    check_range(o, "momentum", 0, HUGE_VAL, true);
}

void RMSprop::update(const Options& o, const Tensor& param, const Tensor& grad, ParamState& state) {
    const math::RmspropHyper hyper{o.at("lr"),           o.at("alpha"),    o.at("eps"),
                                   o.at("weight_decay"), o.at("momentum"), o.at("centered") != 0};
    dispatch_floating(param.dtype(), "RMSprop", [&]<typename T>() {
        T* square_avg = buffer(state, "square_avg", param).data<T>();
        T* grad_avg = hyper.centered ? buffer(state, "grad_avg", param).data<T>() : nullptr;
        T* momentum_buffer = hyper.momentum > 0 ? buffer(state, "momentum_buffer", param).data<T>() : nullptr;
        KILN_ON_BACKEND(param.device(), rmsprop_step, param.data<T>(), grad.data<T>(), square_avg, grad_avg, momentum_buffer, param.numel(), hyper);
    });
}

}  // namespace kiln::optim
