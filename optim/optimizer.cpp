#include "optim/optimizer.h"

#include <cmath>

#include "engine/autograd.h"

namespace kiln::optim {

namespace {
std::string option_names(const Options& options) {
    std::string names;
    for (const auto& [key, unused] : options) {
        if (!names.empty()) names += ", ";
        names += key;
    }
    return names;
}
}  // namespace

Optimizer::Optimizer(std::string name, std::vector<ParamGroup> groups, Options builtin, const Options& overrides)
    : name_(std::move(name)), groups_(std::move(groups)) {
    for (const auto& [key, value] : overrides) {
        KILN_CHECK(builtin.count(key), name_, ": unknown option \"", key, "\" (known: ", option_names(builtin), ")");
        builtin[key] = value;
    }
    KILN_CHECK(!groups_.empty(), name_, ": no parameter groups given");
    size_t count = 0;
    for (size_t g = 0; g < groups_.size(); ++g) {
        ParamGroup& group = groups_[g];
        KILN_CHECK(!group.params.empty(), name_, ": parameter group ", g, " has an empty parameter list");
        for (const auto& [key, value] : group.options)
            KILN_CHECK(builtin.count(key), name_, ": unknown option \"", key, "\" in parameter group ", g,
                       " (known: ", option_names(builtin), ")");
        for (const auto& [key, value] : builtin) group.options.try_emplace(key, value);
        for (size_t p = 0; p < group.params.size(); ++p) {
            const Tensor& param = group.params[p];
            KILN_CHECK(param.defined() && is_floating(param.dtype()), name_, ": parameter ", p, " of group ", g,
                       " is not a floating-point tensor");
            KILN_CHECK(param.is_leaf() && param.is_contiguous(), name_, ": parameter ", p, " of group ", g,
                       " must be a contiguous leaf tensor (got ", shape_str(param.shape()), ")");
        }
        count += group.params.size();
    }
    states_.resize(count);
}

void Optimizer::validate_groups() const {
    for (const ParamGroup& group : groups_) {
        check_range(group.options, "lr", 0, HUGE_VAL, true);
        check_options(group.options);
    }
}

void Optimizer::check_range(const Options& options, const char* key, double lo, double hi, bool hi_inclusive) const {
    const double value = options.at(key);
    const bool inside = value >= lo && (hi_inclusive ? value <= hi : value < hi);
    KILN_CHECK(inside, name_, ": ", key, " = ", value, " is outside [", lo, ", ", hi, hi_inclusive ? "]" : ")");
}

Tensor& Optimizer::buffer(ParamState& state, const std::string& buffer_name, const Tensor& param) {
    auto [it, inserted] = state.buffers.try_emplace(buffer_name);
    if (inserted) it->second = Tensor::zeros(param.shape(), param.dtype(), param.device());
    return it->second;
}

void Optimizer::step() {
    NoGradGuard no_grad;
    size_t index = 0;
    for (const ParamGroup& group : groups_) {
        for (const Tensor& param : group.params) {
            ParamState& state = states_[index++];
            const Tensor grad = param.grad();
            if (!grad.defined()) continue;  // a parameter no loss reached (or frozen) is left alone
            ++state.step;
            update(group.options, param, grad.contiguous(), state);
        }
    }
}

void Optimizer::zero_grad() {
    for (ParamGroup& group : groups_)
        for (Tensor& param : group.params) param.set_grad(Tensor());
}

double Optimizer::lr(size_t group) const {
    KILN_CHECK(group < groups_.size(), name_, ": no parameter group ", group);
    return groups_[group].options.at("lr");
}

void Optimizer::set_lr(double lr, size_t group) {
    KILN_CHECK(group < groups_.size(), name_, ": no parameter group ", group);
    KILN_CHECK(lr >= 0 && std::isfinite(lr), name_, ": learning rate ", lr, " must be finite and >= 0");
    groups_[group].options["lr"] = lr;
}

OptimizerState Optimizer::state_dict() const {
    OptimizerState out;
    for (size_t g = 0; g < groups_.size(); ++g)
        for (const auto& [key, value] : groups_[g].options) out.scalars[str("param_groups.", g, ".", key)] = value;
    for (size_t i = 0; i < states_.size(); ++i) {
        out.scalars[str("state.", i, ".step")] = double(states_[i].step);
        for (const auto& [buffer_name, tensor] : states_[i].buffers)
            out.tensors[str("state.", i, ".", buffer_name)] = tensor.clone();
    }
    return out;
}

void Optimizer::load_state_dict(const OptimizerState& state) {
    std::vector<ParamGroup> groups = groups_;
    for (size_t g = 0; g < groups.size(); ++g) {
        for (auto& [key, value] : groups[g].options) {
            const std::string name = str("param_groups.", g, ".", key);
            auto it = state.scalars.find(name);
            KILN_CHECK(it != state.scalars.end(), name_, ": load_state_dict: missing \"", name, "\"");
            value = it->second;
        }
    }
    std::vector<ParamState> states(states_.size());
    size_t index = 0;
    for (const ParamGroup& group : groups_) {
        for (const Tensor& param : group.params) {
            const std::string prefix = str("state.", index, ".");
            auto step = state.scalars.find(prefix + "step");
            KILN_CHECK(step != state.scalars.end(), name_, ": load_state_dict: missing \"", prefix, "step\"");
            states[index].step = int64_t(step->second);
            for (auto it = state.tensors.lower_bound(prefix); it != state.tensors.end() && it->first.rfind(prefix, 0) == 0;
                 ++it) {
                KILN_CHECK(it->second.shape() == param.shape() && it->second.dtype() == param.dtype(), name_,
                           ": load_state_dict: \"", it->first, "\" is ", shape_str(it->second.shape()), " ",
                           dtype_name(it->second.dtype()), " but parameter ", index, " is ", shape_str(param.shape()),
                           " ", dtype_name(param.dtype()));
                states[index].buffers[it->first.substr(prefix.size())] = it->second.clone();
            }
            ++index;
        }
    }
    // Every tensor must have been claimed by one parameter above.
    size_t claimed = 0;
    for (const ParamState& s : states) claimed += s.buffers.size();
    KILN_CHECK(claimed == state.tensors.size(), name_, ": load_state_dict: ", state.tensors.size() - claimed,
               " tensors belong to no parameter (this optimizer has ", states_.size(), " parameters)");
    std::swap(groups_, groups);
    try {
        validate_groups();
    } catch (...) {
        std::swap(groups_, groups);  // leave the optimizer as it was
        throw;
    }
    states_ = std::move(states);
}

std::unique_ptr<Optimizer> make_optimizer(const std::string& name, std::vector<ParamGroup> groups, Options defaults) {
    if (name == "sgd") return std::make_unique<SGD>(std::move(groups), std::move(defaults));
    if (name == "adagrad") return std::make_unique<Adagrad>(std::move(groups), std::move(defaults));
    if (name == "rmsprop") return std::make_unique<RMSprop>(std::move(groups), std::move(defaults));
    if (name == "adam") return std::make_unique<Adam>(std::move(groups), std::move(defaults));
    if (name == "adamw") return std::make_unique<AdamW>(std::move(groups), std::move(defaults));
    if (name == "lion") return std::make_unique<Lion>(std::move(groups), std::move(defaults));
    fail("optimizer: unknown optimizer \"", name, "\" (known: sgd, adagrad, rmsprop, adam, adamw, lion)");
}

}  // namespace kiln::optim
