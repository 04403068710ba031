#include "tests/support/device_check.h"

#include <doctest/doctest.h>

#include <cmath>

#include "engine/autograd.h"
#include "engine/gradcheck.h"
#include "engine/ops.h"
#include "engine/random.h"

namespace kiln::testing {

namespace {

constexpr double float64_tolerance = 1e-10;  // cpu and device differ only in summation order

// The output and every input gradient of `c` on `device` in `dtype`, as cpu float64.
std::vector<Tensor> run_case(const OpCase& c, Device device, DType dtype, uint64_t seed) {
    std::vector<Tensor> inputs;
    for (const Tensor& input : make_inputs(c, DType::float64, seed)) {
        Tensor moved = input.detach().to(dtype).to(device);
        moved.set_requires_grad(true);
        inputs.push_back(moved);
    }
    const Tensor out = c.fn(inputs);
    Generator generator(seed + 1);
    const Tensor projection = Tensor::rand(out.shape(), DType::float64, generator).to(out.dtype()).to(out.device());
    out.backward(projection);
    std::vector<Tensor> results{out.detach().to(Device::cpu()).to(DType::float64)};
    for (const Tensor& input : inputs) results.push_back(input.grad().to(Device::cpu()).to(DType::float64));
    return results;
}

// max |a - b| / max(1, max |b|) over all tensors (NaN propagates)
double normalised_error(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
    double worst = 0;
    for (size_t t = 0; t < a.size(); ++t) {
        const std::vector<double> x = a[t].to_vector(), y = b[t].to_vector();
        double scale = 1;
        for (double v : y) scale = std::max(scale, std::abs(v));
        for (size_t i = 0; i < x.size(); ++i) {
            const double error = std::abs(x[i] - y[i]) / scale;
            if (!(error <= worst)) worst = error;
        }
    }
    return worst;
}

}  // namespace

DeviceCaseReport check_op_cases_on(Device device, const std::string& context) {
    DeviceCaseReport report;
    for (const OpCase& c : op_cases()) {
        const std::vector<Tensor> reference = run_case(c, Device::cpu(), DType::float64, 1);
        bool runs = true;
        for (DType dtype : {DType::float64, DType::float32}) {
            std::vector<Tensor> result;
            try {
                result = run_case(c, device, dtype, 1);
            } catch (const Error& error) {
                if (std::string(error.what()).find("kernels yet") == std::string::npos) throw;
                runs = false;
                break;
            }
            const double tolerance = dtype == DType::float64 ? float64_tolerance : float32_tolerance;
            const double error = normalised_error(result, reference);
            CHECK_MESSAGE(error <= tolerance, c.op, " (", c.label, ") on ", device.str(), ", ", std::string(dtype_name(dtype)), ", ",
                          context, ": error ", error);
        }
        (runs ? report.ported : report.missing).insert(c.op);
    }
    for (const std::string& op : report.ported) report.missing.erase(op);  // an op with some unported case counts as missing
    return report;
}

const std::set<std::string>& foundation_ops() {
    static const std::set<std::string> ops = {
        "add",     "sub",     "mul",       "div",       "neg",    "exp",        "log",   "sqrt",   "abs",
        "pow",     "clamp",   "sum",       "mean",      "max",    "sum_to",     "matmul", "linear", "reshape",
        "view",    "permute", "transpose", "narrow",    "squeeze", "unsqueeze", "expand", "contiguous", "clone",
        "to",      "cat",     "stack",     "flatten",   "to_device"};
    return ops;
}

}  // namespace kiln::testing
