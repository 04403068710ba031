#include "apps/teaching/worked_examples.h"

#include <cstdio>
#include <sstream>

#include "apps/teaching/text.h"
#include "engine/ops.h"
#include "optim/optimizer.h"

namespace kiln::teaching {

namespace {

// One step of `Optimizer` on w = 1 with gradient g; returns w afterwards.
template <typename Optimizer>
double one_step(const optim::Options& options, double g) {
    Tensor w = Tensor::from_vector({1.0}, {1}, DType::float64);
    w.set_requires_grad(true);
    Optimizer optimizer({w}, options);
    w.set_grad(Tensor::from_vector({g}, {1}, DType::float64));
    optimizer.step();
    return w.item();
}

std::string two_decimals(const std::vector<double>& values) {
    std::string text = "[";
    for (size_t i = 0; i < values.size(); ++i) {
        char cell[32];
        std::snprintf(cell, sizeof cell, "%s%.2f", i ? ", " : "", values[i]);
        text += cell;
    }
    return text + "]";
}

}  // namespace

WorkedExamples worked_examples() {
    WorkedExamples e;
    e.batch_norm_input = {2.0, 0.5, -1.0, 1.5};
    // [N = 4, C = 1]: one channel, a batch of four activations; no gamma/beta (= 1, 0), no running stats.
    const Tensor x = Tensor::from_vector(e.batch_norm_input, {4, 1}, DType::float64);
    e.batch_norm_output = batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5).to_vector();
    e.batch_mean = mean(x).item();
    e.batch_variance = mean(pow(x - e.batch_mean, 2)).item();

    const double lr = e.learning_rate, g = e.gradient;
    e.sgd_w = one_step<optim::SGD>({{"lr", lr}}, g);
    {
        Tensor w = Tensor::from_vector({1.0}, {1}, DType::float64);
        w.set_requires_grad(true);
        optim::RMSprop rmsprop({w}, {{"lr", lr}, {"alpha", 0.9}});
        w.set_grad(Tensor::from_vector({g}, {1}, DType::float64));
        rmsprop.step();
        e.rmsprop_w = w.item();
        e.rmsprop_v = rmsprop.state_dict().tensors.at("state.0.square_avg").item();
    }
    e.adam_w = one_step<optim::Adam>({{"lr", lr}}, g);
    return e;
}

std::string worked_examples_text(const WorkedExamples& e) {
    std::ostringstream out;
    out << "worked_examples: seed 004's examples, computed by kiln (float64)\n\n"
        << "Batch norm (engine/ops/batch_norm.cpp -> kernels/cpu/batch_norm.cpp), training mode, gamma 1, beta 0, "
           "eps 1e-5\n"
        << "  x                 = " << vector_text(e.batch_norm_input) << '\n'
        << "  batch mean        = " << number_text(e.batch_mean) << ",  biased variance = "
        << number_text(e.batch_variance) << '\n'
        << "  (x - mean) / sqrt(var + eps) = " << two_decimals(e.batch_norm_output) << "   (full precision: "
        << vector_text(e.batch_norm_output) << ")\n\n"
        << "One optimizer step from w = 1 with gradient g = " << number_text(e.gradient) << ", lr = "
        << number_text(e.learning_rate) << " (optim/*.cpp -> kernels/common/optim.h)\n"
        << "  SGD      w - lr g                                   = " << number_text(e.sgd_w) << '\n'
        << "  RMSProp  v = 0.9 * 0 + 0.1 g^2 = " << number_text(e.rmsprop_v) << ",  w - lr g / (sqrt(v) + 1e-8) = "
        << number_text(e.rmsprop_w) << '\n'
        << "  Adam     m_hat = g, v_hat = g^2,  w - lr m_hat / (sqrt(v_hat) + 1e-8) = " << number_text(e.adam_w)
        << "\n           (the first Adam step is lr sign(g), whatever |g|; seed 004's \"1.8\" is the SGD step)\n";
    return out.str();
}

}  // namespace kiln::teaching
