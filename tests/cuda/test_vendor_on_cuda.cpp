// Hand-written == vendor on a real GPU: every op the vendor switch covers
// runs twice on cuda through the engine (forward and backward), once with the
// switch off (kiln's CUDA kernels) and once with its family on (cuDNN or
// cuBLAS), and the outputs and input gradients must agree. Each family is its
// own test, skipped by name without a GPU or without the library.
#include <doctest/doctest.h>

#include <functional>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/random.h"
#include "engine/vendor.h"
#include "tests/support/skip.h"

using namespace kiln;

namespace {

// Tolerances, relative to the largest magnitude of the hand-written result.
// float32: cuDNN's FFT and Winograd convolutions round differently from a
// direct sum of products (~1e-4 relative over K = 9 C_in terms).
constexpr double conv_tolerance = 1e-3;
// GEMM, batch norm, pooling and activations sum in the same precision in a
// different order, or call a different exp().
constexpr double float32_tolerance = 1e-4;
constexpr double float64_tolerance = 1e-10;

// Why the vendor routine of `op` cannot run here, or "" when it can.
std::string unavailable(VendorOp op) {
    if (!vendor_built(op)) return std::string("this build has no library for ") + vendor_op_name(op);
    try {
        (void)Tensor::zeros({1}, DType::float32, Device::cuda(0));
    } catch (const Error& error) {
        return std::string("no usable GPU: ") + error.what();
    }
    return "";
}

using Op = std::function<Tensor(const std::vector<Tensor>&)>;

// The op's output and every input's gradient (backward from a fixed random
// dy), on cpu.
std::vector<Tensor> run(const Op& op, const std::vector<Tensor>& cpu_inputs) {
    std::vector<Tensor> inputs;
    for (const Tensor& t : cpu_inputs) inputs.push_back(t.to(Device::cuda(0)).detach().set_requires_grad(true));
    const Tensor y = op(inputs);
    Generator generator(99);
    const Tensor dy = Tensor::randn(y.shape(), y.dtype(), generator).to(Device::cuda(0));
    y.backward(dy);
    std::vector<Tensor> results{y.detach().to(Device::cpu())};
    for (const Tensor& t : inputs) results.push_back(t.grad().defined() ? t.grad().to(Device::cpu()) : Tensor());
    return results;
}

// Runs `op` hand-written and vendor and compares everything it produces.
void check_vendor_matches(VendorOp family, const std::string& what, const Op& op,
                          const std::vector<Tensor>& cpu_inputs, double tolerance) {
    CAPTURE(what);
    std::vector<Tensor> hand, vendor;
    {
        const VendorGuard guard("off");
        hand = run(op, cpu_inputs);
    }
    {
        const VendorGuard guard(VendorSelection::none().with(family, true));
        vendor = run(op, cpu_inputs);
    }
    REQUIRE(hand.size() == vendor.size());
    for (size_t i = 0; i < hand.size(); ++i) {
        CAPTURE(i);  // 0: the output, i > 0: the gradient of input i - 1
        REQUIRE(hand[i].defined() == vendor[i].defined());
        if (!hand[i].defined()) continue;
        const double scale = std::max(max(abs(hand[i])).item(), 1e-30);
        const double error = max(abs(vendor[i] - hand[i])).item();
        CHECK(error <= tolerance * scale);
    }
}

// A batch norm case's inputs: x, then (affine) a random weight and bias of C values.
std::vector<Tensor> batch_norm_inputs(const Tensor& x, bool affine) {
    std::vector<Tensor> inputs;
    inputs.reserve(3);
    inputs.push_back(x);
    if (affine) {
        inputs.push_back(Tensor::randn({x.size(1)}, x.dtype()));
        inputs.push_back(Tensor::randn({x.size(1)}, x.dtype()));
    }
    return inputs;
}

double tolerance_for(DType dtype, double float32_tolerance_of_op) {
    return dtype == DType::float64 ? float64_tolerance : float32_tolerance_of_op;
}

}  // namespace

