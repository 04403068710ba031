// The vendor switch on emu: the vendor paths do not exist there, so every op
// runs the hand-written CUDA kernels, and the switch says so in one line,
// once (again after the setting changes).
#include <doctest/doctest.h>

#include "engine/ops.h"
#include "engine/random.h"
#include "engine/vendor.h"
#include "tests/vendor_util.h"

using namespace kiln;

namespace {

// One op of every vendor family, on emu; returns the outputs on cpu.
std::vector<Tensor> every_family_on_emu() {
    manual_seed(11);
    const Device emu = Device::emu();
    const Tensor x = Tensor::randn({2, 3, 8, 8}).to(emu), w = Tensor::randn({4, 3, 3, 3}).to(emu);
    const Tensor y = conv2d(x, w, Tensor(), {{1, 1}, {1, 1}, {1, 1}, 1});                       // conv
    const Tensor m = matmul(Tensor::randn({5, 6}).to(emu), Tensor::randn({6, 7}).to(emu));    // gemm
    const Tensor n = batch_norm(y, Tensor(), Tensor(), Tensor(), Tensor(), true);              // batch_norm
    const Tensor p = max_pool2d(n, {{2, 2}, std::nullopt, {0, 0}, false, true});              // pool
    const Tensor r = relu(p);                                                                  // activation
    return {y.to(Device::cpu()), m.to(Device::cpu()), n.to(Device::cpu()), r.to(Device::cpu())};
}

}  // namespace

TEST_CASE("emu: the vendor switch is ignored with one notice line, and results are the hand-written ones") {
    std::vector<Tensor> hand;
    {
        const VendorGuard guard("off");
        testing::CaptureStderr quiet;
        hand = every_family_on_emu();
        CHECK(quiet.text().empty());
    }
    testing::CaptureStderr captured;
    std::vector<Tensor> vendor;
    {
        const VendorGuard guard("on");
        vendor = every_family_on_emu();
        (void)every_family_on_emu();  // a second round prints nothing more
    }
    REQUIRE(vendor.size() == hand.size());
    for (size_t i = 0; i < hand.size(); ++i) CHECK(max(abs(vendor[i] - hand[i])).item() == 0);
    CHECK(captured.lines_with("kiln: vendor switch (on) ignored on emu: cuDNN and cuBLAS run only on cuda devices") ==
          1);
    CHECK(captured.lines_with("kiln:") == 1);
    {
        const VendorGuard guard("pool");  // a new setting: a new notice
        (void)every_family_on_emu();
    }
    CHECK(captured.lines_with("kiln: vendor switch (pool) ignored on emu") == 1);
    CHECK(captured.lines_with("kiln:") == 2);
}
