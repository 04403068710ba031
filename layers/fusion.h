#pragma once
// Fusion of a BatchNorm2d with the ReLU (ReLU6) module called right after it
// into one batch_norm_relu (batch_norm_relu6) op (engine/ops.h): the forward
// writes act(bn(x)) in one pass and the normalised tensor never exists, so
// training keeps one activation tensor fewer per pair and makes one pass
// fewer over it each way. Where: Sequential's children (a BatchNorm2d child
// followed by a ReLU or ReLU6 child, as in Conv2dNormActivation: MobileNetV2,
// MobileNetV3's "relu" blocks) and the ResNet stems and blocks
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
// At inference a Conv2d followed by a BatchNorm2d (and a ReLU or ReLU6)
// becomes one conv2d_batch_norm op (engine/ops.h): the eval batch norm and
// the activation are applied in the convolution's output pass, so neither
// the batch norm's output nor the activation's is a tensor of its own and
// neither is a separate pass over memory. It applies when the BatchNorm2d is
// in eval mode and no gradient is needed (NoGradGuard, or no input and no
// parameter requires grad); training, and eval with gradients (Grad-CAM,
// input gradients), run the modules (with the BN + ReLU fusion above). Same
// output bits either way. Where: Sequential's children (Conv2d, BatchNorm2d
// [, ReLU or ReLU6]: Conv2dNormActivation, MobileNetV2's projections,
// downsample branches) and the ResNet stems and blocks.
//
// The switch: on by default; KILN_FUSION=off in the environment (read at the
// first fused call) or set_fusion(false) / FusionGuard in code calls the two
// modules one after the other instead (for comparisons and measurements).
#include "layers/batch_norm.h"
#include "layers/conv.h"

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

// Whether a BatchNorm2d followed by `next` fuses: `next` is a ReLU or a ReLU6.
bool fuses_after_batch_norm(const Module& next);

// next(bn(x)): one batch_norm_relu (batch_norm_relu6) op when `next` fuses
// and fusion is on, else the two module calls.
Tensor batch_norm_then(BatchNorm2d& bn, Module& next, const Tensor& x);

// bn(conv(x)), or next(bn(conv(x))) when `next` is given: one
// conv2d_batch_norm op at inference (see above) when fusion is on, else the
// module calls (with batch_norm_then for bn and next).
Tensor conv_batch_norm_then(Conv2d& conv, BatchNorm2d& bn, Module* next, const Tensor& x);

}  // namespace kiln
