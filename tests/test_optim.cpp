// Optimizers, schedules, clipping and accumulation against hand-computed steps
// and published formulas, and (when Python torch is present) against
// torch.optim on the same problem.
#include <doctest/doctest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "optim/clip.h"
#include "optim/optimizer.h"
#include "optim/schedule.h"
#include "tests/support/python_peer.h"
#include "tests/support/skip.h"

using namespace kiln;
using namespace kiln::optim;

namespace {

Tensor scalar_param(double value) {
    Tensor w = Tensor::from_vector({value}, {1}, DType::float64);
    w.set_requires_grad(true);
    return w;
}

void set_gradient(Tensor& w, double g) { w.set_grad(Tensor::from_vector({g}, {1}, DType::float64)); }

// The problem shared with tests/peers/optim_torch.py:
//   f(w) = sum(s (w - c)^2) + 0.1 sum(w^4)
Tensor problem_loss(const Tensor& w) {
    const Tensor c = Tensor::from_vector({1.0, -2.0, 0.5}, {3}, DType::float64);
    const Tensor s = Tensor::from_vector({1.0, 3.0, 0.5}, {3}, DType::float64);
    return sum(s * pow(w - c, 2)) + sum(pow(w, 4)) * 0.1;
}

}  // namespace

TEST_CASE("RMSProp: seed 004's worked example (w = 1, g = -8, lr = 0.1, rho = 0.9, eps ~ 0 -> 1.316)") {
    Tensor w = scalar_param(1);
    RMSprop optimizer({w}, {{"lr", 0.1}, {"alpha", 0.9}, {"eps", 0}});
    set_gradient(w, -8);
    optimizer.step();
    // v = 0.1 * 64 = 6.4;  w = 1 + 0.1 * 8 / sqrt(6.4)
    CHECK(w.item() == doctest::Approx(1 + 0.8 / std::sqrt(6.4)).epsilon(1e-12));
    CHECK(w.item() == doctest::Approx(1.316).epsilon(1e-3));
}

TEST_CASE("Adam: the first step moves w by lr * sign(g) (bias correction), 1 -> 1.1") {
    Tensor w = scalar_param(1);
    Adam optimizer({w}, {{"lr", 0.1}});
    set_gradient(w, -8);
    optimizer.step();
    // m_hat = g, v_hat = g^2: step = lr g / (|g| + eps)
    CHECK(w.item() == doctest::Approx(1.1).epsilon(1e-8));
}

TEST_CASE("SGD with momentum over three steps, by hand") {
    // f = w^2, g = 2w, lr 0.1, momentum 0.9
    Tensor w = scalar_param(1);
    SGD optimizer({w}, {{"lr", 0.1}, {"momentum", 0.9}});
    const double expected[3] = {0.8, 0.46, 0.062};  // b: 2, 0.9*2+1.6 = 3.4, 0.9*3.4+0.92 = 3.98
    for (double value : expected) {
        optimizer.zero_grad();
        sum(w * w).backward();
        optimizer.step();
        CHECK(w.item() == doctest::Approx(value).epsilon(1e-12));
    }
}

TEST_CASE("SGD: Nesterov and weight decay follow the formula") {
    Tensor w = scalar_param(1);
    SGD optimizer({w}, {{"lr", 0.1}, {"momentum", 0.5}, {"nesterov", 1}, {"weight_decay", 0.2}});
    set_gradient(w, 1);
    optimizer.step();  // g = 1 + 0.2 = 1.2, b = 1.2, g = 1.2 + 0.5 * 1.2 = 1.8
    CHECK(w.item() == doctest::Approx(1 - 0.18).epsilon(1e-12));
}

TEST_CASE("AdamW decouples weight decay: it does not pass through the moment estimates") {
    Tensor w_adam = scalar_param(1), w_adamw = scalar_param(1);
    Adam adam({w_adam}, {{"lr", 0.1}, {"weight_decay", 0.1}});
    AdamW adamw({w_adamw}, {{"lr", 0.1}, {"weight_decay", 0.1}});
    set_gradient(w_adam, 0);
    set_gradient(w_adamw, 0);
    adam.step();
    adamw.step();
    // Adam: g = 0.1 w enters the moments and the first step is lr sign(g): 1 -> 0.9.
    CHECK(w_adam.item() == doctest::Approx(0.9).epsilon(1e-6));
    CHECK(adam.state_dict().tensors.at("state.0.exp_avg").item() == doctest::Approx(0.01));
    // AdamW: w <- w (1 - lr wd) = 0.99, and the moments stay zero.
    CHECK(w_adamw.item() == doctest::Approx(0.99).epsilon(1e-12));
    CHECK(adamw.state_dict().tensors.at("state.0.exp_avg").item() == 0);
}

