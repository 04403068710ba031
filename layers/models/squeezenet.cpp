// torchvision's SqueezeNet 1.1 (Iandola et al. 2016), child for child:
//   features: conv 3x3/2 (64) -> ReLU -> maxpool 3/2 (ceil) -> Fire x2 -> maxpool
//             -> Fire x2 -> maxpool -> Fire x4
//   classifier: Dropout(0.5) -> conv 1x1 (classes) -> ReLU -> adaptive avgpool 1x1
//   then flatten: the logits are the pooled class maps.
// Fire: squeeze 1x1 -> ReLU, then cat(expand1x1 -> ReLU, expand3x3 -> ReLU) on channels.
#include "layers/models/fire.h"

#include "layers/init.h"

namespace kiln::models {

Fire::Fire(int64_t in, int64_t squeeze_planes, int64_t expand1x1_planes, int64_t expand3x3_planes, Generator& generator)
    : Module("Fire") {
    squeeze = register_module("squeeze", std::make_shared<Conv2d>(in, squeeze_planes, 1, conv_config(1, 0, 1, true), generator));
    squeeze_activation = register_module("squeeze_activation", std::make_shared<ReLU>());
    expand1x1 = register_module(
        "expand1x1", std::make_shared<Conv2d>(squeeze_planes, expand1x1_planes, 1, conv_config(1, 0, 1, true), generator));
    expand1x1_activation = register_module("expand1x1_activation", std::make_shared<ReLU>());
    expand3x3 = register_module(
        "expand3x3", std::make_shared<Conv2d>(squeeze_planes, expand3x3_planes, 3, conv_config(1, 1, 1, true), generator));
    expand3x3_activation = register_module("expand3x3_activation", std::make_shared<ReLU>());
}

Tensor Fire::forward(const Tensor& x) {
    const Tensor s = (*squeeze_activation)((*squeeze)(x));
    return cat({(*expand1x1_activation)((*expand1x1)(s)), (*expand3x3_activation)((*expand3x3)(s))}, 1);
}

void squeezenet_init(Module& model, const Conv2d& final_conv, Generator& generator) {
    for (const auto& [path, module] : model.named_modules()) {
        auto* conv = dynamic_cast<Conv2d*>(module);
        if (!conv) continue;
        if (conv == &final_conv)
            init::normal_(conv->weight, 0, 0.01, generator);
        else
            init::kaiming_uniform_(conv->weight, 0, generator);
        if (conv->bias.defined()) init::constant_(conv->bias, 0);
    }
}

void append_squeezenet_front(Sequential& features, const ModelConfig& config, int64_t stem_padding,
                             Generator& generator) {
    auto c = [&](int64_t channels) { return scaled(channels, config.width); };
    features.push_back(std::make_shared<Conv2d>(config.in_channels, c(64), 3, conv_config(2, stem_padding, 1, true), generator));
    features.push_back(std::make_shared<ReLU>());
    features.push_back(std::make_shared<MaxPool2d>(3, 2, 0, true));
    features.push_back(std::make_shared<Fire>(c(64), c(16), c(64), c(64), generator));
    features.push_back(std::make_shared<Fire>(2 * c(64), c(16), c(64), c(64), generator));
    features.push_back(std::make_shared<MaxPool2d>(3, 2, 0, true));
    features.push_back(std::make_shared<Fire>(2 * c(64), c(32), c(128), c(128), generator));
    features.push_back(std::make_shared<Fire>(2 * c(128), c(32), c(128), c(128), generator));
}

namespace {

class SqueezeNet : public Module {
public:
    SqueezeNet(const ModelConfig& config, double dropout_p) : Module("SqueezeNet") {
        Generator generator(config.seed);
        const init::DeferInit defer_init;  // initialised once, below, as torchvision does
        auto c = [&](int64_t channels) { return scaled(channels, config.width); };
        features = register_module("features", std::make_shared<Sequential>());
        append_squeezenet_front(*features, config, /*stem_padding=*/0, generator);
        features->push_back(std::make_shared<MaxPool2d>(3, 2, 0, true));
        features->push_back(std::make_shared<Fire>(2 * c(128), c(48), c(192), c(192), generator));
        features->push_back(std::make_shared<Fire>(2 * c(192), c(48), c(192), c(192), generator));
        features->push_back(std::make_shared<Fire>(2 * c(192), c(64), c(256), c(256), generator));
        features->push_back(std::make_shared<Fire>(2 * c(256), c(64), c(256), c(256), generator));
        classifier = register_module("classifier", std::make_shared<Sequential>());
        classifier->push_back(std::make_shared<Dropout>(dropout_p));
        auto final_conv = std::make_shared<Conv2d>(2 * c(256), config.num_classes, 1, conv_config(1, 0, 1, true), generator);
        classifier->push_back(final_conv);
        classifier->push_back(std::make_shared<ReLU>());
        classifier->push_back(std::make_shared<AdaptiveAvgPool2d>());
        squeezenet_init(*this, *final_conv, generator);
    }

    Tensor forward(const Tensor& x) override { return flatten((*classifier)((*features)(x)), 1); }

    std::shared_ptr<Sequential> features, classifier;
};

}  // namespace

std::shared_ptr<Module> squeezenet1_1(const ModelConfig& config) {
    return std::make_shared<SqueezeNet>(config, checked_dropout("squeezenet1_1", config, 0.5));
}

}  // namespace kiln::models
