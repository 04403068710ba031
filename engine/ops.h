#pragma once
// The functional op API. Every op checks its arguments (throwing kiln::Error
// that names the op, the argument and what it got), allocates its output,
// dispatches to the tensor's backend and, when a gradient is needed, records
// its backward node. One file per op family in engine/ops/, the math in
// kernels/<backend>/.
#include <array>
#include <optional>
#include <vector>

#include "engine/random.h"
#include "kernels/common/batch_norm.h"
#include "engine/tensor.h"

namespace kiln {

// ---- element-wise binary, NumPy broadcasting (engine/ops/binary.cpp) ----
// Shapes are aligned from the right; each pair of sizes must be equal or one of
// them 1. Both operands must have the same dtype (no silent promotion).
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
// The broadcast shape of a and b, or an error naming `op`.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// dst += src in place, outside autograd (gradient accumulation). Same shape and dtype.
void accumulate_(Tensor& dst, const Tensor& src);

// ---- element-wise unary (engine/ops/unary.cpp) ----
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor pow(const Tensor& x, double exponent);
// min(max(x, lo), hi); either bound may be absent. Gradient passes where lo <= x <= hi.
Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi);

// ---- reductions (engine/ops/reduce.cpp) ----
// Over `dims` (all dims when empty); keepdim keeps them as size 1.
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
struct MaxResult {
    Tensor values;   // differentiable: the gradient goes to the (first) arg-max
    Tensor indices;  // int64
};
MaxResult max(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor max(const Tensor& x);  // over all elements, 0-d
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
// Sums `x` down to `shape` over the dims that broadcasting expanded (the
// backward of broadcasting). Differentiable.
Tensor sum_to(const Tensor& x, const Shape& shape);

// ---- linear algebra (engine/ops/matmul.cpp) ----
// torch.matmul semantics: 1-D operands are promoted and the added dim removed;
// batch dims broadcast. [.., n, k] @ [.., k, m] -> [.., n, m].
Tensor matmul(const Tensor& a, const Tensor& b);
// y = x @ weight^T + bias,  x [..., in], weight [out, in], bias [out] or undefined.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// ---- joining (engine/ops/cat.cpp) ----
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim);

// ---- operators ----
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
// A scalar operand becomes a 0-d tensor of the other operand's dtype.
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);

// ======================= CNN ops (NCHW, float32 and float64) =======================

// ---- convolution (engine/ops/conv.cpp) ----
struct Conv2dOptions {
    std::array<int64_t, 2> stride{1, 1};
    std::array<int64_t, 2> padding{0, 0};   // zeros on each side, (height, width)
    std::array<int64_t, 2> dilation{1, 1};
    int64_t groups = 1;
};
// x [N, C_in, H, W], weight [C_out, C_in / groups, kH, kW], bias [C_out] or
// undefined -> [N, C_out, H_out, W_out],
// H_out = (H + 2 pad - dilation (kH - 1) - 1) / stride + 1 (floor).
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), const Conv2dOptions& options = {});

// The activation a fused op applies to its output: the kernels' own enum
// (none, relu, relu6; kernels/common/batch_norm.h).
using FusedActivation = math::BatchNormActivation;
// Inference: act(batch_norm(conv2d(x, weight, bias, options), bn_weight,
// bn_bias, running_mean, running_var, training = false, eps)), the eval batch
// norm and the activation applied in the convolution's output pass, plane by
// plane while it is in cache (the conv kernels' epilogue): one op, one output
// tensor, the same bits as the three ops. bn_weight and bn_bias may be
// undefined (= 1 and 0); running_mean and running_var are required, [C_out].
// When a gradient is needed (grad mode on and an input requires grad) it runs
// the three differentiable ops instead. Errors name conv2d_batch_norm.
Tensor conv2d_batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options,
                         const Tensor& bn_weight, const Tensor& bn_bias, const Tensor& running_mean,
                         const Tensor& running_var, double eps = 1e-5,
                         FusedActivation activation = FusedActivation::none);

// ---- pooling (engine/ops/pool.cpp) ----
struct Pool2dOptions {
    std::array<int64_t, 2> kernel{2, 2};
    std::optional<std::array<int64_t, 2>> stride;  // default: the kernel size
    std::array<int64_t, 2> padding{0, 0};          // at most half the kernel, as in PyTorch
    bool ceil_mode = false;                         // round the output size up instead of down
    bool count_include_pad = true;                  // avg_pool2d: padded zeros count in the divisor
};
Tensor max_pool2d(const Tensor& x, const Pool2dOptions& options);
Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& options);
// PyTorch's adaptive bins: output cell i covers [floor(i H / out), ceil((i + 1) H / out)).
Tensor adaptive_avg_pool2d(const Tensor& x, std::array<int64_t, 2> output_size);

