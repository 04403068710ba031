// batch_norm_relu (batch_norm_relu6) against batch_norm followed by relu
// (relu6), op by op and net by net: the fused op must give the same output bits, the same gradients and
// the same running statistics, and the layers' fusion (layers/fusion.h) must
// change nothing a user can see but the memory it keeps.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/frozen.h"
#include "engine/ops.h"
#include "engine/random.h"
#include "layers/activation.h"
#include "layers/fusion.h"
#include "layers/models/models.h"
#include "layers/sequential.h"

using namespace kiln;

namespace {

// Equal values element by element (the same bits up to the sign of zero: 0 == -0).
bool same_values(const Tensor& a, const Tensor& b) {
    if (a.defined() != b.defined()) return false;
    if (!a.defined()) return true;
    if (a.shape() != b.shape()) return false;
    return a.to(DType::float64).to_vector() == b.to(DType::float64).to_vector();
}

// The same bits, -0 and 0 told apart (forward outputs).
bool same_bits(const Tensor& a, const Tensor& b) {
    if (!same_values(a, b)) return false;
    const std::vector<double> x = a.to(DType::float64).to_vector(), y = b.to(DType::float64).to_vector();
    for (size_t i = 0; i < x.size(); ++i)
        if (std::signbit(x[i]) != std::signbit(y[i])) return false;
    return true;
}

struct BatchNormRun {
    Tensor y, dx, dweight, dbias, running_mean, running_var;
};

// y = f(x, weight, bias, running stats) and its gradients for a random dy;
// the same inputs (seeded) on every call.
BatchNormRun run_batch_norm(const Shape& shape, DType dtype, bool affine,
                            const std::function<Tensor(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                                       const Tensor&)>& f) {
    Generator generator(17);
    const int64_t C = shape[1];
    Tensor x = (Tensor::randn(shape, dtype, generator) * 1.5 + 0.3).set_requires_grad(true);
    Tensor weight = affine ? (Tensor::rand({C}, dtype, generator) + 0.5).set_requires_grad(true) : Tensor();
    Tensor bias = affine ? (Tensor::randn({C}, dtype, generator) * 0.5).set_requires_grad(true) : Tensor();
    BatchNormRun run;
    run.running_mean = Tensor::randn({C}, dtype, generator) * 0.1;
    run.running_var = Tensor::rand({C}, dtype, generator) + 0.5;
    const Tensor dy = Tensor::randn(shape, dtype, generator);
    run.y = f(x, weight, bias, run.running_mean, run.running_var);
    run.y.backward(dy);
    run.dx = x.grad();
    if (affine) run.dweight = weight.grad(), run.dbias = bias.grad();
    return run;
}

// A zoo model's output, parameter gradients and buffers after one training
// forward and backward, then its eval output, with fusion on or off.
struct ModelRun {
    Tensor train_output, eval_output;
    StateDict gradients, buffers;
};

ModelRun run_model(const std::string& name, bool fusion) {
    const FusionGuard guard(fusion);
    manual_seed(11);  // the heads' dropout draws the same masks in both runs
    models::ModelConfig config;
    config.width = 0.25;
    config.num_classes = 3;
    const auto model = models::make_model(name, config);
    Generator generator(5);
    const Tensor images = Tensor::randn({2, 3, 48, 48}, DType::float32, generator);
    ModelRun run;
    model->train();
    run.train_output = (*model)(images);
    cross_entropy(run.train_output, Tensor::from_vector({0, 2}, {2}, DType::int64)).backward();
    for (const auto& [path, parameter] : model->named_parameters()) run.gradients[path] = parameter.grad();
    for (const auto& [path, buffer] : model->named_buffers()) run.buffers[path] = buffer.clone();
    model->eval();
    NoGradGuard no_grad;
    run.eval_output = (*model)(images);
    return run;
}

// How many nodes named `name` the graph behind `root` has.
int count_nodes(const Tensor& root, const std::string& name) {
    int count = 0;
    for (Node* node : topological_order(root.grad_fn().get())) count += node->name() == name;
    return count;
}

}  // namespace

