#pragma once
// Dropout and Dropout2d modules (inverted dropout, engine/ops/dropout.cpp):
// in training each element (Dropout) or each whole channel of [N, C, H, W]
// (Dropout2d) is zeroed with probability p and the rest scaled by 1 / (1 - p);
// in eval mode the identity. Masks come from `generator` (the default stream
// unless given; the generator must outlive the module).
#include "engine/ops.h"
#include "engine/random.h"
#include "layers/module.h"

namespace kiln {

class Dropout : public Module {
public:
    explicit Dropout(double p = 0.5, Generator& generator = default_generator());
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;
    double p;

protected:
    Dropout(std::string type_name, double p, Generator& generator);
    Generator* generator_;
};

class Dropout2d : public Dropout {
public:
    explicit Dropout2d(double p = 0.5, Generator& generator = default_generator());
    Tensor forward(const Tensor& x) override;
};

}  // namespace kiln
