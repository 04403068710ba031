// The small nets of seed 003 and a teaching CNN. Seed 003 names them
// (MobileNetInspired, SqueezeNetInspired, ResNetInspired) and gives their
// head dropout (0.4, 0.5, 0.5) but not their layers; the structures below are
// kiln's choice, sized for 64..224-pixel defect images (docs/models.md).
#include "layers/fusion.h"
#include "layers/models/common.h"
#include "layers/models/fire.h"
#include "layers/residual.h"

namespace kiln::models {

namespace {

// Global average pool -> flatten -> classifier (Dropout -> Linear).
class PooledClassifierNet : public Module {
public:
    PooledClassifierNet(const std::string& type_name, std::shared_ptr<Sequential> features_, int64_t channels,
                        const ModelConfig& config, double dropout_p, Generator& generator)
        : Module(type_name) {
        features = register_module("features", std::move(features_));
        avgpool = register_module("avgpool", std::make_shared<AdaptiveAvgPool2d>());
        classifier = register_module("classifier", std::make_shared<Sequential>());
        classifier->push_back(std::make_shared<Dropout>(dropout_p));
        classifier->push_back(std::make_shared<Linear>(channels, config.num_classes, true, generator));
    }
    Tensor forward(const Tensor& x) override { return (*classifier)(flatten((*avgpool)((*features)(x)), 1)); }

    std::shared_ptr<Sequential> features, classifier;
    std::shared_ptr<AdaptiveAvgPool2d> avgpool;
};

// MobileNetV1-style: a strided stem, then depthwise-separable blocks
// (depthwise 3x3 CNA + pointwise 1x1 CNA, ReLU), doubling channels as they stride.
std::shared_ptr<Module> build_mobilenet_inspired(const ModelConfig& config, double dropout_p) {
    Generator generator(config.seed);
    const init::DeferInit defer_init;  // initialised once, below, as torchvision does
    const BatchNormConfig norm{};
    auto c = [&](int64_t channels) { return scaled(channels, config.width); };
    auto features = std::make_shared<Sequential>();
    features->push_back(std::make_shared<Conv2dNormActivation>(config.in_channels, c(32), 3, 2, 1, norm, "relu", generator));
    struct Step {
        int64_t out, stride;
    };
    const Step steps[] = {{64, 1}, {128, 2}, {128, 1}, {256, 2}, {256, 1}, {512, 2}};
    int64_t in = c(32);
    for (const Step& step : steps) {
        auto block = std::make_shared<Sequential>();
        block->push_back(std::make_shared<Conv2dNormActivation>(in, in, 3, step.stride, in, norm, "relu", generator));
        block->push_back(std::make_shared<Conv2dNormActivation>(in, c(step.out), 1, 1, 1, norm, "relu", generator));
        features->push_back(block);
        in = c(step.out);
    }
    auto model = std::make_shared<PooledClassifierNet>("MobileNetInspired", features, in, config, dropout_p, generator);
    torchvision_init(*model, generator, 0.01);
    return model;
}

// SqueezeNet 1.1's first half (stem and four Fire modules), then a 1x1 conv
// to the classes and global average pooling; no ReLU on the logits (SqueezeNet
// has one, which keeps every logit >= 0).
class SqueezeNetInspired : public Module {
public:
    SqueezeNetInspired(const ModelConfig& config, double dropout_p) : Module("SqueezeNetInspired") {
        Generator generator(config.seed);
        const init::DeferInit defer_init;  // initialised once, below, as torchvision does
        auto c = [&](int64_t channels) { return scaled(channels, config.width); };
        features = register_module("features", std::make_shared<Sequential>());
        append_squeezenet_front(*features, config, /*stem_padding=*/1, generator);
        classifier = register_module("classifier", std::make_shared<Sequential>());
        classifier->push_back(std::make_shared<Dropout>(dropout_p));
        auto final_conv = std::make_shared<Conv2d>(2 * c(128), config.num_classes, 1, conv_config(1, 0, 1, true), generator);
        classifier->push_back(final_conv);
        classifier->push_back(std::make_shared<AdaptiveAvgPool2d>());
        squeezenet_init(*this, *final_conv, generator);
    }
    Tensor forward(const Tensor& x) override { return flatten((*classifier)((*features)(x)), 1); }

