// torchvision's ResNet-18/34/50 (He et al. 2016), child for child:
//   conv1 7x7/2 -> bn1 -> relu -> maxpool 3x3/2 -> layer1..layer4 -> avgpool -> fc
// layerK is a Sequential of blocks; its first block strides by 2 (except
// layer1) and projects the skip path with `downsample` when the shape changes.
// kiln adds one child, `dropout` before fc (no parameters, p = 0 by default),
// so the state dict is torchvision's exactly.
#include "layers/fusion.h"
#include "layers/models/common.h"
#include "layers/residual.h"

namespace kiln::models {

namespace {

template <typename Block>
class ResNet : public Module {
public:
    ResNet(const std::vector<int64_t>& blocks_per_layer, const ModelConfig& config, double dropout_p)
        : Module("ResNet") {
        Generator generator(config.seed);
        const init::DeferInit defer_init;  // initialised once, below, as torchvision does
        int64_t in = scaled(64, config.width);
        conv1 = register_module("conv1", std::make_shared<Conv2d>(config.in_channels, in, 7, conv_config(2, 3), generator));
        bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(in));
        relu = register_module("relu", std::make_shared<ReLU>());
        maxpool = register_module("maxpool", std::make_shared<MaxPool2d>(3, 2, 1));
        const int64_t planes[4] = {64, 128, 256, 512};
        for (size_t layer = 0; layer < 4; ++layer) {
            auto sequence = std::make_shared<Sequential>();
            const int64_t width = scaled(planes[layer], config.width);
            for (int64_t b = 0; b < blocks_per_layer[layer]; ++b) {
                const int64_t stride = (layer > 0 && b == 0) ? 2 : 1;
                std::shared_ptr<Module> downsample;
                if (stride != 1 || in != width * Block::expansion)
                    downsample = make_downsample(in, width * Block::expansion, stride, generator);
                sequence->push_back(std::make_shared<Block>(in, width, stride, downsample, generator));
                in = width * Block::expansion;
            }
            layers[layer] = register_module("layer" + std::to_string(layer + 1), sequence);
        }
        avgpool = register_module("avgpool", std::make_shared<AdaptiveAvgPool2d>());
        dropout = register_module("dropout", std::make_shared<Dropout>(dropout_p));
        fc = register_module("fc", std::make_shared<Linear>(in, config.num_classes, true, generator));
        torchvision_init(*this, generator, 0);  // convs fan_out normal, BN 1/0, fc keeps PyTorch's default
    }

    Tensor forward(const Tensor& x) override {
        Tensor y = (*maxpool)(conv_batch_norm_then(*conv1, *bn1, relu.get(), x));  // relu(bn1(.)) as one op (layers/fusion.h)
        for (auto& layer : layers) y = (*layer)(y);
        return (*fc)((*dropout)(flatten((*avgpool)(y), 1)));
    }

    std::shared_ptr<Conv2d> conv1;
    std::shared_ptr<BatchNorm2d> bn1;
    std::shared_ptr<ReLU> relu;
    std::shared_ptr<MaxPool2d> maxpool;
    std::shared_ptr<Sequential> layers[4];
    std::shared_ptr<AdaptiveAvgPool2d> avgpool;
    std::shared_ptr<Dropout> dropout;
    std::shared_ptr<Linear> fc;
};

}  // namespace

std::shared_ptr<Module> resnet18(const ModelConfig& config) {
    return std::make_shared<ResNet<BasicBlock>>(std::vector<int64_t>{2, 2, 2, 2}, config,
                                                checked_dropout("resnet18", config, 0));
}
std::shared_ptr<Module> resnet34(const ModelConfig& config) {
    return std::make_shared<ResNet<BasicBlock>>(std::vector<int64_t>{3, 4, 6, 3}, config,
                                                checked_dropout("resnet34", config, 0));
}
std::shared_ptr<Module> resnet50(const ModelConfig& config) {
    return std::make_shared<ResNet<Bottleneck>>(std::vector<int64_t>{3, 4, 6, 3}, config,
                                                checked_dropout("resnet50", config, 0));
}

}  // namespace kiln::models