TEST_CASE("batch_norm_relu(6) is relu(6)(batch_norm(...)): same output bits, gradients and running statistics") {
    const Shape shapes[] = {{4, 3, 5, 7}, {1, 5, 3, 3}, {9, 5}, {2, 7, 1, 1}};
    for (bool six : {false, true})
    for (DType dtype : {DType::float32, DType::float64})
        for (const Shape& shape : shapes)
            for (bool training : {true, false})
                for (bool affine : {true, false}) {
                    CAPTURE(six);
                    CAPTURE(std::string(dtype_name(dtype)));
                    CAPTURE(shape_str(shape));
                    CAPTURE(training);
                    CAPTURE(affine);
                    // relu6: the input scaled by 3 so that some outputs pass 6 (x 1.5 N(0, 1) + 0.3 then x 3)
                    const double scale = six ? 3.0 : 1.0;
                    const BatchNormRun fused = run_batch_norm(
                        shape, dtype, affine,
                        [&](const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& m, const Tensor& v) {
                            return six ? batch_norm_relu6(x * scale, w, b, m, v, training, 0.1, 1e-5)
                                       : batch_norm_relu(x, w, b, m, v, training, 0.1, 1e-5);
                        });
                    const BatchNormRun composed = run_batch_norm(
                        shape, dtype, affine,
                        [&](const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& m, const Tensor& v) {
                            return six ? relu6(batch_norm(x * scale, w, b, m, v, training, 0.1, 1e-5))
                                       : relu(batch_norm(x, w, b, m, v, training, 0.1, 1e-5));
                        });
                    CHECK(same_bits(fused.y, composed.y));
                    CHECK(same_values(fused.dx, composed.dx));
                    CHECK(same_values(fused.dweight, composed.dweight));
                    CHECK(same_values(fused.dbias, composed.dbias));
                    CHECK(same_bits(fused.running_mean, composed.running_mean));
                    CHECK(same_bits(fused.running_var, composed.running_var));
                    // the relu did something: some outputs are zero, some positive
                    const std::vector<double> y = fused.y.to(DType::float64).to_vector();
                    CHECK(std::count(y.begin(), y.end(), 0.0) > 0);
                    CHECK(std::count_if(y.begin(), y.end(), [](double v) { return v > 0; }) > 0);
                }
}

TEST_CASE("batch_norm_relu6 by hand: the gradient flows only where 0 < output < 6, as PyTorch's ReLU6") {
    // eval, one channel, running mean 0, var 1, eps 0, gamma 1, beta 0: y = relu6(x); x at both bounds too
    Tensor x = Tensor::from_vector({-1, 0, 3, 6, 7}, {5, 1}, DType::float64).set_requires_grad(true);
    Tensor weight = Tensor::from_vector({1}, {1}, DType::float64).set_requires_grad(true);
    Tensor bias = Tensor::from_vector({0}, {1}, DType::float64).set_requires_grad(true);
    const Tensor mean = Tensor::zeros({1}, DType::float64), var = Tensor::ones({1}, DType::float64);
    const Tensor y = batch_norm_relu6(x, weight, bias, mean, var, false, 0.1, 0);
    CHECK(y.to_vector() == std::vector<double>{0, 0, 3, 6, 6});
    y.backward(Tensor::from_vector({1, 10, 100, 1000, 10000}, {5, 1}, DType::float64));
    CHECK(x.grad().to_vector() == std::vector<double>{0, 0, 100, 0, 0});  // only 0 < x < 6
    CHECK(bias.grad().item() == 100);
    CHECK(weight.grad().item() == 300);
    CHECK(y.grad_fn()->name() == "BatchNormRelu6Backward");
}