TEST_CASE("Lion: the update is lr * sign of the interpolated momentum") {
    Tensor w = scalar_param(1);
    Lion optimizer({w}, {{"lr", 0.1}, {"weight_decay", 0.5}});
    set_gradient(w, -8);
    optimizer.step();  // c = 0.1 * -8 < 0: w = 1 (1 - 0.05) + 0.1
    CHECK(w.item() == doctest::Approx(1.05).epsilon(1e-12));
    CHECK(optimizer.state_dict().tensors.at("state.0.exp_avg").item() == doctest::Approx(0.01 * -8));
    set_gradient(w, 1e-3);  // c = 0.9 * -0.08 + 0.1 * 0.001 < 0: the momentum still wins
    optimizer.step();
    CHECK(w.item() == doctest::Approx(1.05 * 0.95 + 0.1).epsilon(1e-12));
}

TEST_CASE("AdaGrad: the step shrinks as squared gradients accumulate") {
    Tensor w = scalar_param(0);
    Adagrad optimizer({w}, {{"lr", 1}, {"eps", 0}});
    set_gradient(w, 2);
    optimizer.step();  // s = 4: w = -2 / 2
    CHECK(w.item() == doctest::Approx(-1));
    set_gradient(w, 2);
    optimizer.step();  // s = 8: w = -1 - 2 / sqrt(8)
    CHECK(w.item() == doctest::Approx(-1 - 2 / std::sqrt(8.0)));
}

TEST_CASE("parameter groups: each group keeps its own options") {
    Tensor weight = scalar_param(1), bias = scalar_param(1);
    SGD optimizer({{{weight}, {{"weight_decay", 1}}}, {{bias}, {}}}, {{"lr", 0.1}});
    set_gradient(weight, 0);
    set_gradient(bias, 0);
    optimizer.step();
    CHECK(weight.item() == doctest::Approx(0.9));  // decayed
    CHECK(bias.item() == 1);                       // no decay in its group
    CHECK(optimizer.lr(1) == doctest::Approx(0.1));
}

TEST_CASE("state_dict: a run resumed from a saved state continues bit for bit") {
    for (const char* kind : {"sgd", "adagrad", "rmsprop", "adam", "adamw", "lion"}) {
        CAPTURE(kind);
        const Options options = {{"lr", 0.05}};
        Tensor w = Tensor::from_vector({0.5, -1.5, 2.0}, {3}, DType::float64);
        w.set_requires_grad(true);
        auto optimizer = make_optimizer(kind, {{{w}, {}}}, options);
        auto train = [](Tensor& param, Optimizer& opt, int steps) {
            for (int i = 0; i < steps; ++i) {
                opt.zero_grad();
                problem_loss(param).backward();
                opt.step();
            }
        };
        train(w, *optimizer, 3);
        const OptimizerState saved = optimizer->state_dict();
        Tensor w_resumed = w.detach().clone();
        w_resumed.set_requires_grad(true);
        train(w, *optimizer, 3);
        auto resumed = make_optimizer(kind, {{{w_resumed}, {}}}, {{"lr", 1}});
        resumed->load_state_dict(saved);
        CHECK(resumed->lr() == 0.05);
        train(w_resumed, *resumed, 3);
        CHECK(w_resumed.to_vector() == w.to_vector());
    }
}

