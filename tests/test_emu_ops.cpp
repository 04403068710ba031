// The op case table on the emu backend: every case whose ops have CUDA
// kernels runs through the SIMT emulator under two schedules, forward and
// backward, and must match cpu float64 (emu float64 within 1e-10, emu float32
// within float32_tolerance). Ops without CUDA kernels yet are listed.
#include <doctest/doctest.h>

#include <cmath>
#include <set>

#include "engine/autograd.h"
#include "engine/gradcheck.h"
#include "engine/ops.h"
#include "engine/random.h"
#include "kernels/emu/simt.h"

using namespace kiln;

namespace {

constexpr double emu_float64_tolerance = 1e-10;  // only the summation order differs from cpu

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

// max |a - b| / max(1, max |b|) over all tensors
double normalised_error(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
    double worst = 0;
    for (size_t t = 0; t < a.size(); ++t) {
        const std::vector<double> x = a[t].to_vector(), y = b[t].to_vector();
        double scale = 1;
        for (double v : y) scale = std::max(scale, std::abs(v));
        for (size_t i = 0; i < x.size(); ++i) {
            const double error = std::abs(x[i] - y[i]) / scale;
            if (!(error <= worst)) worst = error;  // NaN propagates
        }
    }
    return worst;
}

}  // namespace

TEST_CASE("emu matches cpu on every op case whose ops have CUDA kernels, under two schedules") {
    std::set<std::string> ported, missing;
    for (const OpCase& c : op_cases()) {
        const std::vector<Tensor> reference = run_case(c, Device::cpu(), DType::float64, 1);
        bool runs_on_emu = true;
        for (auto schedule : {simt::Schedule::forward, simt::Schedule::reverse}) {
            simt::ScheduleGuard guard(schedule);
            for (DType dtype : {DType::float64, DType::float32}) {
                std::vector<Tensor> emu;
                try {
                    emu = run_case(c, Device::emu(), dtype, 1);
                } catch (const Error& error) {
                    if (std::string(error.what()).find("kernels yet") == std::string::npos) throw;
                    runs_on_emu = false;
                    break;
                }
                const double tolerance = dtype == DType::float64 ? emu_float64_tolerance : float32_tolerance;
                const double error = normalised_error(emu, reference);
                CHECK_MESSAGE(error <= tolerance, c.op, " (", c.label, ") on emu, ", dtype_name(dtype), ", ",
                              simt::schedule_name(schedule), " schedule: error ", error);
            }
            if (!runs_on_emu) break;
        }
        (runs_on_emu ? ported : missing).insert(c.op);
    }
    // The foundation's ops all have CUDA kernels; losing one is a regression.
    for (const char* op : {"add", "sub", "mul", "div", "neg", "exp", "log", "sqrt", "abs", "pow", "clamp", "sum", "mean",
                           "max", "sum_to", "matmul", "linear", "reshape", "view", "permute", "transpose", "narrow",
                           "squeeze", "unsqueeze", "expand", "contiguous", "clone", "to", "cat", "stack", "flatten"}) {
        CAPTURE(op);
        CHECK(ported.count(op) == 1);
    }
    std::string not_yet;
    for (const std::string& op : missing) not_yet += " " + op;
    MESSAGE(ported.size(), " ops run on emu; without CUDA kernels yet:", not_yet);
}
