#pragma once
// Weight initialisation as torch.nn.init does it, drawn from a kiln Generator
// so that a net built with the same seed has the same weights. Each function
// fills `tensor` in place (outside autograd) and works on any device.
//
// For a weight [out, in, kH, kW] (or [out, in] for linear):
//   fan_in = in * kH * kW,  fan_out = out * kH * kW.
#include "engine/random.h"
#include "engine/tensor.h"

namespace kiln::init {

int64_t fan_in(const Tensor& weight);
int64_t fan_out(const Tensor& weight);

void uniform_(const Tensor& tensor, double low, double high, Generator& generator);
void normal_(const Tensor& tensor, double mean, double std, Generator& generator);
void constant_(const Tensor& tensor, double value);

// U(-bound, bound), bound = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + a^2)).
// PyTorch's default for Conv2d and Linear weights is a = sqrt(5), i.e.
// bound = 1 / sqrt(fan_in); a = 0 is He's uniform for ReLU nets.
void kaiming_uniform_(const Tensor& weight, double a, Generator& generator);
// PyTorch's default for Conv2d and Linear: weight kaiming_uniform_(a = sqrt(5)),
// bias (when defined) U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
void default_init_(const Tensor& weight, const Tensor& bias, Generator& generator);

// While one lives (on this thread), Conv2d and Linear skip their default
// initialisation and keep zeros: the zoo builds torchvision's nets under it,
// since torchvision re-initialises every weight anyway (drawing twice would
// double the time it takes to build a 25 M-parameter net).
class DeferInit {
public:
    DeferInit();
    ~DeferInit();
    DeferInit(const DeferInit&) = delete;
    DeferInit& operator=(const DeferInit&) = delete;
    static bool active();

private:
    bool previous_;
};

// N(0, std^2), std = sqrt(2) / sqrt(fan_out): torchvision's conv init for
// ResNet and MobileNet (mode="fan_out", nonlinearity="relu").
void kaiming_normal_fan_out_(const Tensor& weight, Generator& generator);

}  // namespace kiln::init