TEST_CASE("bad optimizer input is a clear kiln::Error") {
    Tensor w = scalar_param(1);
    CHECK_THROWS_WITH_AS(SGD({w}, {{"lr", -0.1}}), doctest::Contains("SGD: lr = -0.1 is outside [0, inf]"), Error);
    CHECK_THROWS_WITH_AS(Adam({w}, {{"beta1", 1.0}}), doctest::Contains("Adam: beta1 = 1 is outside [0, 1)"), Error);
    CHECK_THROWS_WITH_AS(AdamW({w}, {{"beta2", -0.5}}), doctest::Contains("AdamW: beta2 = -0.5 is outside [0, 1)"),
                         Error);
    CHECK_THROWS_WITH_AS(SGD(std::vector<Tensor>{}), doctest::Contains("parameter group 0 has an empty parameter list"),
                         Error);
    CHECK_THROWS_WITH_AS(SGD({{{w}, {{"betas", 0.9}}}}), doctest::Contains("unknown option \"betas\" in parameter group 0"),
                         Error);
    CHECK_THROWS_WITH_AS(Lion({w}, {{"momentum", 0.9}}), doctest::Contains("Lion: unknown option \"momentum\""), Error);
    CHECK_THROWS_WITH_AS(SGD({w}, {{"nesterov", 1}}), doctest::Contains("Nesterov momentum needs momentum > 0"), Error);
    CHECK_THROWS_WITH_AS(make_optimizer("adamax", {{{w}, {}}}), doctest::Contains("unknown optimizer \"adamax\""), Error);
    SGD optimizer({w});
    OptimizerState wrong = Adam({scalar_param(0)}).state_dict();
    CHECK_THROWS_AS(optimizer.load_state_dict(wrong), Error);
}

TEST_CASE("cosine with warm restarts reaches eta_min and restarts at T_0 and T_0 + T_0 T_mult") {
    Tensor w = scalar_param(1);
    SGD optimizer({w}, {{"lr", 1e-3}});
    CosineAnnealingWarmRestarts schedule(optimizer, 10, 2, 1e-6);
    CHECK(schedule.lr() == doctest::Approx(1e-3));
    CHECK(schedule.lr_at(5, 1e-3) == doctest::Approx((1e-3 + 1e-6) / 2));
    CHECK(schedule.lr_at_epoch(10 - 1e-9, 1e-3) == doctest::Approx(1e-6).epsilon(1e-6));  // end of cycle 1
    CHECK(schedule.lr_at(10, 1e-3) == doctest::Approx(1e-3));                              // restart at T_0
    CHECK(schedule.lr_at(20, 1e-3) == doctest::Approx((1e-3 + 1e-6) / 2));                 // middle of a 20-step cycle
    CHECK(schedule.lr_at(30, 1e-3) == doctest::Approx(1e-3));                              // restart at T_0 + 2 T_0
    for (int i = 0; i < 10; ++i) schedule.step();
    CHECK(optimizer.lr() == doctest::Approx(1e-3));
    schedule.step_to(12.5);  // per-batch stepping: epoch 12 and a half
    CHECK(optimizer.lr() == doctest::Approx(1e-6 + (1e-3 - 1e-6) * (1 + std::cos(M_PI * 2.5 / 20)) / 2));
}

TEST_CASE("reduce-on-plateau: waits `patience` bad steps, then multiplies by factor, then cools down") {
    Tensor w = scalar_param(1);
    SGD optimizer({w}, {{"lr", 1}});
    ReduceLROnPlateau::Options options;
    options.patience = 2;
    options.factor = 0.5;
    options.cooldown = 1;
    ReduceLROnPlateau plateau(optimizer, options);
    const double losses[] = {1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95};
    const double expected[] = {1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5};
    for (size_t i = 0; i < 8; ++i) {
        plateau.step(losses[i]);
        CAPTURE(i);
        CHECK(optimizer.lr() == expected[i]);
    }
    plateau.step(0.95);
    CHECK(optimizer.lr() == 0.25);
}

