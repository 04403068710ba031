// conv2d: hand-computed values, and the three kernel algorithms checked
// against each other (depthwise against per-channel convolutions, pointwise
// against im2col). Gradients against finite differences are in the op case
// table (engine/op_cases/conv.cpp).
#include <doctest/doctest.h>

#include <random>

#include "engine/autograd.h"
#include "engine/frozen.h"
#include "engine/ops.h"
#include "kernels/common/winograd.h"
#include "kernels/cpu/conv.h"

#ifdef _OPENMP
#include <omp.h>
#endif

using namespace kiln;

namespace {

Tensor leaf(const Tensor& t) {
    Tensor copy = t.clone();
    copy.set_requires_grad(true);
    return copy;
}

double max_abs_difference(const Tensor& a, const Tensor& b) {
    REQUIRE(a.shape() == b.shape());
    const std::vector<double> va = a.to_vector(), vb = b.to_vector();
    double worst = 0;
    for (size_t i = 0; i < va.size(); ++i) worst = std::max(worst, std::abs(va[i] - vb[i]));
    return worst;
}

// One convolution of a table-driven test: x's and w's shapes and the options.
struct ConvSetting {
    const char* name;
    Shape input, weight;
    Conv2dOptions options;
};

// Sets the cpu conv policy (kernels/cpu/conv.h) for a scope.
struct DirectPolicy {
    cpu::ConvDirectPolicy previous = cpu::conv_direct_policy();
    explicit DirectPolicy(cpu::ConvDirectPolicy policy) { cpu::set_conv_direct_policy(policy); }
    ~DirectPolicy() { cpu::set_conv_direct_policy(previous); }
};

// conv2d's y, dx and dw in float (dy all ones) with the OpenMP team set to
// `threads`: equal bits on one thread and on two, for one setting.
void check_same_bits_on_one_and_two_threads(const ConvSetting& setting) {
    CAPTURE(std::string(setting.name));
    const Tensor x0 = Tensor::randn(setting.input), w0 = Tensor::randn(setting.weight);
    std::vector<std::vector<double>> results[2];
    for (int threads : {1, 2}) {
#ifdef _OPENMP
        const int previous = omp_get_max_threads();
        omp_set_num_threads(threads);
#endif
        Tensor x = leaf(x0), w = leaf(w0);
        const Tensor y = conv2d(x, w, Tensor(), setting.options);
        y.backward(Tensor::ones(y.shape()));
        results[threads - 1] = {y.to_vector(), x.grad().to_vector(), w.grad().to_vector()};
#ifdef _OPENMP
        omp_set_num_threads(previous);
#endif
    }
    CHECK(results[0][0] == results[1][0]);  // y
    CHECK(results[0][1] == results[1][1]);  // dx
    CHECK(results[0][2] == results[1][2]);  // dw: each weight's sum is one task's
}

// conv2d in float under `policy` against im2col + GEMM, every pass (y, dx,
// dw, db; the same random dy for both), within 2e-5 of the largest value.
void check_policy_matches_gemm(cpu::ConvDirectPolicy policy, const ConvSetting& setting) {
    CAPTURE(std::string(setting.name));
    const Tensor x0 = Tensor::randn(setting.input), w0 = Tensor::randn(setting.weight);
    const Tensor b0 = Tensor::randn({setting.weight[0]});
    std::vector<Tensor> results[2];
    for (const cpu::ConvDirectPolicy run : {policy, cpu::ConvDirectPolicy::gemm}) {
        const DirectPolicy scope(run);
        Tensor x = leaf(x0), w = leaf(w0), b = leaf(b0);
        const Tensor y = conv2d(x, w, b, setting.options);
        Generator generator(7);
        y.backward(Tensor::randn(y.shape(), DType::float32, generator));
        results[run == cpu::ConvDirectPolicy::gemm] = {y, x.grad(), w.grad(), b.grad()};
    }
    for (size_t i = 0; i < 4; ++i) {
        CAPTURE(i);  // y, dx, dw, db
        const double scale = std::max(1.0, max(abs(results[1][i])).item());
        CHECK(max_abs_difference(results[0][i], results[1][i]) < 2e-5 * scale);
    }
}

// x [1, 1, 3, 3] = 1..9 and w [1, 1, 2, 2] = [[1, 2], [3, 4]]
const std::vector<double> image = {1, 2, 3, 4, 5, 6, 7, 8, 9};
const std::vector<double> kernel = {1, 2, 3, 4};

}  // namespace

