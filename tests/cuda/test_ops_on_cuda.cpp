// The op case table on a real GPU (the cuda backend), against cpu. Skipped,
// by name, when this build has no CUDA backend or the machine no GPU.
#include <doctest/doctest.h>

#include "engine/tensor.h"
#include "tests/support/device_check.h"
#include "tests/support/skip.h"

using namespace kiln;

TEST_CASE("cuda matches cpu on every op case whose ops have CUDA kernels") {
    try {
        (void)Tensor::zeros({1}, DType::float32, Device::cuda(0));
    } catch (const Error& error) {
        KILN_SKIP(std::string("no usable GPU: ") + error.what());
    }
    const testing::DeviceCaseReport report = testing::check_op_cases_on(Device::cuda(0), "cuda");
    for (const std::string& op : testing::foundation_ops()) {
        CAPTURE(op);
        CHECK(report.ported.count(op) == 1);
    }
    std::string not_yet;
    for (const std::string& op : report.missing) not_yet += " " + op;
    MESSAGE(report.ported.size(), " ops run on cuda; without CUDA kernels yet:", not_yet);
}
