// Losses, each with reduction none (per sample / element), sum, or mean.
//
//   cross_entropy  l_i = sw_i [(1 - s) w[y_i] (-log p_i,y_i) + (s / C) sum_c w[c] (-log p_i,c)],
//                  p = softmax(logits); mean = sum_i l_i / sum_i sw_i w[y_i]   (PyTorch's rule)
//   nll_loss       the same on given log-probabilities with s = 0, sw = 1
//   binary_cross_entropy_with_logits
//                  l = (1 - t) x + (1 + (pw - 1) t) softplus(-x)   (kernels/common/loss.h);
//                  mean over all elements
//   focal_loss     l_i = (1 - p_i,y_i)^gamma alpha[y_i] (-log p_i,y_i);  mean over N
//   binary_focal_loss
//                  l = alpha_t (1 - p_t)^gamma bce(x, t),  p_t = p t + (1 - p)(1 - t),
//                  alpha_t = alpha t + (1 - alpha)(1 - t);  mean over all elements
//   mse_loss       l = (x - t)^2;  mean over all elements
//
// Two fused kernels carry the gradients that matter (kernels/cpu/loss.cpp): the
// weighted, smoothed NLL over log-probabilities, whose backward node is below,
// and the element-wise BCE on logits. Everything else is composed from
// differentiable ops (log_softmax, exp, pow, sigmoid, mul, sum), so each
// formula above is written once. Weights (class_weights, sample_weights,
// pos_weight, alpha) are constants: no gradient flows into them.
//
// Every loss checks its inputs for NaN: a NaN loss would otherwise train on
// silently. Integer targets are checked against [0, C), float targets of the
// binary losses against [0, 1].
//
// Devices: every tensor argument (targets and weights included) must be on
// the device of the logits (as in PyTorch); the kernels are kernels/cpu/loss.cpp
// and kernels/cuda/loss.cu. The value checks above, and the weighted mean's
// divisor, run on the host: a tensor on another device is first copied to cpu
// (see host_copy for the cost).
#include <cmath>
#include <limits>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops/checks.h"
#include "engine/ops/registry.h"
#include "engine/backend.h"

