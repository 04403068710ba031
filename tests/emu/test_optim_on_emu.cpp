// The fused optimizer kernels (kernels/cuda/optim.cu) on emu take the same
// steps as the cpu loops: both apply kernels/common/optim.h's rules.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/ops.h"
#include "optim/optimizer.h"

using namespace kiln;

TEST_CASE("emu: every optimizer's 10-step trajectory matches cpu") {
    const std::vector<std::pair<std::string, optim::Options>> optimizers = {
        {"sgd", {{"lr", 0.01}, {"momentum", 0.9}, {"nesterov", 1}, {"weight_decay", 0.01}}},
        {"adagrad", {{"lr", 0.1}, {"lr_decay", 0.01}}},
        {"rmsprop", {{"lr", 0.01}, {"momentum", 0.5}, {"centered", 1}}},
        {"adam", {{"lr", 0.05}, {"amsgrad", 1}, {"weight_decay", 0.1}}},
        {"adamw", {{"lr", 0.05}}},
        {"lion", {{"lr", 0.01}, {"weight_decay", 0.1}}},
    };
    const Tensor c = Tensor::from_vector({1.0, -2.0, 0.5, 3.0, -1.0}, {5}, DType::float64);
    for (const auto& [kind, options] : optimizers) {
        CAPTURE(kind);
        std::vector<double> trajectory[2];
        const Device devices[2] = {Device::cpu(), Device::emu()};
        for (int d = 0; d < 2; ++d) {
            Tensor w = Tensor::from_vector({0.5, -1.5, 2.0, 0.0, 1.0}, {5}, DType::float64).to(devices[d]);
            w.set_requires_grad(true);
            const Tensor target = c.to(devices[d]);
            auto optimizer = optim::make_optimizer(kind, {{{w}, {}}}, options);
            for (int step = 0; step < 10; ++step) {
                optimizer->zero_grad();
                (sum(pow(w - target, 2)) + sum(pow(w, 4)) * 0.1).backward();
                optimizer->step();
            }
            trajectory[d] = w.to_vector();
        }
        for (size_t i = 0; i < 5; ++i) CHECK(trajectory[1][i] == doctest::Approx(trajectory[0][i]).epsilon(1e-12));
    }
}