TEST_CASE("batch_norm_relu by hand: the gradient flows only where the output is positive") {
    // one channel, four samples [2, 0.5, -1, 1.5]: mean 0.75, biased variance 1.3125, eps 0;
    // y = relu(xhat) keeps samples 0 and 3 (xhat > 0)
    Tensor x = Tensor::from_vector({2, 0.5, -1, 1.5}, {4, 1}, DType::float64).set_requires_grad(true);
    Tensor bias = Tensor::from_vector({0}, {1}, DType::float64).set_requires_grad(true);
    Tensor weight = Tensor::from_vector({1}, {1}, DType::float64).set_requires_grad(true);
    const Tensor y = batch_norm_relu(x, weight, bias, Tensor(), Tensor(), true, 0.1, 0);
    const double rstd = 1 / std::sqrt(1.3125);
    const std::vector<double> xhat{1.25 * rstd, -0.25 * rstd, -1.75 * rstd, 0.75 * rstd};
    const std::vector<double> got = y.to_vector();
    CHECK(got[0] == doctest::Approx(xhat[0]).epsilon(1e-14));
    CHECK(got[1] == 0);
    CHECK(got[2] == 0);
    CHECK(got[3] == doctest::Approx(xhat[3]).epsilon(1e-14));
    y.backward(Tensor::from_vector({1, 10, 100, 1000}, {4, 1}, DType::float64));
    // dz = [1, 0, 0, 1000]: dbias = sum dz, dweight = sum dz xhat
    CHECK(bias.grad().item() == doctest::Approx(1001).epsilon(1e-14));
    CHECK(weight.grad().item() == doctest::Approx(xhat[0] + 1000 * xhat[3]).epsilon(1e-14));
    // dx = rstd (dz - mean(dz) - xhat mean(dz xhat))
    const double mean_dz = 1001.0 / 4, mean_dz_xhat = (xhat[0] + 1000 * xhat[3]) / 4;
    const std::vector<double> dz{1, 0, 0, 1000}, dx = x.grad().to_vector();
    for (size_t i = 0; i < 4; ++i)
        CHECK(dx[i] == doctest::Approx(rstd * (dz[i] - mean_dz - xhat[i] * mean_dz_xhat)).epsilon(1e-12));
}

TEST_CASE("batch_norm_relu records one node that keeps x and y, not the normalised tensor") {
    Tensor x = Tensor::randn({2, 3, 4, 4}).set_requires_grad(true);
    const Tensor fused = batch_norm_relu(x, Tensor(), Tensor(), Tensor(), Tensor(), true);
    CHECK(fused.grad_fn()->name() == "BatchNormReluBackward");
    CHECK(count_nodes(fused, "BatchNormBackward") == 0);
    const Tensor composed = relu(batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), true));
    CHECK(composed.grad_fn()->name() == "ReluBackward");
    CHECK(count_nodes(composed, "BatchNormBackward") == 1);
}

TEST_CASE("fusion: zoo nets give the same outputs, gradients and running statistics with and without it") {
    // resnet18 (stem and BasicBlock), resnet50 (Bottleneck: bn1 and bn2), mobilenet_v3_large
    // (Conv2dNormActivation with ReLU inside Sequential), the inspired nets; mobilenet_v2 (ReLU6: batch_norm_relu6)
    for (std::string name : {"resnet18", "resnet50", "mobilenet_v3_large", "mobilenet_inspired", "resnet_inspired",
                             "mobilenet_v2", "mobilenet_v3_small"}) {
        CAPTURE(name);
        const ModelRun fused = run_model(name, true), unfused = run_model(name, false);
        CHECK(same_bits(fused.train_output, unfused.train_output));
        CHECK(same_bits(fused.eval_output, unfused.eval_output));
        REQUIRE(fused.gradients.size() == unfused.gradients.size());
        for (const auto& [path, gradient] : fused.gradients) {
            CAPTURE(path);
            REQUIRE(gradient.defined());
            CHECK(same_values(gradient, unfused.gradients.at(path)));
        }
        for (const auto& [path, buffer] : fused.buffers) {
            CAPTURE(path);
            CHECK(same_bits(buffer, unfused.buffers.at(path)));
        }
    }
}

