// dropout and dropout2d: the mask's statistics, its scale, its reproducibility,
// and the rule that element i is kept when Philox value i is >= p.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/ops.h"
#include "kernels/common/philox.h"

using namespace kiln;

TEST_CASE("dropout keeps close to 1 - p of a large tensor, each kept value scaled by 1 / (1 - p)") {
    const Tensor x = Tensor::rand({1000, 1000}) + 1.0;  // no zeros, so a zero output means dropped
    for (double p : {0.1, 0.5, 0.75}) {
        CAPTURE(p);
        Generator generator(123);
        const std::vector<double> in = x.to_vector(), out = dropout(x, p, true, generator).to_vector();
        int64_t kept = 0;
        bool exact = true;
        for (size_t i = 0; i < in.size(); ++i) {
            if (out[i] == 0) continue;
            ++kept;
            // y = x * float(1 / (1 - p)), computed in float as the kernel does
            exact = exact && out[i] == double(float(in[i]) * float(1 / (1 - p)));
        }
        // binomial: standard deviation sqrt(p (1 - p) / n) < 5e-4 for n = 10^6
        CHECK(std::abs(double(kept) / double(in.size()) - (1 - p)) < 0.0025);
        CHECK(exact);
    }
}

TEST_CASE("kept values are exactly x / (1 - p) when 1 - p is a power of two") {
    const Tensor x = Tensor::randn({64, 64});
    Generator generator(7);
    const std::vector<double> in = x.to_vector(), out = dropout(x, 0.75, true, generator).to_vector();
    for (size_t i = 0; i < in.size(); ++i) CHECK((out[i] == 0 || out[i] == in[i] / 0.25));
}

TEST_CASE("element i is kept exactly when Philox value i of the generator's stream is >= p") {
    const Tensor x = Tensor::ones({3, 1000}, DType::float64);
    Generator generator(99);
    generator.reserve(40);  // the mask starts at the generator's current offset: 10 counters in
    const std::vector<double> out = dropout(x, 0.3, true, generator).to_vector();
    for (size_t i = 0; i < out.size(); ++i) {
        const bool keep = math::philox_uniform(99, 10, i) >= 0.3f;
        CHECK(out[i] == (keep ? 1 / 0.7 : 0));
    }
}

TEST_CASE("the same seed gives the same mask, the next call on a generator a new one") {
    const Tensor x = Tensor::ones({50, 50});
    Generator a(5), b(5);
    const std::vector<double> first = dropout(x, 0.5, true, a).to_vector();
    CHECK(first == dropout(x, 0.5, true, b).to_vector());
    CHECK(first != dropout(x, 0.5, true, a).to_vector());
    Generator c(6);
    CHECK(first != dropout(x, 0.5, true, c).to_vector());
}

TEST_CASE("backward multiplies by the same mask and scale") {
    Tensor x = Tensor::ones({40, 40}, DType::float64);
    x.set_requires_grad(true);
    Generator generator(11);
    const Tensor y = dropout(x, 0.4, true, generator);
    sum(y).backward();
    CHECK(x.grad().to_vector() == y.detach().to_vector());  // d sum(x m s) / dx = m s = y for x = 1
}

TEST_CASE("eval mode and p = 0 are the identity, p = 1 gives zeros") {
    const Tensor x = Tensor::randn({4, 5});
    Generator generator(1);
    CHECK(dropout(x, 0.5, false, generator).storage() == x.storage());
    CHECK(dropout(x, 0, true, generator).storage() == x.storage());
    CHECK(dropout2d(x.reshape({1, 4, 5, 1}), 0.5, false, generator).to_vector() == x.to_vector());
    CHECK(dropout(x, 1, true, generator).to_vector() == std::vector<double>(20, 0));
}

TEST_CASE("dropout2d zeroes whole channels and scales the others") {
    const Tensor x = Tensor::rand({8, 16, 5, 3}, DType::float64) + 1.0;
    Generator generator(3);
    const std::vector<double> in = x.to_vector(), out = dropout2d(x, 0.5, true, generator).to_vector();
    int64_t dropped = 0;
    for (size_t plane = 0; plane < 8 * 16; ++plane) {
        const size_t begin = plane * 15;
        const bool plane_dropped = out[begin] == 0;
        dropped += plane_dropped;
        for (size_t i = begin; i < begin + 15; ++i) CHECK(out[i] == (plane_dropped ? 0 : in[i] * 2));
    }
    CHECK(dropped > 32);  // 128 channels at p = 0.5: 64 expected, standard deviation 5.7
    CHECK(dropped < 96);
}
