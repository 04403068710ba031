#include "engine/anomaly.h"

#include <atomic>
#include <cctype>
#include <cmath>
#include <string>

#include "engine/autograd.h"
#include "engine/error.h"

namespace kiln {

namespace {

std::atomic<bool> anomaly_enabled{false};

// "LeakyReluBackward" -> "leaky_relu": the forward op of a backward node.
std::string forward_op_name(const std::string& node_name) {
    std::string stem = node_name;
    const std::string suffix = "Backward";
    if (stem.size() > suffix.size() && stem.compare(stem.size() - suffix.size(), suffix.size(), suffix) == 0)
        stem.resize(stem.size() - suffix.size());
    std::string out;
    for (size_t i = 0; i < stem.size(); ++i) {
        const auto c = static_cast<unsigned char>(stem[i]);
        if (std::isupper(c) && i > 0) out += '_';
        out += char(std::tolower(c));
    }
    return out;
}

// The names of the parameters (named leaves) a node's gradients reach directly.
std::string parameters_fed(const Node& node) {
    std::string names;
    for (const auto& next : node.next) {
        auto* accumulate = dynamic_cast<const AccumulateGrad*>(next.get());
        if (!accumulate || accumulate->leaf->name.empty()) continue;
        names += (names.empty() ? "" : ", ") + ("\"" + accumulate->leaf->name + "\"");
    }
    return names;
}

}  // namespace

void set_anomaly_detection(bool enabled) { anomaly_enabled = enabled; }
bool anomaly_detection_enabled() { return anomaly_enabled; }

AnomalyModeGuard::AnomalyModeGuard(bool enabled) : previous_(anomaly_enabled.exchange(enabled)) {}
AnomalyModeGuard::~AnomalyModeGuard() { anomaly_enabled = previous_; }

NonFinite count_non_finite(const Tensor& tensor) {
    NonFinite count;
    if (!tensor.defined() || tensor.dtype() == DType::int64) return count;
    for (const double v : tensor.to_vector()) {
        if (std::isnan(v)) ++count.nan;
        else if (std::isinf(v)) ++count.inf;
    }
    return count;
}

void check_backward_root(const Tensor& root) {
    const NonFinite bad = count_non_finite(root.detach());
    if (!bad.any()) return;
    fail("anomaly: backward() starts from a non-finite value (", bad.nan, " NaN, ", bad.inf, " Inf of ",
         root.numel(), " values): the loss itself is ", bad.nan ? "NaN" : "Inf",
         "; the forward pass went non-finite (check the inputs, the learning rate and log/div/sqrt of zero)");
}

void check_backward_node(const Node& node, const Tensor& grad_output, const std::vector<Tensor>& input_grads) {
    for (size_t i = 0; i < input_grads.size(); ++i) {
        const NonFinite bad = count_non_finite(input_grads[i]);
        if (!bad.any()) continue;
        const NonFinite incoming = count_non_finite(grad_output);
        const std::string fed = parameters_fed(node);
        fail("anomaly: ", node.name(), " (the backward of ", forward_op_name(node.name()), ", output ",
             shape_str(node.output_shape), ") produced a non-finite gradient for input ", i, " (", bad.nan, " NaN, ",
             bad.inf, " Inf of ", input_grads[i].numel(), " values) from ",
             incoming.any() ? "a non-finite" : "a finite", " incoming gradient",
             fed.empty() ? std::string() : "; it flows into parameter " + fed);
    }
}

}  // namespace kiln
