// Cases for batch_norm, batch_norm_relu and batch_norm_relu6 in training and
// eval mode, with and without affine parameters. Running statistics are
// created inside each case function: training updates them in place, and the
// function is called many times. The fused ops' cases use seeded random
// inputs: no output lies within a finite-difference step of the kinks (0, and
// 6 for relu6). batch_norm_relu6's gamma and beta are drawn large enough
// (gamma in [2.5, 4], beta in [1.5, 3]) that outputs land on all three pieces.
#include "engine/op_cases/common.h"
#include "engine/op_cases/op_cases.h"
#include "engine/ops.h"

namespace kiln::case_tables {

namespace {

// Fixed running statistics for C channels (variance in [0.5, 1.4]), in x's dtype, on x's device.
Tensor running_mean_for(const Tensor& x) {
    std::vector<double> values;
    for (int64_t c = 0; c < x.size(1); ++c) values.push_back(0.1 * double(c) - 0.2);
    return Tensor::from_vector(values, {x.size(1)}, x.dtype()).to(x.device());
}
Tensor running_var_for(const Tensor& x) {
    std::vector<double> values;
    for (int64_t c = 0; c < x.size(1); ++c) values.push_back(0.5 + 0.3 * double(c % 4));
    return Tensor::from_vector(values, {x.size(1)}, x.dtype()).to(x.device());
}

}  // namespace

void add_batch_norm(std::vector<OpCase>& cases, std::vector<ErrorCase>& errors) {
    const std::pair<double, double> any{-1, 1}, gamma{0.5, 1.5};
    auto training_with_stats = [](const Inputs& x) {
        Tensor mean = Tensor::zeros({x[0].size(1)}, x[0].dtype(), x[0].device());
        Tensor var = Tensor::ones({x[0].size(1)}, x[0].dtype(), x[0].device());
        return batch_norm(x[0], x[1], x[2], mean, var, true);
    };
    cases.push_back({"batch_norm", "training [N, C], affine, running stats", {{6, 4}, {4}, {4}}, training_with_stats,
                     {any, gamma, any}});
    cases.push_back({"batch_norm", "training NCHW, affine, running stats", {{2, 3, 4, 5}, {3}, {3}}, training_with_stats,
                     {any, gamma, any}});
    cases.push_back({"batch_norm", "training, batch 1 with spatial dims", {{1, 3, 3, 4}, {3}, {3}}, training_with_stats,
                     {any, gamma, any}});
    cases.push_back({"batch_norm", "training, 324 values per channel (more than one 256-thread stride)",
                     {{4, 2, 9, 9}, {2}, {2}}, training_with_stats, {any, gamma, any}});
    cases.push_back({"batch_norm", "training, no affine, no running stats", {{5, 3}},
                     [](const Inputs& x) { return batch_norm(x[0], Tensor(), Tensor(), Tensor(), Tensor(), true); }});
    cases.push_back({"batch_norm", "training NCHW, weight without bias", {{3, 2, 2, 3}, {2}},
                     [](const Inputs& x) { return batch_norm(x[0], x[1], Tensor(), Tensor(), Tensor(), true, 0.1, 1e-3); },
                     {any, gamma}});
    cases.push_back({"batch_norm", "eval NCHW, affine", {{2, 3, 3, 3}, {3}, {3}},
                     [](const Inputs& x) {
                         return batch_norm(x[0], x[1], x[2], running_mean_for(x[0]), running_var_for(x[0]), false);
                     },
                     {any, gamma, any}});
    cases.push_back({"batch_norm", "eval [N, C], no affine, batch 1", {{1, 5}},
                     [](const Inputs& x) {
                         return batch_norm(x[0], Tensor(), Tensor(), running_mean_for(x[0]), running_var_for(x[0]), false);
                     }});

    auto bn = [](const Shape& x, const Shape& weight, const Shape& bias, const Shape& mean, const Shape& var, bool training) {
        auto make = [](const Shape& s) { return s.empty() ? Tensor() : f32(s); };
        batch_norm(f32(x), make(weight), make(bias), make(mean), make(var), training);
    };
    errors.push_back({"batch_norm", "weight of wrong length", [bn] { bn({2, 3}, {4}, {3}, {}, {}, true); },
                      "batch_norm: weight must be [C] = [3] for x [2, 3], got [4]"});
    errors.push_back({"batch_norm", "bias of wrong length", [bn] { bn({2, 3, 2, 2}, {3}, {2}, {}, {}, true); },
                      "batch_norm: bias must be [C] = [3] for x [2, 3, 2, 2], got [2]"});
    errors.push_back({"batch_norm", "running_var of wrong length", [bn] { bn({2, 3}, {}, {}, {3}, {5}, true); },
                      "batch_norm: running_var must be [C] = [3] for x [2, 3], got [5]"});
    errors.push_back({"batch_norm", "running_mean without running_var", [bn] { bn({2, 3}, {}, {}, {3}, {}, true); },
                      "batch_norm: running_mean and running_var must both be given or both be undefined"});
    errors.push_back({"batch_norm", "eval without running stats", [bn] { bn({2, 3}, {3}, {3}, {}, {}, false); },
                      "batch_norm: eval mode (training = false) needs running_mean and running_var"});
    errors.push_back({"batch_norm", "training on one value per channel", [bn] { bn({1, 3}, {}, {}, {}, {}, true); },
                      "batch_norm: Expected more than 1 value per channel when training, got input size [1, 3]"});
    errors.push_back({"batch_norm", "1-D input", [bn] { bn({3}, {}, {}, {}, {}, true); },
                      "batch_norm: x must be [N, C] or [N, C, ...], got [3]"});
    errors.push_back({"batch_norm", "float64 weight with float32 x",
                      [] { batch_norm(f32({2, 3}), f64({3}), Tensor(), Tensor(), Tensor(), true); },
                      "batch_norm: weight is float64 but x is float32"});
}

void add_batch_norm_relu(std::vector<OpCase>& cases, std::vector<ErrorCase>& errors) {
    const std::pair<double, double> any{-1, 1}, gamma{0.5, 1.5};
    auto training_with_stats = [](const Inputs& x) {
        Tensor mean = Tensor::zeros({x[0].size(1)}, x[0].dtype(), x[0].device());
        Tensor var = Tensor::ones({x[0].size(1)}, x[0].dtype(), x[0].device());
        return batch_norm_relu(x[0], x[1], x[2], mean, var, true);
    };
    auto eval = [](const Inputs& x) {
        return batch_norm_relu(x[0], x.size() > 1 ? x[1] : Tensor(), x.size() > 2 ? x[2] : Tensor(),
                               running_mean_for(x[0]), running_var_for(x[0]), false);
    };
    cases.push_back({"batch_norm_relu", "training NCHW, odd C, affine, running stats", {{2, 5, 3, 4}, {5}, {5}},
                     training_with_stats, {any, gamma, any}});
    cases.push_back({"batch_norm_relu", "training, batch 1 with spatial dims", {{1, 3, 3, 5}, {3}, {3}},
                     training_with_stats, {any, gamma, any}});
    cases.push_back({"batch_norm_relu", "training [N, C], affine", {{7, 3}, {3}, {3}}, training_with_stats,
                     {any, gamma, any}});
    cases.push_back({"batch_norm_relu", "training, 297 values per channel (more than one 256-thread stride)",
                     {{3, 3, 9, 11}, {3}, {3}}, training_with_stats, {any, gamma, any}});
    cases.push_back({"batch_norm_relu", "training NCHW, no affine, no running stats", {{3, 3, 2, 3}},
                     [](const Inputs& x) { return batch_norm_relu(x[0], Tensor(), Tensor(), Tensor(), Tensor(), true); }});
    cases.push_back({"batch_norm_relu", "training NCHW, weight without bias, eps 1e-3", {{2, 3, 3, 3}, {3}},
                     [](const Inputs& x) {
                         return batch_norm_relu(x[0], x[1], Tensor(), Tensor(), Tensor(), true, 0.1, 1e-3);
                     },
                     {any, gamma}});
    cases.push_back({"batch_norm_relu", "eval NCHW, odd C, affine", {{2, 5, 3, 3}, {5}, {5}}, eval, {any, gamma, any}});
    cases.push_back({"batch_norm_relu", "eval, batch 1, no affine", {{1, 3, 2, 5}}, eval});

    auto bn = [](const Shape& x, const Shape& weight, const Shape& bias, const Shape& mean, const Shape& var, bool training) {
        auto make = [](const Shape& s) { return s.empty() ? Tensor() : f32(s); };
        batch_norm_relu(f32(x), make(weight), make(bias), make(mean), make(var), training);
    };
    errors.push_back({"batch_norm_relu", "weight of wrong length", [bn] { bn({2, 3, 2, 2}, {4}, {3}, {}, {}, true); },
                      "batch_norm_relu: weight must be [C] = [3] for x [2, 3, 2, 2], got [4]"});
    errors.push_back({"batch_norm_relu", "running_mean of wrong length", [bn] { bn({2, 3}, {}, {}, {2}, {3}, true); },
                      "batch_norm_relu: running_mean must be [C] = [3] for x [2, 3], got [2]"});
    errors.push_back({"batch_norm_relu", "running_var without running_mean", [bn] { bn({2, 3}, {}, {}, {}, {3}, true); },
                      "batch_norm_relu: running_mean and running_var must both be given or both be undefined"});
    errors.push_back({"batch_norm_relu", "eval without running stats", [bn] { bn({2, 3, 1, 1}, {3}, {3}, {}, {}, false); },
                      "batch_norm_relu: eval mode (training = false) needs running_mean and running_var"});
    errors.push_back({"batch_norm_relu", "training on one value per channel", [bn] { bn({1, 3, 1, 1}, {}, {}, {}, {}, true); },
                      "batch_norm_relu: Expected more than 1 value per channel when training, got input size [1, 3, 1, 1]"});
    errors.push_back({"batch_norm_relu", "0-d input", [bn] { bn({}, {}, {}, {}, {}, true); },
                      "batch_norm_relu: x must be [N, C] or [N, C, ...], got []"});
    errors.push_back({"batch_norm_relu", "negative eps",
                      [] { batch_norm_relu(f32({2, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, -1); },
                      "batch_norm_relu: eps must be non-negative, got -1"});
    errors.push_back({"batch_norm_relu", "int64 x",
                      [] { batch_norm_relu(i64({2, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true); },
                      "batch_norm_relu: argument x is int64, expected float32 or float64"});
    errors.push_back({"batch_norm_relu", "float64 bias with float32 x",
                      [] { batch_norm_relu(f32({2, 3}), f32({3}), f64({3}), Tensor(), Tensor(), true); },
                      "batch_norm_relu: bias is float64 but x is float32"});
}

void add_batch_norm_relu6(std::vector<OpCase>& cases, std::vector<ErrorCase>& errors) {
    const std::pair<double, double> any{-1, 1}, gamma{2.5, 4}, beta{1.5, 3};
    auto training_with_stats = [](const Inputs& x) {
        Tensor mean = Tensor::zeros({x[0].size(1)}, x[0].dtype(), x[0].device());
        Tensor var = Tensor::ones({x[0].size(1)}, x[0].dtype(), x[0].device());
        return batch_norm_relu6(x[0], x[1], x[2], mean, var, true);
    };
    auto eval = [](const Inputs& x) {
        return batch_norm_relu6(x[0], x.size() > 1 ? x[1] : Tensor(), x.size() > 2 ? x[2] : Tensor(),
                                running_mean_for(x[0]), running_var_for(x[0]), false);
    };
    cases.push_back({"batch_norm_relu6", "training NCHW, odd C, affine, running stats", {{2, 5, 3, 4}, {5}, {5}},
                     training_with_stats, {any, gamma, beta}});
    cases.push_back({"batch_norm_relu6", "training, batch 1 with spatial dims", {{1, 3, 3, 5}, {3}, {3}},
                     training_with_stats, {any, gamma, beta}});
    cases.push_back({"batch_norm_relu6", "training [N, C], affine", {{7, 3}, {3}, {3}}, training_with_stats,
                     {any, gamma, beta}});
    cases.push_back({"batch_norm_relu6", "training, 297 values per channel (more than one 256-thread stride)",
                     {{3, 3, 9, 11}, {3}, {3}}, training_with_stats, {any, gamma, beta}});
    cases.push_back({"batch_norm_relu6", "training NCHW, no affine, no running stats", {{3, 3, 2, 3}},
                     [](const Inputs& x) { return batch_norm_relu6(x[0], Tensor(), Tensor(), Tensor(), Tensor(), true); }});
    cases.push_back({"batch_norm_relu6", "eval NCHW, odd C, affine", {{2, 5, 3, 3}, {5}, {5}}, eval,
                     {{-3, 3}, gamma, beta}});
    cases.push_back({"batch_norm_relu6", "eval, batch 1, no affine", {{1, 3, 2, 5}}, eval});

    errors.push_back({"batch_norm_relu6", "weight of wrong length",
                      [] { batch_norm_relu6(f32({2, 3, 2, 2}), f32({4}), f32({3}), Tensor(), Tensor(), true); },
                      "batch_norm_relu6: weight must be [C] = [3] for x [2, 3, 2, 2], got [4]"});
    errors.push_back({"batch_norm_relu6", "eval without running stats",
                      [] { batch_norm_relu6(f32({2, 3, 1, 1}), f32({3}), f32({3}), Tensor(), Tensor(), false); },
                      "batch_norm_relu6: eval mode (training = false) needs running_mean and running_var"});
    errors.push_back({"batch_norm_relu6", "training on one value per channel",
                      [] { batch_norm_relu6(f32({1, 3, 1, 1}), Tensor(), Tensor(), Tensor(), Tensor(), true); },
                      "batch_norm_relu6: Expected more than 1 value per channel when training, got input size [1, 3, 1, 1]"});
    errors.push_back({"batch_norm_relu6", "int64 x",
                      [] { batch_norm_relu6(i64({2, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true); },
                      "batch_norm_relu6: argument x is int64, expected float32 or float64"});
}

KILN_REGISTER_CASES(add_batch_norm);
KILN_REGISTER_CASES(add_batch_norm_relu);
KILN_REGISTER_CASES(add_batch_norm_relu6);

}  // namespace kiln::case_tables