TEST_CASE("fusion: the fused nets really run batch_norm_relu(6), and only where a BatchNorm2d meets a ReLU(6)") {
    models::ModelConfig config;
    config.width = 0.25;
    const Tensor images = Tensor::randn({2, 3, 32, 32});
    const auto resnet = models::resnet18(config);
    {
        const FusionGuard on(true);
        const Tensor out = (*resnet)(images);
        // the stem and bn1 of each of the 8 BasicBlocks; bn2 (before the skip addition) and the downsample BNs not
        CHECK(count_nodes(out, "BatchNormReluBackward") == 9);
        CHECK(count_nodes(out, "BatchNormBackward") == 8 + 3);
    }
    {
        const FusionGuard off(false);
        const Tensor out = (*resnet)(images);
        CHECK(count_nodes(out, "BatchNormReluBackward") == 0);
        CHECK(count_nodes(out, "BatchNormBackward") == 9 + 8 + 3);
    }
    const FusionGuard on(true);
    // mobilenet_v2: the stem, each block's expansion (16 of 17 blocks) and depthwise BN (17), the last 1x1
    // conv (features.18) take ReLU6; the 17 projection BNs (linear bottleneck) do not
    const Tensor out = (*models::mobilenet_v2(config))(images);
    CHECK(count_nodes(out, "BatchNormReluBackward") == 0);
    CHECK(count_nodes(out, "BatchNormRelu6Backward") == 1 + 16 + 17 + 1);
    CHECK(count_nodes(out, "BatchNormBackward") == 17);
    CHECK(count_nodes(out, "Relu6Backward") == 0);
}

TEST_CASE("fusion: a ForwardTrace (kiln summary) sees every module, as without fusion") {
    models::ModelConfig config;
    config.width = 0.25;
    const auto model = models::resnet50(config);
    model->eval();
    const Tensor image = Tensor::randn({1, 3, 32, 32});
    std::vector<std::vector<ForwardRecord>> traces;
    for (bool fusion : {true, false}) {
        const FusionGuard guard(fusion);
        NoGradGuard no_grad;
        ForwardTrace trace;
        (*model)(image);
        traces.push_back(trace.records());
    }
    REQUIRE(traces[0].size() == traces[1].size());
    for (size_t i = 0; i < traces[0].size(); ++i) {
        CAPTURE(traces[1][i].module->path());
        CHECK(traces[0][i].module == traces[1][i].module);
        CHECK(traces[0][i].input == traces[1][i].input);
        CHECK(traces[0][i].output == traces[1][i].output);
    }
}

TEST_CASE("fusion: a Sequential fuses BatchNorm2d + ReLU(6) children, leaves other pairs, and errors name the BatchNorm2d") {
    auto bn = std::make_shared<BatchNorm2d>(3);
    Sequential net({bn, std::make_shared<ReLU>(), std::make_shared<BatchNorm2d>(3), std::make_shared<ReLU6>(),
                    std::make_shared<BatchNorm2d>(3), std::make_shared<Hardswish>(), std::make_shared<ReLU>()});
    Tensor x = Tensor::randn({2, 3, 4, 4}).set_requires_grad(true);
    const Tensor out = net(x);
    CHECK(count_nodes(out, "BatchNormReluBackward") == 1);
    CHECK(count_nodes(out, "BatchNormRelu6Backward") == 1);
    CHECK(count_nodes(out, "BatchNormBackward") == 1);  // BatchNorm2d + Hardswish: not fused
    CHECK(count_nodes(out, "ReluBackward") == 1);       // the ReLU after the Hardswish
    CHECK(bn->num_batches_tracked.item() == 1);  // the fused call counts the batch as BatchNorm2d::forward does
    // training on one value per channel: the error names the module and the op that ran
    CHECK_THROWS_WITH_AS(net(Tensor::randn({1, 3, 1, 1})),
                         doctest::Contains("0 (BatchNorm2d): batch_norm_relu: Expected more than 1 value per channel"),
                         Error);
}

