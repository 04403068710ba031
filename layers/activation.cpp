#include "layers/activation.h"

namespace kiln {

std::shared_ptr<Module> make_activation(const std::string& name) {
    if (name == "relu") return std::make_shared<ReLU>();
    if (name == "relu6") return std::make_shared<ReLU6>();
    if (name == "leaky_relu") return std::make_shared<LeakyReLU>();
    if (name == "sigmoid") return std::make_shared<Sigmoid>();
    if (name == "tanh") return std::make_shared<Tanh>();
    if (name == "silu") return std::make_shared<SiLU>();
    if (name == "hardswish") return std::make_shared<Hardswish>();
    if (name == "hardsigmoid") return std::make_shared<Hardsigmoid>();
    if (name == "gelu") return std::make_shared<GELU>();
    fail("make_activation: unknown activation \"", name,
         "\" (known: relu, relu6, leaky_relu, sigmoid, tanh, silu, hardswish, hardsigmoid, gelu)");
}

}  // namespace kiln
