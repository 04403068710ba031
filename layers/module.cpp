#include "layers/module.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "engine/autograd.h"

namespace kiln {

namespace {

thread_local ForwardTrace* active_trace = nullptr;

// The message of a kiln::Error without its "kiln::Error: " prefix.
std::string bare_message(const Error& error) {
    static const std::string prefix = "kiln::Error: ";
    const std::string what = error.what();
    return what.compare(0, prefix.size(), prefix) == 0 ? what.substr(prefix.size()) : what;
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
    return out;
}

// Replaces what `tensor` holds (storage, layout, dtype, device) by `converted`,
// keeping the TensorImpl: every handle to it sees the new values.
void replace_in_place(const Tensor& tensor, const Tensor& converted) {
    TensorImpl& impl = *tensor.impl();
    impl.storage = converted.storage();
    impl.shape = converted.shape();
    impl.strides = converted.strides();
    impl.offset = converted.offset();
    impl.dtype = converted.dtype();
    impl.device = converted.device();
}

// compute(), with an error re-thrown as a ModuleError naming `module`.
Tensor call_named(const Module& module, const std::function<Tensor()>& compute) {
    try {
        return compute();
    } catch (const ModuleError&) {
        throw;  // already names the innermost module
    } catch (const Error& error) {
        throw ModuleError(module.display_name() + ": " + bare_message(error));
    }
}

}  // namespace

std::string tuple_str(const std::array<int64_t, 2>& values) { return str("(", values[0], ", ", values[1], ")"); }

// ---------------------------------------------------------------- forward

Tensor Module::operator()(const Tensor& x) {
    const Tensor out = call_named(*this, [&] { return forward(x); });
    if (active_trace) active_trace->records_.push_back({this, x.defined() ? x.shape() : Shape{}, out.shape()});
    return out;
}

Tensor Module::call_fused(Module& first, Module& second, const Tensor& x, const std::function<Tensor()>& fused) {
    Module* const modules[] = {&first, &second};
    return call_fused(modules, x, fused);
}

Tensor Module::call_fused(std::span<Module* const> modules, const Tensor& x, const std::function<Tensor()>& fused) {
    const Tensor out = call_named(*modules.front(), fused);
    if (active_trace) {
        active_trace->records_.push_back({modules.front(), x.defined() ? x.shape() : Shape{}, out.shape()});
        for (size_t i = 1; i < modules.size(); ++i) active_trace->records_.push_back({modules[i], out.shape(), out.shape()});
    }
    return out;
}

std::string Module::display_name() const { return path_.empty() ? type_name_ : path_ + " (" + type_name_ + ")"; }

int64_t Module::forward_flops(const Shape&, const Shape&) const { return 0; }

ForwardTrace::ForwardTrace() : previous_(active_trace) { active_trace = this; }
ForwardTrace::~ForwardTrace() { active_trace = previous_; }

// ---------------------------------------------------------------- printing

std::string Module::repr() const {
    std::string out;
    repr_into(out, 0);
    return out;
}

void Module::repr_into(std::string& out, int indent) const {
    out += type_name_ + "(" + extra_repr();
    if (children_.empty()) {
        out += ")";
        return;
    }
    out += "\n";
    for (const auto& [name, child] : children_) {
        out += std::string(static_cast<size_t>(indent + 2), ' ') + "(" + name + "): ";
        child->repr_into(out, indent + 2);
        out += "\n";
    }
    out += std::string(static_cast<size_t>(indent), ' ') + ")";
}

// ---------------------------------------------------------------- registration

void Module::check_new_name(const std::string& name, const char* what) const {
    KILN_CHECK(!name.empty() && name.find('.') == std::string::npos, display_name(), ": ", what, " name \"", name,
               "\" must be non-empty and contain no dot");
    auto taken = [&](const auto& list) {
        return std::any_of(list.begin(), list.end(), [&](const auto& entry) { return entry.first == name; });
    };
    KILN_CHECK(!taken(parameters_) && !taken(buffers_) && !taken(children_), display_name(), ": cannot register ", what,
               " \"", name, "\": the name is already taken");
}

Tensor Module::register_parameter(const std::string& name, Tensor value) {
    check_new_name(name, "parameter");
    KILN_CHECK(value.defined() && value.is_leaf() && is_floating(value.dtype()), display_name(), ": parameter \"", name,
               "\" must be a defined floating-point leaf tensor");
    value.set_requires_grad(true);
    parameters_.emplace_back(name, value);
    return value;
}

Tensor Module::register_buffer(const std::string& name, Tensor value) {
    check_new_name(name, "buffer");
    KILN_CHECK(value.defined(), display_name(), ": buffer \"", name, "\" is undefined");
    buffers_.emplace_back(name, value);
    return value;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
    check_new_name(name, "module");
    KILN_CHECK(module != nullptr, display_name(), ": module \"", name, "\" is null");
    children_.emplace_back(name, module);
    module->set_path(path_.empty() ? name : path_ + "." + name);
}

void Module::set_path(const std::string& path) {
    path_ = path;
    for (const auto& [name, child] : children_) child->set_path(path + "." + name);
}

// ---------------------------------------------------------------- access

std::vector<std::pair<std::string, Module*>> Module::named_modules() const {
    std::vector<std::pair<std::string, Module*>> out;
    // Pre-order with an explicit stack; children pushed in reverse keep their order.
    std::vector<std::pair<std::string, const Module*>> stack{{"", this}};
    while (!stack.empty()) {
        auto [prefix, module] = stack.back();
        stack.pop_back();
        out.emplace_back(prefix, const_cast<Module*>(module));
        for (auto it = module->children_.rbegin(); it != module->children_.rend(); ++it)
            stack.emplace_back(prefix.empty() ? it->first : prefix + "." + it->first, it->second.get());
    }
    return out;
}

std::vector<NamedTensor> Module::named_parameters(bool recurse) const {
    std::vector<NamedTensor> out;
    if (!recurse) return parameters_;
    for (const auto& [prefix, module] : named_modules())
        for (const auto& [name, tensor] : module->parameters_)
            out.emplace_back(prefix.empty() ? name : prefix + "." + name, tensor);
    return out;
}

std::vector<NamedTensor> Module::named_buffers(bool recurse) const {
    std::vector<NamedTensor> out;
    if (!recurse) return buffers_;
    for (const auto& [prefix, module] : named_modules())
        for (const auto& [name, tensor] : module->buffers_)
            out.emplace_back(prefix.empty() ? name : prefix + "." + name, tensor);
    return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
    std::vector<Tensor> out;
    for (const auto& entry : named_parameters(recurse)) out.push_back(entry.second);
    return out;
}

std::vector<Tensor> Module::trainable_parameters() const {
    std::vector<Tensor> out;
    for (const auto& entry : named_parameters())
        if (entry.second.requires_grad()) out.push_back(entry.second);
    return out;
}

int64_t Module::parameter_count() const {
    int64_t count = 0;
    for (const auto& entry : named_parameters()) count += entry.second.numel();
    return count;
}

int64_t Module::trainable_parameter_count() const {
    int64_t count = 0;
    for (const auto& entry : named_parameters())
        if (entry.second.requires_grad()) count += entry.second.numel();
    return count;
}

Module& Module::submodule(const std::string& path) const {
    const Module* module = this;
    size_t start = 0;
    while (start <= path.size() && !path.empty()) {
        const size_t dot = std::min(path.find('.', start), path.size());
        const std::string name = path.substr(start, dot - start);
        const auto& children = module->children_;
        const auto it = std::find_if(children.begin(), children.end(), [&](const auto& c) { return c.first == name; });
        if (it == children.end()) {
            std::vector<std::string> names;
            for (const auto& child : children) names.push_back(child.first);
            fail("submodule: ", module->display_name(), " has no child \"", name, "\" (looking for \"", path,
                 "\"; its children: ", names.empty() ? "none" : join(names), ")");
        }
        module = it->second.get();
        start = dot + 1;
    }
    return const_cast<Module&>(*module);
}

// ---------------------------------------------------------------- mode and conversions

void Module::train(bool training) {
    for (const auto& entry : named_modules()) entry.second->training_ = training;
}

void Module::to(Device device) {
    convert_all([&](const Tensor& t) { return t.detach().to(device); }, false);
}

void Module::to(DType dtype) {
    KILN_CHECK(is_floating(dtype), display_name(), ": to(dtype) converts to a floating dtype, got ", dtype_name(dtype));
    convert_all([&](const Tensor& t) { return t.detach().to(dtype); }, true);
}

// Converts every parameter, gradient and buffer first and only then swaps them
// in, so a failure (say, no GPU) leaves the module as it was.
void Module::convert_all(const std::function<Tensor(const Tensor&)>& convert, bool floating_only) {
    NoGradGuard no_grad;
    std::vector<std::pair<Tensor, Tensor>> converted;  // (tensor, new value); grads as their own entries
    std::vector<std::pair<Tensor, Tensor>> grads;      // (parameter, new gradient)
    std::vector<Tensor> all = parameters();
    for (const auto& entry : named_buffers()) all.push_back(entry.second);
    for (const Tensor& t : all) {
        if (floating_only && !is_floating(t.dtype())) continue;
        converted.emplace_back(t, convert(t));
        if (t.impl()->grad.defined()) grads.emplace_back(t, convert(t.impl()->grad));
    }
    for (const auto& [tensor, value] : converted) replace_in_place(tensor, value);
    for (const auto& [tensor, grad] : grads) tensor.impl()->grad = grad;
}

void Module::zero_grad() {
    for (const auto& entry : named_parameters()) Tensor(entry.second).set_grad(Tensor());
}

void Module::requires_grad_(bool requires_grad) {
    for (const auto& entry : named_parameters()) Tensor(entry.second).set_requires_grad(requires_grad);
}

// ---------------------------------------------------------------- state

StateDict Module::state_dict() const {
    StateDict state;
    for (const auto& entry : named_parameters()) state.emplace(entry);
    for (const auto& entry : named_buffers()) state.emplace(entry);
    return state;
}

Module::LoadResult Module::load_state_dict(const StateDict& state, bool strict) {
    const StateDict own = state_dict();
    LoadResult result;
    std::vector<std::string> mismatched;
    for (const auto& [name, tensor] : own) {
        const auto it = state.find(name);
        if (it == state.end()) {
            result.missing.push_back(name);
        } else if (!it->second.defined()) {
            mismatched.push_back(name + " is undefined in the state");
        } else if (it->second.shape() != tensor.shape()) {
            mismatched.push_back(name + " is " + shape_str(tensor.shape()) + " in the module, " +
                                 shape_str(it->second.shape()) + " in the state");
        } else if (is_floating(tensor.dtype()) != is_floating(it->second.dtype())) {
            mismatched.push_back(name + " is " + dtype_name(tensor.dtype()) + " in the module, " +
                                 dtype_name(it->second.dtype()) + " in the state");
        }
    }
    for (const auto& entry : state)
        if (!own.count(entry.first)) result.unexpected.push_back(entry.first);

    const bool failed = !mismatched.empty() || (strict && (!result.missing.empty() || !result.unexpected.empty()));
    if (failed) {
        std::string message = "load_state_dict: " + display_name() + ":";
        auto list = [&](const std::vector<std::string>& items, const char* what) {
            if (items.empty()) return;
            message += str(" ", items.size(), " ", what, (items.size() == 1 ? "" : "s"), ": ", join(items), ";");
        };
        if (strict) {
            list(result.missing, "missing key");
            list(result.unexpected, "unexpected key");
        }
        list(mismatched, "mismatch");
        message.pop_back();
        fail(message);
    }
    NoGradGuard no_grad;
    for (const auto& [name, tensor] : own) {
        const auto it = state.find(name);
        if (it == state.end()) continue;
        Tensor(tensor).copy_(it->second.detach().to(tensor.device()));
    }
    return result;
}

}  // namespace kiln
