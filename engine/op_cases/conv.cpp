// Cases for conv2d and conv2d_batch_norm. Each conv2d case reaches one of the three kernel algorithms
// (kernels/cpu/conv.h): depthwise (groups == C_in > 1), pointwise (1x1,
// stride 1, no padding) or im2col + GEMM. With 2 or more OpenMP threads, cases
// with batch >= threads also run the one-image-per-thread GEMM path (per-thread
// partial weight gradients), batch 1 the image-after-image path.
#include "engine/op_cases/common.h"
#include "engine/op_cases/op_cases.h"
#include "engine/ops.h"

namespace kiln::case_tables {

namespace {

Conv2dOptions options(std::array<int64_t, 2> stride, std::array<int64_t, 2> padding,
                      std::array<int64_t, 2> dilation = {1, 1}, int64_t groups = 1) {
    return Conv2dOptions{stride, padding, dilation, groups};
}

// conv2d(x, weight, bias) with the inputs in that order; bias only when given as a third input.
OpFunction conv(const Conv2dOptions& o) {
    return [o](const Inputs& x) { return conv2d(x[0], x[1], x.size() > 2 ? x[2] : Tensor(), o); };
}

}  // namespace

void add_conv(std::vector<OpCase>& cases, std::vector<ErrorCase>& errors) {
    // im2col + GEMM
    cases.push_back({"conv2d", "3x3, padding 1, bias, odd 5x7 image, 3 channels, batch 1",
                     {{1, 3, 5, 7}, {4, 3, 3, 3}, {4}}, conv(options({1, 1}, {1, 1}))});
    cases.push_back({"conv2d", "3x3, stride 2, no padding, no bias, batch 2",
                     {{2, 2, 5, 7}, {3, 2, 3, 3}}, conv(options({2, 2}, {0, 0}))});
    cases.push_back({"conv2d", "3x3, dilation 2, padding 1",
                     {{1, 2, 7, 6}, {3, 2, 3, 3}, {3}}, conv(options({1, 1}, {1, 1}, {2, 2}))});
    cases.push_back({"conv2d", "batch 3 (uneven split over threads), padding 1, bias",
                     {{3, 2, 4, 4}, {3, 2, 3, 3}, {3}}, conv(options({1, 1}, {1, 1}))});
    cases.push_back({"conv2d", "groups 2, 6 channels, padding 1, bias",
                     {{1, 6, 5, 5}, {4, 3, 3, 3}, {4}}, conv(options({1, 1}, {1, 1}, {1, 1}, 2))});
    cases.push_back({"conv2d", "2x3 kernel, stride (1, 2), padding (1, 0), dilation (2, 1)",
                     {{2, 2, 5, 7}, {3, 2, 2, 3}}, conv(options({1, 2}, {1, 0}, {2, 1}))});
    cases.push_back({"conv2d", "kernel as large as the padded input: 1x1 output",
                     {{2, 2, 3, 3}, {2, 2, 5, 5}, {2}}, conv(options({1, 1}, {1, 1}))});
    cases.push_back({"conv2d", "1x1 with stride 2 (im2col, not pointwise)",
                     {{2, 3, 5, 5}, {4, 3, 1, 1}, {4}}, conv(options({2, 2}, {0, 0}))});
    cases.push_back({"conv2d", "GEMM tiles crossed: L = 81 > 64 columns, K = 36 > 16, 5 output channels, batch 1",
                     {{1, 4, 9, 9}, {5, 4, 3, 3}, {5}}, conv(options({1, 1}, {1, 1}))});
    cases.push_back({"conv2d", "stride 2, dilation 2, groups 2, padding 2, batch 1, odd 9x7",
                     {{1, 4, 9, 7}, {4, 2, 3, 3}, {4}}, conv(options({2, 2}, {2, 2}, {2, 2}, 2))});
    // float32, one group, W_out >= 8, C_in taps >= 64: the direct path (its
    // weight gradient only where the policy of kernels/cpu/conv.h runs it: with
    // AVX-512; tests/test_conv.cpp forces every pass on every machine). In
    // float64 the gradcheck goes through im2col; the float32 check compares.
    // Tiles of 3 vectors on rows of width Wq; the shapes below end on a
    // 3-, 2- and 1-vector tile, and C_out 11 / C_in 17 leave partial blocks.
    cases.push_back({"conv2d", "direct: 3x3, padding 1, bias, 11 outputs, odd 9x13, batch 1",
                     {{1, 8, 9, 13}, {11, 8, 3, 3}, {11}}, conv(options({1, 1}, {1, 1}))});
    cases.push_back({"conv2d", "direct: 3x3, padding 1, 17 inputs, 7x9 image, batch 2",
                     {{2, 17, 7, 9}, {5, 17, 3, 3}}, conv(options({1, 1}, {1, 1}))});
    cases.push_back({"conv2d", "direct: 3x3, no padding, 12x10 image, bias, batch 3",
                     {{3, 8, 12, 10}, {9, 8, 3, 3}, {9}}, conv(options({1, 1}, {0, 0}))});
    cases.push_back({"conv2d", "direct: 5x3 kernel, dilation (2, 1), padding (3, 1), 8x17",
                     {{2, 5, 8, 17}, {4, 5, 5, 3}, {4}}, conv(options({1, 1}, {3, 1}, {2, 1}))});
    // strided (stride phases; forward and weight gradient direct, input gradient im2col)
    cases.push_back({"conv2d", "direct: 7x7 stride 2, padding 3, 3 inputs, 9 outputs, 19x21, batch 2",
                     {{2, 3, 19, 21}, {9, 3, 7, 7}, {9}}, conv(options({2, 2}, {3, 3}))});
    cases.push_back({"conv2d", "direct: 3x3 stride 2, dilation 2, padding 2, 20x20, batch 1",
                     {{1, 8, 20, 20}, {5, 8, 3, 3}}, conv(options({2, 2}, {2, 2}, {2, 2}))});
    cases.push_back({"conv2d", "direct: 1x5 kernel, stride (1, 2), padding (0, 2), 33 outputs, 6x19",
                     {{2, 13, 6, 19}, {33, 13, 1, 5}, {33}}, conv(options({1, 2}, {0, 2}))});
    cases.push_back({"conv2d", "non-contiguous (permuted) input",
                     {{1, 5, 4, 3}, {2, 3, 3, 3}},
                     [](const Inputs& x) { return conv2d(x[0].permute({0, 3, 1, 2}), x[1], Tensor(), {}); }});
    // pointwise: a plain GEMM per image
    cases.push_back({"conv2d", "1x1, bias, batch 2", {{2, 3, 4, 5}, {5, 3, 1, 1}, {5}}, conv({})});
    cases.push_back({"conv2d", "1x1, groups 2, batch 1", {{1, 4, 3, 5}, {6, 2, 1, 1}},
                     conv(options({1, 1}, {0, 0}, {1, 1}, 2))});
    // depthwise: direct loops
    cases.push_back({"conv2d", "depthwise 3x3, 3 channels, padding 1, bias, batch 2",
                     {{2, 3, 4, 5}, {3, 1, 3, 3}, {3}}, conv(options({1, 1}, {1, 1}, {1, 1}, 3))});
    cases.push_back({"conv2d", "depthwise 3x3, stride 2, padding 1, batch 1",
                     {{1, 4, 7, 5}, {4, 1, 3, 3}}, conv(options({2, 2}, {1, 1}, {1, 1}, 4))});
    cases.push_back({"conv2d", "depthwise, channel multiplier 2, stride (2, 1)",
                     {{1, 3, 5, 5}, {6, 1, 3, 3}, {6}}, conv(options({2, 1}, {1, 1}, {1, 1}, 3))});
    cases.push_back({"conv2d", "depthwise 3x3, dilation 2, padding 2",
                     {{1, 3, 7, 7}, {3, 1, 3, 3}, {3}}, conv(options({1, 1}, {2, 2}, {2, 2}, 3))});
    cases.push_back({"conv2d", "depthwise 5x3, stride 2, dilation (1, 2), padding (2, 1), odd 9x7, batch 2",
                     {{2, 2, 9, 7}, {4, 1, 5, 3}, {4}}, conv(options({2, 2}, {2, 1}, {1, 2}, 2))});
    cases.push_back({"conv2d", "depthwise 1x1 (groups 6)", {{2, 6, 3, 3}, {6, 1, 1, 1}},
                     conv(options({1, 1}, {0, 0}, {1, 1}, 6))});

    auto error = [&](const char* label, std::function<void()> call, const char* expected) {
        errors.push_back({"conv2d", label, std::move(call), expected});
    };
    error("kernel larger than the padded input", [] { conv2d(f32({1, 1, 3, 3}), f32({1, 1, 5, 5}), Tensor(), {}); },
          "conv2d: kernel 5x5 (dilation 1x1, extent 5x5) is larger than the padded input 3x3");
    error("dilated kernel larger than the padded input",
          [] { conv2d(f32({1, 1, 5, 5}), f32({1, 1, 3, 3}), Tensor(), options({1, 1}, {0, 0}, {3, 3})); },
          "extent 7x7) is larger than the padded input 5x5");
    error("input channels not divisible by groups",
          [] { conv2d(f32({1, 6, 5, 5}), f32({4, 3, 3, 3}), Tensor(), options({1, 1}, {0, 0}, {1, 1}, 4)); },
          "conv2d: input has 6 channels, not divisible by groups 4");
    error("output channels not divisible by groups",
          [] { conv2d(f32({1, 4, 5, 5}), f32({3, 2, 3, 3}), Tensor(), options({1, 1}, {0, 0}, {1, 1}, 2)); },
          "conv2d: weight has 3 output channels, not divisible by groups 2");
    error("wrong weight channel count", [] { conv2d(f32({8, 4, 32, 32}), f32({16, 3, 3, 3}), Tensor(), {}); },
          "conv2d: weight has 3 input channels per group, input has 4 (input [8, 4, 32, 32], weight [16, 3, 3, 3], "
          "groups 1)");
    error("bias of wrong length", [] { conv2d(f32({1, 3, 5, 5}), f32({4, 3, 3, 3}), f32({3}), {}); },
          "conv2d: bias must be [4] (one per output channel), got [3]");
    error("3-D input", [] { conv2d(f32({3, 5, 5}), f32({4, 3, 3, 3}), Tensor(), {}); },
          "conv2d: input must be 4-D [N, C, H, W], got [3, 5, 5]");
    error("3-D weight", [] { conv2d(f32({1, 3, 5, 5}), f32({4, 3, 3}), Tensor(), {}); },
          "conv2d: weight must be 4-D [C_out, C_in / groups, kH, kW], got [4, 3, 3]");
    error("mixed dtypes", [] { conv2d(f32({1, 3, 5, 5}), f64({4, 3, 3, 3}), Tensor(), {}); },
          "conv2d: weight is float64 but input is float32");
    error("bias of another dtype", [] { conv2d(f64({1, 3, 5, 5}), f64({4, 3, 3, 3}), f32({4}), {}); },
          "conv2d: bias is float32 but input is float64");
    error("int64 input", [] { conv2d(i64({1, 3, 5, 5}), f32({4, 3, 3, 3}), Tensor(), {}); },
          "conv2d: argument input is int64");
    error("stride 0", [] { conv2d(f32({1, 3, 5, 5}), f32({4, 3, 3, 3}), Tensor(), options({0, 1}, {0, 0})); },
          "conv2d: stride must be >= 1, got [0, 1]");
    error("negative padding", [] { conv2d(f32({1, 3, 5, 5}), f32({4, 3, 3, 3}), Tensor(), options({1, 1}, {0, -1})); },
          "conv2d: padding must be >= 0, got [0, -1]");
    error("dilation 0",
          [] { conv2d(f32({1, 3, 5, 5}), f32({4, 3, 3, 3}), Tensor(), options({1, 1}, {0, 0}, {1, 0})); },
          "conv2d: dilation must be >= 1, got [1, 0]");
    error("groups 0",
          [] { conv2d(f32({1, 3, 5, 5}), f32({4, 3, 3, 3}), Tensor(), options({1, 1}, {0, 0}, {1, 1}, 0)); },
          "conv2d: groups must be >= 1, got 0");
    error("empty input channels", [] { conv2d(f32({1, 0, 5, 5}), f32({4, 0, 3, 3}), Tensor(), {}); },
          "conv2d: input has an empty channel or spatial dim");
}

// conv2d_batch_norm: the gradcheck runs its training-capable path (the
// composed ops: a gradient is needed); its inference path (the conv
// epilogue) is compared with the composed ops bit for bit in
// tests/test_fusion.cpp and against cpu on emu in tests/emu. Inputs: x,
// weight, bias, bn_weight, bn_bias; fixed running statistics.
void add_conv_batch_norm(std::vector<OpCase>& cases, std::vector<ErrorCase>& errors) {
    auto fused = [](const Conv2dOptions& o, FusedActivation activation) -> OpFunction {
        return [o, activation](const Inputs& x) {
            const int64_t C = x[1].size(0);
            std::vector<double> mean, var;
            for (int64_t c = 0; c < C; ++c) mean.push_back(0.1 * double(c) - 0.2), var.push_back(0.5 + 0.3 * double(c));
            const Tensor m = Tensor::from_vector(mean, {C}, x[0].dtype()).to(x[0].device());
            const Tensor v = Tensor::from_vector(var, {C}, x[0].dtype()).to(x[0].device());
            return conv2d_batch_norm(x[0], x[1], x.size() > 2 ? x[2] : Tensor(), o, x.size() > 3 ? x[3] : Tensor(),
                                     x.size() > 4 ? x[4] : Tensor(), m, v, 1e-5, activation);
        };
    };
    const std::pair<double, double> any{-1, 1}, gamma{0.5, 1.5};
    cases.push_back({"conv2d_batch_norm", "3x3, padding 1, conv bias, affine, batch 1, odd 5x7",
                     {{1, 3, 5, 7}, {4, 3, 3, 3}, {4}, {4}, {4}},
                     fused(options({1, 1}, {1, 1}), FusedActivation::none), {any, any, any, gamma, any}});
    cases.push_back({"conv2d_batch_norm", "relu, direct 3x3 (W_out >= 8), 10 outputs, batch 2",
                     {{2, 8, 9, 11}, {10, 8, 3, 3}, {10}, {10}, {10}},
                     fused(options({1, 1}, {1, 1}), FusedActivation::relu), {any, any, any, gamma, any}});
    cases.push_back({"conv2d_batch_norm", "relu, 3x3 stride 2, batch 2", {{2, 2, 5, 7}, {3, 2, 3, 3}, {3}, {3}, {3}},
                     fused(options({2, 2}, {0, 0}), FusedActivation::relu), {any, any, any, gamma, any}});
    cases.push_back({"conv2d_batch_norm", "relu6, depthwise 3x3, 4 channels", {{2, 4, 5, 5}, {4, 1, 3, 3}, {4}, {4}, {4}},
                     fused(options({1, 1}, {1, 1}, {1, 1}, 4), FusedActivation::relu6),
                     {{-4, 4}, {-2, 2}, any, {2, 4}, {1.5, 3}}});
    cases.push_back({"conv2d_batch_norm", "relu6, pointwise 1x1, no bias, no affine", {{1, 3, 4, 5}, {5, 3, 1, 1}},
                     fused(options({1, 1}, {0, 0}), FusedActivation::relu6), {{-4, 4}, {-2, 2}}});

    auto error = [&](const char* label, std::function<void()> call, const char* expected) {
        errors.push_back({"conv2d_batch_norm", label, std::move(call), expected});
    };
    error("no running statistics",
          [] { conv2d_batch_norm(f32({1, 3, 5, 5}), f32({4, 3, 3, 3}), Tensor(), {}, Tensor(), Tensor(), Tensor(), Tensor()); },
          "conv2d_batch_norm: needs running_mean and running_var");
    error("running_var of wrong length",
          [] { conv2d_batch_norm(f32({1, 3, 5, 5}), f32({4, 3, 3, 3}), Tensor(), {}, Tensor(), Tensor(), f32({4}), f32({3})); },
          "conv2d_batch_norm: running_var must be [C_out] = [4], got [3]");
    error("float64 bn_weight with float32 input",
          [] { conv2d_batch_norm(f32({1, 3, 5, 5}), f32({4, 3, 3, 3}), Tensor(), {}, f64({4}), Tensor(), f32({4}), f32({4})); },
          "conv2d_batch_norm: bn_weight is float64 but input is float32");
    error("negative eps",
          [] { conv2d_batch_norm(f32({1, 3, 5, 5}), f32({4, 3, 3, 3}), Tensor(), {}, Tensor(), Tensor(), f32({4}), f32({4}), -1); },
          "conv2d_batch_norm: eps must be non-negative, got -1");
    error("input channels not matching the weight",
          [] { conv2d_batch_norm(f32({1, 2, 5, 5}), f32({4, 3, 3, 3}), Tensor(), {}, Tensor(), Tensor(), f32({4}), f32({4})); },
          "conv2d_batch_norm: weight has 3 input channels per group, input has 2");
}

KILN_REGISTER_CASES(add_conv);
KILN_REGISTER_CASES(add_conv_batch_norm);

}  // namespace kiln::case_tables
