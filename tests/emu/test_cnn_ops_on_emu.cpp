// What the op case table does not compare for pooling, batch norm and conv
// on emu: the running statistics batch_norm updates in place, the fused
// batch_norm_relu and batch_norm_relu6 against cpu on every output and gradient
// (and against batch_norm followed by relu / relu6 on emu itself), max_pool2d's
// arg-max rule on ties and NaN (bit-identical to cpu), and the
// bit-reproducibility of the gather-style backward kernels under every
// thread schedule.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/random.h"
#include "kernels/emu/simt.h"

using namespace kiln;

namespace {

std::vector<double> host_values(const Tensor& t) { return t.detach().to(Device::cpu()).to(DType::float64).to_vector(); }

// Same bits, NaN equal to NaN.
bool identical(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
    return true;
}

// y and dx of f(x) on `device`, dy = 1.
std::vector<std::vector<double>> output_and_gradient(const Tensor& x_cpu, Device device,
                                                     const std::function<Tensor(const Tensor&)>& f) {
    Tensor x = x_cpu.detach().to(device);
    x.set_requires_grad(true);
    const Tensor y = f(x);
    y.backward(Tensor::ones(y.shape(), y.dtype(), y.device()));
    return {host_values(y), host_values(x.grad())};
}

}  // namespace

TEST_CASE("emu batch_norm updates the running statistics as cpu does, over two training steps") {
    for (DType dtype : {DType::float64, DType::float32}) {
        CAPTURE(std::string(dtype_name(dtype)));
        Generator generator(7);
        // m = 3 * 90 = 270 values per channel: more than one stride of 256 threads, 9 warps
        const Tensor x = Tensor::randn({3, 4, 10, 9}, dtype, generator);
        std::vector<std::vector<double>> results;
        for (Device device : {Device::cpu(), Device::emu()}) {
            Tensor mean = Tensor::zeros({4}, dtype, device), var = Tensor::ones({4}, dtype, device);
            for (int step = 0; step < 2; ++step)
                batch_norm(x.to(device) * double(step + 1), Tensor(), Tensor(), mean, var, true, 0.1);
            results.push_back(host_values(mean));
            results.push_back(host_values(var));
        }
        const double tolerance = dtype == DType::float64 ? 1e-12 : 1e-6;
        for (size_t i = 0; i < 4; ++i) {
            CHECK(results[2][i] == doctest::Approx(results[0][i]).epsilon(tolerance));
            CHECK(results[3][i] == doctest::Approx(results[1][i]).epsilon(tolerance));
        }
    }
}

TEST_CASE("emu batch_norm updates running statistics that are strided views in their storage") {
    const Tensor storage = Tensor::from_vector({0, 1, 0, 1}, {2, 2}, DType::float64).to(Device::emu());
    const Tensor running_mean = storage.narrow(1, 0, 1).squeeze(1), running_var = storage.narrow(1, 1, 1).squeeze(1);
    const Tensor x = Tensor::from_vector({1, 10, 3, 30}, {2, 2}, DType::float64).to(Device::emu());
    batch_norm(x, Tensor(), Tensor(), running_mean, running_var, true, 0.5);
    CHECK(host_values(storage) == std::vector<double>{0.5 * 2, 0.5 + 0.5 * 2, 0.5 * 20, 0.5 + 0.5 * 200});
}

