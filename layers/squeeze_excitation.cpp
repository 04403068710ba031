#include "layers/squeeze_excitation.h"

#include "layers/activation.h"

namespace kiln {

SqueezeExcitation::SqueezeExcitation(int64_t channels, int64_t squeeze_channels, const std::string& activation_name,
                                     const std::string& scale_activation_name, Generator& generator)
    : Module("SqueezeExcitation") {
    avgpool = register_module("avgpool", std::make_shared<AdaptiveAvgPool2d>());
    fc1 = register_module("fc1", std::make_shared<Conv2d>(channels, squeeze_channels, 1, Conv2dConfig{}, generator));
    fc2 = register_module("fc2", std::make_shared<Conv2d>(squeeze_channels, channels, 1, Conv2dConfig{}, generator));
    activation = register_module("activation", make_activation(activation_name));
    scale_activation = register_module("scale_activation", make_activation(scale_activation_name));
}

Tensor SqueezeExcitation::forward(const Tensor& x) {
    const Tensor scale = (*scale_activation)((*fc2)((*activation)((*fc1)((*avgpool)(x)))));
    return scale * x;
}

int64_t SqueezeExcitation::forward_flops(const Shape&, const Shape& output) const {
    return numel_of(output);  // the rescaling multiply; the children count their own
}

}  // namespace kiln
