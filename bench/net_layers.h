#pragma once
// The convolution layers of ResNet-18 and MobileNetV2 (width 1.0) at a
// 128x128 input, one entry per distinct layer shape (a repeated block is
// listed once), shared by bench/conv.cpp and bench/kernels.cpp.
// at_input(layer, 224) scales a layer to a 224x224 input (every spatial size
// of both nets is a multiple of 4 at 128: x 224/128 = 7/4 is exact).
#include <algorithm>
#include <cstdint>
#include <vector>

namespace kiln::bench {

struct Layer {
    const char* name;
    int64_t in_channels, size, out_channels, kernel, stride, groups;  // square images and kernels; padding kernel / 2
};

// ResNet-18 at 128x128: stem 64x64, then stages at 32, 16, 8, 4 pixels.
inline const Layer resnet18[] = {
    {"r18.conv1 7x7/2", 3, 128, 64, 7, 2, 1},
    {"r18.layer1 3x3", 64, 32, 64, 3, 1, 1},
    {"r18.layer2.0 3x3/2", 64, 32, 128, 3, 2, 1},
    {"r18.layer2 3x3", 128, 16, 128, 3, 1, 1},
    {"r18.layer2.down 1x1/2", 64, 32, 128, 1, 2, 1},
    {"r18.layer3.0 3x3/2", 128, 16, 256, 3, 2, 1},
    {"r18.layer3 3x3", 256, 8, 256, 3, 1, 1},
    {"r18.layer3.down 1x1/2", 128, 16, 256, 1, 2, 1},
    {"r18.layer4.0 3x3/2", 256, 8, 512, 3, 2, 1},
    {"r18.layer4 3x3", 512, 4, 512, 3, 1, 1},
    {"r18.layer4.down 1x1/2", 256, 8, 512, 1, 2, 1},
};

// MobileNetV2 at 128x128: stem 3x3/2 to 64x64, then inverted residual blocks
// (1x1 expand, 3x3 depthwise, 1x1 project); the last 1x1 goes to 1280 channels.
inline const Layer mobilenet_v2[] = {
    {"mv2.stem 3x3/2", 3, 128, 32, 3, 2, 1},
    {"mv2.b1 dw 32", 32, 64, 32, 3, 1, 32},
    {"mv2.b1 pw 32>16", 32, 64, 16, 1, 1, 1},
    {"mv2.b2 pw 16>96", 16, 64, 96, 1, 1, 1},
    {"mv2.b2 dw/2 96", 96, 64, 96, 3, 2, 96},
    {"mv2.b2 pw 96>24", 96, 32, 24, 1, 1, 1},
    {"mv2.b3 pw 24>144", 24, 32, 144, 1, 1, 1},
    {"mv2.b3 dw 144", 144, 32, 144, 3, 1, 144},
    {"mv2.b3 pw 144>24", 144, 32, 24, 1, 1, 1},
    {"mv2.b4 dw/2 144", 144, 32, 144, 3, 2, 144},
    {"mv2.b4 pw 144>32", 144, 16, 32, 1, 1, 1},
    {"mv2.b5 pw 32>192", 32, 16, 192, 1, 1, 1},
    {"mv2.b5 dw 192", 192, 16, 192, 3, 1, 192},
    {"mv2.b5 pw 192>32", 192, 16, 32, 1, 1, 1},
    {"mv2.b7 dw/2 192", 192, 16, 192, 3, 2, 192},
    {"mv2.b7 pw 192>64", 192, 8, 64, 1, 1, 1},
    {"mv2.b8 pw 64>384", 64, 8, 384, 1, 1, 1},
    {"mv2.b8 dw 384", 384, 8, 384, 3, 1, 384},
    {"mv2.b8 pw 384>64", 384, 8, 64, 1, 1, 1},
    {"mv2.b11 pw 384>96", 384, 8, 96, 1, 1, 1},
    {"mv2.b12 pw 96>576", 96, 8, 576, 1, 1, 1},
    {"mv2.b12 dw 576", 576, 8, 576, 3, 1, 576},
    {"mv2.b12 pw 576>96", 576, 8, 96, 1, 1, 1},
    {"mv2.b14 dw/2 576", 576, 8, 576, 3, 2, 576},
    {"mv2.b14 pw 576>160", 576, 4, 160, 1, 1, 1},
    {"mv2.b15 pw 160>960", 160, 4, 960, 1, 1, 1},
    {"mv2.b15 dw 960", 960, 4, 960, 3, 1, 960},
    {"mv2.b15 pw 960>160", 960, 4, 160, 1, 1, 1},
    {"mv2.b17 pw 960>320", 960, 4, 320, 1, 1, 1},
    {"mv2.head pw 320>1280", 320, 4, 1280, 1, 1, 1},
};

// The layer at a width multiplier: channels scaled (the 3-channel image kept;
// depthwise stays one group per channel). ResNet-18's are exact at 0.5;
// MobileNetV2's own rounding to multiples of 8 is not applied.
inline Layer at_width(Layer layer, double width) {
    const auto scaled = [&](int64_t channels) { return std::max<int64_t>(1, int64_t(channels * width + 0.5)); };
    const bool depthwise = layer.groups > 1;
    if (layer.in_channels != 3) layer.in_channels = scaled(layer.in_channels);
    layer.out_channels = scaled(layer.out_channels);
    if (depthwise) layer.groups = layer.in_channels = layer.out_channels;
    return layer;
}

inline Layer at_input(Layer layer, int64_t input) {
    layer.size = layer.size * input / 128;
    return layer;
}

}  // namespace kiln::bench
