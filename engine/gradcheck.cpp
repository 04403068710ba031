#include "engine/gradcheck.h"

#include <cmath>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/random.h"

namespace kiln {

namespace {

// "[1, 2]": the multi-index of flat element `flat` in `shape`.
std::string index_str(const Shape& shape, int64_t flat) {
    Shape index(shape.size());
    for (size_t d = shape.size(); d-- > 0;) {
        index[d] = flat % shape[d];
        flat /= shape[d];
    }
    return shape_str(index);
}

// L = sum(fn(inputs) * projection) as a double, without recording a graph.
double projected_loss(const OpFunction& fn, const std::vector<Tensor>& inputs, const Tensor& projection) {
    NoGradGuard no_grad;
    return sum(mul(fn(inputs), projection)).item();
}

Tensor uniform_like(const Shape& shape, DType dtype, double lo, double hi, Generator& generator) {
    NoGradGuard no_grad;
    return (Tensor::rand(shape, dtype, generator) * (hi - lo) + lo).detach();
}

}  // namespace

GradcheckResult gradcheck(const OpFunction& fn, const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
    for (size_t i = 0; i < inputs.size(); ++i)
        KILN_CHECK(inputs[i].dtype() == DType::float64 && inputs[i].is_leaf() && inputs[i].requires_grad() &&
                       inputs[i].is_contiguous(),
                   "gradcheck: input ", i, " must be a contiguous float64 leaf that requires grad");
    Generator generator(options.seed);
    const Tensor out = fn(inputs);
    KILN_CHECK(out.requires_grad(), "gradcheck: the function's output does not require grad");
    const Tensor projection = uniform_like(out.shape(), DType::float64, -1, 1, generator);

    // Seed .grad with noise; backward must add to it.
    std::vector<Tensor> seeds;
    for (const Tensor& input : inputs) {
        seeds.push_back(uniform_like(input.shape(), DType::float64, 0.5, 1.5, generator));
        Tensor(input).set_grad(seeds.back().clone());
    }
    out.backward(projection);

    GradcheckResult result;
    for (size_t i = 0; i < inputs.size(); ++i) {
        const Tensor& input = inputs[i];
        KILN_CHECK(input.grad().defined(), "gradcheck: input ", i, " received no gradient");
        const std::vector<double> analytic = (input.grad() - seeds[i]).to_vector();
        double* values = input.data<double>();
        for (int64_t e = 0; e < input.numel(); ++e) {
            const double saved = values[e];
            values[e] = saved + options.eps;
            const double plus = projected_loss(fn, inputs, projection);
            values[e] = saved - options.eps;
            const double minus = projected_loss(fn, inputs, projection);
            values[e] = saved;
            const double numeric = (plus - minus) / (2 * options.eps);
            const double error = std::abs(analytic[size_t(e)] - numeric);
            const std::string where = str("input ", i, " element ", index_str(input.shape(), e), ": analytic ",
                                          analytic[size_t(e)], ", numeric ", numeric);
            if (!(error <= result.max_abs_error)) {  // also catches NaN
                result.max_abs_error = error;
                result.worst = where;
            }
            if (!(error <= options.atol + options.rtol * std::abs(numeric)) && result.passed) {
                result.passed = false;
                result.failure = where;
            }
        }
    }
    return result;
}

std::vector<Tensor> make_inputs(const OpCase& c, DType dtype, uint64_t seed) {
    Generator generator(seed);
    std::vector<Tensor> inputs;
    for (size_t i = 0; i < c.shapes.size(); ++i) {
        const auto [lo, hi] = i < c.ranges.size() ? c.ranges[i] : std::pair<double, double>{-1, 1};
        // Draw in float64 and convert, so float32 and float64 runs see the same values.
        Tensor input = uniform_like(c.shapes[i], DType::float64, lo, hi, generator).to(dtype);
        input.set_requires_grad(true);
        inputs.push_back(input);
    }
    return inputs;
}

GradcheckResult run_gradcheck(const OpCase& c, uint64_t seed) {
    GradcheckOptions options;
    options.eps = c.eps;
    options.atol = c.atol;
    options.seed = seed;
    return gradcheck(c.fn, make_inputs(c, DType::float64, seed), options);
}

PrecisionResult run_float32_check(const OpCase& c, uint64_t seed) {
    PrecisionResult result;
    std::vector<Tensor> outputs_and_grads[2];
    const DType dtypes[2] = {DType::float64, DType::float32};
    Tensor projection;
    for (int k = 0; k < 2; ++k) {
        const std::vector<Tensor> inputs = make_inputs(c, dtypes[k], seed);
        const Tensor out = c.fn(inputs);
        if (k == 0) {
            Generator generator(seed + 1);
            projection = uniform_like(out.shape(), DType::float64, -1, 1, generator);
        }
        out.backward(projection.to(out.dtype()));
        outputs_and_grads[k].push_back(out.detach());
        for (const Tensor& input : inputs) outputs_and_grads[k].push_back(input.grad());
    }
    for (size_t t = 0; t < outputs_and_grads[0].size(); ++t) {
        const std::vector<double> reference = outputs_and_grads[0][t].to_vector();
        const std::vector<double> single = outputs_and_grads[1][t].to_vector();
        double scale = 1;
        for (double v : reference) scale = std::max(scale, std::abs(v));
        for (size_t e = 0; e < reference.size(); ++e) {
            const double error = std::abs(single[e] - reference[e]) / scale;
            if (!(error <= result.max_error)) {
                result.max_error = error;
                result.worst = str(t == 0 ? std::string("output") : str("gradient of input ", t - 1), " element ",
                                   index_str(outputs_and_grads[0][t].shape(), int64_t(e)), ": float32 ", single[e],
                                   ", float64 ", reference[e]);
            }
        }
    }
    result.passed = result.max_error <= float32_tolerance;
    return result;
}

}  // namespace kiln