TEST_CASE("cuda: cuDNN convolution matches the hand-written kernels") {
    const std::string why = unavailable(VendorOp::conv);
    if (!why.empty()) KILN_SKIP(why);
    struct Case {
        const char* name;
        Shape x, w;
        Conv2dOptions options;
        bool bias;
    };
    const Case cases[] = {
        {"3x3 pad 1", {2, 3, 9, 11}, {5, 3, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, 1}, true},
        {"3x3 stride 2 (ResNet downsampling)", {2, 16, 15, 15}, {32, 16, 3, 3}, {{2, 2}, {1, 1}, {1, 1}, 1}, false},
        {"7x7 stride 2 stem", {1, 3, 33, 33}, {8, 3, 7, 7}, {{2, 2}, {3, 3}, {1, 1}, 1}, false},
        {"1x1 pointwise", {3, 24, 7, 7}, {40, 24, 1, 1}, {{1, 1}, {0, 0}, {1, 1}, 1}, true},
        {"1x1 stride 2", {2, 8, 9, 9}, {16, 8, 1, 1}, {{2, 2}, {0, 0}, {1, 1}, 1}, false},
        {"depthwise 3x3", {2, 12, 10, 10}, {12, 1, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, 12}, true},
        {"depthwise 3x3 stride 2, multiplier 2", {1, 6, 11, 11}, {12, 1, 3, 3}, {{2, 2}, {1, 1}, {1, 1}, 6}, false},
        {"grouped, dilated", {2, 8, 12, 12}, {6, 4, 3, 3}, {{1, 1}, {2, 2}, {2, 2}, 2}, true},
    };
    for (DType dtype : {DType::float32, DType::float64})
        for (const Case& c : cases) {
            manual_seed(1);
            std::vector<Tensor> inputs{Tensor::randn(c.x, dtype), Tensor::randn(c.w, dtype)};
            if (c.bias) inputs.push_back(Tensor::randn({c.w[0]}, dtype));
            const Conv2dOptions options = c.options;
            check_vendor_matches(
                VendorOp::conv, std::string(c.name) + " " + dtype_name(dtype),
                [options](const std::vector<Tensor>& t) {
                    return conv2d(t[0], t[1], t.size() > 2 ? t[2] : Tensor(), options);
                },
                inputs, tolerance_for(dtype, conv_tolerance));
        }
}

TEST_CASE("cuda: cuBLAS GEMM matches the hand-written kernels (matmul, batched matmul, linear)") {
    const std::string why = unavailable(VendorOp::gemm);
    if (!why.empty()) KILN_SKIP(why);
    for (DType dtype : {DType::float32, DType::float64}) {
        const double tolerance = tolerance_for(dtype, float32_tolerance);
        const std::string type = dtype_name(dtype);
        manual_seed(2);
        const auto matmul_op = [](const std::vector<Tensor>& t) { return matmul(t[0], t[1]); };
        check_vendor_matches(VendorOp::gemm, "matmul 65x33 @ 33x47 " + type, matmul_op,
                             {Tensor::randn({65, 33}, dtype), Tensor::randn({33, 47}, dtype)}, tolerance);
        // one strided batched cuBLAS call; and a broadcast operand (stride 0)
        check_vendor_matches(VendorOp::gemm, "batched matmul [4, 17, 9] @ [4, 9, 13] " + type, matmul_op,
                             {Tensor::randn({4, 17, 9}, dtype), Tensor::randn({4, 9, 13}, dtype)}, tolerance);
        check_vendor_matches(VendorOp::gemm, "broadcast matmul [3, 17, 9] @ [9, 13] " + type, matmul_op,
                             {Tensor::randn({3, 17, 9}, dtype), Tensor::randn({9, 13}, dtype)}, tolerance);
        // batch dims broadcast both ways: offsets not at one stride, a cuBLAS call per matrix
        check_vendor_matches(VendorOp::gemm, "matmul [2, 1, 5, 6] @ [1, 3, 6, 4] " + type, matmul_op,
                             {Tensor::randn({2, 1, 5, 6}, dtype), Tensor::randn({1, 3, 6, 4}, dtype)}, tolerance);
        check_vendor_matches(
            VendorOp::gemm, "linear [10, 37] -> 23 with bias " + type,
            [](const std::vector<Tensor>& t) { return linear(t[0], t[1], t[2]); },
            {Tensor::randn({10, 37}, dtype), Tensor::randn({23, 37}, dtype), Tensor::randn({23}, dtype)}, tolerance);
    }
}