    std::shared_ptr<Sequential> features, classifier;
};

// A ResNet-18 cut to one BasicBlock per stage, 32..256 channels, with a 3x3
// stride-2 stem and no max pool; dropout before fc.
class ResNetInspired : public Module {
public:
    ResNetInspired(const ModelConfig& config, double dropout_p) : Module("ResNetInspired") {
        Generator generator(config.seed);
        const init::DeferInit defer_init;  // initialised once, below, as torchvision does
        int64_t in = scaled(32, config.width);
        conv1 = register_module("conv1", std::make_shared<Conv2d>(config.in_channels, in, 3, conv_config(2, 1), generator));
        bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(in));
        relu = register_module("relu", std::make_shared<ReLU>());
        const int64_t planes[4] = {32, 64, 128, 256};
        for (size_t layer = 0; layer < 4; ++layer) {
            const int64_t width = scaled(planes[layer], config.width), stride = layer == 0 ? 1 : 2;
            std::shared_ptr<Module> downsample;
            if (stride != 1 || in != width) downsample = make_downsample(in, width, stride, generator);
            auto sequence = std::make_shared<Sequential>();
            sequence->push_back(std::make_shared<BasicBlock>(in, width, stride, downsample, generator));
            layers[layer] = register_module("layer" + std::to_string(layer + 1), sequence);
            in = width;
        }
        avgpool = register_module("avgpool", std::make_shared<AdaptiveAvgPool2d>());
        dropout = register_module("dropout", std::make_shared<Dropout>(dropout_p));
        fc = register_module("fc", std::make_shared<Linear>(in, config.num_classes, true, generator));
        torchvision_init(*this, generator, 0);
    }
    Tensor forward(const Tensor& x) override {
        Tensor y = batch_norm_then(*bn1, *relu, (*conv1)(x));  // relu(bn1(.)) as one op
        for (auto& layer : layers) y = (*layer)(y);
        return (*fc)((*dropout)(flatten((*avgpool)(y), 1)));
    }

    std::shared_ptr<Conv2d> conv1;
    std::shared_ptr<BatchNorm2d> bn1;
    std::shared_ptr<ReLU> relu;
    std::shared_ptr<Sequential> layers[4];
    std::shared_ptr<AdaptiveAvgPool2d> avgpool;
    std::shared_ptr<Dropout> dropout;
    std::shared_ptr<Linear> fc;
};

// Teaching CNN: three 3x3 convs (8, 16, 32 channels) with ReLU and 2x2 max
// pooling, global average pooling and one linear layer. PyTorch's default init.
std::shared_ptr<Module> build_tiny_cnn(const ModelConfig& config, double dropout_p) {
    Generator generator(config.seed);
    auto c = [&](int64_t channels) { return std::max<int64_t>(1, int64_t(double(channels) * config.width + 0.5)); };
    auto features = std::make_shared<Sequential>();
    int64_t in = config.in_channels;
    for (int64_t i = 0; i < 3; ++i) {
        const int64_t out = c(8 << i);
        features->push_back(std::make_shared<Conv2d>(in, out, 3, conv_config(1, 1, 1, true), generator));
        features->push_back(std::make_shared<ReLU>());
        if (i < 2) features->push_back(std::make_shared<MaxPool2d>(2));
        in = out;
    }
    return std::make_shared<PooledClassifierNet>("TinyCNN", features, in, config, dropout_p, generator);
}

}  // namespace

std::shared_ptr<Module> mobilenet_inspired(const ModelConfig& config) {
    return build_mobilenet_inspired(config, checked_dropout("mobilenet_inspired", config, 0.4));
}
std::shared_ptr<Module> squeezenet_inspired(const ModelConfig& config) {
    return std::make_shared<SqueezeNetInspired>(config, checked_dropout("squeezenet_inspired", config, 0.5));
}
std::shared_ptr<Module> resnet_inspired(const ModelConfig& config) {
    return std::make_shared<ResNetInspired>(config, checked_dropout("resnet_inspired", config, 0.5));
}
std::shared_ptr<Module> tiny_cnn(const ModelConfig& config) {
    return build_tiny_cnn(config, checked_dropout("tiny_cnn", config, 0));
}

}  // namespace kiln::models
