#pragma once
// Sequential: children called in order, each on the previous one's output.
// Children added without a name are named by position ("0", "1", ...), as in
// torch.nn.Sequential, which gives torchvision's "features.3.conv.1.weight".
// A BatchNorm2d child followed by a ReLU child runs as one batch_norm_relu op
// (layers/fusion.h): same results, one tensor and one pass fewer.
// Also: Flatten and Identity, the two shape-only modules.
#include <initializer_list>

#include "engine/ops.h"
#include "layers/module.h"

namespace kiln {

class Sequential : public Module {
public:
    Sequential() : Module("Sequential") {}
    explicit Sequential(std::vector<std::shared_ptr<Module>> modules);

    // Appends a child named by its position.
    Sequential& push_back(std::shared_ptr<Module> module);
    // Appends a named child.
    Sequential& add(const std::string& name, std::shared_ptr<Module> module);
    size_t size() const { return named_children().size(); }
    // The i-th child, or an error naming the index and the size.
    Module& operator[](size_t index) const;

    Tensor forward(const Tensor& x) override;

protected:
    // For named kinds of sequence (torchvision's Conv2dNormActivation).
    explicit Sequential(std::string type_name) : Module(std::move(type_name)) {}
};

// Merges dims start_dim..end_dim, as torch.nn.Flatten (default: all but the batch dim).
class Flatten : public Module {
public:
    explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1)
        : Module("Flatten"), start_dim(start_dim), end_dim(end_dim) {}
    Tensor forward(const Tensor& x) override { return flatten(x, start_dim, end_dim); }
    std::string extra_repr() const override { return str("start_dim=", start_dim, ", end_dim=", end_dim); }
    int64_t start_dim, end_dim;
};

class Identity : public Module {
public:
    Identity() : Module("Identity") {}
    Tensor forward(const Tensor& x) override { return x; }
};

}  // namespace kiln
