// pad against values worked out by hand (torch.nn.functional.pad gives the same).
#include <doctest/doctest.h>

#include <set>

#include "tests/support/tensors.h"
#include "engine/ops.h"
#include "kernels/common/pad.h"

using namespace kiln;
using kiln::testing::leaf;

TEST_CASE("pad modes on one row [1, 2, 3], pads (2, 1)") {
    const Tensor x = Tensor::from_vector({1, 2, 3}, {1, 3}, DType::float64);
    CHECK(pad(x, {2, 1}, PadMode::constant, 9).to_vector() == std::vector<double>{9, 9, 1, 2, 3, 9});
    CHECK(pad(x, {2, 1}, PadMode::reflect).to_vector() == std::vector<double>{3, 2, 1, 2, 3, 2});
    CHECK(pad(x, {2, 1}, PadMode::replicate).to_vector() == std::vector<double>{1, 1, 1, 2, 3, 3});
}

TEST_CASE("pad 2-D reflect and its gradient: mirrored cells add up") {
    // x = [[1, 2], [3, 4]] padded by one row on top, one column on the left
    Tensor x = leaf({1, 2, 3, 4}, {2, 2});
    const Tensor y = pad(x, {1, 0, 1, 0}, PadMode::reflect);
    CHECK(y.shape() == Shape{3, 3});
    CHECK(y.to_vector() == std::vector<double>{4, 3, 4, 2, 1, 2, 4, 3, 4});
    sum(y).backward();
    // x[1][1] = 4 appears 4 times, x[1][0] and x[0][1] twice, x[0][0] once
    CHECK(x.grad().to_vector() == std::vector<double>{1, 2, 2, 4});
}

TEST_CASE("negative constant pads crop, and the gradient of the cropped part is zero") {
    Tensor x = leaf({1, 2, 3, 4, 5, 6}, {2, 3});
    const Tensor y = pad(x, {-1, 0, 0, -1});  // drop the first column and the last row
    CHECK(y.shape() == Shape{1, 2});
    CHECK(y.to_vector() == std::vector<double>{2, 3});
    sum(y).backward();
    CHECK(x.grad().to_vector() == std::vector<double>{0, 1, 1, 0, 0, 0});
}

TEST_CASE("constant pad of a leading dim of NCHW") {
    const Tensor x = Tensor::ones({1, 1, 2, 2});
    const Tensor y = pad(x, {0, 0, 0, 0, 1, 1}, PadMode::constant, -1);
    CHECK(y.shape() == Shape{1, 3, 2, 2});
    CHECK(y.to_vector() == std::vector<double>{-1, -1, -1, -1, 1, 1, 1, 1, -1, -1, -1, -1});
}

TEST_CASE("replicate backward on a tensor large enough for the threaded loop") {
    // Each corner of each plane is read by a 6 x 6 block of the output, the rest of the border by 6 cells.
    Tensor x = Tensor::zeros({4, 3, 60, 50}, DType::float64);
    x.set_requires_grad(true);
    const Tensor y = pad(x, {5, 5, 5, 5}, PadMode::replicate);
    sum(y).backward();
    const std::vector<double> grad = x.grad().to_vector();
    double total = 0;
    for (double g : grad) total += g;
    CHECK(total == doctest::Approx(double(y.numel())));
    for (int64_t plane = 0; plane < 12; ++plane) {
        const size_t base = size_t(plane * 60 * 50);
        CHECK(grad[base] == 36);                  // top-left corner
        CHECK(grad[base + 1] == 6);               // top edge
        CHECK(grad[base + 51] == 1);              // interior
        CHECK(grad[base + 60 * 50 - 1] == 36);    // bottom-right corner
    }
}

TEST_CASE("pad_outputs_reading (the CUDA backward's gather) inverts pad_source_index (the forward's map)") {
    using math::PadKind;
    int checked = 0;
    for (PadKind kind : {PadKind::constant, PadKind::reflect, PadKind::replicate})
        for (int64_t n = 1; n <= 6; ++n)
            // reflect pads stay below n; constant pads may crop
            for (int64_t before = kind == PadKind::constant ? -3 : 0; before <= (kind == PadKind::reflect ? n - 1 : 7);
                 ++before)
                for (int64_t after = kind == PadKind::constant ? -3 : 0;
                     after <= (kind == PadKind::reflect ? n - 1 : 7); ++after) {
                    const int64_t out_size = n + before + after;
                    if (out_size < 0) continue;
                    for (int64_t i = 0; i < n; ++i) {
                        std::set<int64_t> expected, got;
                        for (int64_t o = 0; o < out_size; ++o)
                            if (math::pad_source_index(o, before, n, kind) == i) expected.insert(o);
                        const math::PadOutputRanges ranges = math::pad_outputs_reading(i, before, n, out_size, kind);
                        size_t listed = 0;  // outputs listed, counting repeats: each must appear once
                        for (int k = 0; k < ranges.count; ++k)
                            for (int64_t o = ranges.first[k]; o <= ranges.last[k]; ++o, ++listed) got.insert(o);
                        CAPTURE(int(kind));
                        CAPTURE(n);
                        CAPTURE(before);
                        CAPTURE(after);
                        CAPTURE(i);
                        CHECK(got == expected);
                        CHECK(listed == got.size());
                        ++checked;
                    }
                }
    CHECK(checked > 500);
}