TEST_CASE("conv2d: a 3x3 image with a 2x2 kernel, by hand, forward and backward") {
    Tensor x = leaf(Tensor::from_vector(image, {1, 1, 3, 3}, DType::float64));
    Tensor w = leaf(Tensor::from_vector(kernel, {1, 1, 2, 2}, DType::float64));
    Tensor b = leaf(Tensor::from_vector({0.5}, {1}, DType::float64));
    const Tensor y = conv2d(x, w, b);
    // y[0, 0] = 1*1 + 2*2 + 4*3 + 5*4 = 37, then windows shifted right / down
    CHECK(y.shape() == Shape{1, 1, 2, 2});
    CHECK(y.to_vector() == std::vector<double>{37.5, 47.5, 67.5, 77.5});
    y.backward(Tensor::ones({1, 1, 2, 2}, DType::float64));
    // dx: the sum of the kernel taps that touch each pixel
    CHECK(x.grad().to_vector() == std::vector<double>{1, 3, 2, 4, 10, 6, 3, 7, 4});
    // dw[i, j]: the sum of the 2x2 block of x starting at (i, j)
    CHECK(w.grad().to_vector() == std::vector<double>{12, 16, 24, 28});
    CHECK(b.grad().to_vector() == std::vector<double>{4});
}

TEST_CASE("conv2d: stride 2 and padding 1, by hand") {
    const Tensor x = Tensor::from_vector(image, {1, 1, 3, 3}, DType::float64);
    const Tensor w = Tensor::from_vector(kernel, {1, 1, 2, 2}, DType::float64);
    const Tensor y = conv2d(x, w, Tensor(), {.stride = {2, 2}, .padding = {1, 1}});
    // padded to 5x5; H_out = (3 + 2 - 2) / 2 + 1 = 2. Windows at rows/cols {-1, 0} and {1, 2}:
    //   (-1,-1): 1*4 = 4   (-1,1): 2*3 + 3*4 = 18   (1,-1): 4*2 + 7*4 = 36   (1,1): 5 + 12 + 24 + 36 = 77
    CHECK(y.shape() == Shape{1, 1, 2, 2});
    CHECK(y.to_vector() == std::vector<double>{4, 18, 36, 77});
}

TEST_CASE("conv2d: output size floor((H + 2p - d(k-1) - 1) / s) + 1, and an empty batch") {
    const Tensor x = Tensor::zeros({2, 3, 11, 8});
    const Tensor w = Tensor::zeros({5, 3, 3, 2});
    // H: (11 + 4 - 2*2 - 1) / 3 + 1 = 4;  W: (8 + 2 - 2*1 - 1) / 2 + 1 = 4
    CHECK(conv2d(x, w, Tensor(), {.stride = {3, 2}, .padding = {2, 1}, .dilation = {2, 2}}).shape() ==
          Shape{2, 5, 4, 4});
    CHECK(conv2d(Tensor::zeros({0, 3, 5, 5}), w).shape() == Shape{0, 5, 3, 4});
}

