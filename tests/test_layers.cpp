// Every layer's forward and backward against finite differences in float64
// (engine/gradcheck.h), on small configs. The layer's parameters are the
// gradcheck inputs after x, so their gradients are checked too.
#include <doctest/doctest.h>

#include "engine/gradcheck.h"
#include "engine/ops.h"
#include "layers/activation.h"
#include "layers/batch_norm.h"
#include "layers/conv.h"
#include "layers/dropout.h"
#include "layers/linear.h"
#include "layers/models/fire.h"
#include "layers/models/models.h"
#include "layers/pool.h"
#include "layers/residual.h"
#include "layers/sequential.h"
#include "layers/squeeze_excitation.h"

using namespace kiln;

namespace {

// Gradchecks `layer` (converted to float64, in its current mode) on a random
// x of `shape`; `before` runs before every forward (e.g. to reseed dropout).
void check_layer(Module& layer, const Shape& shape, const std::function<void()>& before = {}) {
    layer.to(DType::float64);
    Generator generator(21);
    Tensor x = Tensor::rand(shape, DType::float64, generator) * 2.0 - 1.0;
    x = x.detach();
    x.set_requires_grad(true);
    std::vector<Tensor> inputs{x};
    for (const Tensor& p : layer.parameters()) inputs.push_back(p);
    const GradcheckResult result = gradcheck(
        [&](const std::vector<Tensor>& in) {
            if (before) before();
            return layer(in[0]);
        },
        inputs);
    INFO(layer.type_name(), ": ", result.failure, " (worst: ", result.worst, ")");
    CHECK(result.passed);
}

}  // namespace

TEST_CASE("layers gradcheck: Conv2d (bias, stride, padding, groups) and Linear") {
    Generator generator(1);
    Conv2d plain(2, 3, 3, conv_config(1, 1, 1, true), generator);
    check_layer(plain, {2, 2, 5, 4});
    Conv2d strided_grouped(4, 4, {3, 2}, {{2, 1}, {1, 0}, {1, 1}, 2, false}, generator);
    check_layer(strided_grouped, {1, 4, 5, 5});
    Linear fc(5, 3, true, generator);
    check_layer(fc, {4, 5});
}

TEST_CASE("layers gradcheck: BatchNorm2d in training and eval mode") {
    BatchNorm2d bn(3);
    check_layer(bn, {3, 3, 2, 3});
    bn.eval();
    check_layer(bn, {2, 3, 2, 2});
}

TEST_CASE("layers gradcheck: activations") {
    for (const char* name : {"relu", "relu6", "leaky_relu", "sigmoid", "tanh", "silu", "hardswish", "hardsigmoid", "gelu"}) {
        CAPTURE(name);
        const auto layer = make_activation(name);
        check_layer(*layer, {2, 3, 2, 2});
    }
}

TEST_CASE("layers gradcheck: Dropout and Dropout2d (same mask on every call), pools, Flatten, Sequential") {
    Generator generator(4);
    Dropout dropout(0.3, generator);
    check_layer(dropout, {3, 7}, [&] { generator.manual_seed(4); });
    Dropout2d dropout2d(0.5, generator);
    check_layer(dropout2d, {2, 4, 2, 2}, [&] { generator.manual_seed(4); });
    MaxPool2d max(3, 2, 1, true);
    check_layer(max, {1, 2, 5, 5});
    AvgPool2d avg(2);
    check_layer(avg, {1, 2, 4, 5});
    AdaptiveAvgPool2d adaptive({2, 3});
    check_layer(adaptive, {2, 1, 5, 7});
    Sequential seq({std::make_shared<Conv2d>(1, 2, 3), std::make_shared<SiLU>(), std::make_shared<Flatten>(),
                    std::make_shared<Linear>(2 * 2 * 2, 2)});
    check_layer(seq, {2, 1, 4, 4});
}

TEST_CASE("layers gradcheck: residual blocks, squeeze-and-excitation, fire") {
    Generator generator(2);
    BasicBlock identity_skip(2, 2, 1, nullptr, generator);
    check_layer(identity_skip, {2, 2, 3, 3});
    BasicBlock projected(2, 3, 2, make_downsample(2, 3, 2, generator), generator);
    check_layer(projected, {2, 2, 4, 4});
    Bottleneck bottleneck(4, 2, 1, make_downsample(4, 8, 1, generator), generator);
    check_layer(bottleneck, {2, 4, 3, 3});
    SqueezeExcitation se(4, 2, "relu", "hardsigmoid", generator);
    check_layer(se, {2, 4, 3, 3});
    models::Fire fire(3, 2, 2, 3, generator);
    check_layer(fire, {1, 3, 3, 3});
}

TEST_CASE("layers gradcheck: a whole net (tiny_cnn, eval mode) and one MobileNetV3 block in training") {
    models::ModelConfig config;
    config.num_classes = 2;
    config.in_channels = 1;
    config.width = 0.25;
    const auto tiny = models::tiny_cnn(config);
    tiny->eval();
    check_layer(*tiny, {1, 1, 8, 8});
    config.width = 0.1;
    const auto v3 = models::mobilenet_v3_small(config);
    check_layer(v3->submodule("features.4"), {2, 8, 3, 3});
}
