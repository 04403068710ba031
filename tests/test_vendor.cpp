// The vendor switch (engine/vendor.h): parsing KILN_VENDOR / set_vendor, and
// the one-line notice when it is set but the device is cpu.
#include <doctest/doctest.h>

#include <cstdlib>

#include "engine/ops.h"
#include "engine/vendor.h"
#include "tests/vendor_util.h"

using namespace kiln;

TEST_CASE("vendor switch: on, off and their synonyms") {
    for (const char* text : {"on", "ON", "all", "1", "true", " On "})
        CHECK(VendorSelection::parse(text, "test") == VendorSelection::all());
    for (const char* text : {"off", "Off", "none", "0", "false", "", "  "})
        CHECK(VendorSelection::parse(text, "test") == VendorSelection::none());
    CHECK(VendorSelection::all().str() == "on");
    CHECK(VendorSelection::none().str() == "off");
    CHECK(VendorSelection::none().empty());
}

TEST_CASE("vendor switch: a list of op families, aliases, spaces and case") {
    const VendorSelection conv_gemm = VendorSelection::parse("conv,gemm", "test");
    CHECK(conv_gemm.has(VendorOp::conv));
    CHECK(conv_gemm.has(VendorOp::gemm));
    CHECK_FALSE(conv_gemm.has(VendorOp::batch_norm));
    CHECK_FALSE(conv_gemm.has(VendorOp::pool));
    CHECK_FALSE(conv_gemm.has(VendorOp::activation));
    CHECK(conv_gemm.str() == "conv,gemm");
    CHECK(VendorSelection::parse(" GEMM , Conv ", "test") == conv_gemm);   // order and case do not matter
    CHECK(VendorSelection::parse("conv,matmul", "test") == conv_gemm);     // matmul and linear mean gemm
    CHECK(VendorSelection::parse("linear,conv,", "test") == conv_gemm);    // a trailing comma is harmless
    CHECK(VendorSelection::parse("bn", "test").str() == "batch_norm");
    CHECK(VendorSelection::parse("conv,gemm,batch_norm,pool,activation", "test") == VendorSelection::all());
    CHECK(VendorSelection::parse("pool,activation", "test").str() == "pool,activation");
    // str() parses back to the same selection
    const VendorSelection some = VendorSelection::parse("activation,batch_norm", "test");
    CHECK(VendorSelection::parse(some.str(), "test") == some);
}

TEST_CASE("vendor switch: an unknown family is an error naming the source and the word") {
    CHECK_THROWS_WITH_AS(VendorSelection::parse("conv,convv", "KILN_VENDOR"),
                         doctest::Contains("KILN_VENDOR: unknown op family \"convv\""), Error);
    CHECK_THROWS_WITH_AS(set_vendor("yes please"), doctest::Contains("set_vendor: unknown op family \"yesplease\""),
                         Error);
    CHECK_THROWS_WITH_AS(VendorSelection::parse("softmax", "test"),
                         doctest::Contains("expected on, off, or a comma-separated list of conv, gemm, batch_norm"),
                         Error);
}

TEST_CASE("vendor switch: set_vendor, per-op set, guard, and the environment") {
    const VendorGuard restore("off");
    set_vendor("conv,pool");
    CHECK(vendor_enabled(VendorOp::conv));
    CHECK(vendor_enabled(VendorOp::pool));
    CHECK_FALSE(vendor_enabled(VendorOp::gemm));
    set_vendor(VendorOp::gemm, true);
    set_vendor(VendorOp::conv, false);
    CHECK(vendor_selection().str() == "gemm,pool");
    {
        const VendorGuard guard("on");
        CHECK(vendor_selection() == VendorSelection::all());
    }
    CHECK(vendor_selection().str() == "gemm,pool");

    setenv("KILN_VENDOR", "batch_norm,activation", 1);
    reload_vendor_from_environment();
    CHECK(vendor_selection().str() == "batch_norm,activation");
    setenv("KILN_VENDOR", "gemm,nonsense", 1);
    CHECK_THROWS_WITH_AS(reload_vendor_from_environment(), doctest::Contains("KILN_VENDOR: unknown op family"), Error);
    unsetenv("KILN_VENDOR");
    reload_vendor_from_environment();
    CHECK(vendor_selection() == VendorSelection::none());  // unset means off
}

TEST_CASE("vendor switch: which libraries this build has") {
#if KILN_HAVE_CUDNN
    for (VendorOp op : {VendorOp::conv, VendorOp::gemm, VendorOp::batch_norm, VendorOp::pool, VendorOp::activation})
        CHECK(vendor_built(op));
#elif KILN_HAVE_CUDA
    CHECK(vendor_built(VendorOp::gemm));
    CHECK_FALSE(vendor_built(VendorOp::conv));
#else
    CHECK_FALSE(vendor_built(VendorOp::gemm));
#endif
    // Never on cpu or emu, whatever the setting.
    const VendorGuard guard("on");
    testing::CaptureStderr captured;
    CHECK_FALSE(use_vendor(VendorOp::conv, Device::cpu()));
    CHECK_FALSE(use_vendor(VendorOp::gemm, Device::emu()));
}

TEST_CASE("vendor switch on cpu: ignored, with one notice line, same results") {
    manual_seed(7);
    const Tensor x = Tensor::randn({2, 3, 6, 6}), w = Tensor::randn({4, 3, 3, 3});
    const Tensor expected = conv2d(x, w);
    testing::CaptureStderr captured;
    {
        const VendorGuard guard("conv,gemm");
        CHECK(max(abs(conv2d(x, w) - expected)).item() == 0);
        (void)conv2d(x, w);
        (void)matmul(Tensor::randn({3, 4}), Tensor::randn({4, 5}));
    }
    CHECK(captured.lines_with("kiln: vendor switch (conv,gemm) ignored on cpu") == 1);
    CHECK(captured.lines_with("kiln:") == 1);
    // Switched off, nothing is printed.
    {
        const VendorGuard guard("off");
        testing::CaptureStderr quiet;
        (void)conv2d(x, w);
        CHECK(quiet.text().empty());
    }
}
