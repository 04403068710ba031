// conv_by_hand (apps/teaching/conv_by_hand.h): conv2d and im2col + GEMM agree,
// and the MobileNet block's costs are the exact counts.
#include <doctest/doctest.h>

#include "apps/teaching/conv_by_hand.h"

using namespace kiln::teaching;

TEST_CASE("conv_by_hand: conv2d and im2col + GEMM give the same output and gradients") {
    const ConvByHandResult r = conv_by_hand();
    CHECK(r.passed);
    CHECK(r.max_difference <= 1e-12);
    CHECK(r.gradcheck_passed);
    // The 3x3 output of the vertical Sobel on the ramp with a diagonal scratch, by hand.
    CHECK(r.output.values == std::vector<double>{-8, 0, -4, -16, -8, 0, -12, -16, -8});
    CHECK(r.output_gemm.values == r.output.values);
    // im2col: 9 taps x 9 output positions; column 0 is the top-left 3x3 window, row-major.
    CHECK(r.columns.rows == 9);
    CHECK(r.columns.cols == 9);
    const std::vector<double> window{4, 1, 2, 0, 5, 2, 0, 1, 6};
    for (int64_t t = 0; t < 9; ++t) CHECK(r.columns.at(t, 0) == window[size_t(t)]);
    // dL/dw[0, 0] = sum_l G[l] x[window l, tap (0, 0)] = 1*4 + 2*1 + 3*2 + 4*0 + 5*5 + 6*2 + 7*0 + 8*1 + 9*6
    CHECK(r.grad_weight.at(0, 0) == 4 + 2 + 6 + 0 + 25 + 12 + 0 + 8 + 54);
    // dL/dx[0, 0] is read only by output (0, 0), tap (0, 0): G[0] w[0, 0] = 1.
    CHECK(r.grad_input.at(0, 0) == 1);
}

TEST_CASE("conv_by_hand: padding and stride go through im2col the same way") {
    ConvByHandOptions options;
    options.padding = 1;
    options.stride = 2;
    const ConvByHandResult r = conv_by_hand(options);
    CHECK(r.passed);
    CHECK(r.output.rows == 3);  // (5 + 2 - 3) / 2 + 1
    CHECK(r.columns.at(0, 0) == 0);  // the top-left tap of the first window reads padding
}

TEST_CASE("conv_by_hand: MobileNet block costs, exact") {
    const ConvByHandResult r = conv_by_hand();  // 32 -> 64 channels, 3x3, 112x112
    CHECK(r.regular.parameters == 18432);     // 64 * 32 * 9
    CHECK(r.regular.macs == 231211008);       // 112 * 112 * 18432
    CHECK(r.regular.flops() == 462422016);
    CHECK(r.depthwise.parameters == 288);     // 32 * 9
    CHECK(r.depthwise.macs == 3612672);       // 112 * 112 * 288
    CHECK(r.pointwise.parameters == 2048);    // 32 * 64
    CHECK(r.pointwise.macs == 25690112);      // 112 * 112 * 2048
    CHECK(r.separable_parameters == 2336);
    CHECK(r.separable_macs == 29302784);
    CHECK(r.mac_ratio == doctest::Approx(1.0 / 64 + 1.0 / 9).epsilon(1e-12));
    CHECK(r.regular.output_shape == kiln::Shape{1, 64, 112, 112});
    CHECK(r.depthwise.output_shape == kiln::Shape{1, 32, 112, 112});
}
