#pragma once
// ResNet's residual blocks, with torchvision's child names (so a state dict
// reads layer1.0.conv1.weight, layer2.0.downsample.0.weight):
//
// BasicBlock (ResNet-18/34):  y = relu(bn2(conv2(relu(bn1(conv1(x))))) + skip(x))
//   conv1 3x3 stride s, conv2 3x3; skip = downsample(x) (1x1 conv stride s + BN)
//   when the shape changes, else x.
// Bottleneck (ResNet-50, "v1.5": the stride sits on the 3x3 conv):
//   y = relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + skip(x))
//   conv1 1x1 -> width, conv2 3x3 stride s, conv3 1x1 -> 4 planes.
// Each relu(bn(conv(x))) runs as one batch_norm_relu op (layers/fusion.h), and
// at inference every bn(conv(x)), with its relu, as one conv2d_batch_norm op;
// the last relu follows the skip addition and stays its own op.
#include "engine/random.h"
#include "layers/activation.h"
#include "layers/batch_norm.h"
#include "layers/conv.h"
#include "layers/sequential.h"

namespace kiln {

// conv 1x1 stride s (no bias) + BatchNorm: the projection on the skip path.
std::shared_ptr<Sequential> make_downsample(int64_t in_channels, int64_t out_channels, int64_t stride,
                                            Generator& generator);

class BasicBlock : public Module {
public:
    static constexpr int64_t expansion = 1;
    // downsample: null for the identity skip.
    BasicBlock(int64_t in_channels, int64_t planes, int64_t stride, std::shared_ptr<Module> downsample,
               Generator& generator = default_generator());
    Tensor forward(const Tensor& x) override;
    int64_t forward_flops(const Shape& input, const Shape& output) const override;  // the skip addition

    std::shared_ptr<Conv2d> conv1, conv2;
    std::shared_ptr<BatchNorm2d> bn1, bn2;
    std::shared_ptr<ReLU> relu;
    std::shared_ptr<Module> downsample;
};

class Bottleneck : public Module {
public:
    static constexpr int64_t expansion = 4;
    Bottleneck(int64_t in_channels, int64_t planes, int64_t stride, std::shared_ptr<Module> downsample,
               Generator& generator = default_generator());
    Tensor forward(const Tensor& x) override;
    int64_t forward_flops(const Shape& input, const Shape& output) const override;  // the skip addition

    std::shared_ptr<Conv2d> conv1, conv2, conv3;
    std::shared_ptr<BatchNorm2d> bn1, bn2, bn3;
    std::shared_ptr<ReLU> relu;
    std::shared_ptr<Module> downsample;
};

}  // namespace kiln