TEST_CASE("emu batch_norm_relu and batch_norm_relu6 match cpu: output, dx, dweight, dbias and running statistics, awkward shapes") {
    // batch 1 with spatial dims, odd C, S = 1 ([N, C] and 1x1 maps), more than one 256-thread stride (m = 3 * 99)
    const Shape shapes[] = {{1, 3, 5, 7}, {3, 5, 9, 11}, {7, 3}, {5, 9, 1, 1}, {2, 1, 3, 3}};
    for (bool six : {false, true})  // batch_norm_relu, batch_norm_relu6
    for (DType dtype : {DType::float64, DType::float32})
        for (const Shape& shape : shapes)
            for (bool training : {true, false})
                for (bool affine : {true, false}) {
                    CAPTURE(six);
                    CAPTURE(std::string(dtype_name(dtype)));
                    CAPTURE(shape_str(shape));
                    CAPTURE(training);
                    CAPTURE(affine);
                    Generator generator(23);
                    const int64_t C = shape[1];
                    const Tensor x = Tensor::randn(shape, dtype, generator) * 2 + 0.5;
                    // relu6: gamma in [1.5, 4.5] and beta around 2, so outputs land on all three pieces
                    const Tensor weight = (Tensor::rand({C}, dtype, generator) + 0.5) * (six ? 3.0 : 1.0);
                    const Tensor bias = Tensor::randn({C}, dtype, generator) + (six ? 2.0 : 0.0);
                    const Tensor mean0 = Tensor::randn({C}, dtype, generator) * 0.2;
                    const Tensor var0 = Tensor::rand({C}, dtype, generator) + 0.5;
                    const Tensor dy = Tensor::randn(shape, dtype, generator);
                    // y, dx, running_mean, running_var (updated in place: copies), dweight, dbias on `device`
                    auto run = [&](Device device, bool fused) {
                        Tensor xd = x.to(device).detach().set_requires_grad(true);
                        Tensor w = affine ? weight.to(device).detach().set_requires_grad(true) : Tensor();
                        Tensor b = affine ? bias.to(device).detach().set_requires_grad(true) : Tensor();
                        Tensor running_mean = mean0.clone().to(device), running_var = var0.clone().to(device);
                        const Tensor y =
                            fused ? (six ? batch_norm_relu6 : batch_norm_relu)(xd, w, b, running_mean, running_var,
                                                                               training, 0.1, 1e-5)
                                  : (six ? relu6 : relu)(batch_norm(xd, w, b, running_mean, running_var, training));
                        y.backward(dy.to(device));
                        std::vector<std::vector<double>> out{host_values(y), host_values(xd.grad()),
                                                             host_values(running_mean), host_values(running_var)};
                        if (affine) out.push_back(host_values(w.grad())), out.push_back(host_values(b.grad()));
                        return out;
                    };
                    const auto cpu = run(Device::cpu(), true), emu = run(Device::emu(), true);
                    const double tolerance = dtype == DType::float64 ? 1e-12 : 1e-5;
                    REQUIRE(cpu.size() == emu.size());
                    for (size_t t = 0; t < cpu.size(); ++t) {
                        CAPTURE(t);  // y, dx, running_mean, running_var, dweight, dbias
                        double scale = 1, error = 0;
                        for (double v : cpu[t]) scale = std::max(scale, std::abs(v));
                        for (size_t i = 0; i < cpu[t].size(); ++i) error = std::max(error, std::abs(emu[t][i] - cpu[t][i]));
                        CHECK(error <= tolerance * scale);
                    }
                    // on emu, the fused kernels give batch_norm then relu's (relu6's) output bits and gradient values
                    const auto composed = run(Device::emu(), false);
                    CHECK(identical(emu[0], composed[0]));
                    for (size_t t = 1; t < emu.size(); ++t) CHECK(emu[t] == composed[t]);
                }
}

TEST_CASE("emu conv2d_batch_norm (inference epilogue) matches cpu and its own unfused ops, awkward shapes") {
    struct Case {
        Shape x, w;
        Conv2dOptions options;
    };
    const Case cases[] = {
        {{1, 3, 7, 5}, {5, 3, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, 1}},  // im2col, batch 1
        {{3, 3, 9, 9}, {4, 3, 3, 3}, {{2, 2}, {1, 1}, {1, 1}, 1}},  // im2col, stride 2
        {{2, 6, 4, 5}, {7, 6, 1, 1}, {}},                           // pointwise
        {{2, 5, 6, 7}, {5, 1, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, 5}},  // depthwise
    };
    for (const Case& c : cases)
        for (DType dtype : {DType::float64, DType::float32})
            for (FusedActivation activation : {FusedActivation::none, FusedActivation::relu, FusedActivation::relu6}) {
                CAPTURE(shape_str(c.x));
                CAPTURE(std::string(dtype_name(dtype)));
                CAPTURE(int(activation));
                Generator generator(31);
                const int64_t C = c.w[0];
                const Tensor x = Tensor::randn(c.x, dtype, generator) * 2.0, w = Tensor::randn(c.w, dtype, generator);
                const Tensor b = Tensor::randn({C}, dtype, generator);
                const Tensor gamma = Tensor::rand({C}, dtype, generator) * 2.0 + 0.5;
                const Tensor beta = Tensor::randn({C}, dtype, generator) + 2.0;
                const Tensor mean = Tensor::randn({C}, dtype, generator), var = Tensor::rand({C}, dtype, generator) + 0.5;
                NoGradGuard no_grad;
                auto run = [&](Device d, bool fused) {
                    if (fused)
                        return host_values(conv2d_batch_norm(x.to(d), w.to(d), b.to(d), c.options, gamma.to(d),
                                                             beta.to(d), mean.to(d), var.to(d), 1e-5, activation));
                    Tensor z = batch_norm(conv2d(x.to(d), w.to(d), b.to(d), c.options), gamma.to(d), beta.to(d),
                                          mean.to(d), var.to(d), false, 0.1, 1e-5);
                    if (activation == FusedActivation::relu) z = relu(z);
                    if (activation == FusedActivation::relu6) z = relu6(z);
                    return host_values(z);
                };
                const auto cpu = run(Device::cpu(), true), emu = run(Device::emu(), true);
                CHECK(identical(emu, run(Device::emu(), false)));  // the epilogue kernel gives batch_norm's bits
                double scale = 1, error = 0;
                for (double v : cpu) scale = std::max(scale, std::abs(v));
                for (size_t i = 0; i < cpu.size(); ++i) error = std::max(error, std::abs(emu[i] - cpu[i]));
                CHECK(error <= (dtype == DType::float64 ? 1e-12 : 1e-5) * scale);
            }
}

