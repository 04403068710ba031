// dropout and dropout2d: inverted dropout with the mask from a Philox stream
// (kernels/cpu/dropout.cpp, kernels/cuda/dropout.cu; mask rule in
// kernels/common/dropout.h: every backend draws the same mask for a seed).
//   y = x * mask * scale,  mask_i = (u_i >= p),  scale = 1 / (1 - p)
//   dx = dy * mask * scale
// The backward node keeps (seed, offset, p) and recomputes the mask rather
// than saving it. Identity (the input itself, nothing drawn) when !training or p == 0.
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops/checks.h"
#include "engine/ops/registry.h"
#include "engine/backend.h"

namespace kiln {

KILN_REGISTER_OP(dropout);
KILN_REGISTER_OP(dropout2d);

namespace {

class DropoutBackward : public Node {
public:
    DropoutBackward(std::string name, Shape shape, int64_t group, double p, uint64_t seed, uint64_t offset)
        : name_(std::move(name)), shape_(std::move(shape)), group_(group), p_(p), seed_(seed), offset_(offset) {}
    std::string name() const override { return name_; }
    std::vector<Tensor> backward(const Tensor& dy) override {
        Tensor dx = Tensor::zeros(shape_, dy.dtype(), dy.device());
        const Tensor dy_contiguous = dy.contiguous();
        dispatch_floating(dy.dtype(), "dropout", [&]<typename T>() {
            KILN_ON_BACKEND(dy.device(), dropout_backward, dx.data<T>(), dy_contiguous.data<T>(), dx.numel(), group_,
                            p_, seed_, offset_);
        });
        return {dx};
    }

private:
    std::string name_;
    Shape shape_;
    int64_t group_;  // elements per draw: 1, or H * W for dropout2d
    double p_;
    uint64_t seed_, offset_;  // where the mask's draws are in the Philox stream
};

// Draws one keep/drop per `group` consecutive elements.
Tensor dropout_groups(const char* op, const char* node_name, const Tensor& x, double p, int64_t draws, int64_t group,
                      Generator& generator) {
    const uint64_t seed = generator.seed(), offset = generator.reserve(uint64_t(draws));
    const Tensor input = x.detach().contiguous();
    Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
    dispatch_floating(x.dtype(), op, [&]<typename T>() {
        KILN_ON_BACKEND(x.device(), dropout_forward, y.data<T>(), input.data<T>(), y.numel(), group, p, seed, offset);
    });
    if (needs_grad({x})) record(y, std::make_shared<DropoutBackward>(node_name, x.shape(), group, p, seed, offset), {x});
    return y;
}

void check_probability(const char* op, double p) {
    KILN_CHECK(p >= 0 && p <= 1, op, ": p must be in [0, 1], got ", p);  // also refuses NaN
}

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training, Generator& generator) {
    check_floating("dropout", "x", x, Devices::all);
    check_probability("dropout", p);
    if (!training || p == 0) return x;
    return dropout_groups("dropout", "DropoutBackward", x, p, x.numel(), 1, generator);
}

Tensor dropout2d(const Tensor& x, double p, bool training, Generator& generator) {
    check_floating("dropout2d", "x", x, Devices::all);
    KILN_CHECK(x.dim() == 4, "dropout2d: x must be 4-D [N, C, H, W], got ", shape_str(x.shape()));
    check_probability("dropout2d", p);
    if (!training || p == 0) return x;
    const int64_t planes = x.size(0) * x.size(1), plane_size = x.size(2) * x.size(3);
    return dropout_groups("dropout2d", "Dropout2dBackward", x, p, planes, std::max<int64_t>(plane_size, 1), generator);
}

}  // namespace kiln
