#include "layers/models/common.h"

#include <cmath>

#include "layers/init.h"

namespace kiln::models {

int64_t make_divisible(double v, int64_t divisor) {
    int64_t rounded = std::max(divisor, int64_t(v + double(divisor) / 2) / divisor * divisor);
    if (double(rounded) < 0.9 * v) rounded += divisor;
    return rounded;
}

int64_t scaled(int64_t channels, double width) { return width == 1.0 ? channels : make_divisible(double(channels) * width); }

double checked_dropout(const std::string& model, const ModelConfig& config, double default_dropout) {
    KILN_CHECK(config.num_classes >= 1, model, ": num_classes must be at least 1, got ", config.num_classes);
    KILN_CHECK(config.in_channels >= 1, model, ": in_channels must be at least 1 (1 grayscale, 3 RGB), got ",
               config.in_channels);
    KILN_CHECK(config.width > 0 && config.width <= 16, model, ": width multiplier must be in (0, 16], got ",
               config.width);
    const double p = config.dropout.value_or(default_dropout);
    KILN_CHECK(p >= 0 && p < 1, model, ": dropout must be in [0, 1), got ", p);
    return p;
}

Conv2dNormActivation::Conv2dNormActivation(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride,
                                           int64_t groups, const BatchNormConfig& norm, const std::string& activation,
                                           Generator& generator)
    : Sequential("Conv2dNormActivation") {
    push_back(std::make_shared<Conv2d>(in_channels, out_channels, kernel,
                                       conv_config(stride, (kernel - 1) / 2, groups, false), generator));
    push_back(std::make_shared<BatchNorm2d>(out_channels, norm));
    if (!activation.empty()) push_back(make_activation(activation));
}

void torchvision_init(Module& model, Generator& generator, double linear_std) {
    for (const auto& [path, module] : model.named_modules()) {
        if (auto* conv = dynamic_cast<Conv2d*>(module)) {
            init::kaiming_normal_fan_out_(conv->weight, generator);
            if (conv->bias.defined()) init::constant_(conv->bias, 0);
        } else if (auto* bn = dynamic_cast<BatchNorm2d*>(module); bn && bn->weight.defined()) {
            init::constant_(bn->weight, 1);
            init::constant_(bn->bias, 0);
        } else if (auto* fc = dynamic_cast<Linear*>(module)) {
            if (linear_std > 0) {
                init::normal_(fc->weight, 0, linear_std, generator);
                if (fc->bias.defined()) init::constant_(fc->bias, 0);
            } else {
                init::default_init_(fc->weight, fc->bias, generator);
            }
        }
    }
}

}  // namespace kiln::models