TEST_CASE("emu max_pool2d without a gradient (no arg-max) gives cpu's values") {
    Generator generator(13);
    const Tensor x = Tensor::randn({2, 3, 9, 11}, DType::float32, generator);
    Pool2dOptions options;
    options.kernel = {3, 3};
    options.stride = std::array<int64_t, 2>{2, 2};
    options.padding = {1, 1};
    NoGradGuard no_grad;
    CHECK(identical(host_values(max_pool2d(x.to(Device::emu()), options)), host_values(max_pool2d(x, options))));
}

TEST_CASE("emu max_pool2d keeps cpu's arg-max on ties and NaN: same values, same gradients, bit for bit") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    // a plateau of equal maxima (ties: the first in row order wins), a NaN (it wins its windows), negatives
    const Tensor x = Tensor::from_vector({1, 5, 5, 2, 0,    //
                                          5, 5, 1, 2, -1,   //
                                          0, 1, 2, nan, 3,  //
                                          -2, -2, -2, 1, 4, //
                                          -3, -3, -3, -3, 4},
                                         {1, 1, 5, 5}, DType::float64);
    for (DType dtype : {DType::float64, DType::float32}) {
        CAPTURE(std::string(dtype_name(dtype)));
        Pool2dOptions options;
        options.kernel = {3, 3};
        options.stride = std::array<int64_t, 2>{1, 1};
        options.padding = {1, 1};
        auto pool = [&](const Tensor& t) { return max_pool2d(t, options); };
        const auto expected = output_and_gradient(x.to(dtype), Device::cpu(), pool);
        for (auto schedule : {simt::Schedule::forward, simt::Schedule::reverse, simt::Schedule::random}) {
            simt::ScheduleGuard guard(schedule, 3);
            const auto got = output_and_gradient(x.to(dtype), Device::emu(), pool);
            CHECK(identical(got[0], expected[0]));
            CHECK(identical(got[1], expected[1]));
        }
    }
}

TEST_CASE("emu pooling and conv backward kernels give the same bits under every schedule") {
    Generator generator(11);
    const Tensor image = Tensor::randn({2, 4, 9, 7}, DType::float32, generator);
    const Tensor weight = Tensor::randn({6, 2, 3, 3}, DType::float32, generator);
    const Tensor depthwise_weight = Tensor::randn({8, 1, 3, 3}, DType::float32, generator);
    Pool2dOptions overlapping;
    overlapping.kernel = {3, 3};
    overlapping.stride = std::array<int64_t, 2>{2, 1};
    overlapping.padding = {1, 1};
    const std::vector<std::pair<const char*, std::function<Tensor(const Tensor&)>>> ops = {
        {"max_pool2d", [&](const Tensor& x) { return max_pool2d(x, overlapping); }},
        {"avg_pool2d", [&](const Tensor& x) { return avg_pool2d(x, overlapping); }},
        {"adaptive_avg_pool2d", [](const Tensor& x) { return adaptive_avg_pool2d(x, {4, 3}); }},
        {"batch_norm", [](const Tensor& x) { return batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), true); }},
        {"batch_norm_relu", [](const Tensor& x) { return batch_norm_relu(x, Tensor(), Tensor(), Tensor(), Tensor(), true); }},
        {"batch_norm_relu6",
         [](const Tensor& x) { return batch_norm_relu6(x * 3.0 + 2.0, Tensor(), Tensor(), Tensor(), Tensor(), true); }},
        {"conv2d groups 2, stride 2",
         [&](const Tensor& x) { return conv2d(x, weight.to(x.device()), Tensor(), {{2, 2}, {1, 1}, {1, 1}, 2}); }},
        {"conv2d depthwise, multiplier 2",
         [&](const Tensor& x) { return conv2d(x, depthwise_weight.to(x.device()), Tensor(), {{1, 1}, {1, 1}, {2, 2}, 4}); }},
    };
    for (const auto& [name, f] : ops) {
        CAPTURE(name);
        std::vector<std::vector<double>> first;
        for (auto schedule : {simt::Schedule::forward, simt::Schedule::reverse, simt::Schedule::random}) {
            simt::ScheduleGuard guard(schedule, 5);
            const auto got = output_and_gradient(image, Device::emu(), f);
            if (first.empty()) first = got;
            CHECK(identical(got[0], first[0]));
            CHECK(identical(got[1], first[1]));
        }
    }
}
