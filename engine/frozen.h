#pragma once
// Frozen weights, for inference: inside a FrozenWeightsGuard an op may keep
// what it derives from a weight tensor alone and reuse it on the next call
// with the same tensor, instead of deriving it every time. Today that is the
// cpu convolution's Winograd kernels U = G g G^T (kernels/cpu/conv.h,
// "prepared weights"): with them kept, Winograd pays on fewer tiles, and
// resnet18's 3x3 layers at batch 1 run in 0.46-0.78 of the direct kernel's
// time where they took 0.64-1.0 (docs/benchmarks.md, round 10). It is
// torch.jit.freeze's contract: the weights become constants.
//
// The contract: while a guard is alive on a thread, the weights its ops read
// there must not change (no optimizer step, copy into them, or state-dict
// load); change them only after the guard ends. A kept entry also keeps its
// weight's storage alive until then, so a new tensor never lands at a kept
// one's address. Used only where no gradient is recorded (NoGradGuard or no
// input requiring grad): a training forward never reads a kept entry.
// Thread-local like NoGradGuard; nesting is fine; everything kept is
// dropped when the last guard of the process ends. `kiln predict`, `kiln
// eval` and bench_train_step's inference modes run under one.
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "engine/tensor.h"

namespace kiln {

class FrozenWeightsGuard {
public:
    FrozenWeightsGuard();
    ~FrozenWeightsGuard();
    FrozenWeightsGuard(const FrozenWeightsGuard&) = delete;
    FrozenWeightsGuard& operator=(const FrozenWeightsGuard&) = delete;
};

// Whether a FrozenWeightsGuard is alive on this thread.
bool weights_frozen();

// What was derived from `weight` (contiguous) as `kind` (the op's own id of
// the layout): made by make(floats) on the first call under the guards,
// then the same buffer. Only inside a guard.
std::shared_ptr<const std::vector<float>> frozen_derived(const Tensor& weight, int64_t kind,
                                                         const std::function<void(std::vector<float>&)>& make);

// Entries kept now (tests).
int64_t frozen_entries();

}  // namespace kiln