TEST_CASE("conv2d_batch_norm at inference gives the bits of conv2d, batch_norm (eval) and the activation") {
    struct Case {
        const char* name;
        Shape x, w;
        Conv2dOptions options;
    };
    // every path of the cpu kernels: im2col one image and a block of images, direct, Winograd, pointwise (GEMM and tiles),
    // depthwise (unit stride and strided), grouped
    const Case cases[] = {
        {"im2col, batch 1, odd 7x5", {1, 2, 7, 5}, {5, 2, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, 1}},
        {"direct (float), batch 1, a 3-channel stem at stride 2", {1, 3, 9, 7}, {6, 3, 3, 3},
         {{2, 2}, {1, 1}, {1, 1}, 1}},
        {"im2col, batch 5, stride 2", {5, 3, 9, 9}, {4, 3, 3, 3}, {{2, 2}, {1, 1}, {1, 1}, 1}},
        {"direct (float), batch 2, 9x11, 10 outputs", {2, 8, 9, 11}, {10, 8, 3, 3},
         {{1, 1}, {1, 1}, {1, 1}, 1}},
        {"Winograd (float), batch 2, 15x13, 64 channels", {2, 64, 15, 13}, {64, 64, 3, 3},
         {{1, 1}, {1, 1}, {1, 1}, 1}},
        {"Winograd F(4x4, 3x3) (float), batch 4, 16x16, 64 channels", {4, 64, 16, 16}, {64, 64, 3, 3},
         {{1, 1}, {1, 1}, {1, 1}, 1}},
        {"pointwise, batch 1", {1, 6, 4, 5}, {7, 6, 1, 1}, {}},
        {"pointwise in register tiles (float), batch 1, 4x4", {1, 6, 4, 4}, {7, 6, 1, 1}, {}},
        {"pointwise, batch 3", {3, 6, 4, 5}, {7, 6, 1, 1}, {}},
        {"depthwise, unit stride", {2, 5, 6, 7}, {5, 1, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, 5}},
        {"depthwise, stride 2", {1, 5, 7, 7}, {5, 1, 3, 3}, {{2, 2}, {1, 1}, {1, 1}, 5}},
        {"groups 2", {2, 4, 5, 5}, {6, 2, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, 2}},
    };
    for (const Case& c : cases)
        for (DType dtype : {DType::float32, DType::float64})
            for (FusedActivation activation : {FusedActivation::none, FusedActivation::relu, FusedActivation::relu6})
                for (bool affine : {true, false}) {
                    CAPTURE(c.name);
                    CAPTURE(std::string(dtype_name(dtype)));
                    CAPTURE(int(activation));
                    CAPTURE(affine);
                    Generator generator(29);
                    const int64_t C = c.w[0];
                    const Tensor x = Tensor::randn(c.x, dtype, generator) * 2.0;
                    const Tensor w = Tensor::randn(c.w, dtype, generator);
                    const Tensor b = Tensor::randn({C}, dtype, generator);
                    const Tensor gamma = affine ? Tensor::rand({C}, dtype, generator) * 2.0 + 0.5 : Tensor();
                    const Tensor beta = affine ? Tensor::randn({C}, dtype, generator) + 2.0 : Tensor();
                    const Tensor mean = Tensor::randn({C}, dtype, generator), var = Tensor::rand({C}, dtype, generator) + 0.5;
                    NoGradGuard no_grad;
                    const Tensor fused = conv2d_batch_norm(x, w, b, c.options, gamma, beta, mean, var, 1e-5, activation);
                    Tensor composed = batch_norm(conv2d(x, w, b, c.options), gamma, beta, mean, var, false, 0.1, 1e-5);
                    if (activation == FusedActivation::relu) composed = relu(composed);
                    if (activation == FusedActivation::relu6) composed = relu6(composed);
                    CHECK(same_bits(fused, composed));
                    if (activation == FusedActivation::relu6) {  // all three pieces were exercised
                        const std::vector<double> y = fused.to(DType::float64).to_vector();
                        CHECK(std::count(y.begin(), y.end(), 0.0) > 0);
                        CHECK(std::count(y.begin(), y.end(), 6.0) > 0);
                    }
                }
}

