#pragma once
// Squeeze-and-excitation (Hu et al. 2018), torchvision's SqueezeExcitation:
//   s = scale_activation(fc2(activation(fc1(avgpool(x)))))   [N, C, 1, 1]
//   y = s * x                                               [N, C, H, W]
// fc1, fc2 are 1x1 convolutions with bias (C -> squeeze -> C). MobileNetV3
// uses relu and hardsigmoid; the original paper relu and sigmoid.
#include "engine/random.h"
#include "layers/conv.h"
#include "layers/pool.h"

namespace kiln {

class SqueezeExcitation : public Module {
public:
    SqueezeExcitation(int64_t channels, int64_t squeeze_channels, const std::string& activation = "relu",
                      const std::string& scale_activation = "sigmoid", Generator& generator = default_generator());
    Tensor forward(const Tensor& x) override;
    int64_t forward_flops(const Shape& input, const Shape& output) const override;

    std::shared_ptr<AdaptiveAvgPool2d> avgpool;
    std::shared_ptr<Conv2d> fc1, fc2;
    std::shared_ptr<Module> activation, scale_activation;
};

}  // namespace kiln
