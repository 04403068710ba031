#include "layers/conv.h"

#include <cmath>

#include "layers/init.h"

namespace kiln {

Conv2d::Conv2d(int64_t in_channels_, int64_t out_channels_, std::array<int64_t, 2> kernel_size_,
               const Conv2dConfig& config_, Generator& generator)
    : Module("Conv2d"), in_channels(in_channels_), out_channels(out_channels_), kernel_size(kernel_size_), config(config_) {
    KILN_CHECK(in_channels > 0 && out_channels > 0 && config.groups > 0, "Conv2d: in_channels ", in_channels,
               ", out_channels ", out_channels, " and groups ", config.groups, " must be positive");
    KILN_CHECK(kernel_size[0] > 0 && kernel_size[1] > 0 && config.stride[0] > 0 && config.stride[1] > 0 &&
                   config.dilation[0] > 0 && config.dilation[1] > 0 && config.padding[0] >= 0 && config.padding[1] >= 0,
               "Conv2d: kernel_size ", tuple_str(kernel_size), ", stride ", tuple_str(config.stride), " and dilation ",
               tuple_str(config.dilation), " must be positive, padding ", tuple_str(config.padding), " non-negative");
    KILN_CHECK(in_channels % config.groups == 0 && out_channels % config.groups == 0, "Conv2d: in_channels ",
               in_channels, " and out_channels ", out_channels, " must be divisible by groups ", config.groups);
    weight = register_parameter(
        "weight", Tensor::zeros({out_channels, in_channels / config.groups, kernel_size[0], kernel_size[1]}));
    if (config.bias) bias = register_parameter("bias", Tensor::zeros({out_channels}));
    if (!init::DeferInit::active()) init::default_init_(weight, bias, generator);
}

Tensor Conv2d::forward(const Tensor& x) {
    return conv2d(x, weight, bias, {config.stride, config.padding, config.dilation, config.groups});
}

std::string Conv2d::extra_repr() const {
    std::string out = str(in_channels, ", ", out_channels, ", kernel_size=", tuple_str(kernel_size), ", stride=",
                          tuple_str(config.stride));
    if (config.padding != std::array<int64_t, 2>{0, 0}) out += ", padding=" + tuple_str(config.padding);
    if (config.dilation != std::array<int64_t, 2>{1, 1}) out += ", dilation=" + tuple_str(config.dilation);
    if (config.groups != 1) out += str(", groups=", config.groups);
    if (!config.bias) out += ", bias=False";
    return out;
}

int64_t Conv2d::forward_flops(const Shape&, const Shape& output) const {
    // each output element: in/groups * kH * kW multiply-adds (+ 1 add for the bias)
    const int64_t per_output = 2 * (in_channels / config.groups) * kernel_size[0] * kernel_size[1] + (config.bias ? 1 : 0);
    return numel_of(output) * per_output;
}

}  // namespace kiln