TEST_CASE("conv2d: the depthwise kernel equals separate per-channel convolutions (im2col) joined with cat") {
    struct Setting {
        const char* name;
        int64_t multiplier;
        Conv2dOptions options;  // groups filled in below
        int64_t batch = 3, height = 9, width = 11;
    };
    const Setting settings[] = {
        {"3x3, padding 1", 1, {.padding = {1, 1}}},
        {"3x3, stride 2, padding 1", 1, {.stride = {2, 2}, .padding = {1, 1}}},
        {"5x5, dilation 2, padding 3, multiplier 2", 2, {.padding = {3, 3}, .dilation = {2, 2}}},
        // stride phases of unequal strides, a stride past the kernel's reach, no padding on one axis
        {"5x5, stride (3, 2), padding (0, 2), dilation 2", 1, {.stride = {3, 2}, .padding = {0, 2}, .dilation = {2, 2}}},
        {"3x3, stride (1, 3), padding (2, 1), multiplier 3", 3, {.stride = {1, 3}, .padding = {2, 1}}},
        {"3x3, stride 4, padding 1", 1, {.stride = {4, 4}, .padding = {1, 1}}},
        // small planes go many images per task (depthwise_chunk): two chunks, the last one partial
        {"3x3, padding 1, 2x3 planes, batch 700", 1, {.padding = {1, 1}}, 700, 2, 3},
        {"3x3, stride 2, padding 1, 3x3 planes, batch 500, multiplier 2", 2, {.stride = {2, 2}, .padding = {1, 1}}, 500, 3, 3},
    };
    for (const Setting& setting : settings) {
        CAPTURE(setting.name);
        const int64_t channels = 5, m = setting.multiplier, k = setting.options.dilation[0] == 2 ? 5 : 3;
        const Tensor x0 = Tensor::randn({setting.batch, channels, setting.height, setting.width}, DType::float64);
        const Tensor w0 = Tensor::randn({channels * m, 1, k, k}, DType::float64);
        const Tensor b0 = Tensor::randn({channels * m}, DType::float64);

        Tensor x = leaf(x0), w = leaf(w0), b = leaf(b0);
        Conv2dOptions depthwise = setting.options;
        depthwise.groups = channels;
        const Tensor y = conv2d(x, w, b, depthwise);

        Tensor xs = leaf(x0), ws = leaf(w0), bs = leaf(b0);
        std::vector<Tensor> parts;
        for (int64_t c = 0; c < channels; ++c)
            parts.push_back(conv2d(xs.narrow(1, c, 1), ws.narrow(0, c * m, m), bs.narrow(0, c * m, m), setting.options));
        const Tensor y_separate = cat(parts, 1);
        CHECK(max_abs_difference(y, y_separate) < 1e-12);

        const Tensor dy = Tensor::randn(y.shape(), DType::float64);
        y.backward(dy);
        y_separate.backward(dy);
        CHECK(max_abs_difference(x.grad(), xs.grad()) < 1e-12);
        CHECK(max_abs_difference(w.grad(), ws.grad()) < 1e-12);
        CHECK(max_abs_difference(b.grad(), bs.grad()) < 1e-12);
    }
}

TEST_CASE("conv2d: the pointwise (plain GEMM) path equals the im2col path") {
    // A 1x1 convolution with padding 1 goes through im2col; its interior is the unpadded 1x1 convolution.
    const Tensor x0 = Tensor::randn({4, 6, 5, 7}, DType::float64);
    const Tensor w0 = Tensor::randn({4, 3, 1, 1}, DType::float64);
    Tensor x = leaf(x0), w = leaf(w0), xp = leaf(x0), wp = leaf(w0);
    const Tensor y = conv2d(x, w, Tensor(), {.groups = 2});
    const Tensor y_padded = conv2d(xp, wp, Tensor(), {.padding = {1, 1}, .groups = 2}).narrow(2, 1, 5).narrow(3, 1, 7);
    CHECK(max_abs_difference(y, y_padded) < 1e-12);
    const Tensor dy = Tensor::randn(y.shape(), DType::float64);
    y.backward(dy);
    y_padded.backward(dy);
    CHECK(max_abs_difference(x.grad(), xp.grad()) < 1e-12);
    CHECK(max_abs_difference(w.grad(), wp.grad()) < 1e-12);
}

