#pragma once
// BatchNorm2d as torch.nn.BatchNorm2d: per channel of x [N, C, H, W],
//   training: y = (x - batch mean) / sqrt(batch var + eps) * weight + bias, and
//     running_mean/var <- (1 - momentum) running + momentum * batch statistic
//     (unbiased variance), num_batches_tracked += 1;
//   eval: y = (x - running_mean) / sqrt(running_var + eps) * weight + bias.
// Parameters weight (ones) and bias (zeros) when affine; buffers running_mean
// (zeros), running_var (ones) and num_batches_tracked (int64, 0-d) — the names
// and initial values of PyTorch's state dict.
#include "engine/ops.h"
#include "layers/module.h"

namespace kiln {

struct BatchNormConfig {
    double eps = 1e-5;
    double momentum = 0.1;  // PyTorch's default; torchvision's MobileNetV3 uses eps 1e-3, momentum 0.01
    bool affine = true;
};

class BatchNorm2d : public Module {
public:
    explicit BatchNorm2d(int64_t num_features, const BatchNormConfig& config = {});

    Tensor forward(const Tensor& x) override;
    // relu(forward(x)) as one batch_norm_relu op, relu6(forward(x)) as one
    // batch_norm_relu6 op: the same bits and the same running-statistics
    // update. Called through batch_norm_then (layers/fusion.h) when this
    // module is followed by a ReLU or a ReLU6.
    Tensor forward_relu(const Tensor& x);
    Tensor forward_relu6(const Tensor& x);
    std::string extra_repr() const override;
    int64_t forward_flops(const Shape& input, const Shape& output) const override;

    int64_t num_features;
    BatchNormConfig config;
    Tensor weight, bias;  // undefined when !affine
    Tensor running_mean, running_var, num_batches_tracked;

private:
    using BatchNormOp = Tensor (*)(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, bool,
                                   double, double);
    Tensor normalise(const Tensor& x, BatchNormOp op);  // batch_norm, batch_norm_relu or batch_norm_relu6
};

}  // namespace kiln