TEST_CASE("cuda: cuDNN batch norm matches the hand-written kernels (training, eval, running statistics)") {
    const std::string why = unavailable(VendorOp::batch_norm);
    if (!why.empty()) KILN_SKIP(why);
    for (DType dtype : {DType::float32, DType::float64}) {
        const double tolerance = tolerance_for(dtype, float32_tolerance);
        const std::string type = dtype_name(dtype);
        for (bool training : {true, false})
            for (bool affine : {true, false}) {
                manual_seed(3);
                const Tensor running_mean = Tensor::randn({6}, dtype), running_var = Tensor::rand({6}, dtype) + 0.5;
                const std::vector<Tensor> inputs = batch_norm_inputs(Tensor::randn({4, 6, 5, 7}, dtype) * 2 + 1, affine);
                // The running statistics, updated in place: compared after the op.
                std::vector<Tensor> updated;
                const Op op = [&](const std::vector<Tensor>& t) {
                    Tensor mean = running_mean.to(Device::cuda(0)), var = running_var.to(Device::cuda(0));
                    const Tensor y = batch_norm(t[0], affine ? t[1] : Tensor(), affine ? t[2] : Tensor(), mean, var,
                                                training, 0.1, 1e-5);
                    updated.push_back(mean.to(Device::cpu()));
                    updated.push_back(var.to(Device::cpu()));
                    return y;
                };
                check_vendor_matches(VendorOp::batch_norm,
                                     str(training ? "training" : "eval", affine ? " affine " : " ", type), op, inputs,
                                     tolerance);
                REQUIRE(updated.size() == 4);  // hand mean, var, then vendor mean, var
                CHECK(max(abs(updated[2] - updated[0])).item() <= tolerance * max(abs(updated[0])).item());
                CHECK(max(abs(updated[3] - updated[1])).item() <= tolerance * max(abs(updated[1])).item());
            }
        // [N, C] input (a batch norm after a linear layer)
        check_vendor_matches(
            VendorOp::batch_norm, "[N, C] training " + type,
            [](const std::vector<Tensor>& t) { return batch_norm(t[0], t[1], t[2], Tensor(), Tensor(), true); },
            {Tensor::randn({9, 5}, dtype), Tensor::randn({5}, dtype), Tensor::randn({5}, dtype)}, tolerance);
    }
}

TEST_CASE("cuda: hand-written fused batch_norm_relu matches cuDNN batch norm followed by cuDNN's relu") {
    // The vendor side of batch_norm_relu is cuDNN's batch norm then cuDNN's activation (in place), and
    // backward cuDNN's activation backward then its batch norm backward (kernels/cuda/vendor/batch_norm.h).
    const std::string why = unavailable(VendorOp::batch_norm);
    if (!why.empty()) KILN_SKIP(why);
    for (DType dtype : {DType::float32, DType::float64}) {
        const double tolerance = tolerance_for(dtype, float32_tolerance);
        const std::string type = dtype_name(dtype);
        for (bool training : {true, false})
            for (bool affine : {true, false})
                for (const Shape& shape : {Shape{4, 6, 5, 7}, Shape{1, 3, 9, 11}, Shape{9, 5}}) {
                    manual_seed(6);
                    const int64_t C = shape[1];
                    const Tensor running_mean = Tensor::randn({C}, dtype), running_var = Tensor::rand({C}, dtype) + 0.5;
                    const std::vector<Tensor> inputs = batch_norm_inputs(Tensor::randn(shape, dtype) * 2 + 0.5, affine);
                    std::vector<Tensor> updated;
                    const Op op = [&](const std::vector<Tensor>& t) {
                        Tensor mean = running_mean.to(Device::cuda(0)), var = running_var.to(Device::cuda(0));
                        const Tensor y = batch_norm_relu(t[0], affine ? t[1] : Tensor(), affine ? t[2] : Tensor(), mean,
                                                         var, training, 0.1, 1e-5);
                        updated.push_back(mean.to(Device::cpu()));
                        updated.push_back(var.to(Device::cpu()));
                        return y;
                    };
                    check_vendor_matches(VendorOp::batch_norm,
                                         str("batch_norm_relu ", shape_str(shape), training ? " training" : " eval",
                                             affine ? " affine " : " ", type),
                                         op, inputs, tolerance);
                    REQUIRE(updated.size() == 4);  // hand mean, var, then vendor mean, var
                    CHECK(max(abs(updated[2] - updated[0])).item() <= tolerance * max(abs(updated[0])).item());
                    CHECK(max(abs(updated[3] - updated[1])).item() <= tolerance * max(abs(updated[1])).item());
                }
    }
}

