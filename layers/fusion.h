#pragma once
// Fusion of a BatchNorm2d with the ReLU module called right after it into one
// batch_norm_relu op (engine/ops.h): the forward writes relu(bn(x)) in one
// pass and the normalised tensor never exists, so training keeps one
// activation tensor fewer per pair and makes one pass fewer over it each way.
// Where: Sequential's children (a BatchNorm2d child followed by a ReLU child,
// as in Conv2dNormActivation with "relu") and the ResNet stems and blocks
// (relu(bn1(conv1(x))), Bottleneck's bn2 too).
//
// Nothing visible changes: the modules, their names, state dicts and
// checkpoints stay as they are; outputs are the same bits and gradients the
// same values as calling the two modules; an error names the BatchNorm2d (its
// message names the op, batch_norm_relu); an active ForwardTrace (kiln
// summary) records both modules (Module::call_fused). kiln has no forward
// hooks on modules (Grad-CAM re-runs the net stage by stage, and a fused pair
// never spans two stages), so no hook can be skipped by a fusion.
//
// The switch: on by default; KILN_FUSION=off in the environment (read at the
// first fused call) or set_fusion(false) / FusionGuard in code calls the two
// modules one after the other instead (for comparisons and measurements).
#include "layers/batch_norm.h"

namespace kiln {

bool fusion_enabled();
void set_fusion(bool enabled);

// Sets the switch for a scope and restores the previous setting after it.
class FusionGuard {
public:
    explicit FusionGuard(bool enabled) : previous_(fusion_enabled()) { set_fusion(enabled); }
    ~FusionGuard() { set_fusion(previous_); }
    FusionGuard(const FusionGuard&) = delete;
    FusionGuard& operator=(const FusionGuard&) = delete;

private:
    bool previous_;
};

// Whether a BatchNorm2d followed by `next` fuses: `next` is a ReLU.
bool fuses_after_batch_norm(const Module& next);

// next(bn(x)): one batch_norm_relu op when `next` fuses and fusion is on,
// else the two module calls.
Tensor batch_norm_then(BatchNorm2d& bn, Module& next, const Tensor& x);

}  // namespace kiln
