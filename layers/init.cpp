#include "layers/init.h"

#include <cmath>

#include "engine/autograd.h"
#include "engine/ops.h"

namespace kiln::init {

namespace {

thread_local bool defer_init = false;

int64_t receptive_field(const Tensor& weight) {
    KILN_CHECK(weight.dim() >= 2, "init: a weight needs at least 2 dims to have a fan, got ", shape_str(weight.shape()));
    int64_t size = 1;
    for (int64_t d = 2; d < weight.dim(); ++d) size *= weight.size(d);
    return size;
}

// Values are drawn on the cpu in the tensor's dtype, then copied to its device.
void assign(const Tensor& tensor, const Tensor& values) {
    NoGradGuard no_grad;
    Tensor(tensor).copy_(values.to(tensor.device()));
}

}  // namespace

DeferInit::DeferInit() : previous_(defer_init) { defer_init = true; }
DeferInit::~DeferInit() { defer_init = previous_; }
bool DeferInit::active() { return defer_init; }

int64_t fan_in(const Tensor& weight) { return weight.size(1) * receptive_field(weight); }
int64_t fan_out(const Tensor& weight) { return weight.size(0) * receptive_field(weight); }

void uniform_(const Tensor& tensor, double low, double high, Generator& generator) {
    NoGradGuard no_grad;
    assign(tensor, Tensor::rand(tensor.shape(), tensor.dtype(), generator) * (high - low) + low);
}

void normal_(const Tensor& tensor, double mean, double std, Generator& generator) {
    NoGradGuard no_grad;
    const Tensor values = Tensor::randn(tensor.shape(), tensor.dtype(), generator) * std;
    assign(tensor, mean == 0 ? values : values + mean);
}

void constant_(const Tensor& tensor, double value) {
    NoGradGuard no_grad;
    if (tensor.is_contiguous()) {
        Tensor(tensor).fill_(value);
    } else {
        assign(tensor, Tensor::full(tensor.shape(), value, tensor.dtype()));
    }
}

void kaiming_uniform_(const Tensor& weight, double a, Generator& generator) {
    const double gain = std::sqrt(2.0 / (1 + a * a));
    const double bound = gain * std::sqrt(3.0 / double(fan_in(weight)));
    uniform_(weight, -bound, bound, generator);
}

void default_init_(const Tensor& weight, const Tensor& bias, Generator& generator) {
    kaiming_uniform_(weight, std::sqrt(5.0), generator);
    if (bias.defined()) {
        const double bound = 1 / std::sqrt(double(fan_in(weight)));
        uniform_(bias, -bound, bound, generator);
    }
}

void kaiming_normal_fan_out_(const Tensor& weight, Generator& generator) {
    normal_(weight, 0, std::sqrt(2.0) / std::sqrt(double(fan_out(weight))), generator);
}

}  // namespace kiln::init
