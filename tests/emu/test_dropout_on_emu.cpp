// dropout and dropout2d draw their masks from the same Philox stream on every
// backend: the same generator seed gives bit-identical outputs and gradients
// on cpu and on emu (the CUDA kernels), in float32 and float64.
#include <doctest/doctest.h>

#include "engine/ops.h"
#include "engine/random.h"

using namespace kiln;

namespace {

// y and dx of `op` on `device`; the generator has drawn 40 values before, so
// the mask starts at a non-zero offset of the stream.
std::pair<std::vector<double>, std::vector<double>> run(bool channels, const Tensor& x_cpu, double p, Device device) {
    Tensor x = x_cpu.detach().to(device);  // a new leaf on either device
    x.set_requires_grad(true);
    Generator generator(2024);
    generator.reserve(40);
    const Tensor y = channels ? dropout2d(x, p, true, generator) : dropout(x, p, true, generator);
    const Tensor dy = (Tensor::arange(0, double(y.numel()), 1, y.dtype()).reshape(y.shape()) + 1.0).to(device);
    y.backward(dy);
    return {y.detach().to_vector(), x.grad().to_vector()};
}

}  // namespace

TEST_CASE("dropout and dropout2d: the same seed gives bit-identical masks on cpu and emu") {
    for (DType dtype : {DType::float32, DType::float64}) {
        for (bool channels : {false, true}) {
            for (double p : {0.1, 0.5, 0.9}) {
                CAPTURE(std::string(dtype_name(dtype)));
                CAPTURE(channels);
                CAPTURE(p);
                // 3 * 35 * 3 * 7 = 2205 elements: not a multiple of 4, several CUDA blocks;
                // dropout2d draws 105 channels of 21.
                const Tensor x = (Tensor::rand({3, 35, 3, 7}, DType::float64) + 0.5).to(dtype);
                const auto [y_cpu, dx_cpu] = run(channels, x, p, Device::cpu());
                const auto [y_emu, dx_emu] = run(channels, x, p, Device::emu());
                CHECK(y_emu == y_cpu);  // exact: same mask, same float product
                CHECK(dx_emu == dx_cpu);
                int64_t dropped = 0;
                for (double v : y_cpu) dropped += v == 0;
                CHECK(dropped > 0);  // the mask does drop something, so the comparison means something
                CHECK(dropped < int64_t(y_cpu.size()));
            }
        }
    }
}
