#include "apps/teaching/conv_by_hand.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "engine/autograd.h"
#include "engine/gradcheck.h"
#include "engine/ops.h"
#include "kernels/common/conv.h"
#include "kernels/cpu/gemm.h"

namespace kiln::teaching {

namespace {

constexpr int64_t side = 5, k = 3;
// Both methods compute the same sums in float64, in different orders.
constexpr double agreement_tolerance = 1e-12;

Matrix to_matrix(const Tensor& t, int64_t rows, int64_t cols) { return Matrix(rows, cols, t.to_vector()); }

ConvCost run_cost(const std::string& name, int64_t in, int64_t size, const Shape& weight_shape, int64_t groups,
                  int64_t padding) {
    NoGradGuard no_grad;
    const Tensor x = Tensor::rand({1, in, size, size});
    const Tensor w = Tensor::rand(weight_shape);
    Conv2dOptions options;
    options.padding = {padding, padding};
    options.groups = groups;
    const auto start = std::chrono::steady_clock::now();
    const Tensor y = conv2d(x, w, Tensor(), options);
    ConvCost cost;
    cost.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    cost.name = name;
    cost.weight_shape = weight_shape;
    cost.output_shape = y.shape();
    cost.groups = groups;
    cost.parameters = w.numel();
    cost.macs = y.numel() * weight_shape[1] * weight_shape[2] * weight_shape[3];  // each output: (C_in/groups) kH kW
    return cost;
}

}  // namespace

ConvByHandResult conv_by_hand(const ConvByHandOptions& options) {
    KILN_CHECK(options.stride >= 1 && options.padding >= 0 && options.padding < k,
               "conv_by_hand: stride must be >= 1 and padding in [0, 2]");
    KILN_CHECK(options.block_in >= 1 && options.block_out >= 1 && options.block_size >= 1 && options.block_kernel >= 1 &&
                   options.block_kernel % 2 == 1,
               "conv_by_hand: the block needs positive channels and size and an odd kernel");
    ConvByHandResult r;
    r.options = options;
    const int64_t s = options.stride, p = options.padding;
    const int64_t out = (side + 2 * p - k) / s + 1, L = out * out;

    // x: a ramp 0..4 left to right, plus 4 on the diagonal (the "scratch"); w: vertical Sobel.
    r.image = Matrix(side, side);
    for (int64_t i = 0; i < side; ++i)
        for (int64_t j = 0; j < side; ++j) r.image.at(i, j) = double(j) + (i == j ? 4.0 : 0.0);
    r.kernel = Matrix(k, k, {1, 0, -1, 2, 0, -2, 1, 0, -1});
    r.upstream = Matrix(out, out);
    for (int64_t l = 0; l < L; ++l) r.upstream.values[size_t(l)] = double(l + 1);  // G = 1, 2, ..., L

    // ---- kiln's conv2d and its backward ----
    Conv2dOptions conv_options;
    conv_options.stride = {s, s};
    conv_options.padding = {p, p};
    auto make_leaf = [](const Matrix& m) {
        Tensor t = Tensor::from_vector(m.values, {1, 1, m.rows, m.cols}, DType::float64);
        t.set_requires_grad(true);
        return t;
    };
    const Tensor x = make_leaf(r.image), w = make_leaf(r.kernel);
    const Tensor G = Tensor::from_vector(r.upstream.values, {1, 1, out, out}, DType::float64);
    const Tensor y = conv2d(x, w, Tensor(), conv_options);
    sum(y * G).backward();
    r.output = to_matrix(y, out, out);
    r.grad_input = to_matrix(x.grad(), side, side);
    r.grad_weight = to_matrix(w.grad(), k, k);

    // ---- by hand: im2col, then three GEMMs and col2im ----
    r.columns = Matrix(k * k, L);
    for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < k; ++j)
            for (int64_t oh = 0; oh < out; ++oh)
                for (int64_t ow = 0; ow < out; ++ow) {
                    const int64_t ih = math::conv_input_index(oh, i, s, p, 1), iw = math::conv_input_index(ow, j, s, p, 1);
                    const bool inside = ih >= 0 && ih < side && iw >= 0 && iw < side;
                    r.columns.at(i * k + j, oh * out + ow) = inside ? r.image.at(ih, iw) : 0.0;  // zero padding
                }
    r.output_gemm = Matrix(out, out);        // [1, L] viewed as out x out
    cpu::gemm<double>(false, false, 1, L, k * k, 1.0, r.kernel.values.data(), k * k, r.columns.values.data(), L, 0.0,
                      r.output_gemm.values.data(), L);
    r.grad_weight_gemm = Matrix(k, k);       // [1, 9] viewed as 3 x 3
    cpu::gemm<double>(false, true, 1, k * k, L, 1.0, r.upstream.values.data(), L, r.columns.values.data(), L, 0.0,
                      r.grad_weight_gemm.values.data(), k * k);
    r.grad_columns = Matrix(k * k, L);
    cpu::gemm<double>(true, false, k * k, L, 1, 1.0, r.kernel.values.data(), k * k, r.upstream.values.data(), L, 0.0,
                      r.grad_columns.values.data(), L);
    r.grad_input_col2im = Matrix(side, side);
    for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < k; ++j)
            for (int64_t oh = 0; oh < out; ++oh)
                for (int64_t ow = 0; ow < out; ++ow) {
                    const int64_t ih = math::conv_input_index(oh, i, s, p, 1), iw = math::conv_input_index(ow, j, s, p, 1);
                    if (ih >= 0 && ih < side && iw >= 0 && iw < side)  // padding pixels have no gradient to receive
                        r.grad_input_col2im.at(ih, iw) += r.grad_columns.at(i * k + j, oh * out + ow);
                }
    r.max_difference = std::max({max_abs_difference(r.output.values, r.output_gemm.values),
                                 max_abs_difference(r.grad_input.values, r.grad_input_col2im.values),
                                 max_abs_difference(r.grad_weight.values, r.grad_weight_gemm.values)});

    // ---- conv2d's backward against finite differences on these inputs ----
    const GradcheckResult check = gradcheck(
        [&](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], Tensor(), conv_options); },
        {make_leaf(r.image), make_leaf(r.kernel)});
    r.gradcheck_error = check.max_abs_error;
    r.gradcheck_passed = check.passed;

    // ---- the MobileNet block ----
    const int64_t cin = options.block_in, cout = options.block_out, size = options.block_size, kk = options.block_kernel;
    r.regular = run_cost("regular " + std::to_string(kk) + "x" + std::to_string(kk), cin, size, {cout, cin, kk, kk}, 1, kk / 2);
    r.depthwise = run_cost("depthwise " + std::to_string(kk) + "x" + std::to_string(kk), cin, size, {cin, 1, kk, kk}, cin, kk / 2);
    r.pointwise = run_cost("pointwise 1x1", cin, size, {cout, cin, 1, 1}, 1, 0);
    r.separable_parameters = r.depthwise.parameters + r.pointwise.parameters;
    r.separable_macs = r.depthwise.macs + r.pointwise.macs;
    r.parameter_ratio = double(r.separable_parameters) / double(r.regular.parameters);
    r.mac_ratio = double(r.separable_macs) / double(r.regular.macs);
    r.formula_ratio = 1.0 / double(cout) + 1.0 / double(kk * kk);
    const int64_t pixels = size * size;  // stride 1, "same" padding
    const bool costs_match = r.regular.parameters == cout * cin * kk * kk &&
                             r.separable_parameters == cin * kk * kk + cin * cout &&
                             r.regular.macs == pixels * cout * cin * kk * kk &&
                             r.separable_macs == pixels * (cin * kk * kk + cin * cout) &&
                             std::fabs(r.mac_ratio - r.formula_ratio) < 1e-12;
    r.passed = r.max_difference <= agreement_tolerance && r.gradcheck_passed && costs_match;
    return r;
}