TEST_CASE("reduce-on-plateau: its state_dict restores it mid-way, the starting infinite best included") {
    ReduceLROnPlateau::Options options;
    options.patience = 2;
    options.factor = 0.5;
    options.cooldown = 1;
    const double losses[] = {1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.97, 0.8, 0.99};
    for (size_t split = 0; split <= 6; split += 3) {
        CAPTURE(split);
        Tensor w = scalar_param(1), v = scalar_param(1);
        SGD straight({w}, {{"lr", 1}}), first({v}, {{"lr", 1}});
        ReduceLROnPlateau a(straight, options), b(first, options);
        for (size_t i = 0; i < split; ++i) a.step(losses[i]), b.step(losses[i]);
        const std::map<std::string, double> state = b.state_dict();
        CHECK(state.count("best") == (split > 0 ? 1u : 0u));
        Tensor u = scalar_param(1);
        SGD second({u}, {{"lr", first.lr()}});
        ReduceLROnPlateau c(second, options);
        c.load_state_dict(state);
        for (size_t i = split; i < 11; ++i) {
            a.step(losses[i]), c.step(losses[i]);
            CHECK(second.lr() == straight.lr());
        }
    }
}

TEST_CASE("clipping by global norm returns the pre-clip norm, by value clamps") {
    Tensor a = scalar_param(0), b = scalar_param(0);
    set_gradient(a, 3);
    set_gradient(b, 4);
    CHECK(clip_grad_norm({a, b}, 1.0) == doctest::Approx(5));
    CHECK(a.grad().item() == doctest::Approx(0.6).epsilon(1e-5));
    CHECK(b.grad().item() == doctest::Approx(0.8).epsilon(1e-5));
    CHECK(clip_grad_norm({a, b}, 10.0) == doctest::Approx(1).epsilon(1e-5));  // under the limit: unchanged
    CHECK(a.grad().item() == doctest::Approx(0.6).epsilon(1e-5));
    set_gradient(a, -3);
    clip_grad_value({a, b}, 0.7);
    CHECK(a.grad().item() == doctest::Approx(-0.7));
    CHECK(b.grad().item() == doctest::Approx(0.7));
    CHECK_THROWS_AS(clip_grad_norm({a}, -1), Error);
}

TEST_CASE("gradient accumulation over 4 micro-batches equals the large-batch gradient") {
    manual_seed(3);
    const Tensor x = Tensor::randn({32, 5}, DType::float64), y = Tensor::randn({32, 1}, DType::float64);
    Tensor weight = Tensor::randn({1, 5}, DType::float64);
    weight.set_requires_grad(true);
    mean(pow(linear(x, weight) - y, 2)).backward();
    const std::vector<double> large_batch = weight.grad().to_vector();
    weight.set_grad(Tensor());
    GradientAccumulation accumulation(4);
    int steps = 0;
    for (int micro = 0; micro < 4; ++micro) {
        const Tensor xs = x.narrow(0, micro * 8, 8), ys = y.narrow(0, micro * 8, 8);
        (mean(pow(linear(xs, weight) - ys, 2)) * accumulation.loss_scale()).backward();
        steps += accumulation.micro_batch_done();
    }
    CHECK(steps == 1);
    const std::vector<double> accumulated = weight.grad().to_vector();
    for (size_t i = 0; i < accumulated.size(); ++i) CHECK(accumulated[i] == doctest::Approx(large_batch[i]).epsilon(1e-12));
}

