// The model zoo: parameter counts and state-dict sizes equal torchvision's
// (hard numbers, taken from torchvision 0.14), every model runs forward and
// backward on 64x64 images with 1 and 3 channels, and configs are checked.
#include <doctest/doctest.h>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "layers/models/models.h"

using namespace kiln;
using namespace kiln::models;

TEST_CASE("zoo: parameter counts and state dicts equal torchvision's (1000 classes, 3 channels, width 1)") {
    struct Expected {
        const char* model;
        int64_t parameters;  // sum(p.numel() for p in torchvision.models.NAME().parameters())
        size_t keys;         // len(model.state_dict()), with its first and last key
        const char* first;
        const char* last;
    };
    const Expected expected[] = {
        {"resnet18", 11689512, 122, "conv1.weight", "fc.bias"},
        {"resnet34", 21797672, 218, "conv1.weight", "fc.bias"},
        {"resnet50", 25557032, 320, "conv1.weight", "fc.bias"},
        {"mobilenet_v2", 3504872, 314, "features.0.0.weight", "classifier.1.bias"},
        {"mobilenet_v3_small", 2542856, 244, "features.0.0.weight", "classifier.3.bias"},
        {"mobilenet_v3_large", 5483032, 312, "features.0.0.weight", "classifier.3.bias"},
        {"squeezenet1_1", 1235496, 52, "features.0.weight", "classifier.1.bias"},
    };
    for (const Expected& e : expected) {
        CAPTURE(e.model);
        const auto model = make_model(e.model, {});
        CHECK(model->parameter_count() == e.parameters);
        CHECK(model->state_dict().size() == e.keys);
        CHECK(model->named_parameters().front().first == e.first);
        CHECK(model->named_parameters().back().first == e.last);
    }
}

TEST_CASE("zoo: names and shapes of torchvision's state dicts at width 0.25") {
    ModelConfig config;
    config.width = 0.25;
    const StateDict v3 = mobilenet_v3_small()->state_dict();
    CHECK(v3.at("features.1.block.1.fc1.weight").shape() == Shape{8, 16, 1, 1});
    CHECK(v3.at("features.1.block.0.1.num_batches_tracked").dtype() == DType::int64);
    CHECK(resnet18(config)->state_dict().at("layer2.0.downsample.0.weight").shape() == Shape{32, 16, 1, 1});
    CHECK(resnet50(config)->state_dict().at("layer1.0.conv3.weight").shape() == Shape{64, 16, 1, 1});
}

namespace {

// Forward and backward of one zoo model in training mode (batch 2, 64x64, 3
// classes, width 0.25 except tiny_cnn), every parameter gets a gradient; then
// an eval forward.
void check_forward_backward(const std::string& name) {
    for (int64_t channels : {1, 3}) {
        CAPTURE(channels);
        ModelConfig config;
        config.num_classes = 3;
        config.in_channels = channels;
        config.width = (name == "tiny_cnn") ? 1.0 : 0.25;
        const auto model = make_model(name, config);
        model->train();
        Generator generator(5);
        const Tensor x = Tensor::randn({2, channels, 64, 64}, DType::float32, generator);
        const Tensor logits = (*model)(x);
        REQUIRE(logits.shape() == Shape{2, 3});
        cross_entropy(logits, Tensor::from_int64({0, 2}, {2})).backward();
        for (const auto& [parameter, p] : model->named_parameters()) {
            CAPTURE(parameter);
            CHECK(p.grad().defined());
        }
        model->eval();
        NoGradGuard no_grad;
        CHECK((*model)(x).shape() == Shape{2, 3});
    }
}

}  // namespace

