#pragma once
// Conv2d: y = conv2d(x, weight, bias) with torch.nn.Conv2d's parameters
//   weight [out_channels, in_channels / groups, kH, kW], bias [out_channels] (optional)
// and its default initialisation: weight kaiming_uniform_(a = sqrt(5)), i.e.
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)), bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
// Input [N, in_channels, H, W] -> [N, out_channels, H_out, W_out].
// Throws kiln::Error for sizes < 1 or channels not divisible by groups.
#include <array>

#include "engine/ops.h"
#include "engine/random.h"
#include "layers/module.h"

namespace kiln {

struct Conv2dConfig {
    std::array<int64_t, 2> stride{1, 1};
    std::array<int64_t, 2> padding{0, 0};
    std::array<int64_t, 2> dilation{1, 1};
    int64_t groups = 1;
    bool bias = true;
};

class Conv2d : public Module {
public:
    Conv2d(int64_t in_channels, int64_t out_channels, std::array<int64_t, 2> kernel_size, const Conv2dConfig& config = {},
           Generator& generator = default_generator());
    Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, const Conv2dConfig& config = {},
           Generator& generator = default_generator())
        : Conv2d(in_channels, out_channels, {kernel_size, kernel_size}, config, generator) {}

    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;
    int64_t forward_flops(const Shape& input, const Shape& output) const override;

    int64_t in_channels, out_channels;
    std::array<int64_t, 2> kernel_size;
    Conv2dConfig config;
    Tensor weight, bias;  // bias undefined when config.bias is false
};

// Square-kernel shorthand used by the zoo: stride s, padding p, groups g, bias b.
inline Conv2dConfig conv_config(int64_t stride, int64_t padding, int64_t groups = 1, bool bias = false) {
    return {{stride, stride}, {padding, padding}, {1, 1}, groups, bias};
}

}  // namespace kiln
