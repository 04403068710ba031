#pragma once
// Pooling modules over [N, C, H, W] (engine/ops/pool.cpp):
//   MaxPool2d, AvgPool2d: a kernel window moved by stride (default: the
//     kernel), with padding and ceil_mode as PyTorch's;
//   AdaptiveAvgPool2d: averages into a fixed output size (1 x 1 = global
//     average pooling), PyTorch's bin boundaries.
#include "engine/ops.h"
#include "layers/module.h"

namespace kiln {

class MaxPool2d : public Module {
public:
    explicit MaxPool2d(const Pool2dOptions& options);
    // Square shorthand: kernel k, stride s (0: the kernel), padding p.
    MaxPool2d(int64_t kernel, int64_t stride = 0, int64_t padding = 0, bool ceil_mode = false);
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;
    int64_t forward_flops(const Shape& input, const Shape& output) const override;
    Pool2dOptions options;
};

class AvgPool2d : public Module {
public:
    explicit AvgPool2d(const Pool2dOptions& options);
    AvgPool2d(int64_t kernel, int64_t stride = 0, int64_t padding = 0, bool ceil_mode = false);
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;
    int64_t forward_flops(const Shape& input, const Shape& output) const override;
    Pool2dOptions options;
};

class AdaptiveAvgPool2d : public Module {
public:
    explicit AdaptiveAvgPool2d(std::array<int64_t, 2> output_size = {1, 1});
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;
    int64_t forward_flops(const Shape& input, const Shape& output) const override;
    std::array<int64_t, 2> output_size;
};

}  // namespace kiln