TEST_CASE("conv2d: one image at a time gives the batch's result (image blocks, threads, the dw reduction)") {
    // 12x12 outputs: blocks of 2 images (>= 256 GEMM columns), so a batch of 5 runs as 2 + 2 + 1 images.
    struct Setting {
        const char* name;
        Shape weight;
        Conv2dOptions options;
    };
    const Setting settings[] = {
        {"3x3, padding 1 (im2col)", {4, 3, 3, 3}, {.padding = {1, 1}}},
        {"1x1 (pointwise)", {4, 3, 1, 1}, {}},
        {"1x1, groups 3", {6, 1, 1, 1}, {.groups = 3}},  // groups == C_in: the depthwise kernel
    };
    for (const Setting& setting : settings) {
        CAPTURE(setting.name);
        const Tensor x0 = Tensor::randn({5, 3, 12, 12}, DType::float64);
        const Tensor w0 = Tensor::randn(setting.weight, DType::float64);
        const Tensor b0 = Tensor::randn({setting.weight[0]}, DType::float64);
        Tensor x = leaf(x0), w = leaf(w0), b = leaf(b0);
        const Tensor y = conv2d(x, w, b, setting.options);
        const Tensor dy = Tensor::randn(y.shape(), DType::float64);
        y.backward(dy);
        Tensor w_single = leaf(w0), b_single = leaf(b0);
        for (int64_t n = 0; n < 5; ++n) {
            Tensor xn = leaf(x0.narrow(0, n, 1));
            const Tensor yn = conv2d(xn, w_single, b_single, setting.options);
            CHECK(max_abs_difference(yn, y.narrow(0, n, 1)) < 1e-12);
            yn.backward(dy.narrow(0, n, 1).contiguous());
            CHECK(max_abs_difference(xn.grad(), x.grad().narrow(0, n, 1)) < 1e-12);
        }
        CHECK(max_abs_difference(w.grad(), w_single.grad()) < 1e-12);
        CHECK(max_abs_difference(b.grad(), b_single.grad()) < 1e-12);
    }
}

TEST_CASE("conv2d in float gives the same bits on one thread and on two (direct, strided direct, depthwise across channels)") {
    // Shapes over kernels/cpu/parallel.h's parallel_macs, so two threads split the work.
    const ConvSetting settings[] = {
        {"3x3, 64 channels, 32x32, batch 2 (direct)", {2, 64, 32, 32}, {64, 64, 3, 3}, {.padding = {1, 1}}},
        {"7x7 stride 2, 3 -> 32, 128x128, batch 8 (direct, phases)", {8, 3, 128, 128}, {32, 3, 7, 7},
         {.stride = {2, 2}, .padding = {3, 3}}},
        {"depthwise 3x3, 96 channels, 64x64, batch 20", {20, 96, 64, 64}, {96, 1, 3, 3},
         {.padding = {1, 1}, .groups = 96}},
    };
    const DirectPolicy direct(cpu::ConvDirectPolicy::direct);  // the direct weight gradient on every machine
    for (const ConvSetting& setting : settings) check_same_bits_on_one_and_two_threads(setting);
}

// Y = A^T [(G g G^T) (.) (B^T d B)] A of F(Tile x Tile, 3x3) against
// y[a][b] = sum_{i,j} g[i][j] d[a + i][b + j], in double; u, v, m and y
// are left for further checks
template <int Tile>
void check_tile_is_the_correlation(const double* d, const double* g, double* u, double* v, double* m, double* y) {
    using F = math::WinogradTransforms<Tile>;
    F::kernel(u, g);
    F::input(v, d);
    for (int k = 0; k < F::points; ++k) m[k] = u[k] * v[k];
    F::output(y, m);
    for (int a = 0; a < Tile; ++a)
        for (int b = 0; b < Tile; ++b) {
            double direct = 0;
            for (int i = 0; i < 3; ++i)
                for (int j = 0; j < 3; ++j) direct += g[3 * i + j] * d[F::side * (a + i) + b + j];
            CHECK(y[Tile * a + b] == doctest::Approx(direct).epsilon(1e-12));
        }
}

