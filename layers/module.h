#pragma once
// Module: the unit nets are built from at run time, as torch.nn.Module.
//
// A module owns named parameters (leaf tensors that train), named buffers
// (state that does not train: BatchNorm's running statistics) and named
// children. Names join with dots into PyTorch's paths, so a state dict reads
//   layer1.0.conv1.weight, bn1.running_mean, bn1.num_batches_tracked
// and maps one to one onto torchvision's.
//
// Modules are built bottom-up and held by shared_ptr; a child registered into
// a parent learns its path ("layer3.1.bn2"), and an error raised inside its
// forward is re-thrown as a ModuleError that names that path and the module's
// type.
//
// to(device) and to(dtype) convert parameters and buffers *in place*: each
// tensor keeps its identity (as PyTorch's param.data = ...), so an optimizer
// built before the move still holds the right tensors.
#include <array>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace kiln {

using NamedTensor = std::pair<std::string, Tensor>;
// Name -> tensor, as torch's state_dict (parameters and buffers).
using StateDict = std::map<std::string, Tensor>;

// An error raised inside a module's forward, prefixed with the module's path
// and type: "kiln::Error: layer3.1.bn2 (BatchNorm2d): batch_norm: ...".
class ModuleError : public Error {
public:
    explicit ModuleError(const std::string& what) : Error(what) {}
};

class Module {
public:
    explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
    virtual ~Module() = default;
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;

    // The computation. Call a module through operator(), which names the
    // module in errors and reports to an active ForwardTrace.
    virtual Tensor forward(const Tensor& x) = 0;
    Tensor operator()(const Tensor& x);
    // second(first(x)) computed by `fused` in one go (BatchNorm2d + ReLU as
    // one batch_norm_relu op, layers/fusion.h), seen from outside as the two
    // calls: an error names `first` (the one that can fail), and an active
    // ForwardTrace records both modules, first then second, with the shapes
    // the two calls would have had (the fusions keep the shape).
    static Tensor call_fused(Module& first, Module& second, const Tensor& x, const std::function<Tensor()>& fused);
    // The same for a chain of modules (Conv2d + BatchNorm2d (+ ReLU) as one
    // conv2d_batch_norm op at inference): an error names the first, a trace
    // records the first with x's shape in and the output's out, the others
    // with the output's shape (the modules after the first keep the shape).
    static Tensor call_fused(std::span<Module* const> modules, const Tensor& x, const std::function<Tensor()>& fused);

    // "Conv2d", "BatchNorm2d", "ResNet"
    const std::string& type_name() const { return type_name_; }
    // Dotted path from the root ("layer1.0.conv1"); empty for the root.
    const std::string& path() const { return path_; }
    // The path, or the type name for the root: what errors print.
    std::string display_name() const;
    // Arguments shown by repr(), e.g. "3, 64, kernel_size=(7, 7), stride=(2, 2)".
    virtual std::string extra_repr() const { return ""; }
    // The module tree in PyTorch's print format.
    std::string repr() const;
    // Floating-point operations of one forward (a multiply-add counts 2) for
    // an input and output of these shapes; 0 where the module does not say.
    virtual int64_t forward_flops(const Shape& input, const Shape& output) const;

    // ---- registration (from constructors) ----
    // A floating leaf tensor that trains: requires_grad is set. The name must
    // be new and contain no dot.
    Tensor register_parameter(const std::string& name, Tensor value);
    // State saved with the module that does not train.
    Tensor register_buffer(const std::string& name, Tensor value);
    template <typename M>
    std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
        add_child(name, module);
        return module;
    }

    // ---- access ----
    std::vector<NamedTensor> named_parameters(bool recurse = true) const;
    std::vector<Tensor> parameters(bool recurse = true) const;
    // Only those with requires_grad (what an optimizer should get after freezing).
    std::vector<Tensor> trainable_parameters() const;
    std::vector<NamedTensor> named_buffers(bool recurse = true) const;
    const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const { return children_; }
    // This module ("") and every descendant, pre-order, with paths relative to this one.
    std::vector<std::pair<std::string, Module*>> named_modules() const;
    // The descendant at a dotted path relative to this one ("layer1.0.bn2"), or an error.
    Module& submodule(const std::string& path) const;
    // Total number of parameter elements (and of those that train).
    int64_t parameter_count() const;
    int64_t trainable_parameter_count() const;

    // ---- mode ----
    // Sets training mode on this module and every descendant (BatchNorm uses
    // batch statistics and updates its running ones; dropout drops).
    void train(bool training = true);
    void eval() { train(false); }
    bool is_training() const { return training_; }

    // ---- conversions (in place; see the header comment) ----
    // Parameters, their gradients and buffers move to `device`.
    void to(Device device);
    // Floating parameters and buffers convert; int64 buffers (num_batches_tracked) stay.
    void to(DType dtype);
    // Drops every parameter's gradient (PyTorch's set_to_none=True).
    void zero_grad();

    // ---- state ----
    // Every parameter and buffer under its dotted name. The tensors are the
    // module's own (not copies): detach-and-copy before mutating them.
    StateDict state_dict() const;
    struct LoadResult {
        std::vector<std::string> missing;     // in the module, not in the state
        std::vector<std::string> unexpected;  // in the state, not in the module
    };
    // Copies values into the module's tensors (converting dtype; any device).
    // strict: missing keys, unexpected keys and shape mismatches are listed
    // together in one kiln::Error. Not strict: shape mismatches and dtype
    // errors still fail; missing and unexpected keys are returned.
    // Nothing is modified when it fails.
    LoadResult load_state_dict(const StateDict& state, bool strict = true);

    // ---- freezing ----
    // Sets requires_grad on every parameter of this subtree; false freezes it
    // (fine-tuning: model.freeze(); model.submodule("fc").unfreeze()).
    void requires_grad_(bool requires_grad);
    void freeze() { requires_grad_(false); }
    void unfreeze() { requires_grad_(true); }

protected:
    void add_child(const std::string& name, std::shared_ptr<Module> module);

private:
    void check_new_name(const std::string& name, const char* what) const;
    void convert_all(const std::function<Tensor(const Tensor&)>& convert, bool floating_only);
    void set_path(const std::string& path);
    void repr_into(std::string& out, int indent) const;

    std::string type_name_;
    std::string path_;
    bool training_ = true;
    std::vector<NamedTensor> parameters_;
    std::vector<NamedTensor> buffers_;
    std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

// Records every module call on this thread while it lives (for `kiln summary`):
// in the order the calls finish, so children come before their parent.
struct ForwardRecord {
    const Module* module;
    Shape input;
    Shape output;
};
class ForwardTrace {
public:
    ForwardTrace();
    ~ForwardTrace();
    ForwardTrace(const ForwardTrace&) = delete;
    ForwardTrace& operator=(const ForwardTrace&) = delete;
    const std::vector<ForwardRecord>& records() const { return records_; }

private:
    friend class Module;
    std::vector<ForwardRecord> records_;
    ForwardTrace* previous_;
};

// "(7, 7)": PyTorch's tuple printing, for extra_repr.
std::string tuple_str(const std::array<int64_t, 2>& values);

}  // namespace kiln
