#include "layers/linear.h"

#include <cmath>

#include "layers/init.h"

namespace kiln {

Linear::Linear(int64_t in_features_, int64_t out_features_, bool has_bias, Generator& generator)
    : Module("Linear"), in_features(in_features_), out_features(out_features_) {
    KILN_CHECK(in_features > 0 && out_features > 0, "Linear: in_features ", in_features, " and out_features ",
               out_features, " must be positive");
    weight = register_parameter("weight", Tensor::zeros({out_features, in_features}));
    if (has_bias) bias = register_parameter("bias", Tensor::zeros({out_features}));
    if (!init::DeferInit::active()) init::default_init_(weight, bias, generator);
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias); }

std::string Linear::extra_repr() const {
    return str("in_features=", in_features, ", out_features=", out_features, ", bias=", bias.defined() ? "True" : "False");
}

int64_t Linear::forward_flops(const Shape&, const Shape& output) const {
    return numel_of(output) * (2 * in_features + (bias.defined() ? 1 : 0));
}

}  // namespace kiln