std::string conv_by_hand_text(const ConvByHandResult& r) {
    const ConvByHandOptions& o = r.options;
    std::ostringstream out;
    out << "conv_by_hand: a 5x5 image, a 3x3 kernel (stride " << o.stride << ", padding " << o.padding
        << "), one channel, float64\n"
        << "  y[oh, ow] = sum_ij w[i, j] x[oh*s - p + i, ow*s - p + j]   (cross-correlation, as in every DL framework)\n\n";
    out << side_by_side({{"x (ramp + diagonal scratch)", r.image}, {"w (vertical Sobel)", r.kernel},
                         {"y = conv2d(x, w)", r.output}});
    out << "\nBackward, for L = sum(G * y), so that dL/dy = G:\n";
    out << side_by_side({{"G = dL/dy", r.upstream}, {"dL/dx", r.grad_input}, {"dL/dw", r.grad_weight}});
    out << "  dL/dw[i, j] = sum G[oh, ow] x[oh*s - p + i, ow*s - p + j]  (x correlated with G)\n"
        << "  dL/dx[a, b] = sum of G[oh, ow] w[i, j] over the taps that read x[a, b]  (G convolved with flipped w)\n";
    out << "\nThe same by im2col + GEMM. im2col: row (i, j) = tap, column (oh, ow) = output position;\n"
           "column l holds the " << k * k << " pixels the kernel covers at output l (0 = padding):\n";
    out << matrix_text(r.columns);
    out << "  y  = w as a row [1 x 9] @ columns               dL/dw = G as a row [1 x L] @ columns^T\n"
        << "  dcolumns = w^T [9 x 1] @ G [1 x L], then col2im adds each entry back onto its pixel -> dL/dx\n";
    out << side_by_side({{"w @ columns", r.output_gemm}, {"G @ columns^T", r.grad_weight_gemm},
                         {"col2im(w^T @ G)", r.grad_input_col2im}});
    out << "  largest difference, conv2d vs im2col + GEMM: " << number_text(r.max_difference, 3)
        << (r.max_difference <= agreement_tolerance ? "  ok" : "  MISMATCH") << '\n'
        << "  gradcheck of conv2d on (x, w): max |analytic - numeric| = " << number_text(r.gradcheck_error, 3)
        << (r.gradcheck_passed ? "  ok" : "  FAILED") << '\n';

    out << "\nCost of a MobileNet block: " << o.block_in << " -> " << o.block_out << " channels, " << o.block_kernel
        << "x" << o.block_kernel << ", " << o.block_size << "x" << o.block_size << " input, stride 1, same padding\n"
        << "(each conv run once through conv2d; parameters = weight elements, MACs = output elements x C_in/groups x k^2)\n";
    char line[256];
    std::snprintf(line, sizeof line, "  %-16s %-16s %12s %14s %14s %10s\n", "conv", "weight", "parameters",
                  "multiply-adds", "FLOPs", "time here");
    out << line;
    for (const ConvCost* c : {&r.regular, &r.depthwise, &r.pointwise}) {
        std::snprintf(line, sizeof line, "  %-16s %-16s %12lld %14lld %14lld %8.1f ms\n", c->name.c_str(),
                      shape_str(c->weight_shape).c_str(), (long long)c->parameters, (long long)c->macs,
                      (long long)c->flops(), 1e3 * c->seconds);
        out << line;
    }
    std::snprintf(line, sizeof line, "  %-16s %-16s %12lld %14lld %14lld %8.1f ms\n", "separable", "dw + pw",
                  (long long)r.separable_parameters, (long long)r.separable_macs, 2 * (long long)r.separable_macs,
                  1e3 * (r.depthwise.seconds + r.pointwise.seconds));
    out << line;
    std::snprintf(line, sizeof line, "  separable / regular: parameters %.4f, multiply-adds %.4f = 1/%lld + 1/%lld = %.4f\n",
                  r.parameter_ratio, r.mac_ratio, (long long)o.block_out, (long long)(o.block_kernel * o.block_kernel),
                  r.formula_ratio);
    out << line
        << "  (time: one forward run each, float32 on this machine's cpu: an illustration, not a benchmark)\n";
    out << (r.passed ? "all checks passed\n" : "SOME CHECKS FAILED\n");
    return out.str();
}

}  // namespace kiln::teaching
