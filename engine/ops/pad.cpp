// pad: constant (any dims; negative pads crop), reflect and replicate (the last 1 or 2 dims).
//   y[o] = x[source(o)], or `value` where a constant pad reads outside x
//   dx[source(o)] += dy[o]
// pads = {left, right, top, bottom, ...}: the last dim's pair first, as torch.nn.functional.pad.
// The index maps are in kernels/common/pad.h; kernels: kernels/cpu/pad.cpp, kernels/cuda/pad.cu.
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops/checks.h"
#include "engine/ops/registry.h"
#include "engine/backend.h"

namespace kiln {

KILN_REGISTER_OP(pad);

namespace {

const char* mode_name(PadMode mode) {
    switch (mode) {
        case PadMode::constant: return "constant";
        case PadMode::reflect: return "reflect";
        case PadMode::replicate: return "replicate";
    }
    return "?";
}

math::PadKind kind_of(PadMode mode) {
    switch (mode) {
        case PadMode::constant: return math::PadKind::constant;
        case PadMode::reflect: return math::PadKind::reflect;
        case PadMode::replicate: return math::PadKind::replicate;
    }
    return math::PadKind::constant;
}

class PadBackward : public Node {
public:
    PadBackward(Shape input_shape, Shape kernel_in_shape, Shape before, Shape kernel_out_shape, math::PadKind kind)
        : input_shape_(std::move(input_shape)), in_shape_(std::move(kernel_in_shape)), before_(std::move(before)),
          out_shape_(std::move(kernel_out_shape)), kind_(kind) {}
    std::string name() const override { return "PadBackward"; }
    std::vector<Tensor> backward(const Tensor& dy) override {
        Tensor dx = Tensor::zeros(input_shape_, dy.dtype(), dy.device());
        const Tensor dy_contiguous = dy.contiguous();
        dispatch_floating(dy.dtype(), "pad", [&]<typename T>() {
            KILN_ON_BACKEND(dy.device(), pad_backward, dx.data<T>(), dy_contiguous.data<T>(), in_shape_, before_,
                            out_shape_, kind_);
        });
        return {dx};
    }

private:
    Shape input_shape_;                  // x's shape (0-d stays 0-d)
    Shape in_shape_, before_, out_shape_;  // as the kernel sees them (0-d as [1])
    math::PadKind kind_;
};

}  // namespace

Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode, double value) {
    check_floating("pad", "x", x, Devices::all);
    const char* name = mode_name(mode);
    const int64_t pairs = int64_t(pads.size()) / 2;
    KILN_CHECK(pads.size() % 2 == 0, "pad: pads must be (before, after) pairs, last dim first; got ", pads.size(),
               " values ", shape_str(pads));
    KILN_CHECK(pairs <= x.dim(), "pad: pads ", shape_str(pads), " has ", pairs, " pairs but x ",
               shape_str(x.shape()), " has only ", x.dim(), " dims");
    if (mode != PadMode::constant) {
        KILN_CHECK(pairs == 1 || pairs == 2, "pad: ", name, " pads the last 1 or 2 dims, got ", pairs,
                   " pairs ", shape_str(pads), " for x ", shape_str(x.shape()));
        for (int64_t p : pads)
            KILN_CHECK(p >= 0, "pad: ", name, " pads must be non-negative (crop with constant mode), got ",
                       shape_str(pads));
    }
    Shape in_shape = x.dim() == 0 ? Shape{1} : x.shape();
    Shape before(in_shape.size(), 0), out_shape = in_shape;
    for (int64_t k = 0; k < pairs; ++k) {
        const size_t d = in_shape.size() - 1 - size_t(k);
        const int64_t lo = pads[size_t(2 * k)], hi = pads[size_t(2 * k + 1)], size = in_shape[d];
        before[d] = lo;
        out_shape[d] = size + lo + hi;
        KILN_CHECK(out_shape[d] >= 0, "pad: dim ", d, " of x ", shape_str(x.shape()), " has size ", size,
                   "; pads (", lo, ", ", hi, ") would make it ", out_shape[d]);
        KILN_CHECK(mode != PadMode::reflect || (lo < size && hi < size), "pad: reflect pads (", lo, ", ", hi,
                   ") of dim ", d, " must be less than its size ", size, " (x ", shape_str(x.shape()), ")");
        KILN_CHECK(mode != PadMode::replicate || size > 0, "pad: replicate needs a non-empty dim ", d, ", x ",
                   shape_str(x.shape()));
    }
    const Tensor input = x.detach().contiguous();
    Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());
    dispatch_floating(x.dtype(), "pad", [&]<typename T>() {
        KILN_ON_BACKEND(x.device(), pad_forward, y.data<T>(), input.data<T>(), in_shape, before, out_shape,
                        kind_of(mode), value);
    });
    if (x.dim() == 0) y = y.reshape({});
    if (needs_grad({x}))
        record(y, std::make_shared<PadBackward>(x.shape(), in_shape, before, out_shape, kind_of(mode)), {x});
    return y;
}

}  // namespace kiln