TEST_CASE("cuda: cuDNN pooling matches the hand-written kernels") {
    const std::string why = unavailable(VendorOp::pool);
    if (!why.empty()) KILN_SKIP(why);
    struct Case {
        const char* name;
        Shape x;
        Pool2dOptions options;
    };
    const Case cases[] = {
        {"3x3/2 pad 1 (ResNet stem)", {2, 4, 17, 17}, {{3, 3}, std::array<int64_t, 2>{2, 2}, {1, 1}, false, true}},
        {"2x2", {3, 5, 8, 10}, {{2, 2}, std::nullopt, {0, 0}, false, true}},
        {"3x3/1 pad 1, count_include_pad off", {2, 3, 7, 9}, {{3, 3}, std::array<int64_t, 2>{1, 1}, {1, 1}, false, false}},
        {"global 7x7", {2, 16, 7, 7}, {{7, 7}, std::nullopt, {0, 0}, false, true}},
        {"ceil_mode (not cuDNN's: hand-written either way)", {1, 2, 8, 8}, {{3, 3}, std::array<int64_t, 2>{2, 2}, {0, 0}, true, true}},
    };
    for (DType dtype : {DType::float32, DType::float64})
        for (const Case& c : cases) {
            manual_seed(4);
            const Pool2dOptions options = c.options;
            const double tolerance = tolerance_for(dtype, float32_tolerance);
            check_vendor_matches(
                VendorOp::pool, str("max ", c.name, " ", dtype_name(dtype)),
                [options](const std::vector<Tensor>& t) { return max_pool2d(t[0], options); },
                {Tensor::randn(c.x, dtype)}, tolerance);
            check_vendor_matches(
                VendorOp::pool, str("avg ", c.name, " ", dtype_name(dtype)),
                [options](const std::vector<Tensor>& t) { return avg_pool2d(t[0], options); },
                {Tensor::randn(c.x, dtype)}, tolerance);
        }
}

TEST_CASE("cuda: cuDNN activations match the hand-written kernels") {
    const std::string why = unavailable(VendorOp::activation);
    if (!why.empty()) KILN_SKIP(why);
    const std::pair<const char*, Op> activations[] = {
        {"relu", [](const std::vector<Tensor>& t) { return relu(t[0]); }},
        {"sigmoid", [](const std::vector<Tensor>& t) { return sigmoid(t[0]); }},
        {"tanh", [](const std::vector<Tensor>& t) { return tanh(t[0]); }},
        {"silu", [](const std::vector<Tensor>& t) { return silu(t[0]); }},
        {"leaky_relu (no cuDNN mode: hand-written either way)",
         [](const std::vector<Tensor>& t) { return leaky_relu(t[0], 0.1); }},
    };
    for (DType dtype : {DType::float32, DType::float64})
        for (const auto& [name, op] : activations) {
            manual_seed(5);
            check_vendor_matches(VendorOp::activation, str(name, " ", dtype_name(dtype)), op,
                                 {Tensor::randn({3, 7, 11, 13}, dtype) * 3}, tolerance_for(dtype, float32_tolerance));
        }
}
