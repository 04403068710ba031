#pragma once
// Gradient clipping and accumulation.
#include <vector>

#include "engine/tensor.h"

namespace kiln::optim {

// Scales all gradients together so their global norm is at most max_norm:
//   total = (sum_p ||g_p||_q^q)^(1/q)   (q = norm_type; infinity: max |g|)
//   g <- g * min(1, max_norm / (total + 1e-6))
// Returns the norm before clipping (for logging). Parameters without a
// gradient are skipped. As torch.nn.utils.clip_grad_norm_.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, double norm_type = 2);

// Clamps every gradient element to [-clip_value, clip_value].
void clip_grad_value(const std::vector<Tensor>& params, double clip_value);

// Gradient accumulation: N micro-batches whose losses are each scaled by 1/N
// add up (in .grad) to the gradient of the mean loss over the whole batch, so
// one optimizer step afterwards equals the large-batch step (for losses that
// are means over the batch, with equal micro-batch sizes).
class GradientAccumulation {
public:
    explicit GradientAccumulation(int64_t micro_batches);
    double loss_scale() const { return 1.0 / double(micro_batches_); }
    // Call after each micro-batch's backward(); true when it is time to step the optimizer.
    bool micro_batch_done();
    int64_t micro_batches() const { return micro_batches_; }

private:
    int64_t micro_batches_, done_ = 0;
};

}  // namespace kiln::optim