TEST_CASE("Winograd F(2x2, 3x3) in double: one tile equals the direct correlation, and the adjoints are adjoint") {
    std::mt19937 random(11);
    std::normal_distribution<double> normal;
    double d[16], g[9], dy[4];
    for (double& value : d) value = normal(random);
    for (double& value : g) value = normal(random);
    for (double& value : dy) value = normal(random);
    double u[16], v[16], m[16], y[4];
    check_tile_is_the_correlation<2>(d, g, u, v, m, y);
    // <dy, A^T m A> = <A dy A^T, m>  and  <s, G g G^T> = <G^T s G, g>
    double adjoint_m[16], dg[9];
    math::winograd_output_adjoint(adjoint_m, dy);
    double left = 0, right = 0;
    for (int k = 0; k < 4; ++k) left += dy[k] * y[k];
    for (int k = 0; k < 16; ++k) right += adjoint_m[k] * m[k];
    CHECK(left == doctest::Approx(right).epsilon(1e-12));
    math::winograd_kernel_adjoint(dg, v);  // any 4x4 s: here v
    left = right = 0;
    for (int k = 0; k < 16; ++k) left += v[k] * u[k];
    for (int k = 0; k < 9; ++k) right += dg[k] * g[k];
    CHECK(left == doctest::Approx(right).epsilon(1e-12));
}

TEST_CASE("Winograd F(4x4, 3x3) in double: one tile equals the direct correlation") {
    std::mt19937 random(12);
    std::normal_distribution<double> normal;
    double d[36], g[9], u[36], v[36], m[36], y[16];
    for (double& value : d) value = normal(random);
    for (double& value : g) value = normal(random);
    check_tile_is_the_correlation<4>(d, g, u, v, m, y);
}

// Odd output sizes (a last tile partly outside), partial blocks of output
// channels, batch 1, 1x1 and 2x2 images, padding 0 and 2, and a batch in
// several chunks.
const ConvSetting winograd_settings[] = {
    {"padding 1, 17 -> 11, 9x13, batch 1", {1, 17, 9, 13}, {11, 17, 3, 3}, {.padding = {1, 1}}},
    {"no padding, 8 -> 35, 12x11, batch 3", {3, 8, 12, 11}, {35, 8, 3, 3}, {}},
    {"padding 2, 5 -> 6, 7x6, batch 2", {2, 5, 7, 6}, {6, 5, 3, 3}, {.padding = {2, 2}}},
    {"padding (1, 0), 3 -> 1, 5x4", {2, 3, 5, 4}, {1, 3, 3, 3}, {.padding = {1, 0}}},
    {"padding 1, 40 -> 19, 1x1 and batch 1", {1, 40, 1, 1}, {19, 40, 3, 3}, {.padding = {1, 1}}},
    {"padding 1, 9 -> 7, 2x2, batch 5", {5, 9, 2, 2}, {7, 9, 3, 3}, {.padding = {1, 1}}},
    {"padding 1, 64 -> 70, 31x32, batch 3 (kernels over half an L2: images shared)", {3, 64, 31, 32},
     {70, 64, 3, 3}, {.padding = {1, 1}}},
    {"padding 1, 24 -> 21, 67x65, batch 2 (blocks of tile rows, with up to 2 MiB of L2)", {2, 24, 67, 65},
     {21, 24, 3, 3}, {.padding = {1, 1}}},
    {"padding 1, 32 -> 30, 6x6, batch 8 (blocks of images)", {8, 32, 6, 6}, {30, 32, 3, 3}, {.padding = {1, 1}}},
    // rows split into their column phases a vector pair at a time, then the tail
    {"padding 2, 6 -> 5, 9x37, batch 1 (rows split in vectors)", {1, 6, 9, 37}, {5, 6, 3, 3}, {.padding = {2, 2}}},
    {"no padding, 4 -> 9, 5x34 (rows split in vectors)", {2, 4, 5, 34}, {9, 4, 3, 3}, {}},
    {"padding 1, 5 -> 6, 9x67 (rows split in four, in vectors)", {1, 5, 9, 67}, {6, 5, 3, 3}, {.padding = {1, 1}}},
};

TEST_CASE("conv2d in float: Winograd F(2x2, 3x3), forced, matches im2col + GEMM on awkward shapes (every pass)") {
    for (const ConvSetting& setting : winograd_settings)
        check_policy_matches_gemm(cpu::ConvDirectPolicy::winograd, setting);
}

