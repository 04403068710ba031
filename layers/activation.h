#pragma once
// Activation modules: each applies one element-wise engine op
// (formulas in kernels/common/activation.h). Shapes in = out.
//   ReLU max(x, 0)           ReLU6 min(max(x, 0), 6)    LeakyReLU x or slope x
//   Sigmoid 1 / (1 + e^-x)   Tanh                      SiLU x sigmoid(x)
//   Hardswish x relu6(x + 3) / 6                       Hardsigmoid relu6(x + 3) / 6
//   GELU x Phi(x) (exact, or the tanh approximation)
#include <functional>

#include "engine/ops.h"
#include "layers/module.h"

namespace kiln {

// A module that applies `fn` element-wise; FLOPs are counted as one per element.
class ElementwiseActivation : public Module {
public:
    ElementwiseActivation(std::string type_name, std::function<Tensor(const Tensor&)> fn, std::string repr = "")
        : Module(std::move(type_name)), fn_(std::move(fn)), repr_(std::move(repr)) {}
    Tensor forward(const Tensor& x) override { return fn_(x); }
    std::string extra_repr() const override { return repr_; }
    int64_t forward_flops(const Shape&, const Shape& output) const override { return numel_of(output); }

private:
    std::function<Tensor(const Tensor&)> fn_;
    std::string repr_;
};

struct ReLU : ElementwiseActivation {
    ReLU() : ElementwiseActivation("ReLU", [](const Tensor& x) { return relu(x); }) {}
};
// relu6(x): MobileNetV2's activation; its gradient passes on (0, 6), bounds
// excluded, as PyTorch's nn.ReLU6 (hardtanh), not on [0, 6] as clamp's.
struct ReLU6 : ElementwiseActivation {
    ReLU6() : ElementwiseActivation("ReLU6", [](const Tensor& x) { return relu6(x); }) {}
};
struct LeakyReLU : ElementwiseActivation {
    explicit LeakyReLU(double negative_slope = 0.01)
        : ElementwiseActivation(
              "LeakyReLU", [negative_slope](const Tensor& x) { return leaky_relu(x, negative_slope); },
              str("negative_slope=", negative_slope)) {}
};
struct Sigmoid : ElementwiseActivation {
    Sigmoid() : ElementwiseActivation("Sigmoid", [](const Tensor& x) { return sigmoid(x); }) {}
};
struct Tanh : ElementwiseActivation {
    Tanh() : ElementwiseActivation("Tanh", [](const Tensor& x) { return tanh(x); }) {}
};
struct SiLU : ElementwiseActivation {
    SiLU() : ElementwiseActivation("SiLU", [](const Tensor& x) { return silu(x); }) {}
};
struct Hardswish : ElementwiseActivation {
    Hardswish() : ElementwiseActivation("Hardswish", [](const Tensor& x) { return hardswish(x); }) {}
};
struct Hardsigmoid : ElementwiseActivation {
    Hardsigmoid() : ElementwiseActivation("Hardsigmoid", [](const Tensor& x) { return hardsigmoid(x); }) {}
};
struct GELU : ElementwiseActivation {
    explicit GELU(bool tanh_approximation = false)
        : ElementwiseActivation(
              "GELU", [tanh_approximation](const Tensor& x) { return gelu(x, tanh_approximation); },
              tanh_approximation ? "approximate='tanh'" : "approximate='none'") {}
};

// An activation by its PyTorch class name in lower case: relu, relu6,
// leaky_relu, sigmoid, tanh, silu, hardswish, hardsigmoid, gelu. Unknown
// names are an error that lists the known ones.
std::shared_ptr<Module> make_activation(const std::string& name);

}  // namespace kiln
