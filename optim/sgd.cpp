// SGD with momentum, dampening, Nesterov and weight decay. Rule: kernels/common/optim.h (sgd_update).
#include "engine/backend.h"
#include "optim/optimizer.h"

namespace kiln::optim {

SGD::SGD(std::vector<ParamGroup> groups, Options defaults)
    : Optimizer("SGD", std::move(groups),
                {{"lr", 1e-3}, {"momentum", 0}, {"dampening", 0}, {"weight_decay", 0}, {"nesterov", 0}}, defaults) {
    validate_groups();
}

void SGD::check_options(const Options& o) const {
    check_range(o, "momentum", 0, HUGE_VAL, true);
    check_range(o, "dampening", 0, 1, true);
    check_range(o, "weight_decay", 0, HUGE_VAL, true);
    KILN_CHECK(o.at("nesterov") == 0 || (o.at("momentum") > 0 && o.at("dampening") == 0),
               "SGD: Nesterov momentum needs momentum > 0 and dampening = 0");
}

void SGD::update(const Options& o, const Tensor& param, const Tensor& grad, ParamState& state) {
    const math::SgdHyper hyper{o.at("lr"), o.at("momentum"), o.at("dampening"), o.at("weight_decay"),
                               o.at("nesterov") != 0, state.step == 1};
    dispatch_floating(param.dtype(), "SGD", [&]<typename T>() {
        T* momentum_buffer = hyper.momentum != 0 ? buffer(state, "momentum_buffer", param).data<T>() : nullptr;
        KILN_ON_BACKEND(param.device(), sgd_step, param.data<T>(), grad.data<T>(), momentum_buffer, param.numel(), hyper);
    });
}

}  // namespace kiln::optim