TEST_CASE("conv2d in float: Winograd F(4x4, 3x3), forced, matches im2col + GEMM on awkward shapes (every pass)") {
    // the forward and input gradient in 4x4 tiles, the weight gradient F(2x2, 3x3)'s
    for (const ConvSetting& setting : winograd_settings)
        check_policy_matches_gemm(cpu::ConvDirectPolicy::winograd4, setting);
}

// conv2d's forward in float under `policy`, with no gradient and frozen
// weights (engine/frozen.h), against im2col + GEMM, within 2e-5 of the largest value
void check_frozen_matches_gemm(cpu::ConvDirectPolicy policy, const ConvSetting& setting) {
    CAPTURE(std::string(setting.name));
    const Tensor x = Tensor::randn(setting.input), w = Tensor::randn(setting.weight);
    const Tensor b = Tensor::randn({setting.weight[0]});
    Tensor expected, frozen;
    {
        const DirectPolicy gemm(cpu::ConvDirectPolicy::gemm);
        expected = conv2d(x, w, b, setting.options);
    }
    {
        const DirectPolicy scope(policy);
        const NoGradGuard no_grad;
        const FrozenWeightsGuard guard;
        frozen = conv2d(x, w, b, setting.options);
        frozen = conv2d(x, w, b, setting.options);  // the second call reads the kept kernels
    }
    const double scale = std::max(1.0, max(abs(expected)).item());
    CHECK(max_abs_difference(frozen, expected) < 2e-5 * scale);
}

TEST_CASE("frozen weights: the forward with kept Winograd kernels matches im2col + GEMM on awkward shapes") {
    for (const cpu::ConvDirectPolicy policy : {cpu::ConvDirectPolicy::winograd, cpu::ConvDirectPolicy::winograd4})
        for (const ConvSetting& setting : winograd_settings) check_frozen_matches_gemm(policy, setting);
    // `automatic` on resnet18's batch-1 layers: F(4x4) at 32x32 and 16x16, F(2x2) at 8x8, direct at 4x4
    const ConvSetting layers[] = {
        {"32 -> 32, 32x32", {1, 32, 32, 32}, {32, 32, 3, 3}, {.padding = {1, 1}}},
        {"64 -> 64, 16x16", {1, 64, 16, 16}, {64, 64, 3, 3}, {.padding = {1, 1}}},
        {"128 -> 128, 8x8", {1, 128, 8, 8}, {128, 128, 3, 3}, {.padding = {1, 1}}},
        {"256 -> 256, 4x4", {1, 256, 4, 4}, {256, 256, 3, 3}, {.padding = {1, 1}}},
    };
    const int kinds[] = {4, 4, 2, 0};
    for (size_t i = 0; i < std::size(layers); ++i) {
        const ConvSetting& l = layers[i];
        const cpu::Conv2dShape s{l.input[0], l.input[1], l.input[2], l.input[3], l.weight[0], 3, 3, 1, 1, 1, 1, 1, 1, 1,
                            l.input[2], l.input[3]};
        CHECK(cpu::conv2d_prepared_kind(s) == kinds[i]);
        check_frozen_matches_gemm(cpu::ConvDirectPolicy::automatic, l);
    }
}

TEST_CASE("frozen weights: kept only inside a guard, never for a forward that records a gradient, dropped at the end") {
    const Tensor x = Tensor::randn({1, 32, 16, 16});
    Tensor w = Tensor::randn({32, 32, 3, 3});
    const Conv2dOptions options{.padding = {1, 1}};
    const DirectPolicy winograd(cpu::ConvDirectPolicy::winograd4);
    CHECK(!weights_frozen());
    {
        const FrozenWeightsGuard guard;
        CHECK(weights_frozen());
        Tensor trained = leaf(w);
        const Tensor y = conv2d(x, trained, Tensor(), options);  // records a graph: nothing kept
        CHECK(frozen_entries() == 0);
        y.backward(Tensor::ones(y.shape()));
        const NoGradGuard no_grad;
        const Tensor first = conv2d(x, w, Tensor(), options);
        CHECK(frozen_entries() == 1);
        {
            const FrozenWeightsGuard nested;
            CHECK(conv2d(x, w, Tensor(), options).to_vector() == first.to_vector());
            CHECK(frozen_entries() == 1);  // the same tensor: the same entry
        }
        CHECK(frozen_entries() == 1);  // an outer guard is still alive
    }
    CHECK(!weights_frozen());
    CHECK(frozen_entries() == 0);
    // after the guard the weights may change, and the next guard sees the new ones
    const NoGradGuard no_grad;
    w.copy_(w * 2.0);
    Tensor expected;
    {
        const DirectPolicy gemm(cpu::ConvDirectPolicy::gemm);
        expected = conv2d(x, w, Tensor(), options);
    }
    const FrozenWeightsGuard guard;
    CHECK(max_abs_difference(conv2d(x, w, Tensor(), options), expected) < 2e-5 * max(abs(expected)).item());
}

