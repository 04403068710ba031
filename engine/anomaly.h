#pragma once
// Anomaly mode, like PyTorch's torch.autograd.detect_anomaly: when on,
// backward() checks the value it starts from (the loss) and the gradients
// every node hands to its inputs for NaN and Inf, and stops at the first
// node whose gradient is non-finite with a kiln::Error that names it, the
// forward op it belongs to, and the parameters it feeds:
//
//   anomaly: SqrtBackward (the backward of sqrt, output [3]) produced a
//   non-finite gradient for input 0 (0 NaN, 1 Inf of 3 values) from a finite
//   incoming gradient; it flows into parameter "fc.weight"
//
// Off by default: each check copies a gradient to the host and reads it.
#include <vector>

#include "engine/tensor.h"

namespace kiln {

class Node;

void set_anomaly_detection(bool enabled);
bool anomaly_detection_enabled();

// Turns anomaly mode on (or off) for its lifetime.
class AnomalyModeGuard {
public:
    explicit AnomalyModeGuard(bool enabled = true);
    ~AnomalyModeGuard();
    AnomalyModeGuard(const AnomalyModeGuard&) = delete;
    AnomalyModeGuard& operator=(const AnomalyModeGuard&) = delete;

private:
    bool previous_;
};

// NaN and Inf counts of a tensor's values (any device, any floating dtype).
struct NonFinite {
    int64_t nan = 0, inf = 0;
    bool any() const { return nan + inf > 0; }
};
NonFinite count_non_finite(const Tensor& tensor);

// The checks backward() runs in anomaly mode: throw kiln::Error naming the
// node (or, for the root, the loss).
void check_backward_root(const Tensor& root);
void check_backward_node(const Node& node, const Tensor& grad_output, const std::vector<Tensor>& input_grads);

}  // namespace kiln
