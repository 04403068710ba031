// Module: names, modes, conversions, state dicts, freezing and errors.
#include <doctest/doctest.h>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "layers/activation.h"
#include "layers/batch_norm.h"
#include "layers/conv.h"
#include "layers/dropout.h"
#include "layers/linear.h"
#include "layers/models/models.h"
#include "layers/pool.h"
#include "layers/sequential.h"

using namespace kiln;

namespace {

// conv(1 -> 2, 3x3) -> bn -> relu -> pool -> flatten -> head (2 -> 3)
std::shared_ptr<Sequential> small_net() {
    Generator generator(3);
    auto net = std::make_shared<Sequential>();
    net->push_back(std::make_shared<Conv2d>(1, 2, 3, conv_config(1, 1, 1, true), generator));
    net->push_back(std::make_shared<BatchNorm2d>(2));
    net->push_back(std::make_shared<ReLU>());
    net->push_back(std::make_shared<AdaptiveAvgPool2d>());
    net->push_back(std::make_shared<Flatten>());
    net->add("head", std::make_shared<Linear>(2, 3, true, generator));
    return net;
}

}  // namespace

TEST_CASE("module: dotted names of parameters and buffers, in registration order") {
    const auto net = small_net();
    std::vector<std::string> names;
    for (const auto& [name, tensor] : net->named_parameters()) names.push_back(name);
    CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "head.weight", "head.bias"});
    names.clear();
    for (const auto& [name, tensor] : net->named_buffers()) names.push_back(name);
    CHECK(names == std::vector<std::string>{"1.running_mean", "1.running_var", "1.num_batches_tracked"});
    CHECK(net->state_dict().size() == 9);
    CHECK(net->parameter_count() == 2 * 9 + 2 + 2 + 2 + 6 + 3);
    CHECK(net->submodule("head").path() == "head");
    CHECK(net->submodule("1").type_name() == "BatchNorm2d");
    CHECK_THROWS_WITH_AS(net->submodule("7"), doctest::Contains("has no child \"7\""), Error);
    CHECK(net->repr().find("(head): Linear(in_features=2, out_features=3, bias=True)") != std::string::npos);
    CHECK(Conv2d(3, 64, 7, conv_config(2, 3)).repr() ==
          "Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)");
}

TEST_CASE("module: paths follow the module into a parent registered later") {
    auto inner = std::make_shared<Sequential>();
    inner->push_back(std::make_shared<ReLU>());
    auto outer = std::make_shared<Sequential>();
    outer->add("block", inner);
    CHECK(inner->submodule("0").path() == "block.0");
    CHECK_THROWS_WITH_AS(outer->add("block", std::make_shared<ReLU>()), doctest::Contains("already taken"), Error);
    CHECK_THROWS_WITH_AS(outer->add("a.b", std::make_shared<ReLU>()), doctest::Contains("contain no dot"), Error);
}

TEST_CASE("module: train and eval reach every descendant, BatchNorm tracks its batches") {
    const auto net = small_net();
    auto& bn = dynamic_cast<BatchNorm2d&>(net->submodule("1"));
    const Tensor x = Tensor::randn({4, 1, 5, 5});
    (*net)(x);
    (*net)(x);
    CHECK(bn.num_batches_tracked.item() == 2);
    CHECK(bn.running_mean.to_vector() != std::vector<double>{0, 0});
    net->eval();
    CHECK(!bn.is_training());
    const std::vector<double> mean = bn.running_mean.to_vector();
    const Tensor a = (*net)(x.narrow(0, 0, 1)), b = (*net)(x.narrow(0, 0, 1));
    CHECK(a.to_vector() == b.to_vector());
    CHECK(bn.running_mean.to_vector() == mean);
    CHECK(bn.num_batches_tracked.item() == 2);
}

