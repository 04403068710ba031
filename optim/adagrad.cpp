// AdaGrad. Rule: kernels/common/optim.h (adagrad_update).
#include "engine/backend.h"
#include "optim/optimizer.h"

namespace kiln::optim {

Adagrad::Adagrad(std::vector<ParamGroup> groups, Options defaults)
    : Optimizer("Adagrad", std::move(groups),
                {{"lr", 1e-2}, {"lr_decay", 0}, {"weight_decay", 0}, {"initial_accumulator_value", 0}, {"eps", 1e-10}},
                defaults) {
    validate_groups();
}

void Adagrad::check_options(const Options& o) const {
    check_range(o, "lr_decay", 0, HUGE_VAL, true);
    check_range(o, "weight_decay", 0, HUGE_VAL, true);
    check_range(o, "initial_accumulator_value", 0, HUGE_VAL, true);
    check_range(o, "eps", 0, HUGE_VAL, true);
}

void Adagrad::update(const Options& o, const Tensor& param, const Tensor& grad, ParamState& state) {
    const math::AdagradHyper hyper{o.at("lr") / (1 + double(state.step - 1) * o.at("lr_decay")), o.at("weight_decay"),
                                   o.at("eps")};
    dispatch_floating(param.dtype(), "Adagrad", [&]<typename T>() {
        const bool first_use = !state.buffers.count("sum");
        Tensor& sum = buffer(state, "sum", param);
        if (first_use) sum.fill_(o.at("initial_accumulator_value"));
        KILN_ON_BACKEND(param.device(), adagrad_step, param.data<T>(), grad.data<T>(), sum.data<T>(), param.numel(), hyper);
    });
}

}  // namespace kiln::optim
