#include "layers/fusion.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <string>

#include "engine/autograd.h"
#include "layers/activation.h"

namespace kiln {

namespace {

// -1: not decided yet (KILN_FUSION is read at the first question), 0 off, 1 on.
std::atomic<int> fusion_state{-1};

bool from_environment() {
    const char* value = std::getenv("KILN_FUSION");
    if (!value) return true;
    std::string text(value);
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    if (text.empty() || text == "on" || text == "1" || text == "true") return true;
    if (text == "off" || text == "0" || text == "false") return false;
    fail("KILN_FUSION: expected on or off, got \"", value, "\"");
}

}  // namespace

bool fusion_enabled() {
    int state = fusion_state.load();
    if (state < 0) {
        state = from_environment() ? 1 : 0;  // throws (and stays undecided) on a bad value
        fusion_state.store(state);
    }
    return state == 1;
}

void set_fusion(bool enabled) { fusion_state.store(enabled ? 1 : 0); }

bool fuses_after_batch_norm(const Module& next) {
    return dynamic_cast<const ReLU*>(&next) != nullptr || dynamic_cast<const ReLU6*>(&next) != nullptr;
}

Tensor conv_batch_norm_then(Conv2d& conv, BatchNorm2d& bn, Module* next, const Tensor& x) {
    const bool inference = !bn.is_training() && !needs_grad({x, conv.weight, conv.bias, bn.weight, bn.bias});
    const bool activation = next && fuses_after_batch_norm(*next);
    if (!inference || !fusion_enabled()) {
        const Tensor z = conv(x);
        if (!next) return bn(z);
        return batch_norm_then(bn, *next, z);
    }
    const FusedActivation act = !activation                      ? FusedActivation::none
                                : dynamic_cast<const ReLU6*>(next) ? FusedActivation::relu6
                                                                   : FusedActivation::relu;
    Module* const modules[] = {&conv, &bn, next};
    const auto fused = [&] {
        return conv2d_batch_norm(x, conv.weight, conv.bias,
                                 {conv.config.stride, conv.config.padding, conv.config.dilation, conv.config.groups},
                                 bn.weight, bn.bias, bn.running_mean, bn.running_var, bn.config.eps, act);
    };
    // (one reference captured: std::function keeps it without a heap allocation)
    const Tensor out = Module::call_fused(std::span(modules, activation ? 3 : 2), x, [&fused] { return fused(); });
    return next && !activation ? (*next)(out) : out;
}

Tensor batch_norm_then(BatchNorm2d& bn, Module& next, const Tensor& x) {
    if (!fuses_after_batch_norm(next) || !fusion_enabled()) return next(bn(x));
    if (dynamic_cast<const ReLU6*>(&next)) return Module::call_fused(bn, next, x, [&] { return bn.forward_relu6(x); });
    return Module::call_fused(bn, next, x, [&] { return bn.forward_relu(x); });
}

}  // namespace kiln