TEST_CASE("module: to(dtype) and to(device) keep each tensor's identity, int64 buffers stay int64") {
    const auto net = small_net();
    const Tensor weight = net->named_parameters().front().second;
    net->to(DType::float64);
    CHECK(weight.dtype() == DType::float64);
    CHECK(net->state_dict().at("1.num_batches_tracked").dtype() == DType::int64);
    CHECK((*net)(Tensor::randn({2, 1, 4, 4}, DType::float64)).dtype() == DType::float64);
    net->to(Device::cpu());
    CHECK(weight.requires_grad());
    // Without a GPU the move fails and leaves every tensor where it was.
    try {
        net->to(Device::cuda());
        net->to(Device::cpu());
    } catch (const Error&) {
        for (const auto& [name, tensor] : net->state_dict()) CHECK(tensor.device() == Device::cpu());
    }
    CHECK(weight.device() == Device::cpu());
}

TEST_CASE("module: zero_grad and freezing (train only the head)") {
    const auto net = small_net();
    net->freeze();
    net->submodule("head").unfreeze();
    CHECK(net->trainable_parameters().size() == 2);
    CHECK(net->trainable_parameter_count() == 9);
    sum((*net)(Tensor::randn({2, 1, 4, 4}))).backward();
    for (const auto& [name, p] : net->named_parameters()) {
        CAPTURE(name);
        CHECK(p.grad().defined() == (name.rfind("head.", 0) == 0));
    }
    net->zero_grad();
    for (const Tensor& p : net->parameters()) CHECK(!p.grad().defined());
}

TEST_CASE("module: state_dict round trip and strict loading lists every problem in one error") {
    const auto source = small_net();
    Generator generator(11);
    for (const auto& [name, p] : source->named_parameters())
        Tensor(p).copy_(Tensor::randn(p.shape(), DType::float32, generator));
    auto target = small_net();
    target->load_state_dict(source->state_dict());
    for (const auto& [name, tensor] : source->state_dict())
        CHECK(target->state_dict().at(name).to_vector() == tensor.to_vector());

    StateDict state = source->state_dict();
    state.erase("head.bias");
    state.erase("1.running_var");
    state["extra.weight"] = Tensor::zeros({1});
    state["0.weight"] = Tensor::zeros({2, 3, 3, 3});
    const std::vector<double> before = target->state_dict().at("head.weight").to_vector();
    try {
        target->load_state_dict(state);
        FAIL("no error");
    } catch (const Error& error) {
        const std::string what = error.what();
        CHECK(what.find("2 missing keys: 1.running_var, head.bias") != std::string::npos);
        CHECK(what.find("1 unexpected key: extra.weight") != std::string::npos);
        CHECK(what.find("0.weight is [2, 1, 3, 3] in the module, [2, 3, 3, 3] in the state") != std::string::npos);
    }
    CHECK(target->state_dict().at("head.weight").to_vector() == before);  // nothing changed
    state["0.weight"] = source->state_dict().at("0.weight");
    const auto result = target->load_state_dict(state, false);
    CHECK(result.missing == std::vector<std::string>{"1.running_var", "head.bias"});
    CHECK(result.unexpected == std::vector<std::string>{"extra.weight"});
}

TEST_CASE("module: errors inside a forward name the layer path") {
    const auto net = small_net();
    CHECK_THROWS_WITH_AS((*net)(Tensor::zeros({2, 3, 4, 4})), doctest::Contains("kiln::Error: 0 (Conv2d): conv2d:"),
                         ModuleError);
    CHECK_THROWS_WITH_AS(BatchNorm2d(4)(Tensor::zeros({2, 3, 4, 4})),
                         doctest::Contains("BatchNorm2d: expected input [N, 4, H, W], got [2, 3, 4, 4]"), Error);
    CHECK_THROWS_WITH_AS(Conv2d(3, 4, 3, conv_config(1, 0, 2)), doctest::Contains("divisible by groups 2"), Error);
    CHECK_THROWS_WITH_AS(Dropout(1.5), doctest::Contains("Dropout: p must be in [0, 1], got 1.5"), Error);
    CHECK_THROWS_WITH_AS(make_activation("swish"), doctest::Contains("unknown activation \"swish\""), Error);
}