TEST_CASE("trajectories and lr sequences match torch.optim (float64, 50 steps)") {
    const auto python = kiln::testing::python_with_torch();
    if (!python) KILN_SKIP("Python torch is not installed (set KILN_PYTHON or apt-get install python3-torch)");
    using nlohmann::json;
    const std::vector<std::pair<std::string, Options>> optimizers = {
        {"sgd", {{"lr", 0.01}}},
        {"sgd", {{"lr", 0.01}, {"momentum", 0.9}, {"dampening", 0.1}, {"weight_decay", 0.01}}},
        {"sgd", {{"lr", 0.01}, {"momentum", 0.9}, {"nesterov", 1}}},
        {"adagrad", {{"lr", 0.1}, {"lr_decay", 0.01}, {"weight_decay", 0.01}, {"initial_accumulator_value", 0.1}}},
        {"rmsprop", {{"lr", 0.01}}},
        {"rmsprop", {{"lr", 0.01}, {"momentum", 0.5}, {"centered", 1}, {"weight_decay", 0.01}}},
        {"adam", {{"lr", 0.05}}},
        {"adam", {{"lr", 0.05}, {"weight_decay", 0.1}, {"amsgrad", 1}}},
        {"adamw", {{"lr", 0.05}, {"weight_decay", 0.1}}},
    };
    const std::vector<double> start = {0.5, -1.5, 2.0};
    const int steps = 50;
    json spec = {{"steps", steps}, {"start", start}, {"optimizers", json::array()}, {"schedules", json::array()}};
    for (size_t i = 0; i < optimizers.size(); ++i)
        spec["optimizers"].push_back({{"name", std::to_string(i)}, {"kind", optimizers[i].first}, {"options", optimizers[i].second}});
    struct ScheduleCase {
        std::string kind;
        json args;
        std::function<std::unique_ptr<LRScheduler>(Optimizer&)> make;
    };
    const std::vector<ScheduleCase> schedules = {
        {"step", {{"step_size", 7}, {"gamma", 0.5}}, [](Optimizer& o) { return std::make_unique<StepLR>(o, 7, 0.5); }},
        {"multistep", {{"milestones", {5, 12, 30}}, {"gamma", 0.3}},
         [](Optimizer& o) { return std::make_unique<MultiStepLR>(o, std::vector<int64_t>{5, 12, 30}, 0.3); }},
        {"exponential", {{"gamma", 0.95}}, [](Optimizer& o) { return std::make_unique<ExponentialLR>(o, 0.95); }},
        {"cosine", {{"T_max", 25}, {"eta_min", 1e-4}}, [](Optimizer& o) { return std::make_unique<CosineAnnealingLR>(o, 25, 1e-4); }},
        {"warm_restarts", {{"T_0", 10}, {"T_mult", 2}, {"eta_min", 1e-6}},
         [](Optimizer& o) { return std::make_unique<CosineAnnealingWarmRestarts>(o, 10, 2, 1e-6); }},
        {"one_cycle", {{"max_lr", 0.1}, {"total_steps", 61}, {"pct_start", 0.3}},
         [](Optimizer& o) { return std::make_unique<OneCycleLR>(o, 0.1, 61, 0.3); }},
        {"linear_warmup", {{"warmup_steps", 8}, {"start_factor", 0.25}},
         [](Optimizer& o) { return std::make_unique<LinearWarmup>(o, 8, nullptr, 0.25); }},
    };
    const double base_lr = 0.01;
    const int schedule_steps = 60;
    for (const ScheduleCase& s : schedules)
        spec["schedules"].push_back({{"name", s.kind}, {"kind", s.kind}, {"args", s.args}, {"base_lr", base_lr}, {"steps", schedule_steps}});

    const json peer = json::parse(kiln::testing::run_python(
        *python, kiln::testing::source_path("tests/peers/optim_torch.py"), spec.dump()));

    for (size_t i = 0; i < optimizers.size(); ++i) {
        CAPTURE(optimizers[i].first);
        CAPTURE(i);
        Tensor w = Tensor::from_vector(start, {3}, DType::float64);
        w.set_requires_grad(true);
        auto optimizer = make_optimizer(optimizers[i].first, {{{w}, {}}}, optimizers[i].second);
        const json& path = peer["trajectories"][std::to_string(i)];
        double worst = 0;
        for (int t = 0; t < steps; ++t) {
            optimizer->zero_grad();
            problem_loss(w).backward();
            optimizer->step();
            const std::vector<double> ours = w.to_vector();
            for (size_t k = 0; k < 3; ++k) {
                const double theirs = path[size_t(t)][k].get<double>();
                worst = std::max(worst, std::abs(ours[k] - theirs) / std::max(1e-12, std::abs(theirs)));
            }
        }
        CHECK(worst <= 1e-6);
    }
    for (const ScheduleCase& s : schedules) {
        CAPTURE(s.kind);
        Tensor w = scalar_param(0);
        SGD optimizer({w}, {{"lr", base_lr}});
        auto schedule = s.make(optimizer);
        const json& lrs = peer["lrs"][s.kind];
        double worst = std::abs(optimizer.lr() - lrs[0].get<double>()) / lrs[0].get<double>();
        for (int t = 1; t <= schedule_steps; ++t) {
            schedule->step();
            const double theirs = lrs[size_t(t)].get<double>();
            worst = std::max(worst, std::abs(optimizer.lr() - theirs) / theirs);
        }
        CHECK(worst <= 1e-9);
    }
}