TEST_CASE("conv2d in float: Winograd gives the same bits on one thread and on two (private and shared blocks)") {
    const ConvSetting settings[] = {
        {"64 -> 64, 16x16, batch 4 (private blocks; F(4x4, 3x3): shared)", {4, 64, 16, 16}, {64, 64, 3, 3},
         {.padding = {1, 1}}},
        {"32 -> 32, 16x16, batch 4 (private blocks)", {4, 32, 16, 16}, {32, 32, 3, 3}, {.padding = {1, 1}}},
        {"128 -> 128, 8x8, batch 8 (shared blocks)", {8, 128, 8, 8}, {128, 128, 3, 3}, {.padding = {1, 1}}},
    };
    for (const cpu::ConvDirectPolicy policy : {cpu::ConvDirectPolicy::winograd, cpu::ConvDirectPolicy::winograd4}) {
        const DirectPolicy winograd(policy);
        for (const ConvSetting& setting : settings) check_same_bits_on_one_and_two_threads(setting);
    }
}

TEST_CASE("conv2d in float: the direct kernels, forced, match im2col + GEMM on awkward shapes (every pass)") {
    // Whatever the policy picks on this machine (kernels/cpu/conv.h), both
    // paths run here: the direct forward, input gradient (stride 1) and
    // weight gradient against im2col + OpenBLAS, in float32.
    const ConvSetting settings[] = {
        {"3x3, padding 1, 17 -> 11, 9x13, batch 1", {1, 17, 9, 13}, {11, 17, 3, 3}, {.padding = {1, 1}}},
        {"3x3, no padding, 8 -> 35 (partial blocks), 12x10, batch 3", {3, 8, 12, 10}, {35, 8, 3, 3}, {}},
        {"5x3, dilation (2, 1), padding (3, 1), 9 -> 20, 8x17", {2, 9, 8, 17}, {20, 9, 5, 3},
         {.padding = {3, 1}, .dilation = {2, 1}}},
        {"7x7 stride 2, padding 3, 3 -> 9, 19x21", {2, 3, 19, 21}, {9, 3, 7, 7}, {.stride = {2, 2}, .padding = {3, 3}}},
        {"1x5 stride (1, 2), padding (0, 2), 13 -> 33, 6x19", {1, 13, 6, 19}, {33, 13, 1, 5},
         {.stride = {1, 2}, .padding = {0, 2}}},
        {"3x3, padding 1, 40 -> 19, 4x4, batch 1 (layer4 at batch 1)", {1, 40, 4, 4}, {19, 40, 3, 3},
         {.padding = {1, 1}}},
        {"3x3 stride 2, padding 1, 3 -> 10, 13x11, batch 1 (a stem: 27 steps)", {1, 3, 13, 11}, {10, 3, 3, 3},
         {.stride = {2, 2}, .padding = {1, 1}}},
        // the direct forward's tilings (direct_tiling): most shapes above
        // are flat; by rows with a partial last vector, by rows at stride 2,
        // two rows per vector with a last odd row, and at stride 2 (AVX2)
        {"3x3, padding 1, 9 -> 13, 7x7 (by rows), batch 2", {2, 9, 7, 7}, {13, 9, 3, 3}, {.padding = {1, 1}}},
        {"3x3 stride 2, padding 1, 16 -> 6, 16x16 (by rows), batch 2", {2, 16, 16, 16}, {6, 16, 3, 3},
         {.stride = {2, 2}, .padding = {1, 1}}},
        {"3x3, padding 1, 12 -> 9, 7x4 (halves, odd rows), batch 1", {1, 12, 7, 4}, {9, 12, 3, 3}, {.padding = {1, 1}}},
        {"3x3 stride 2, padding 1, 8 -> 5, 8x8 (halves), batch 1", {1, 8, 8, 8}, {5, 8, 3, 3},
         {.stride = {2, 2}, .padding = {1, 1}}},
        // pointwise in register tiles (positions in whole vectors of 4, 8 or 16 floats)
        {"1x1, 13 -> 11 (a partial block), 4x4, batch 1", {1, 13, 4, 4}, {11, 13, 1, 1}, {}},
        {"1x1, 7 -> 12, 5x8 (a 3-vector tile, then a 2-vector one with AVX2), batch 2", {2, 7, 5, 8}, {12, 7, 1, 1}, {}},
        {"1x1, 40 -> 5, 8x14 (no whole vectors on AVX2: OpenBLAS)", {1, 40, 8, 14}, {5, 40, 1, 1}, {}},
    };
    for (const ConvSetting& setting : settings) check_policy_matches_gemm(cpu::ConvDirectPolicy::direct, setting);
}

