#include "layers/batch_norm.h"

#include "engine/autograd.h"

namespace kiln {

BatchNorm2d::BatchNorm2d(int64_t num_features_, const BatchNormConfig& config_)
    : Module("BatchNorm2d"), num_features(num_features_), config(config_) {
    KILN_CHECK(num_features > 0, "BatchNorm2d: num_features must be positive, got ", num_features);
    KILN_CHECK(config.eps > 0 && config.momentum >= 0 && config.momentum <= 1, "BatchNorm2d: eps ", config.eps,
               " must be positive and momentum ", config.momentum, " in [0, 1]");
    if (config.affine) {
        weight = register_parameter("weight", Tensor::ones({num_features}));
        bias = register_parameter("bias", Tensor::zeros({num_features}));
    }
    running_mean = register_buffer("running_mean", Tensor::zeros({num_features}));
    running_var = register_buffer("running_var", Tensor::ones({num_features}));
    num_batches_tracked = register_buffer("num_batches_tracked", Tensor::zeros({}, DType::int64));
}

Tensor BatchNorm2d::forward(const Tensor& x) { return normalise(x, batch_norm); }

Tensor BatchNorm2d::forward_relu(const Tensor& x) { return normalise(x, batch_norm_relu); }

Tensor BatchNorm2d::forward_relu6(const Tensor& x) { return normalise(x, batch_norm_relu6); }

Tensor BatchNorm2d::normalise(const Tensor& x, BatchNormOp op) {
    KILN_CHECK(x.defined() && x.dim() == 4 && x.size(1) == num_features, "BatchNorm2d: expected input [N, ",
               num_features, ", H, W], got ", x.defined() ? shape_str(x.shape()) : "an undefined tensor");
    const bool training = is_training();
    Tensor y = op(x, weight, bias, running_mean, running_var, training, config.momentum, config.eps);
    if (training) {
        NoGradGuard no_grad;
        num_batches_tracked.fill_(num_batches_tracked.item() + 1);
    }
    return y;
}

std::string BatchNorm2d::extra_repr() const {
    return str(num_features, ", eps=", config.eps, ", momentum=", config.momentum,
               ", affine=", config.affine ? "True" : "False", ", track_running_stats=True");
}

int64_t BatchNorm2d::forward_flops(const Shape&, const Shape& output) const {
    return 2 * numel_of(output);  // eval: one scale and one shift per element
}

}  // namespace kiln
