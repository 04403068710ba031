#pragma once
// Linear: y = x weight^T + bias, torch.nn.Linear's parameters
//   weight [out_features, in_features], bias [out_features] (optional)
// and default initialisation (weight U(-1/sqrt(in), 1/sqrt(in)) through
// kaiming_uniform_(a = sqrt(5)); bias the same bound).
// Input [..., in_features] -> [..., out_features].
#include "engine/ops.h"
#include "engine/random.h"
#include "layers/module.h"

namespace kiln {

class Linear : public Module {
public:
    Linear(int64_t in_features, int64_t out_features, bool bias = true, Generator& generator = default_generator());

    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;
    int64_t forward_flops(const Shape& input, const Shape& output) const override;

    int64_t in_features, out_features;
    Tensor weight, bias;
};

}  // namespace kiln