namespace kiln {

KILN_REGISTER_OP(cross_entropy);
KILN_REGISTER_OP(nll_loss);
KILN_REGISTER_OP(binary_cross_entropy_with_logits);
KILN_REGISTER_OP(focal_loss);
KILN_REGISTER_OP(binary_focal_loss);
KILN_REGISTER_OP(mse_loss);

namespace {

constexpr double infinity = std::numeric_limits<double>::infinity();

// ------------------------------------------------------------------ checks

// A contiguous cpu tensor with t's values, for checks that read values on the
// host. For a tensor on emu or cuda this is a device-to-host copy of the whole
// tensor, and on a GPU a synchronisation, once per check: for the logits
// [N, C] (the largest argument checked) that is N * C values per loss call,
// small next to the activations of the network that produced them.
Tensor host_copy(const Tensor& t) { return t.detach().to(Device::cpu()).contiguous(); }

// Index of the first element of `host` (a host_copy) outside [lo, hi] (NaN included), or -1.
int64_t find_outside(const char* op, const Tensor& host, double lo, double hi) {
    return dispatch_floating(host.dtype(), op,
                             [&]<typename T>() { return cpu::find_outside(host.data<T>(), host.numel(), lo, hi); });
}

void check_no_nan(const char* op, const char* arg, const Tensor& t) {
    const int64_t at = find_outside(op, host_copy(t), -infinity, infinity);
    KILN_CHECK(at < 0, op, ": ", arg, " ", shape_str(t.shape()), " contains NaN (first at flat index ", at, ")");
}

// Float values in [lo, hi], NaN named as such.
void check_range(const char* op, const char* arg, const Tensor& t, double lo, double hi, const char* range) {
    const Tensor host = host_copy(t);
    const int64_t at = find_outside(op, host, lo, hi);
    if (at < 0) return;
    const double v = host.reshape({host.numel()}).narrow(0, at, 1).item();
    KILN_CHECK(!std::isnan(v), op, ": ", arg, " ", shape_str(t.shape()), " contains NaN (first at flat index ", at, ")");
    fail(op, ": ", arg, " has ", v, " at flat index ", at, ", expected values in ", range);
}

// logits [N, C] with C >= 1, float, no NaN.
void check_class_scores(const char* op, const char* arg, const Tensor& scores) {
    check_floating(op, arg, scores, Devices::all);
    KILN_CHECK(scores.dim() == 2, op, ": ", arg, " must be 2-D [N, C], got ", shape_str(scores.shape()));
    KILN_CHECK(scores.size(1) > 0, op, ": ", arg, " ", shape_str(scores.shape()), " has no classes");
    check_no_nan(op, arg, scores);
}

// target int64 [N] on the device of the scores, values in [0, C).
void check_class_target(const char* op, const Tensor& target, const char* scores_arg, const Tensor& scores) {
    check_tensor(op, "target", target, Devices::all);
    KILN_CHECK(target.dtype() == DType::int64, op, ": target is ", dtype_name(target.dtype()),
               ", expected int64 class indices (", scores_arg, " ", shape_str(scores.shape()), ")");
    KILN_CHECK(target.device() == scores.device(), op, ": target is on ", target.device().str(), " but ",
               scores_arg, " is on ", scores.device().str(), "; move the target with .to(", scores_arg,
               ".device())");
    const int64_t N = scores.size(0), C = scores.size(1);
    KILN_CHECK(target.shape() == Shape{N}, op, ": target has shape ", shape_str(target.shape()), ", expected [", N,
               "] to match ", scores_arg, " ", shape_str(scores.shape()));
    const Tensor t = host_copy(target);
    const int64_t* y = t.data<int64_t>();
    for (int64_t i = 0; i < N; ++i)
        KILN_CHECK(y[i] >= 0 && y[i] < C, op, ": target[", i, "] = ", y[i], " is out of range for ", C,
                   " classes (", scores_arg, " ", shape_str(scores.shape()), ")");
}

// An optional vector of non-negative weights with `length` elements, one per `per`.
void check_weights(const char* op, const char* arg, const Tensor& w, int64_t length, const char* per,
                   const char* scores_arg, const Tensor& scores) {
    if (!w.defined()) return;
    check_floating(op, arg, w, Devices::all);
    check_same_kind(op, arg, w, scores_arg, scores);
    KILN_CHECK(w.shape() == Shape{length}, op, ": ", arg, " has shape ", shape_str(w.shape()), ", expected [", length,
               "] (one per ", per, " of ", scores_arg, " ", shape_str(scores.shape()), ")");
    check_range(op, arg, w, 0, infinity, "[0, inf)");
}

// Float target of the binary losses: same dtype and shape as logits, values in [0, 1].
void check_binary_target(const char* op, const Tensor& logits, const Tensor& target) {
    check_floating(op, "logits", logits, Devices::all);
    check_floating(op, "target", target, Devices::all);
    check_same_kind(op, "target", target, "logits", logits);
    KILN_CHECK(target.shape() == logits.shape(), op, ": target has shape ", shape_str(target.shape()),
               ", expected the shape of logits ", shape_str(logits.shape()));
    check_no_nan(op, "logits", logits);
    check_range(op, "target", target, 0, 1, "[0, 1]");
}

void check_gamma(const char* op, double gamma) {
    KILN_CHECK(gamma >= 0 && std::isfinite(gamma), op, ": gamma is ", gamma, ", expected a finite value >= 0");
}

Tensor detached_contiguous(const Tensor& t) { return t.defined() ? t.detach().contiguous() : Tensor(); }

template <typename T>
const T* data_or_null(const Tensor& t) {
    return t.defined() ? t.data<T>() : nullptr;
}

// --------------------------------------------------------------- reduction

// mean divides by `divisor` (described by `divisor_name` in the error when it is 0).
Tensor reduce_loss(const char* op, const Tensor& loss, Reduction reduction, double divisor, const char* divisor_name) {
    switch (reduction) {
        case Reduction::none: return loss;
        case Reduction::sum: return sum(loss);
        case Reduction::mean:
            KILN_CHECK(divisor > 0, op, ": the mean divides by ", divisor_name, ", which is ", divisor,
                       " here (loss ", shape_str(loss.shape()), "); use Reduction::sum for such a batch");
            return sum(loss) / divisor;
    }
    fail(op, ": unknown reduction ", int(reduction));
}

// ------------------------------------------- weighted, smoothed NLL (fused)

struct NllArgs {
    Tensor target;          // int64 [N], contiguous
    Tensor class_weights;   // [C] or undefined, detached contiguous
    Tensor sample_weights;  // [N] or undefined, detached contiguous
    double label_smoothing = 0;
};

class NllBackward : public Node {
public:
    NllBackward(const char* op, NllArgs args, int64_t C) : op_(op), args_(std::move(args)), C_(C) {}
    std::string name() const override { return "NllBackward"; }
    void release_saved() override { args_ = NllArgs(); }
    std::vector<Tensor> backward(const Tensor& dloss) override {
        const int64_t N = args_.target.numel();
        Tensor dlog_probs = Tensor::zeros({N, C_}, dloss.dtype(), dloss.device());
        const Tensor dl = dloss.contiguous();
        dispatch_floating(dloss.dtype(), op_, [&]<typename T>() {
            KILN_ON_BACKEND(dloss.device(), nll_backward, dlog_probs.data<T>(), dl.data<T>(),
                            args_.target.data<int64_t>(), data_or_null<T>(args_.class_weights),
                            data_or_null<T>(args_.sample_weights), args_.label_smoothing, N, C_);
        });
        return {dlog_probs};
    }

private:
    const char* op_;
    NllArgs args_;
    int64_t C_;
};

// Per-sample loss [N] from log_probs [N, C] (arguments already checked).
Tensor nll_per_sample(const char* op, const Tensor& log_probs, const NllArgs& args) {
    const int64_t N = log_probs.size(0), C = log_probs.size(1);
    const Tensor input = log_probs.detach().contiguous();
    Tensor loss = Tensor::empty({N}, log_probs.dtype(), log_probs.device());
    dispatch_floating(log_probs.dtype(), op, [&]<typename T>() {
        KILN_ON_BACKEND(log_probs.device(), nll_forward, loss.data<T>(), input.data<T>(), args.target.data<int64_t>(),
                        data_or_null<T>(args.class_weights), data_or_null<T>(args.sample_weights),
                        args.label_smoothing, N, C);
    });
    if (needs_grad({log_probs})) record(loss, std::make_shared<NllBackward>(op, args, C), {log_probs});
    return loss;
}

// sum_i sw_i w[y_i]: the divisor of the weighted mean, a host value (from
// host copies of the target [N] and the weights [C] and [N]).
double nll_weight_total(const char* op, DType dtype, const NllArgs& args) {
    const Tensor target = host_copy(args.target);
    const Tensor class_weights = args.class_weights.defined() ? host_copy(args.class_weights) : Tensor();
    const Tensor sample_weights = args.sample_weights.defined() ? host_copy(args.sample_weights) : Tensor();
    return dispatch_floating(dtype, op, [&]<typename T>() {
        return cpu::nll_weight_total(target.data<int64_t>(), data_or_null<T>(class_weights),
                                     data_or_null<T>(sample_weights), target.numel());
    });
}

const char* weighted_mean_divisor(const NllArgs& args) {
    if (args.class_weights.defined() && args.sample_weights.defined())
        return "sum_i sample_weights[i] class_weights[target[i]]";
    if (args.class_weights.defined()) return "sum_i class_weights[target[i]]";
    if (args.sample_weights.defined()) return "sum_i sample_weights[i]";
    return "the batch size";
}

// ------------------------------------------------ BCE on logits (fused)

class BceWithLogitsBackward : public Node {
public:
    BceWithLogitsBackward(const char* op, Tensor x, Tensor t, Tensor pos_weight, bool target_grad)
        : op_(op), x_(std::move(x)), t_(std::move(t)), pos_weight_(std::move(pos_weight)), target_grad_(target_grad) {}
    std::string name() const override { return "BinaryCrossEntropyWithLogitsBackward"; }
    void release_saved() override {
        x_ = Tensor();
        t_ = Tensor();
        pos_weight_ = Tensor();
    }
    std::vector<Tensor> backward(const Tensor& dloss) override {
        Tensor dx = Tensor::zeros(x_.shape(), x_.dtype(), dloss.device());
        Tensor dt = target_grad_ ? Tensor::zeros(t_.shape(), t_.dtype(), dloss.device()) : Tensor();
        const Tensor dl = dloss.contiguous();
        dispatch_floating(x_.dtype(), op_, [&]<typename T>() {
            KILN_ON_BACKEND(dloss.device(), bce_with_logits_backward, dx.data<T>(),
                            target_grad_ ? dt.data<T>() : nullptr, dl.data<T>(), x_.data<T>(), t_.data<T>(),
                            data_or_null<T>(pos_weight_), pos_weight_.defined() ? pos_weight_.numel() : 1,
                            x_.numel());
        });
        return {dx, dt};
    }

private:
    const char* op_;
    Tensor x_, t_, pos_weight_;  // detached, contiguous
    bool target_grad_;
};

// Element-wise BCE (arguments already checked); gradients to logits and target.
Tensor bce_per_element(const char* op, const Tensor& logits, const Tensor& target, const Tensor& pos_weight) {
    const Tensor x = logits.detach().contiguous(), t = target.detach().contiguous();
    const Tensor pw = detached_contiguous(pos_weight);
    const int64_t P = pw.defined() ? pw.numel() : 1;
    Tensor loss = Tensor::empty(logits.shape(), logits.dtype(), logits.device());
    dispatch_floating(logits.dtype(), op, [&]<typename T>() {
        KILN_ON_BACKEND(logits.device(), bce_with_logits_forward, loss.data<T>(), x.data<T>(), t.data<T>(),
                        data_or_null<T>(pw), P, x.numel());
    });
    if (needs_grad({logits, target}))
        record(loss, std::make_shared<BceWithLogitsBackward>(op, x, t, pw, needs_grad({target})), {logits, target});
    return loss;
}

}  // namespace

// ------------------------------------------------------------------ the losses

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options) {
    const char* op = "cross_entropy";
    check_class_scores(op, "logits", logits);
    check_class_target(op, target, "logits", logits);
    const int64_t N = logits.size(0), C = logits.size(1);
    check_weights(op, "class_weights", options.class_weights, C, "class", "logits", logits);
    check_weights(op, "sample_weights", options.sample_weights, N, "sample", "logits", logits);
    const double s = options.label_smoothing;
    KILN_CHECK(s >= 0 && s < 1, op, ": label_smoothing is ", s, ", expected a value in [0, 1)");
    const NllArgs args{target.contiguous(), detached_contiguous(options.class_weights),
                       detached_contiguous(options.sample_weights), s};
    const Tensor loss = nll_per_sample(op, log_softmax(logits, 1), args);
    const double divisor = options.reduction == Reduction::mean ? nll_weight_total(op, logits.dtype(), args) : 1;
    return reduce_loss(op, loss, options.reduction, divisor, weighted_mean_divisor(args));
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const Tensor& class_weights, Reduction reduction) {
    const char* op = "nll_loss";
    check_class_scores(op, "log_probs", log_probs);
    check_class_target(op, target, "log_probs", log_probs);
    check_weights(op, "class_weights", class_weights, log_probs.size(1), "class", "log_probs", log_probs);
    const NllArgs args{target.contiguous(), detached_contiguous(class_weights), Tensor(), 0};
    const Tensor loss = nll_per_sample(op, log_probs, args);
    const double divisor = reduction == Reduction::mean ? nll_weight_total(op, log_probs.dtype(), args) : 1;
    return reduce_loss(op, loss, reduction, divisor, weighted_mean_divisor(args));
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, const Tensor& pos_weight,
                                        Reduction reduction) {
    const char* op = "binary_cross_entropy_with_logits";
    check_binary_target(op, logits, target);
    if (pos_weight.defined()) {
        check_floating(op, "pos_weight", pos_weight, Devices::all);
        check_same_kind(op, "pos_weight", pos_weight, "logits", logits);
        const int64_t last = logits.dim() > 0 ? logits.size(-1) : 1;
        KILN_CHECK(pos_weight.numel() == 1 || pos_weight.shape() == Shape{last}, op, ": pos_weight has shape ",
                   shape_str(pos_weight.shape()), ", expected [", last, "] (the last dim of logits ",
                   shape_str(logits.shape()), ") or a single value");
        check_range(op, "pos_weight", pos_weight, 0, infinity, "[0, inf)");
    }
    const Tensor loss = bce_per_element(op, logits, target, pos_weight);
    return reduce_loss(op, loss, reduction, double(loss.numel()), "the number of elements");
}