TEST_CASE("conv2d in float: depthwise across channels, forced, matches the depthwise loops on awkward shapes (every pass)") {
    // `lanes` channels per vector (kernels/cpu/conv.cpp): a partial last
    // block, one full block and a partial one, batch 1, strides, dilation,
    // kernels of 1, 9 (in registers), 25 and 49 taps (more than nine
    // weight-gradient accumulators), 1x1 planes; every pass against the
    // depthwise loops (which the depthwise test checks against im2col).
    const ConvSetting settings[] = {
        {"3x3, padding 1, 5 channels, 9x11, batch 3", {3, 5, 9, 11}, {5, 1, 3, 3}, {.padding = {1, 1}, .groups = 5}},
        {"3x3, stride 2, padding 1, 21 channels, 7x7, batch 1", {1, 21, 7, 7}, {21, 1, 3, 3},
         {.stride = {2, 2}, .padding = {1, 1}, .groups = 21}},
        {"5x5, dilation 2, padding 3, 16 channels, 10x9, batch 2", {2, 16, 10, 9}, {16, 1, 5, 5},
         {.padding = {3, 3}, .dilation = {2, 2}, .groups = 16}},
        {"5x5, stride (3, 2), padding (0, 2), dilation 2, 9 channels", {2, 9, 13, 11}, {9, 1, 5, 5},
         {.stride = {3, 2}, .padding = {0, 2}, .dilation = {2, 2}, .groups = 9}},
        {"3x3, stride (1, 3), padding (2, 1), 13 channels, 4x4", {2, 13, 4, 4}, {13, 1, 3, 3},
         {.stride = {1, 3}, .padding = {2, 1}, .groups = 13}},
        {"1x1, 11 channels, 3x5", {2, 11, 3, 5}, {11, 1, 1, 1}, {.groups = 11}},
        {"7x7, padding 3, 3 channels, 1x1 planes, batch 1", {1, 3, 1, 1}, {3, 1, 7, 7}, {.padding = {3, 3}, .groups = 3}},
        {"3x3, padding 1, 40 channels, 33x20 (wide rows), batch 2", {2, 40, 33, 20}, {40, 1, 3, 3},
         {.padding = {1, 1}, .groups = 40}},
    };
    for (const ConvSetting& setting : settings) check_policy_matches_gemm(cpu::ConvDirectPolicy::direct, setting);
    // the depthwise loops' own thread check (the one above runs across channels)
    const DirectPolicy loops(cpu::ConvDirectPolicy::gemm);
    check_same_bits_on_one_and_two_threads(
        {"depthwise loops 3x3, 96 channels, 64x64, batch 20", {20, 96, 64, 64}, {96, 1, 3, 3}, {.padding = {1, 1}, .groups = 96}});
}
