// Cases for cross_entropy, nll_loss, binary_cross_entropy_with_logits,
// focal_loss, binary_focal_loss, mse_loss.
//
// Integer targets and all weights are constants built inside each case (in the
// dtype of the logits, so the float32 check runs too, and on the device of the
// logits, which the losses require); the case's inputs are the float tensors
// that receive gradients. Float targets of the binary losses are constants
// too, except in the cases labelled "target differentiable".
#include <cmath>

#include "engine/op_cases/common.h"
#include "engine/op_cases/op_cases.h"
#include "engine/ops.h"

namespace kiln::case_tables {

namespace {

// Class indices, on cpu or on the device of `like`.
Tensor labels(std::vector<int64_t> values) { return Tensor::from_int64(values, {int64_t(values.size())}); }
Tensor labels(std::vector<int64_t> values, const Tensor& like) { return labels(std::move(values)).to(like.device()); }

// Constants in the dtype and on the device of `like`.
Tensor values_like(std::vector<double> values, const Shape& shape, const Tensor& like) {
    return Tensor::from_vector(values, shape, like.dtype()).to(like.device());
}
Tensor values_like(std::vector<double> values, const Tensor& like) {
    const Shape shape{int64_t(values.size())};
    return values_like(std::move(values), shape, like);
}

// Binary targets for logits of shape `like`: 0, 1/2, 1, 0, ... (hard and soft labels).
Tensor binary_targets(const Tensor& like) {
    std::vector<double> t(static_cast<size_t>(like.numel()));
    for (size_t k = 0; k < t.size(); ++k) t[k] = double(k % 3) / 2;
    return values_like(t, like.shape(), like);
}

// Options with one field set (designated initializers would warn about the others).
CrossEntropyOptions class_weighted(Tensor w) {
    CrossEntropyOptions options;
    options.class_weights = std::move(w);
    return options;
}
CrossEntropyOptions sample_weighted(Tensor w) {
    CrossEntropyOptions options;
    options.sample_weights = std::move(w);
    return options;
}
CrossEntropyOptions smoothed(double s) {
    CrossEntropyOptions options;
    options.label_smoothing = s;
    return options;
}
FocalLossOptions focal_options(double gamma, Tensor alpha = Tensor()) {
    FocalLossOptions options;
    options.gamma = gamma;
    options.alpha = std::move(alpha);
    return options;
}

Tensor nan_matrix() { return Tensor::from_vector({0, 0, 0, 0, std::nan(""), 0}, {2, 3}); }

}  // namespace

void add_loss(std::vector<OpCase>& cases, std::vector<ErrorCase>& errors) {
    // ---------------------------------------------------------------- cross_entropy
    const char* ce = "cross_entropy";
    auto ce_case = [&](const char* label, Shape shape, std::vector<int64_t> y, std::vector<double> class_w,
                       std::vector<double> sample_w, double smoothing, Reduction reduction,
                       std::pair<double, double> range = {-2, 2}) {
        cases.push_back({ce, label, {shape},
                         [=](const Inputs& x) {
                             CrossEntropyOptions options;
                             if (!class_w.empty()) options.class_weights = values_like(class_w, x[0]);
                             if (!sample_w.empty()) options.sample_weights = values_like(sample_w, x[0]);
                             options.label_smoothing = smoothing;
                             options.reduction = reduction;
                             return cross_entropy(x[0], labels(y, x[0]), options);
                         },
                         {range}});
    };
    ce_case("mean, C = 5", {7, 5}, {0, 4, 2, 1, 3, 4, 0}, {}, {}, 0, Reduction::mean);
    ce_case("reduction none", {3, 5}, {1, 0, 4}, {}, {}, 0, Reduction::none);
    ce_case("reduction sum, C = 3", {4, 3}, {2, 0, 1, 2}, {}, {}, 0, Reduction::sum);
    ce_case("batch 1", {1, 5}, {3}, {}, {}, 0, Reduction::mean);
    ce_case("large logits", {3, 5}, {1, 0, 4}, {}, {}, 0, Reduction::mean, {-20, 20});
    ce_case("class weights, mean", {6, 3}, {0, 1, 2, 2, 1, 2}, {0.2, 1.5, 3}, {}, 0, Reduction::mean);
    ce_case("class weights, none", {4, 3}, {0, 1, 2, 2}, {0.2, 1.5, 3}, {}, 0, Reduction::none);
    ce_case("label smoothing 0.1, mean", {5, 5}, {0, 1, 2, 3, 4}, {}, {}, 0.1, Reduction::mean);
    ce_case("label smoothing 0.3, none", {3, 3}, {2, 1, 0}, {}, {}, 0.3, Reduction::none);
    ce_case("label smoothing + class weights, mean", {6, 3}, {0, 1, 2, 2, 1, 0}, {1, 5.714, 2}, {}, 0.1,
            Reduction::mean);
    ce_case("sample weights, mean", {4, 3}, {2, 0, 1, 1}, {}, {0.5, 2, 1, 0}, 0, Reduction::mean);
    ce_case("sample + class weights + smoothing, sum", {5, 3}, {2, 0, 1, 1, 0}, {0.5, 1, 2}, {1, 0.5, 2, 1, 3}, 0.2,
            Reduction::sum);
    ce_case("sample + class weights, mean, batch 1", {1, 3}, {1}, {0.5, 2, 1}, {3}, 0, Reduction::mean);
    ce_case("label smoothing 0.2 + class weights, 40 classes (more than a warp's lanes), none", {3, 40}, {39, 0, 17},
            std::vector<double>(40, 0.5), {}, 0.2, Reduction::none);

    auto ce_error = [&](const char* label, std::function<void()> call, std::string expected) {
        errors.push_back({ce, label, std::move(call), std::move(expected)});
    };
    ce_error("target out of range", [] { cross_entropy(f32({2, 3}), labels({0, 3})); },
             "cross_entropy: target[1] = 3 is out of range for 3 classes (logits [2, 3])");
    ce_error("negative target", [] { cross_entropy(f32({2, 3}), labels({-1, 0})); },
             "cross_entropy: target[0] = -1 is out of range");
    ce_error("float target", [] { cross_entropy(f32({2, 3}), f32({2})); },
             "cross_entropy: target is float32, expected int64 class indices");
    ce_error("class weights of the wrong length",
             [] { cross_entropy(f32({2, 3}), labels({0, 1}), class_weighted(f32({4}))); },
             "cross_entropy: class_weights has shape [4], expected [3] (one per class of logits [2, 3])");
    ce_error("sample weights of the wrong length",
             [] { cross_entropy(f32({2, 3}), labels({0, 1}), sample_weighted(f32({3}))); },
             "cross_entropy: sample_weights has shape [3], expected [2] (one per sample of logits [2, 3])");
    ce_error("class weights of another dtype",
             [] { cross_entropy(f32({2, 3}), labels({0, 1}), class_weighted(f64({3}))); },
             "cross_entropy: class_weights is float64 but logits is float32");
    ce_error("negative class weight",
             [] {
                 cross_entropy(f32({2, 3}), labels({0, 1}),
                               class_weighted(Tensor::from_vector({1, -1, 1}, {3})));
             },
             "cross_entropy: class_weights has -1 at flat index 1, expected values in [0, inf)");
    ce_error("NaN in class weights",
             [] {
                 cross_entropy(f32({2, 3}), labels({0, 1}),
                               class_weighted(Tensor::from_vector({1, std::nan(""), 1}, {3})));
             },
             "cross_entropy: class_weights [3] contains NaN (first at flat index 1)");
    ce_error("logits not 2-D", [] { cross_entropy(f32({2, 3, 4}), labels({0, 1})); },
             "cross_entropy: logits must be 2-D [N, C], got [2, 3, 4]");
    ce_error("N mismatch", [] { cross_entropy(f32({2, 3}), labels({0, 1, 2})); },
             "cross_entropy: target has shape [3], expected [2] to match logits [2, 3]");
    ce_error("NaN in logits", [] { cross_entropy(nan_matrix(), labels({0, 1})); },
             "cross_entropy: logits [2, 3] contains NaN (first at flat index 4)");
    ce_error("NaN in logits on emu (checked on a host copy)",
             [] { cross_entropy(nan_matrix().to(Device::emu()), labels({0, 1}).to(Device::emu())); },
             "cross_entropy: logits [2, 3] contains NaN (first at flat index 4)");
    ce_error("target out of range on emu (checked on a host copy)",
             [] { cross_entropy(f32({2, 3}).to(Device::emu()), labels({0, 3}).to(Device::emu())); },
             "cross_entropy: target[1] = 3 is out of range for 3 classes (logits [2, 3])");
    ce_error("target on another device than the logits",
             [] { cross_entropy(f32({2, 3}).to(Device::emu()), labels({0, 1})); },
             "cross_entropy: target is on cpu but logits is on emu; move the target with .to(logits.device())");
    ce_error("class weights on another device than the logits",
             [] {
                 cross_entropy(f32({2, 3}).to(Device::emu()), labels({0, 1}).to(Device::emu()),
                               class_weighted(f32({3})));
             },
             "cross_entropy: class_weights is on cpu but logits is on emu");
    ce_error("label smoothing 1", [] { cross_entropy(f32({2, 3}), labels({0, 1}), smoothed(1)); },
             "cross_entropy: label_smoothing is 1, expected a value in [0, 1)");
    ce_error("negative label smoothing",
             [] { cross_entropy(f32({2, 3}), labels({0, 1}), smoothed(-0.1)); },
             "cross_entropy: label_smoothing is -0.1, expected a value in [0, 1)");
    ce_error("int64 logits", [] { cross_entropy(i64({2, 3}), labels({0, 1})); },
             "cross_entropy: argument logits is int64, expected float32 or float64");
    ce_error("mean with all target weights 0",
             [] {
                 cross_entropy(f32({2, 3}), labels({0, 0}), class_weighted(Tensor::from_vector({0, 1, 1}, {3})));
             },
             "cross_entropy: the mean divides by sum_i class_weights[target[i]], which is 0");
    ce_error("mean of an empty batch", [] { cross_entropy(f32({0, 3}), labels({})); },
             "cross_entropy: the mean divides by the batch size, which is 0");

    // ---------------------------------------------------------------- nll_loss
    const char* nll = "nll_loss";
    auto nll_case = [&](const char* label, Shape shape, std::vector<int64_t> y, std::vector<double> class_w,
                        Reduction reduction) {
        cases.push_back({nll, label, {shape},
                         [=](const Inputs& x) {
                             const Tensor w = class_w.empty() ? Tensor() : values_like(class_w, x[0]);
                             return nll_loss(x[0], labels(y, x[0]), w, reduction);
                         },
                         {{-3, 0}}});
    };
    nll_case("mean, C = 5", {4, 5}, {4, 0, 2, 2}, {}, Reduction::mean);
    nll_case("none", {3, 3}, {1, 2, 0}, {}, Reduction::none);
    nll_case("sum", {3, 3}, {1, 2, 0}, {}, Reduction::sum);
    nll_case("class weights, mean", {5, 3}, {1, 2, 0, 0, 1}, {2, 0.5, 1}, Reduction::mean);
    nll_case("batch 1, class weights", {1, 3}, {2}, {2, 0.5, 1}, Reduction::mean);
    cases.push_back({nll, "after log_softmax (= cross_entropy)", {{4, 3}},
                     [](const Inputs& x) { return nll_loss(log_softmax(x[0], 1), labels({0, 2, 1, 1}, x[0])); }});
    errors.push_back({nll, "target out of range", [] { nll_loss(f32({2, 3}), labels({5, 0})); },
                      "nll_loss: target[0] = 5 is out of range for 3 classes (log_probs [2, 3])"});
    errors.push_back({nll, "float target", [] { nll_loss(f32({2, 3}), f64({2})); },
                      "nll_loss: target is float64, expected int64 class indices"});
    errors.push_back({nll, "class weights of the wrong length", [] { nll_loss(f32({2, 3}), labels({0, 1}), f32({2})); },
                      "nll_loss: class_weights has shape [2], expected [3]"});
    errors.push_back({nll, "NaN in log_probs", [] { nll_loss(nan_matrix(), labels({0, 1})); },
                      "nll_loss: log_probs [2, 3] contains NaN"});
    errors.push_back({nll, "log_probs not 2-D", [] { nll_loss(f32({3}), labels({0, 1, 2})); },
                      "nll_loss: log_probs must be 2-D [N, C], got [3]"});

    // ---------------------------------------------------------------- binary_cross_entropy_with_logits
    const char* bce = "binary_cross_entropy_with_logits";
    auto bce_case = [&](const char* label, Shape shape, std::vector<double> pos_w, Shape pos_w_shape,
                        Reduction reduction, std::pair<double, double> range = {-3, 3}) {
        cases.push_back({bce, label, {shape},
                         [=](const Inputs& x) {
                             const Tensor pw = pos_w.empty() ? Tensor() : values_like(pos_w, pos_w_shape, x[0]);
                             return binary_cross_entropy_with_logits(x[0], binary_targets(x[0]), pw, reduction);
                         },
                         {range}});
    };
    bce_case("mean, hard and soft targets", {3, 5}, {}, {}, Reduction::mean);
    bce_case("pos_weight over the last dim, none", {3, 5}, {0.5, 1, 2, 4, 8}, {5}, Reduction::none);
    bce_case("0-d pos_weight, sum, batch 1 4-D", {1, 2, 3, 4}, {3}, {}, Reduction::sum);
    bce_case("0-d", {}, {}, {}, Reduction::mean);
    bce_case("large logits", {4, 3}, {2, 1, 0.5}, {3}, Reduction::mean, {-30, 30});
    bce_case("300 elements (two CUDA blocks), pos_weight over 15", {20, 15},
             {0.5, 1, 2, 4, 8, 0.5, 1, 2, 4, 8, 0.5, 1, 2, 4, 8}, {15}, Reduction::sum);
    cases.push_back({bce, "target differentiable, pos_weight", {{3, 4}, {3, 4}},
                     [](const Inputs& x) {
                         return binary_cross_entropy_with_logits(x[0], x[1], values_like({1, 2, 3, 0.5}, x[0]),
                                                                 Reduction::sum);
                     },
                     {{-3, 3}, {0.05, 0.95}}});
    errors.push_back({bce, "int64 target", [] { binary_cross_entropy_with_logits(f32({2, 3}), i64({2, 3})); },
                      "binary_cross_entropy_with_logits: argument target is int64, expected float32 or float64"});
    errors.push_back({bce, "target of another shape", [] { binary_cross_entropy_with_logits(f32({2, 3}), f32({3, 2})); },
                      "binary_cross_entropy_with_logits: target has shape [3, 2], expected the shape of logits [2, 3]"});
    errors.push_back({bce, "target outside [0, 1]",
                      [] { binary_cross_entropy_with_logits(f32({2}), Tensor::from_vector({0, 1.5}, {2})); },
                      "binary_cross_entropy_with_logits: target has 1.5 at flat index 1, expected values in [0, 1]"});
    errors.push_back({bce, "NaN in target", [] { binary_cross_entropy_with_logits(f32({2, 3}), nan_matrix()); },
                      "binary_cross_entropy_with_logits: target [2, 3] contains NaN (first at flat index 4)"});
    errors.push_back({bce, "target outside [0, 1] on emu (checked on a host copy)",
                      [] {
                          binary_cross_entropy_with_logits(f32({2}).to(Device::emu()),
                                                           Tensor::from_vector({0, 1.5}, {2}).to(Device::emu()));
                      },
                      "binary_cross_entropy_with_logits: target has 1.5 at flat index 1, expected values in [0, 1]"});
    errors.push_back({bce, "NaN in logits", [] { binary_cross_entropy_with_logits(nan_matrix(), f32({2, 3})); },
                      "binary_cross_entropy_with_logits: logits [2, 3] contains NaN"});
    errors.push_back({bce, "pos_weight of the wrong length",
                      [] { binary_cross_entropy_with_logits(f32({2, 3}), f32({2, 3}), f32({2})); },
                      "binary_cross_entropy_with_logits: pos_weight has shape [2], expected [3] (the last dim of "
                      "logits [2, 3]) or a single value"});
    errors.push_back({bce, "negative pos_weight",
                      [] { binary_cross_entropy_with_logits(f32({2}), f32({2}), Tensor::scalar(-2)); },
                      "binary_cross_entropy_with_logits: pos_weight has -2 at flat index 0"});

    // ---------------------------------------------------------------- focal_loss
    const char* focal = "focal_loss";
    auto focal_case = [&](const char* label, Shape shape, std::vector<int64_t> y, double gamma,
                          std::vector<double> alpha, Reduction reduction) {
        cases.push_back({focal, label, {shape}, [=](const Inputs& x) {
                             FocalLossOptions options;
                             options.gamma = gamma;
                             if (!alpha.empty()) options.alpha = values_like(alpha, x[0]);
                             options.reduction = reduction;
                             return focal_loss(x[0], labels(y, x[0]), options);
                         },
                         {{-2, 2}}});
    };
    focal_case("gamma 2, mean, C = 5", {6, 5}, {0, 4, 1, 3, 2, 4}, 2, {}, Reduction::mean);
    focal_case("gamma 2, alpha, none", {4, 3}, {2, 0, 1, 2}, 2, {0.25, 0.5, 1}, Reduction::none);
    focal_case("gamma 1.5, sum", {4, 3}, {2, 0, 1, 2}, 1.5, {}, Reduction::sum);
    focal_case("gamma 0 with alpha (weighted cross-entropy over N)", {4, 3}, {1, 1, 0, 2}, 0, {1, 3, 0.5},
               Reduction::mean);
    focal_case("batch 1", {1, 5}, {2}, 2, {}, Reduction::mean);
    errors.push_back({focal, "negative gamma", [] { focal_loss(f32({2, 3}), labels({0, 1}), focal_options(-1)); },
                      "focal_loss: gamma is -1, expected a finite value >= 0"});
    errors.push_back({focal, "alpha of the wrong length",
                      [] { focal_loss(f32({2, 3}), labels({0, 1}), focal_options(2, f32({2}))); },
                      "focal_loss: alpha has shape [2], expected [3] (one per class of logits [2, 3])"});
    errors.push_back({focal, "target out of range", [] { focal_loss(f32({2, 3}), labels({0, 7})); },
                      "focal_loss: target[1] = 7 is out of range for 3 classes"});
    errors.push_back({focal, "float target", [] { focal_loss(f32({2, 3}), f32({2})); },
                      "focal_loss: target is float32, expected int64 class indices"});
    errors.push_back({focal, "NaN in logits", [] { focal_loss(nan_matrix(), labels({0, 1})); },
                      "focal_loss: logits [2, 3] contains NaN"});

    // ---------------------------------------------------------------- binary_focal_loss
    const char* binary_focal = "binary_focal_loss";
    auto binary_focal_case = [&](const char* label, Shape shape, double gamma, double alpha, Reduction reduction) {
        cases.push_back({binary_focal, label, {shape}, [=](const Inputs& x) {
                             FocalLossOptions options;
                             options.gamma = gamma;
                             if (alpha >= 0) options.alpha = values_like({alpha}, {}, x[0]);
                             options.reduction = reduction;
                             return binary_focal_loss(x[0], binary_targets(x[0]), options);
                         },
                         {{-3, 3}}});
    };
    binary_focal_case("gamma 2, mean", {3, 5}, 2, -1, Reduction::mean);
    binary_focal_case("gamma 2, alpha 0.25, none", {3, 5}, 2, 0.25, Reduction::none);
    binary_focal_case("gamma 0.5, alpha 0.75, sum, batch 1 4-D", {1, 2, 3, 4}, 0.5, 0.75, Reduction::sum);
    binary_focal_case("gamma 0, 0-d", {}, 0, -1, Reduction::mean);
    cases.push_back({binary_focal, "target differentiable, alpha 0.25", {{3, 4}, {3, 4}},
                     [](const Inputs& x) {
                         return binary_focal_loss(x[0], x[1], focal_options(2, values_like({0.25}, {}, x[0])));
                     },
                     {{-3, 3}, {0.05, 0.95}}});
    errors.push_back({binary_focal, "negative gamma", [] { binary_focal_loss(f32({2}), f32({2}), focal_options(-0.5)); },
                      "binary_focal_loss: gamma is -0.5, expected a finite value >= 0"});
    errors.push_back({binary_focal, "alpha with two values",
                      [] { binary_focal_loss(f32({2}), f32({2}), focal_options(2, f32({2}))); },
                      "binary_focal_loss: alpha has shape [2], expected a single value"});
    errors.push_back({binary_focal, "alpha outside [0, 1]",
                      [] { binary_focal_loss(f32({2}), f32({2}), focal_options(2, Tensor::scalar(1.5))); },
                      "binary_focal_loss: alpha is 1.5, expected a value in [0, 1]"});
    errors.push_back({binary_focal, "int64 target", [] { binary_focal_loss(f32({2}), i64({2})); },
                      "binary_focal_loss: argument target is int64"});
    errors.push_back({binary_focal, "NaN in logits", [] { binary_focal_loss(nan_matrix(), f32({2, 3})); },
                      "binary_focal_loss: logits [2, 3] contains NaN"});

    // ---------------------------------------------------------------- mse_loss
    const char* mse = "mse_loss";
    cases.push_back({mse, "mean, odd sizes", {{3, 5}},
                     [](const Inputs& x) { return mse_loss(x[0], binary_targets(x[0])); }});
    cases.push_back({mse, "none, target differentiable", {{2, 3}, {2, 3}},
                     [](const Inputs& x) { return mse_loss(x[0], x[1], Reduction::none); }});
    cases.push_back({mse, "sum, batch 1 4-D", {{1, 2, 3, 4}, {1, 2, 3, 4}},
                     [](const Inputs& x) { return mse_loss(x[0], x[1], Reduction::sum); }});
    cases.push_back({mse, "0-d", {{}, {}}, [](const Inputs& x) { return mse_loss(x[0], x[1]); }});
    errors.push_back({mse, "shapes differ", [] { mse_loss(f32({2, 3}), f32({3})); },
                      "mse_loss: target has shape [3], expected the shape of input [2, 3]"});
    errors.push_back({mse, "NaN in input", [] { mse_loss(nan_matrix(), f32({2, 3})); },
                      "mse_loss: input [2, 3] contains NaN"});
    errors.push_back({mse, "NaN in target", [] { mse_loss(f32({2, 3}), nan_matrix()); },
                      "mse_loss: target [2, 3] contains NaN"});
    errors.push_back({mse, "dtypes differ", [] { mse_loss(f32({2}), f64({2})); },
                      "mse_loss: target is float64 but input is float32"});
    errors.push_back({mse, "int64 input", [] { mse_loss(i64({2}), i64({2})); }, "mse_loss: argument input is int64"});
}

KILN_REGISTER_CASES(add_loss);

}  // namespace kiln::case_tables
