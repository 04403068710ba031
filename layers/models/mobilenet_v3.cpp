// torchvision's MobileNetV3 small and large (Howard et al. 2019), child for child:
//   features.0      Conv2dNormActivation(in, 16, 3x3/2, Hardswish)
//   features.1..N   InvertedResidual blocks, child "block":
//                     [expand 1x1 CNA (when expanded != in)] -> depthwise k x k CNA
//                     -> [SqueezeExcitation(relu, hardsigmoid)] -> project 1x1 CN (no activation)
//                   with the input added back when stride 1 and in == out
//   features.N+1    Conv2dNormActivation(last, 6 last, 1x1, Hardswish)
//   avgpool -> flatten -> classifier: Linear -> Hardswish -> Dropout(0.2) -> Linear
// BatchNorm uses eps 1e-3 and momentum 0.01, as torchvision's MobileNetV3.
#include "layers/models/common.h"
#include "layers/squeeze_excitation.h"

namespace kiln::models {

namespace {

const BatchNormConfig mobilenet_v3_norm{1e-3, 0.01, true};

// One row of the paper's table: input, kernel, expanded, output channels (all
// before the width multiplier), squeeze-excitation, hardswish, stride.
struct BlockSpec {
    int64_t in, kernel, expanded, out;
    bool se, hardswish;
    int64_t stride;
};

class InvertedResidualV3 : public Module {
public:
    InvertedResidualV3(const BlockSpec& spec, double width, Generator& generator) : Module("InvertedResidual") {
        const int64_t in = make_divisible(double(spec.in) * width), expanded = make_divisible(double(spec.expanded) * width),
                      out = make_divisible(double(spec.out) * width);
        use_residual = spec.stride == 1 && in == out;
        const std::string activation = spec.hardswish ? "hardswish" : "relu";
        auto sequence = std::make_shared<Sequential>();
        if (expanded != in)
            sequence->push_back(
                std::make_shared<Conv2dNormActivation>(in, expanded, 1, 1, 1, mobilenet_v3_norm, activation, generator));
        sequence->push_back(std::make_shared<Conv2dNormActivation>(expanded, expanded, spec.kernel, spec.stride, expanded,
                                                                   mobilenet_v3_norm, activation, generator));
        if (spec.se)
            sequence->push_back(std::make_shared<SqueezeExcitation>(expanded, make_divisible(double(expanded / 4)), "relu",
                                                                    "hardsigmoid", generator));
        sequence->push_back(std::make_shared<Conv2dNormActivation>(expanded, out, 1, 1, 1, mobilenet_v3_norm, "", generator));
        block = register_module("block", sequence);
    }
    Tensor forward(const Tensor& x) override { return use_residual ? (*block)(x) + x : (*block)(x); }
    int64_t forward_flops(const Shape&, const Shape& output) const override {
        return use_residual ? numel_of(output) : 0;
    }

    bool use_residual = false;
    std::shared_ptr<Sequential> block;
};

class MobileNetV3 : public Module {
public:
    MobileNetV3(const std::vector<BlockSpec>& specs, int64_t last_channel, const ModelConfig& config, double dropout_p)
        : Module("MobileNetV3") {
        Generator generator(config.seed);
        const init::DeferInit defer_init;  // initialised once, below, as torchvision does
        features = register_module("features", std::make_shared<Sequential>());
        const int64_t first = make_divisible(double(specs.front().in) * config.width);
        features->push_back(std::make_shared<Conv2dNormActivation>(config.in_channels, first, 3, 2, 1, mobilenet_v3_norm,
                                                                   "hardswish", generator));
        for (const BlockSpec& spec : specs) features->push_back(std::make_shared<InvertedResidualV3>(spec, config.width, generator));
        const int64_t last_in = make_divisible(double(specs.back().out) * config.width), last_out = 6 * last_in;
        features->push_back(std::make_shared<Conv2dNormActivation>(last_in, last_out, 1, 1, 1, mobilenet_v3_norm,
                                                                   "hardswish", generator));
        avgpool = register_module("avgpool", std::make_shared<AdaptiveAvgPool2d>());
        const int64_t head = make_divisible(double(last_channel) * config.width);
        classifier = register_module("classifier", std::make_shared<Sequential>());
        classifier->push_back(std::make_shared<Linear>(last_out, head, true, generator));
        classifier->push_back(std::make_shared<Hardswish>());
        classifier->push_back(std::make_shared<Dropout>(dropout_p));
        classifier->push_back(std::make_shared<Linear>(head, config.num_classes, true, generator));
        torchvision_init(*this, generator, 0.01);
    }

    Tensor forward(const Tensor& x) override { return (*classifier)(flatten((*avgpool)((*features)(x)), 1)); }

    std::shared_ptr<Sequential> features, classifier;
    std::shared_ptr<AdaptiveAvgPool2d> avgpool;
};

}  // namespace

std::shared_ptr<Module> mobilenet_v3_large(const ModelConfig& config) {
    const double p = checked_dropout("mobilenet_v3_large", config, 0.2);
    const std::vector<BlockSpec> specs = {
        {16, 3, 16, 16, false, false, 1},    {16, 3, 64, 24, false, false, 2},   {24, 3, 72, 24, false, false, 1},
        {24, 5, 72, 40, true, false, 2},     {40, 5, 120, 40, true, false, 1},   {40, 5, 120, 40, true, false, 1},
        {40, 3, 240, 80, false, true, 2},    {80, 3, 200, 80, false, true, 1},   {80, 3, 184, 80, false, true, 1},
        {80, 3, 184, 80, false, true, 1},    {80, 3, 480, 112, true, true, 1},   {112, 3, 672, 112, true, true, 1},
        {112, 5, 672, 160, true, true, 2},   {160, 5, 960, 160, true, true, 1},  {160, 5, 960, 160, true, true, 1}};
    return std::make_shared<MobileNetV3>(specs, 1280, config, p);
}

std::shared_ptr<Module> mobilenet_v3_small(const ModelConfig& config) {
    const double p = checked_dropout("mobilenet_v3_small", config, 0.2);
    const std::vector<BlockSpec> specs = {
        {16, 3, 16, 16, true, false, 2},   {16, 3, 72, 24, false, false, 2},  {24, 3, 88, 24, false, false, 1},
        {24, 5, 96, 40, true, true, 2},    {40, 5, 240, 40, true, true, 1},   {40, 5, 240, 40, true, true, 1},
        {40, 5, 120, 48, true, true, 1},   {48, 5, 144, 48, true, true, 1},   {48, 5, 288, 96, true, true, 2},
        {96, 5, 576, 96, true, true, 1},   {96, 5, 576, 96, true, true, 1}};
    return std::make_shared<MobileNetV3>(specs, 1024, config, p);
}

}  // namespace kiln::models
