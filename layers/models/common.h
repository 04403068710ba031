#pragma once
// Pieces shared by the zoo's nets (not part of the public API).
#include <string>

#include "layers/activation.h"
#include "layers/batch_norm.h"
#include "layers/conv.h"
#include "layers/dropout.h"
#include "layers/init.h"
#include "layers/linear.h"
#include "layers/models/models.h"
#include "layers/pool.h"
#include "layers/sequential.h"

namespace kiln::models {

// torchvision's _make_divisible: the nearest multiple of `divisor` (at least
// `divisor`), never more than 10 % below v.
int64_t make_divisible(double v, int64_t divisor = 8);

// Channel count c scaled by the width multiplier: c itself at width 1, else
// make_divisible(c * width, 8).
int64_t scaled(int64_t channels, double width);

// Checks the config for `model` and returns its head dropout (the config's or
// `default_dropout`).
double checked_dropout(const std::string& model, const ModelConfig& config, double default_dropout);

// torchvision's Conv2dNormActivation: conv k x k (padding (k - 1) / 2, no
// bias) -> BatchNorm2d -> activation (none when the name is empty), children
// "0", "1", "2".
class Conv2dNormActivation : public Sequential {
public:
    Conv2dNormActivation(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride, int64_t groups,
                         const BatchNormConfig& norm, const std::string& activation, Generator& generator);
};

// torchvision's weight init for ResNet, MobileNetV2/V3: convs
// kaiming_normal_(mode="fan_out"), conv biases 0, BN weight 1 and bias 0,
// linear layers N(0, linear_std) with bias 0 (linear_std <= 0: PyTorch's
// default init for linear layers, as ResNet has). Nets are built under
// init::DeferInit and then call this (or squeezenet_init) once.
void torchvision_init(Module& model, Generator& generator, double linear_std);

}  // namespace kiln::models
