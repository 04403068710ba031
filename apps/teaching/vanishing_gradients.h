#pragma once
// vanishing_gradients: why deep plain nets stop learning in their first
// layers, and why skip connections and batch norm help (seed 004's question).
//
// Four nets of the same depth, built from engine ops only (linear, sigmoid,
// relu, batch_norm, add), each hidden layer width -> width, then a linear head
// to 2 classes and cross-entropy:
//   sigmoid     h = sigmoid(W h + b)
//   relu        h = relu(W h + b)
//   relu+skip   h = h + relu(W h + b) / sqrt(depth)     (a residual block; the
//               branch is scaled so that depth additions keep h of order 1)
//   relu+bn     h = relu(batch_norm(W h) * gamma + beta) (no bias: BN removes it)
// All four start from the same weights (same seed) and see the same batch.
//
// Backprop multiplies dL/dh by W^T and by the activation's derivative once per
// layer, so the gradient reaching layer l is a product of (depth - l) such
// factors. sigmoid' <= 1/4 and small weights make each factor < 1: the
// product shrinks geometrically towards the input. ReLU's derivative is 0 or
// 1, but with small weights (PyTorch's default init) it shrinks too. A skip
// adds the identity to each factor (dh_l/dh_{l-1} = I + ...), so the gradient
// has a path that is never multiplied down; batch norm rescales each layer's
// pre-activations to unit variance, whatever the weights' scale, so the
// factors stay near 1.
//
// The measure: ||dL/dW_l||, the Frobenius norm of layer l's weight gradient,
// at initialisation and after `steps` steps of full-batch SGD.
#include <cstdint>
#include <string>
#include <vector>

namespace kiln::teaching {

struct VanishingOptions {
    int depth = 20;        // hidden layers
    int width = 32;        // units per hidden layer (and input features)
    int batch = 64;        // samples in the one training batch
    int steps = 50;        // SGD steps between the two measurements
    double lr = 0.05;      // SGD learning rate
    uint64_t seed = 1;     // data and weights
    std::string init = "default";  // "default": PyTorch's nn.Linear, U(+-1/sqrt(in)); "he": N(0, 2/in), zero bias
};

struct VariantCurves {
    std::string name;                        // "sigmoid", "relu", "relu+skip", "relu+bn"
    std::vector<double> grad_norm_init;      // ||dL/dW_l||, l = 1..depth, at initialisation
    std::vector<double> grad_norm_trained;   // the same after options.steps SGD steps
    double loss_init = 0, loss_trained = 0;  // cross-entropy at those two points
    // grad_norm[0] / grad_norm[depth - 1]: how much weaker the first layer's gradient is than the last's
    double first_to_last_init = 0, first_to_last_trained = 0;
};

struct VanishingResult {
    VanishingOptions options;
    std::vector<VariantCurves> variants;     // sigmoid, relu, relu+skip, relu+bn
};

// Builds, measures and trains the four nets. Throws kiln::Error for bad options.
VanishingResult vanishing_gradients(const VanishingOptions& options = {});

// The table the program prints.
std::string vanishing_gradients_text(const VanishingResult& result);

// An SVG of the gradient norms per layer (log scale), one panel at
// initialisation and one after training, one line per net.
std::string vanishing_gradients_svg(const VanishingResult& result);

}  // namespace kiln::teaching