Tensor focal_loss(const Tensor& logits, const Tensor& target, const FocalLossOptions& options) {
    const char* op = "focal_loss";
    check_class_scores(op, "logits", logits);
    check_class_target(op, target, "logits", logits);
    check_weights(op, "alpha", options.alpha, logits.size(1), "class", "logits", logits);
    check_gamma(op, options.gamma);
    const Tensor log_probs = log_softmax(logits, 1);
    const Tensor contiguous_target = target.contiguous();
    // alpha[y_i] (-log p_i,y_i): the NLL with alpha as class weights
    Tensor loss = nll_per_sample(op, log_probs, {contiguous_target, detached_contiguous(options.alpha), Tensor(), 0});
    if (options.gamma != 0) {
        // p_i,y_i = exp(log p_i,y_i) <= 1, so 1 - p >= 0 and pow is defined for any gamma >= 0
        const Tensor p_target = exp(-nll_per_sample(op, log_probs, {contiguous_target, Tensor(), Tensor(), 0}));
        loss = pow(1.0 - p_target, options.gamma) * loss;
    }
    return reduce_loss(op, loss, options.reduction, double(loss.numel()), "the batch size");
}

Tensor binary_focal_loss(const Tensor& logits, const Tensor& target, const FocalLossOptions& options) {
    const char* op = "binary_focal_loss";
    check_binary_target(op, logits, target);
    check_gamma(op, options.gamma);
    double alpha = -1;
    if (options.alpha.defined()) {
        check_floating(op, "alpha", options.alpha, Devices::all);
        KILN_CHECK(options.alpha.numel() == 1, op, ": alpha has shape ", shape_str(options.alpha.shape()),
                   ", expected a single value (the weight of the positive class)");
        alpha = options.alpha.item();  // a host value, from any device
        KILN_CHECK(alpha >= 0 && alpha <= 1, op, ": alpha is ", alpha, ", expected a value in [0, 1]");
    }
    Tensor loss = bce_per_element(op, logits, target, Tensor());
    if (options.gamma != 0) {
        // 1 - p_t = p (1 - t) + (1 - p) t: a sum of non-negative products, so never
        // below 0 by rounding (pow of a fractional gamma stays defined)
        const Tensor p = sigmoid(logits);
        loss = pow(p * (1.0 - target) + (1.0 - p) * target, options.gamma) * loss;
    }
    if (alpha >= 0) loss = (target * (2 * alpha - 1) + (1 - alpha)) * loss;  // alpha_t = alpha t + (1 - alpha)(1 - t)
    return reduce_loss(op, loss, options.reduction, double(loss.numel()), "the number of elements");
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
    const char* op = "mse_loss";
    check_floating(op, "input", input, Devices::all);
    check_floating(op, "target", target, Devices::all);
    check_same_kind(op, "target", target, "input", input);
    KILN_CHECK(target.shape() == input.shape(), op, ": target has shape ", shape_str(target.shape()),
               ", expected the shape of input ", shape_str(input.shape()));
    check_no_nan(op, "input", input);
    check_no_nan(op, "target", target);
    const Tensor difference = input - target;
    return reduce_loss(op, difference * difference, reduction, double(input.numel()), "the number of elements");
}

}  // namespace kiln
