// torchvision's MobileNetV2 (Sandler et al. 2018), child for child:
//   features.0      Conv2dNormActivation(in, 32, 3x3/2, ReLU6)
//   features.1..17  InvertedResidual blocks, child "conv":
//                     [expand 1x1 CNA (when t != 1)] -> depthwise 3x3 CNA -> 1x1 conv -> BN
//                   with the input added back when stride 1 and in == out
//   features.18     Conv2dNormActivation(320, 1280, 1x1, ReLU6)
//   avgpool (functional in torchvision, no parameters) -> flatten
//   classifier      Dropout(0.2) -> Linear(1280, classes)
#include "layers/models/common.h"

namespace kiln::models {

namespace {

const BatchNormConfig mobilenet_v2_norm{};  // PyTorch's defaults: eps 1e-5, momentum 0.1

class InvertedResidualV2 : public Module {
public:
    InvertedResidualV2(int64_t in, int64_t out, int64_t stride, int64_t expand_ratio, Generator& generator)
        : Module("InvertedResidual"), use_residual(stride == 1 && in == out) {
        const int64_t hidden = in * expand_ratio;
        auto sequence = std::make_shared<Sequential>();
        if (expand_ratio != 1)
            sequence->push_back(
                std::make_shared<Conv2dNormActivation>(in, hidden, 1, 1, 1, mobilenet_v2_norm, "relu6", generator));
        sequence->push_back(
            std::make_shared<Conv2dNormActivation>(hidden, hidden, 3, stride, hidden, mobilenet_v2_norm, "relu6", generator));
        sequence->push_back(std::make_shared<Conv2d>(hidden, out, 1, conv_config(1, 0), generator));
        sequence->push_back(std::make_shared<BatchNorm2d>(out, mobilenet_v2_norm));
        conv = register_module("conv", sequence);
    }
    Tensor forward(const Tensor& x) override { return use_residual ? x + (*conv)(x) : (*conv)(x); }
    int64_t forward_flops(const Shape&, const Shape& output) const override {
        return use_residual ? numel_of(output) : 0;  // the skip addition
    }

    bool use_residual;
    std::shared_ptr<Sequential> conv;
};

class MobileNetV2 : public Module {
public:
    MobileNetV2(const ModelConfig& config, double dropout_p) : Module("MobileNetV2") {
        Generator generator(config.seed);
        const init::DeferInit defer_init;  // initialised once, below, as torchvision does
        struct Stage {
            int64_t t, c, n, s;
        };
        const Stage stages[] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
                                {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
        int64_t in = make_divisible(32 * config.width);
        const int64_t last = make_divisible(1280 * std::max(1.0, config.width));
        features = register_module("features", std::make_shared<Sequential>());
        features->push_back(
            std::make_shared<Conv2dNormActivation>(config.in_channels, in, 3, 2, 1, mobilenet_v2_norm, "relu6", generator));
        for (const Stage& stage : stages) {
            const int64_t out = make_divisible(double(stage.c) * config.width);
            for (int64_t i = 0; i < stage.n; ++i) {
                features->push_back(std::make_shared<InvertedResidualV2>(in, out, i == 0 ? stage.s : 1, stage.t, generator));
                in = out;
            }
        }
        features->push_back(std::make_shared<Conv2dNormActivation>(in, last, 1, 1, 1, mobilenet_v2_norm, "relu6", generator));
        avgpool = register_module("avgpool", std::make_shared<AdaptiveAvgPool2d>());
        classifier = register_module("classifier", std::make_shared<Sequential>());
        classifier->push_back(std::make_shared<Dropout>(dropout_p));
        classifier->push_back(std::make_shared<Linear>(last, config.num_classes, true, generator));
        torchvision_init(*this, generator, 0.01);
    }

    Tensor forward(const Tensor& x) override { return (*classifier)(flatten((*avgpool)((*features)(x)), 1)); }

    std::shared_ptr<Sequential> features, classifier;
    std::shared_ptr<AdaptiveAvgPool2d> avgpool;
};

}  // namespace

std::shared_ptr<Module> mobilenet_v2(const ModelConfig& config) {
    return std::make_shared<MobileNetV2>(config, checked_dropout("mobilenet_v2", config, 0.2));
}

}  // namespace kiln::models
