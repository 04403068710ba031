#include "apps/teaching/vanishing_gradients.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "apps/teaching/text.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/random.h"
#include "optim/optimizer.h"

namespace kiln::teaching {

namespace {

constexpr int64_t classes = 2;
const char* const variant_names[] = {"sigmoid", "relu", "relu+skip", "relu+bn"};
enum class Variant { sigmoid, relu, relu_skip, relu_bn };

struct Net {
    Variant variant;
    std::vector<Tensor> weights, biases;  // per hidden layer (biases unused by relu+bn)
    std::vector<Tensor> gammas, betas;    // relu+bn only
    Tensor head_weight, head_bias;
    double branch_scale = 1;              // relu+skip: 1 / sqrt(depth)

    std::vector<Tensor> parameters() const {
        std::vector<Tensor> all = weights;
        if (variant == Variant::relu_bn) {
            all.insert(all.end(), gammas.begin(), gammas.end());
            all.insert(all.end(), betas.begin(), betas.end());
        } else {
            all.insert(all.end(), biases.begin(), biases.end());
        }
        all.push_back(head_weight);
        all.push_back(head_bias);
        return all;
    }

    Tensor forward(const Tensor& x) const {
        Tensor h = x;
        for (size_t l = 0; l < weights.size(); ++l) {
            switch (variant) {
                case Variant::sigmoid: h = sigmoid(linear(h, weights[l], biases[l])); break;
                case Variant::relu: h = relu(linear(h, weights[l], biases[l])); break;
                case Variant::relu_skip: h = h + relu(linear(h, weights[l], biases[l])) * branch_scale; break;
                case Variant::relu_bn:  // batch statistics (training mode), no running averages needed here
                    h = relu(batch_norm(linear(h, weights[l]), gammas[l], betas[l], Tensor(), Tensor(), true));
                    break;
            }
        }
        return linear(h, head_weight, head_bias);
    }
};

Tensor leaf(const Tensor& values) {
    Tensor t = values.detach().contiguous().clone();
    t.set_requires_grad(true);
    return t;
}

// The same initial values for every variant: drawn once, copied into each net.
struct InitialWeights {
    std::vector<Tensor> weights, biases;
    Tensor head_weight, head_bias;
};

InitialWeights draw_weights(const VanishingOptions& o, Generator& generator) {
    NoGradGuard no_grad;
    auto uniform = [&](const Shape& shape, double bound) {
        return Tensor::rand(shape, DType::float32, generator) * (2 * bound) - bound;
    };
    auto layer = [&](int64_t out, int64_t in, Tensor& weight, Tensor& bias) {
        const double bound = 1 / std::sqrt(double(in));
        if (o.init == "he") {
            weight = Tensor::randn({out, in}, DType::float32, generator) * std::sqrt(2.0 / double(in));
            bias = Tensor::zeros({out});
        } else {
            weight = uniform({out, in}, bound);
            bias = uniform({out}, bound);
        }
    };
    InitialWeights w;
    w.weights.resize(static_cast<size_t>(o.depth));
    w.biases.resize(static_cast<size_t>(o.depth));
    for (int l = 0; l < o.depth; ++l) layer(o.width, o.width, w.weights[size_t(l)], w.biases[size_t(l)]);
    layer(classes, o.width, w.head_weight, w.head_bias);
    return w;
}

Net make_net(Variant variant, const InitialWeights& init, int width) {
    Net net;
    net.variant = variant;
    // Scaling each residual branch by 1/sqrt(depth) keeps the sum of `depth`
    // branches of the order of the input (what BN inside the branch does in a
    // ResNet, and Fixup/SkipInit do by initialisation); unscaled, the
    // activations grow geometrically with depth and SGD diverges.
    net.branch_scale = 1 / std::sqrt(double(init.weights.size()));
    for (size_t l = 0; l < init.weights.size(); ++l) {
        net.weights.push_back(leaf(init.weights[l]));
        net.biases.push_back(leaf(init.biases[l]));
        net.gammas.push_back(leaf(Tensor::ones({width})));
        net.betas.push_back(leaf(Tensor::zeros({width})));
    }
    net.head_weight = leaf(init.head_weight);
    net.head_bias = leaf(init.head_bias);
    return net;
}

// One forward and backward; returns the loss and leaves ||dL/dW_l|| in `norms`.
double measure(const Net& net, const Tensor& x, const Tensor& labels, std::vector<double>& norms) {
    for (const Tensor& p : net.parameters()) const_cast<Tensor&>(p).set_grad(Tensor());
    const Tensor loss = cross_entropy(net.forward(x), labels);
    loss.backward();
    norms.clear();
    for (const Tensor& w : net.weights) {
        const Tensor g = w.grad().to(DType::float64);
        norms.push_back(std::sqrt(sum(g * g).item()));
    }
    return loss.item();
}

}  // namespace

VanishingResult vanishing_gradients(const VanishingOptions& options) {
    KILN_CHECK(options.depth >= 2 && options.depth <= 200, "vanishing_gradients: depth must be in [2, 200], got ",
               options.depth);
    KILN_CHECK(options.width >= 2 && options.batch >= 2 && options.steps >= 0,
               "vanishing_gradients: width and batch must be >= 2 and steps >= 0");
    KILN_CHECK(options.init == "default" || options.init == "he", "vanishing_gradients: init must be default or he, got \"",
               options.init, "\"");
    VanishingResult result;
    result.options = options;
    Generator generator(options.seed);
    const int64_t width = options.width, batch = options.batch;
    // Data: standard normal features; the class is whether the first two features sum to more than 0.
    const Tensor x = Tensor::randn({batch, width}, DType::float32, generator);
    const std::vector<double> features = x.to_vector();
    std::vector<int64_t> label_values(static_cast<size_t>(batch));
    for (int64_t n = 0; n < batch; ++n)
        label_values[size_t(n)] = features[size_t(n * width)] + features[size_t(n * width + 1)] > 0 ? 1 : 0;
    const Tensor labels = Tensor::from_int64(label_values, {batch});
    const InitialWeights init = draw_weights(options, generator);

    for (int v = 0; v < 4; ++v) {
        const Net net = make_net(Variant(v), init, options.width);
        VariantCurves curves;
        curves.name = variant_names[v];
        curves.loss_init = measure(net, x, labels, curves.grad_norm_init);
        optim::SGD sgd(net.parameters(), {{"lr", options.lr}});
        for (int step = 0; step < options.steps; ++step) {
            sgd.zero_grad();
            cross_entropy(net.forward(x), labels).backward();
            sgd.step();
        }
        curves.loss_trained = measure(net, x, labels, curves.grad_norm_trained);
        curves.first_to_last_init = curves.grad_norm_init.front() / curves.grad_norm_init.back();
        curves.first_to_last_trained = curves.grad_norm_trained.front() / curves.grad_norm_trained.back();
        result.variants.push_back(std::move(curves));
    }
    return result;
}

std::string vanishing_gradients_text(const VanishingResult& result) {
    const VanishingOptions& o = result.options;
    std::ostringstream out;
    out << "vanishing_gradients: " << o.depth << " hidden layers of " << o.width << " units, batch " << o.batch
        << ", init " << (o.init == "he" ? "He N(0, 2/in)" : "PyTorch default U(+-1/sqrt(in))") << ", seed "
        << o.seed << "\n"
        << "||dL/dW_l||: the norm of layer l's weight gradient (layer 1 is next to the input)\n\n";
    auto table = [&](const char* title, bool trained) {
        char cell[48];
        out << title << '\n' << "  layer     ";
        for (const VariantCurves& c : result.variants) {
            std::snprintf(cell, sizeof cell, " %12s", c.name.c_str());
            out << cell;
        }
        out << '\n';
        auto row = [&](const std::string& label, auto value, const char* format) {
            std::snprintf(cell, sizeof cell, "  %-10s", label.c_str());
            out << cell;
            for (const VariantCurves& c : result.variants) {
                std::snprintf(cell, sizeof cell, format, value(c));
                out << cell;
            }
            out << '\n';
        };
        for (int l = 0; l < o.depth; ++l)
            row(std::to_string(l + 1), [&](const VariantCurves& c) {
                return (trained ? c.grad_norm_trained : c.grad_norm_init)[size_t(l)];
            }, " %12.3e");
        row("first/last", [&](const VariantCurves& c) { return trained ? c.first_to_last_trained : c.first_to_last_init; },
            " %12.3e");
        row("loss", [&](const VariantCurves& c) { return trained ? c.loss_trained : c.loss_init; }, " %12.4f");
        out << '\n';
    };
    table("At initialisation", false);
    char title[96];
    std::snprintf(title, sizeof title, "After %d steps of SGD (lr %g) on the same batch", o.steps, o.lr);
    table(title, true);

    out << "Reading it:\n";
    for (const VariantCurves& c : result.variants) {
        const double ratio = c.first_to_last_init;
        out << "  " << c.name << std::string(10 - c.name.size(), ' ') << ": at init the first layer's gradient is "
            << number_text(ratio, 3) << " x the last layer's"
            << (ratio < 1e-3 ? " (vanished)" : ratio > 1e3 ? " (exploded)" : "") << "; loss "
            << number_text(c.loss_init, 4) << " -> " << number_text(c.loss_trained, 4) << " after " << o.steps
            << " steps\n";
    }
    out << "  Backprop multiplies the gradient by W^T and by the activation's derivative once per\n"
           "  layer. sigmoid' <= 0.25, so the product shrinks geometrically with depth and the first\n"
           "  layers cannot learn; ReLU's derivative is 1 where active, but small weights still shrink\n"
           "  it (try --init he: scaled for ReLU, the plain ReLU net keeps its gradient at init).\n"
           "  A skip adds the identity to every factor (dh_l/dh_l-1 = I + ...), and batch norm rescales\n"
           "  every layer to unit variance whatever the weights, so those first layers keep a gradient\n"
           "  of the same order as the last, and those nets train. A net that cannot learn stays near\n"
           "  the loss of a constant guess, about ln 2 = 0.693 for two classes.\n";
    return out.str();
}

std::string vanishing_gradients_svg(const VanishingResult& result) {
    const int depth = result.options.depth;
    const double panel_w = 360, panel_h = 260, margin = 60, gap = 70, legend_h = 40;
    const double width = 2 * margin + 2 * panel_w + gap, height = margin + panel_h + 50 + legend_h;
    // One log10 axis for both panels, over every finite positive norm.
    double lo = INFINITY, hi = -INFINITY;
    for (const VariantCurves& c : result.variants)
        for (const auto* curve : {&c.grad_norm_init, &c.grad_norm_trained})
            for (double v : *curve)
                if (v > 0 && std::isfinite(v)) {
                    lo = std::min(lo, std::log10(v));
                    hi = std::max(hi, std::log10(v));
                }
    if (!(lo <= hi)) lo = -1, hi = 0;
    lo = std::floor(lo), hi = std::ceil(hi);
    if (hi == lo) hi = lo + 1;
    const char* colours[] = {"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e"};
    std::ostringstream svg;
    svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
        << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    for (int panel = 0; panel < 2; ++panel) {
        const double x0 = margin + panel * (panel_w + gap), y0 = margin;
        auto px = [&](double layer) { return x0 + (layer - 1) / std::max(1, depth - 1) * panel_w; };
        auto py = [&](double value) { return y0 + (hi - std::log10(value)) / (hi - lo) * panel_h; };
        svg << "<rect x=\"" << x0 << "\" y=\"" << y0 << "\" width=\"" << panel_w << "\" height=\"" << panel_h
            << "\" fill=\"none\" stroke=\"black\"/>\n";
        const int label_step = std::max(1, int(std::ceil((hi - lo) / 8)));
        for (double e = lo; e <= hi; e += label_step) {
            const double y = y0 + (hi - e) / (hi - lo) * panel_h;
            svg << "<line x1=\"" << x0 << "\" x2=\"" << x0 + panel_w << "\" y1=\"" << y << "\" y2=\"" << y
                << "\" stroke=\"#e0e0e0\"/>\n<text x=\"" << x0 - 6 << "\" y=\"" << y + 4
                << "\" text-anchor=\"end\">1e" << e << "</text>\n";
        }
        for (int l = 1; l <= depth; l += std::max(1, depth / 10))
            svg << "<text x=\"" << px(l) << "\" y=\"" << y0 + panel_h + 16 << "\" text-anchor=\"middle\">" << l
                << "</text>\n";
        svg << "<text x=\"" << x0 + panel_w / 2 << "\" y=\"" << y0 + panel_h + 34
            << "\" text-anchor=\"middle\">layer (1 = next to the input)</text>\n<text x=\"" << x0 + panel_w / 2
            << "\" y=\"" << y0 - 10 << "\" text-anchor=\"middle\" font-weight=\"bold\">"
            << (panel == 0 ? std::string("at initialisation")
                           : "after " + std::to_string(result.options.steps) + " SGD steps")
            << "</text>\n";
        for (size_t v = 0; v < result.variants.size(); ++v) {
            const std::vector<double>& curve =
                panel == 0 ? result.variants[v].grad_norm_init : result.variants[v].grad_norm_trained;
            svg << "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"" << colours[v % 4] << "\" points=\"";
            for (size_t l = 0; l < curve.size(); ++l)
                if (curve[l] > 0 && std::isfinite(curve[l])) svg << px(double(l + 1)) << ',' << py(curve[l]) << ' ';
            svg << "\"/>\n";
        }
    }
    svg << "<text x=\"" << 14 << "\" y=\"" << margin + panel_h / 2 << "\" transform=\"rotate(-90 14 "
        << margin + panel_h / 2 << ")\" text-anchor=\"middle\">||dL/dW|| (log scale)</text>\n";
    for (size_t v = 0; v < result.variants.size(); ++v) {
        const double x = margin + double(v) * 160, y = height - legend_h / 2;
        svg << "<line x1=\"" << x << "\" x2=\"" << x + 24 << "\" y1=\"" << y - 4 << "\" y2=\"" << y - 4
            << "\" stroke-width=\"3\" stroke=\"" << colours[v % 4] << "\"/><text x=\"" << x + 30 << "\" y=\"" << y
            << "\">" << result.variants[v].name << "</text>\n";
    }
    svg << "</svg>\n";
    return svg.str();
}

}  // namespace kiln::teaching