TEST_CASE("conv2d_batch_norm: inference records no graph, with a gradient it is the differentiable ops") {
    const Tensor x = Tensor::randn({2, 3, 5, 5});
    Tensor w = Tensor::randn({4, 3, 3, 3}).set_requires_grad(true);
    const Tensor mean = Tensor::zeros({4}), var = Tensor::ones({4});
    const Tensor with_grad = conv2d_batch_norm(x, w, Tensor(), {}, Tensor(), Tensor(), mean, var, 1e-5,
                                               FusedActivation::relu6);
    REQUIRE(with_grad.grad_fn());
    CHECK(with_grad.grad_fn()->name() == "Relu6Backward");
    CHECK(count_nodes(with_grad, "BatchNormBackward") == 1);
    CHECK(count_nodes(with_grad, "ConvBackward") == 1);
    NoGradGuard no_grad;
    const Tensor without = conv2d_batch_norm(x, w, Tensor(), {}, Tensor(), Tensor(), mean, var, 1e-5,
                                             FusedActivation::relu6);
    CHECK(!without.grad_fn());
    CHECK(same_bits(without, with_grad.detach()));
}

TEST_CASE("fusion at inference: zoo nets in eval under NoGradGuard match the unfused modules, training unaffected") {
    // The eval outputs of the zoo test above are bit-compared already; here the fused
    // path is shown to run (no BatchNorm2d module computes on its own) and gradients in
    // eval mode still flow (eval with grad takes the module path).
    models::ModelConfig config;
    config.width = 0.25;
    config.num_classes = 3;
    for (std::string name : {"resnet18", "mobilenet_v2"}) {
        CAPTURE(name);
        const auto model = models::make_model(name, config);
        model->eval();
        Generator generator(3);
        const Tensor images = Tensor::randn({1, 3, 40, 40}, DType::float32, generator);
        Tensor on, off;
        {
            const FusionGuard guard(true);
            NoGradGuard no_grad;
            on = (*model)(images);
        }
        {
            const FusionGuard guard(false);
            NoGradGuard no_grad;
            off = (*model)(images);
        }
        CHECK(same_bits(on, off));
        // eval with a gradient wanted (Grad-CAM, input gradients): the module path, a full graph
        Tensor input = images.clone().set_requires_grad(true);
        const Tensor out = (*model)(input);
        CHECK(count_nodes(out, "ConvBackward") > 0);
        sum(out).backward();
        CHECK(input.grad().defined());
    }
}

TEST_CASE("frozen weights: resnet18 in eval gives the outputs it gives without a FrozenWeightsGuard") {
    // at width 0.5 and 64x64 its 32- and 64-channel layers reach the kept-kernel Winograd path
    models::ModelConfig config;
    config.width = 0.5;
    config.num_classes = 3;
    const auto model = models::make_model("resnet18", config);
    model->eval();
    Generator generator(5);
    const Tensor images = Tensor::randn({1, 3, 64, 64}, DType::float32, generator);
    NoGradGuard no_grad;
    const Tensor plain = (*model)(images);
    const FrozenWeightsGuard frozen;
    const Tensor first = (*model)(images), second = (*model)(images);
    CHECK(frozen_entries() > 0);
    CHECK(same_bits(first, second));
    const std::vector<double> a = plain.to_vector(), b = first.to_vector();
    for (size_t i = 0; i < a.size(); ++i) CHECK(b[i] == doctest::Approx(a[i]).epsilon(1e-4).scale(1.0));
}