// ---- batch norm (engine/ops/batch_norm.cpp) ----
// x [N, C] or [N, C, ...]; weight, bias [C] or undefined (= 1 and 0).
// training: normalise with the batch mean and biased variance; when defined,
//   running_mean/var are updated in place: r = (1 - momentum) r + momentum * batch
//   statistic, with the unbiased variance (n / (n - 1)) for running_var.
// eval: normalise with running_mean and running_var (both required).
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5);
// relu(batch_norm(x, ...)) as one op, the same arguments and running update:
// the same values bit for bit, without the normalised tensor in memory (the
// backward masks dy with the output y > 0). Errors name batch_norm_relu.
Tensor batch_norm_relu(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                       const Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5);
// relu6(batch_norm(x, ...)) likewise (the backward passes dy where 0 < y < 6,
// relu6's rule). Errors name batch_norm_relu6.
Tensor batch_norm_relu6(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                        const Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5);

// ---- activations (engine/ops/activation.cpp; formulas in kernels/common/activation.h) ----
Tensor relu(const Tensor& x);
// min(max(x, 0), 6), PyTorch's nn.ReLU6 (hardtanh(x, 0, 6)): the gradient
// passes where 0 < x < 6, bounds excluded (clamp(x, 0, 6) passes on [0, 6]).
Tensor relu6(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor silu(const Tensor& x);         // x * sigmoid(x), a.k.a. swish
Tensor hardswish(const Tensor& x);    // x * relu6(x + 3) / 6
Tensor hardsigmoid(const Tensor& x);  // relu6(x + 3) / 6
Tensor gelu(const Tensor& x, bool tanh_approximation = false);  // x * Phi(x), exact (erf) by default

// ---- dropout (engine/ops/dropout.cpp) ----
// Inverted dropout: in training, each element is zeroed with probability p and
// the rest scaled by 1 / (1 - p); the mask comes from the Philox stream of
// `generator`. Identity when !training or p == 0. dropout2d zeroes whole
// channels of [N, C, H, W].
Tensor dropout(const Tensor& x, double p, bool training, Generator& generator = default_generator());
Tensor dropout2d(const Tensor& x, double p, bool training, Generator& generator = default_generator());

// ---- softmax (engine/ops/softmax.cpp) ----
// Numerically stable: exp(x - max) / sum exp(x - max) along dim.
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

// ---- shape (engine/ops/view.cpp, engine/ops/pad.cpp) ----
// Merges dims start_dim..end_dim into one (a reshape).
Tensor flatten(const Tensor& x, int64_t start_dim = 1, int64_t end_dim = -1);
enum class PadMode { constant, reflect, replicate };
// pads = {left, right, top, bottom, ...}: pairs for the last dim first, as torch.nn.functional.pad.
// Negative pads crop. reflect/replicate pad only the last 1 or 2 dims.
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode = PadMode::constant, double value = 0);

// ---- losses (engine/ops/loss.cpp) ----
// Targets and weight tensors must be on the device of the logits (as in
// PyTorch; a kiln::Error names the argument otherwise). Their values (targets
// in range, no NaN) are checked on a host copy; the binary focal alpha may be
// on any device (it is read as a number).
enum class Reduction { none, mean, sum };
struct CrossEntropyOptions {
    Tensor class_weights;          // [C] or undefined
    Tensor sample_weights;         // [N] or undefined: multiplies each sample's loss
    double label_smoothing = 0;    // in [0, 1)
    Reduction reduction = Reduction::mean;
};
// logits [N, C], target int64 [N] with values in [0, C). PyTorch's definition:
//   l_i = (1 - s) w[y_i] (-log p_i,y_i) + (s / C) sum_c w[c] (-log p_i,c)
// and the weighted mean divides by sum_i w[y_i] (times sample weights when given).
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options = {});
// log_probs [N, C], target int64 [N]: l_i = -w[y_i] log_probs[i, y_i]; mean divides by sum_i w[y_i].
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const Tensor& class_weights = Tensor(),
                Reduction reduction = Reduction::mean);
// logits and target (float, same shape, target in [0, 1]); pos_weight broadcasts over the last dim:
//   l = -[pos_weight t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))]
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, const Tensor& pos_weight = Tensor(),
                                        Reduction reduction = Reduction::mean);
struct FocalLossOptions {
    double gamma = 2;
    Tensor alpha;  // multi-class: [C] per-class weights; binary: a 0-d/1-element tensor, weight of the positive class
    Reduction reduction = Reduction::mean;
};
// Multi-class (Lin et al. 2017): logits [N, C], target int64 [N]:
//   l_i = -alpha[y_i] (1 - p_i,y_i)^gamma log p_i,y_i     (gamma = 0, no alpha: cross-entropy)
Tensor focal_loss(const Tensor& logits, const Tensor& target, const FocalLossOptions& options = {});
// Binary: logits and float targets of the same shape, p_t = p if t = 1 else 1 - p,
//   l = -alpha_t (1 - p_t)^gamma log p_t,  alpha_t = alpha for t = 1, 1 - alpha for t = 0.
Tensor binary_focal_loss(const Tensor& logits, const Tensor& target, const FocalLossOptions& options = {});
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);

}  // namespace kiln
