#include "optim/clip.h"

#include <cmath>

#include "engine/autograd.h"
#include "engine/ops.h"

namespace kiln::optim {

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, double norm_type) {
    KILN_CHECK(max_norm >= 0, "clip_grad_norm: max_norm ", max_norm, " must be >= 0");
    KILN_CHECK(norm_type > 0, "clip_grad_norm: norm_type ", norm_type, " must be positive");
    NoGradGuard no_grad;
    const bool infinity_norm = std::isinf(norm_type);
    double accumulated = 0;
    for (const Tensor& param : params) {
        const Tensor grad = param.grad();
        if (!grad.defined()) continue;
        for (double g : grad.to_vector()) {  // double accumulation: float sums of squares overflow and round
            if (infinity_norm) accumulated = std::max(accumulated, std::abs(g));
            else accumulated += std::pow(std::abs(g), norm_type);
        }
    }
    const double total = infinity_norm ? accumulated : std::pow(accumulated, 1 / norm_type);
    const double scale = std::min(1.0, max_norm / (total + 1e-6));  // 1e-6: as PyTorch, avoids 0/0
    if (scale < 1)
        for (const Tensor& param : params)
            if (Tensor grad = param.grad(); grad.defined()) grad.copy_(grad * scale);
    return total;
}

void clip_grad_value(const std::vector<Tensor>& params, double clip_value) {
    KILN_CHECK(clip_value >= 0, "clip_grad_value: clip_value ", clip_value, " must be >= 0");
    NoGradGuard no_grad;
    for (const Tensor& param : params)
        if (Tensor grad = param.grad(); grad.defined()) grad.copy_(clamp(grad, -clip_value, clip_value));
}

GradientAccumulation::GradientAccumulation(int64_t micro_batches) : micro_batches_(micro_batches) {
    KILN_CHECK(micro_batches >= 1, "GradientAccumulation: micro_batches ", micro_batches, " must be >= 1");
}

bool GradientAccumulation::micro_batch_done() {
    if (++done_ < micro_batches_) return false;
    done_ = 0;
    return true;
}

}  // namespace kiln::optim
