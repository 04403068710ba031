// Pooling against values worked out by hand (PyTorch gives the same).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "tests/support/tensors.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/random.h"

using namespace kiln;
using kiln::testing::leaf;

namespace {

std::vector<double> arange_values(int n) {
    std::vector<double> values;
    for (int i = 0; i < n; ++i) values.push_back(i);
    return values;
}

Pool2dOptions pool(std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride, std::array<int64_t, 2> padding,
                   bool ceil_mode = false, bool count_include_pad = true) {
    Pool2dOptions options;
    options.kernel = kernel;
    options.stride = stride;
    options.padding = padding;
    options.ceil_mode = ceil_mode;
    options.count_include_pad = count_include_pad;
    return options;
}
}  // namespace

TEST_CASE("max_pool2d 2x2 on a 4x4 ramp: values, and the gradient goes to the arg-max") {
    Tensor x = leaf(arange_values(16), {1, 1, 4, 4});
    const Tensor y = max_pool2d(x, Pool2dOptions{});
    CHECK(y.shape() == Shape{1, 1, 2, 2});
    CHECK(y.to_vector() == std::vector<double>{5, 7, 13, 15});
    sum(y).backward();
    std::vector<double> expected(16, 0);
    for (int i : {5, 7, 13, 15}) expected[size_t(i)] = 1;
    CHECK(x.grad().to_vector() == expected);
}

TEST_CASE("max_pool2d: overlapping windows add their gradients into a shared maximum") {
    // 1x3 row [0, 9, 1], kernel 1x2 stride 1: both windows pick the 9
    Tensor x = leaf({0, 9, 1}, {1, 1, 1, 3});
    const Tensor y = max_pool2d(x, pool({1, 2}, {1, 1}, {0, 0}));
    CHECK(y.to_vector() == std::vector<double>{9, 9});
    sum(y).backward();
    CHECK(x.grad().to_vector() == std::vector<double>{0, 2, 0});
}

TEST_CASE("avg_pool2d with padding: count_include_pad decides the divisor") {
    // 3x3 ramp 0..8, kernel 3, stride 1, padding 1: the corner window holds 0, 1, 3, 4 (sum 8)
    const Tensor x = Tensor::from_vector(arange_values(9), {1, 1, 3, 3}, DType::float64);
    const Tensor with_pad = avg_pool2d(x, pool({3, 3}, {1, 1}, {1, 1}, false, true));
    const Tensor without_pad = avg_pool2d(x, pool({3, 3}, {1, 1}, {1, 1}, false, false));
    CHECK(with_pad.shape() == Shape{1, 1, 3, 3});
    CHECK(with_pad.to_vector()[0] == doctest::Approx(8.0 / 9));
    CHECK(without_pad.to_vector()[0] == doctest::Approx(2));
    CHECK(with_pad.to_vector()[4] == doctest::Approx(4));  // centre: the whole input, 36 / 9
}

TEST_CASE("ceil_mode output sizes follow PyTorch's last-window rule") {
    const Tensor x8 = Tensor::zeros({1, 1, 8, 8});
    CHECK(max_pool2d(x8, pool({3, 3}, {2, 2}, {0, 0}, false)).shape() == Shape{1, 1, 3, 3});
    CHECK(max_pool2d(x8, pool({3, 3}, {2, 2}, {0, 0}, true)).shape() == Shape{1, 1, 4, 4});
    // H = 5, kernel 2, stride 2, padding 1: rounding up gives 4 windows, but the 4th would start
    // at 5, in the right padding, so PyTorch keeps 3.
    const Tensor x5 = Tensor::zeros({1, 1, 5, 5});
    CHECK(avg_pool2d(x5, pool({2, 2}, {2, 2}, {1, 1}, true)).shape() == Shape{1, 1, 3, 3});
    CHECK(avg_pool2d(x5, pool({2, 2}, {2, 2}, {1, 1}, false)).shape() == Shape{1, 1, 3, 3});
}

TEST_CASE("avg_pool2d ceil_mode: the partial last window divides by its size inside the input") {
    // [1, 2, 3], kernel 1x2, stride 2, ceil: windows [1, 2] and [3] -> 1.5 and 3 (as PyTorch)
    const Tensor x = Tensor::from_vector({1, 2, 3}, {1, 1, 1, 3}, DType::float64);
    CHECK(avg_pool2d(x, pool({1, 2}, {1, 2}, {0, 0}, true)).to_vector() == std::vector<double>{1.5, 3});
}

TEST_CASE("adaptive_avg_pool2d: PyTorch's overlapping bins, and their gradient") {
    // width 5 to 3 bins: [0, 2), [1, 4), [3, 5)
    Tensor x = leaf(arange_values(5), {1, 1, 1, 5});
    const Tensor y = adaptive_avg_pool2d(x, {1, 3});
    const std::vector<double> values = y.to_vector();
    CHECK(values[0] == doctest::Approx(0.5));
    CHECK(values[1] == doctest::Approx(2));
    CHECK(values[2] == doctest::Approx(3.5));
    sum(y).backward();
    const std::vector<double> grad = x.grad().to_vector();
    const std::vector<double> expected{0.5, 0.5 + 1.0 / 3, 1.0 / 3, 1.0 / 3 + 0.5, 0.5};
    for (size_t i = 0; i < expected.size(); ++i) CHECK(grad[i] == doctest::Approx(expected[i]));
}