// One test per model, so CTest runs them in parallel.
#define KILN_ZOO_FORWARD_BACKWARD(model) \
    TEST_CASE("zoo: " #model " runs forward and backward on 64x64 images, 1 and 3 channels") { check_forward_backward(#model); }
KILN_ZOO_FORWARD_BACKWARD(resnet18)
KILN_ZOO_FORWARD_BACKWARD(resnet34)
KILN_ZOO_FORWARD_BACKWARD(resnet50)
KILN_ZOO_FORWARD_BACKWARD(mobilenet_v2)
KILN_ZOO_FORWARD_BACKWARD(mobilenet_v3_small)
KILN_ZOO_FORWARD_BACKWARD(mobilenet_v3_large)
KILN_ZOO_FORWARD_BACKWARD(squeezenet1_1)
KILN_ZOO_FORWARD_BACKWARD(mobilenet_inspired)
KILN_ZOO_FORWARD_BACKWARD(squeezenet_inspired)
KILN_ZOO_FORWARD_BACKWARD(resnet_inspired)
KILN_ZOO_FORWARD_BACKWARD(tiny_cnn)

TEST_CASE("zoo: the forward-backward tests cover every registered model") {
    CHECK(model_names().size() == 11);
}

TEST_CASE("zoo: the same seed gives the same weights, another seed others") {
    ModelConfig config;
    config.width = 0.25;
    config.num_classes = 2;
    const auto a = resnet18(config), b = resnet18(config);
    config.seed = 7;
    const auto c = resnet18(config);
    const auto wa = a->state_dict().at("layer1.0.conv1.weight").to_vector();
    CHECK(wa == b->state_dict().at("layer1.0.conv1.weight").to_vector());
    CHECK(wa != c->state_dict().at("layer1.0.conv1.weight").to_vector());
}

TEST_CASE("zoo: width multiplier and head dropout") {
    ModelConfig config;
    config.width = 0.5;
    const StateDict state = resnet18(config)->state_dict();
    CHECK(state.at("conv1.weight").shape() == Shape{32, 3, 7, 7});
    CHECK(state.at("fc.weight").shape() == Shape{1000, 256});
    CHECK(mobilenet_v2(config)->state_dict().at("features.0.0.weight").shape() == Shape{16, 3, 3, 3});
    // the seed-003 nets' dropout
    auto dropout_p = [](const std::string& name) {
        for (const ModelInfo& info : model_infos())
            if (info.name == name) return info.default_dropout;
        return -1.0;
    };
    CHECK(dropout_p("mobilenet_inspired") == 0.4);
    CHECK(dropout_p("squeezenet_inspired") == 0.5);
    CHECK(dropout_p("resnet_inspired") == 0.5);
    const auto model = make_model("mobilenet_inspired");
    CHECK(model->submodule("classifier.0").repr() == "Dropout(p=0.4)");
    ModelConfig custom;
    custom.dropout = 0.25;
    CHECK(make_model("resnet_inspired", custom)->submodule("dropout").repr() == "Dropout(p=0.25)");
}

TEST_CASE("zoo: bad names and configs are errors that name the model and the field") {
    CHECK_THROWS_WITH_AS(make_model("resnet19"), doctest::Contains("unknown model \"resnet19\" (known: resnet18"), Error);
    ModelConfig config;
    config.num_classes = 0;
    CHECK_THROWS_WITH_AS(make_model("resnet18", config), doctest::Contains("resnet18: num_classes must be at least 1"),
                         Error);
    config = {};
    config.width = -1;
    CHECK_THROWS_WITH_AS(make_model("mobilenet_v2", config), doctest::Contains("mobilenet_v2: width multiplier"), Error);
    config = {};
    config.dropout = 1.0;
    CHECK_THROWS_WITH_AS(make_model("squeezenet1_1", config), doctest::Contains("squeezenet1_1: dropout must be in [0, 1)"),
                         Error);
}

TEST_CASE("zoo: an input of the wrong channel count names the layer") {
    ModelConfig config;
    config.width = 0.25;
    config.in_channels = 1;
    const auto model = resnet18(config);
    CHECK_THROWS_WITH_AS((*model)(Tensor::zeros({1, 3, 32, 32})), doctest::Contains("conv1 (Conv2d): conv2d:"), Error);
    // batch 1 in training reaches a 1x1 map in layer4: BatchNorm has one value per channel (bn1 runs
    // fused with the block's relu, layers/fusion.h: the op that fails is batch_norm_relu)
    CHECK_THROWS_WITH_AS((*model)(Tensor::zeros({1, 1, 32, 32})),
                         doctest::Contains("layer4.0.bn1 (BatchNorm2d): batch_norm_relu: Expected more than 1 value"),
                         Error);
}
