#include "layers/residual.h"

#include "layers/fusion.h"

namespace kiln {

std::shared_ptr<Sequential> make_downsample(int64_t in_channels, int64_t out_channels, int64_t stride,
                                            Generator& generator) {
    return std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
        std::make_shared<Conv2d>(in_channels, out_channels, 1, conv_config(stride, 0), generator),
        std::make_shared<BatchNorm2d>(out_channels)});
}

BasicBlock::BasicBlock(int64_t in_channels, int64_t planes, int64_t stride, std::shared_ptr<Module> downsample_,
                       Generator& generator)
    : Module("BasicBlock") {
    conv1 = register_module("conv1", std::make_shared<Conv2d>(in_channels, planes, 3, conv_config(stride, 1), generator));
    bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(planes));
    relu = register_module("relu", std::make_shared<ReLU>());
    conv2 = register_module("conv2", std::make_shared<Conv2d>(planes, planes, 3, conv_config(1, 1), generator));
    bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(planes));
    if (downsample_) downsample = register_module("downsample", downsample_);
}

Tensor BasicBlock::forward(const Tensor& x) {
    // relu(bn1(.)) as one op; at inference conv + bn (+ relu) as one (layers/fusion.h)
    Tensor out = conv_batch_norm_then(*conv1, *bn1, relu.get(), x);
    out = conv_batch_norm_then(*conv2, *bn2, nullptr, out);
    const Tensor skip = downsample ? (*downsample)(x) : x;
    return (*relu)(out + skip);
}

int64_t BasicBlock::forward_flops(const Shape&, const Shape& output) const { return numel_of(output); }
int64_t Bottleneck::forward_flops(const Shape&, const Shape& output) const { return numel_of(output); }

Bottleneck::Bottleneck(int64_t in_channels, int64_t planes, int64_t stride, std::shared_ptr<Module> downsample_,
                       Generator& generator)
    : Module("Bottleneck") {
    const int64_t width = planes;  // groups 1, base width 64 (torchvision's resnet50)
    conv1 = register_module("conv1", std::make_shared<Conv2d>(in_channels, width, 1, conv_config(1, 0), generator));
    bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(width));
    conv2 = register_module("conv2", std::make_shared<Conv2d>(width, width, 3, conv_config(stride, 1), generator));
    bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(width));
    conv3 = register_module("conv3",
                            std::make_shared<Conv2d>(width, planes * expansion, 1, conv_config(1, 0), generator));
    bn3 = register_module("bn3", std::make_shared<BatchNorm2d>(planes * expansion));
    relu = register_module("relu", std::make_shared<ReLU>());
    if (downsample_) downsample = register_module("downsample", downsample_);
}

Tensor Bottleneck::forward(const Tensor& x) {
    // relu(bn(.)) as one op; at inference conv + bn (+ relu) as one (layers/fusion.h)
    Tensor out = conv_batch_norm_then(*conv1, *bn1, relu.get(), x);
    out = conv_batch_norm_then(*conv2, *bn2, relu.get(), out);
    out = conv_batch_norm_then(*conv3, *bn3, nullptr, out);
    const Tensor skip = downsample ? (*downsample)(x) : x;
    return (*relu)(out + skip);
}

}  // namespace kiln