TEST_CASE("global adaptive pooling is the mean of each plane") {
    const Tensor x = Tensor::rand({2, 3, 7, 5}, DType::float64);
    const Tensor y = adaptive_avg_pool2d(x, {1, 1});
    CHECK(y.shape() == Shape{2, 3, 1, 1});
    const std::vector<double> got = y.to_vector(), expected = mean(x, {2, 3}).to_vector();
    for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(expected[i]));
}

// A scalar reference of max_pool2d's rule (first maximum in window order, a
// NaN wins): each window's value and where its gradient goes.
struct PoolReference {
    std::vector<double> y, dx;
};
PoolReference reference_max_pool(const std::vector<double>& x, const Shape& shape, std::array<int64_t, 2> kernel,
                                  std::array<int64_t, 2> stride, std::array<int64_t, 2> padding,
                                  const std::vector<double>& dy) {
    const int64_t planes = shape[0] * shape[1], h = shape[2], w = shape[3];
    const int64_t oh_size = (h + 2 * padding[0] - kernel[0]) / stride[0] + 1;
    const int64_t ow_size = (w + 2 * padding[1] - kernel[1]) / stride[1] + 1;
    PoolReference r{std::vector<double>(size_t(planes * oh_size * ow_size)), std::vector<double>(x.size(), 0.0)};
    for (int64_t p = 0; p < planes; ++p)
        for (int64_t oh = 0; oh < oh_size; ++oh)
            for (int64_t ow = 0; ow < ow_size; ++ow) {
                int64_t best = -1;
                for (int64_t i = 0; i < kernel[0]; ++i)
                    for (int64_t j = 0; j < kernel[1]; ++j) {
                        const int64_t ih = oh * stride[0] - padding[0] + i, iw = ow * stride[1] - padding[1] + j;
                        if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                        const int64_t at = (p * h + ih) * w + iw;
                        const double v = x[size_t(at)];
                        if (best < 0 || v > x[size_t(best)] || (std::isnan(v) && !std::isnan(x[size_t(best)]))) best = at;
                    }
                const size_t o = size_t((p * oh_size + oh) * ow_size + ow);
                r.y[o] = x[size_t(best)];
                r.dx[size_t(best)] += dy[o];
            }
    return r;
}

TEST_CASE("max_pool2d: values and arg-max (vectorised 3x3/2 interior) match a scalar reference, with and without a gradient") {
    // odd and even sizes, padding 0 and 1, NaN and ties; 3x3 stride 2 (the fast path) and other windows
    const double nan = std::numeric_limits<double>::quiet_NaN();
    struct Case {
        Shape shape;
        std::array<int64_t, 2> kernel, stride, padding;
    };
    const Case cases[] = {{{2, 3, 9, 11}, {3, 3}, {2, 2}, {1, 1}},  {{1, 2, 8, 8}, {3, 3}, {2, 2}, {1, 1}},
                          {{1, 2, 7, 6}, {3, 3}, {2, 2}, {0, 0}},   {{1, 1, 3, 3}, {3, 3}, {2, 2}, {1, 1}},
                          {{2, 2, 9, 9}, {3, 3}, {1, 2}, {1, 0}},   {{1, 3, 6, 7}, {2, 2}, {2, 2}, {0, 0}},
                          {{1, 2, 10, 13}, {3, 3}, {2, 2}, {1, 1}}, {{1, 2, 5, 9}, {1, 3}, {1, 2}, {0, 1}}};
    for (DType dtype : {DType::float32, DType::float64})
        for (const Case& c : cases) {
            CAPTURE(shape_str(c.shape));
            Generator generator(7);
            std::vector<double> values = Tensor::randn(c.shape, DType::float64, generator).to_vector();
            for (double& v : values) v = std::round(3 * v);  // small integers: many ties
            values[values.size() / 3] = nan;  // a NaN wins its windows
            const Tensor x = Tensor::from_vector(values, c.shape, dtype);
            Pool2dOptions options;
            options.kernel = c.kernel;
            options.stride = c.stride;
            options.padding = c.padding;
            Tensor with_grad_input = x.clone().set_requires_grad(true);
            const Tensor with_grad = max_pool2d(with_grad_input, options);
            const std::vector<double> dy = Tensor::randn(with_grad.shape(), DType::float64, generator).to_vector();
            with_grad.backward(Tensor::from_vector(dy, with_grad.shape(), dtype));
            NoGradGuard no_grad;
            const Tensor without = max_pool2d(x, options);
            const std::vector<double> a = with_grad.to(DType::float64).to_vector(), b = without.to(DType::float64).to_vector();
            const PoolReference expected = reference_max_pool(
                x.to(DType::float64).to_vector(), c.shape, c.kernel, c.stride, c.padding,
                Tensor::from_vector(dy, with_grad.shape(), dtype).to(DType::float64).to_vector());
            REQUIRE(a.size() == b.size());
            REQUIRE(a.size() == expected.y.size());
            for (size_t i = 0; i < a.size(); ++i) {
                CAPTURE(i);
                CHECK(((std::isnan(a[i]) && std::isnan(b[i])) || a[i] == b[i]));
                CHECK(((std::isnan(a[i]) && std::isnan(expected.y[i])) || a[i] == expected.y[i]));
            }
            const std::vector<double> dx = with_grad_input.grad().to(DType::float64).to_vector();
            for (size_t i = 0; i < dx.size(); ++i) {
                CAPTURE(i);
                CHECK(dx[i] == doctest::Approx(expected.dx[i]).epsilon(1e-6));
            }
        }
}
