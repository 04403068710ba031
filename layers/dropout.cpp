#include "layers/dropout.h"

namespace kiln {

Dropout::Dropout(std::string kind, double p_, Generator& generator)
    : Module(std::move(kind)), p(p_), generator_(&generator) {
    KILN_CHECK(p >= 0 && p <= 1, Module::type_name(), ": p must be in [0, 1], got ", p);
}

Dropout::Dropout(double p_, Generator& generator) : Dropout("Dropout", p_, generator) {}
Dropout2d::Dropout2d(double p_, Generator& generator) : Dropout("Dropout2d", p_, generator) {}

Tensor Dropout::forward(const Tensor& x) { return dropout(x, p, is_training(), *generator_); }
Tensor Dropout2d::forward(const Tensor& x) { return dropout2d(x, p, is_training(), *generator_); }

std::string Dropout::extra_repr() const { return str("p=", p); }

}  // namespace kiln
