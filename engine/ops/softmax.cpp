// softmax and log_softmax along one dim.
//   softmax:     y = exp(x - m) / sum exp(x - m)       dx = y (dy - sum(dy y))
//   log_softmax: y = x - m - log sum exp(x - m)        dx = dy - softmax(x) sum(dy)
// with m = max x along dim (the stable form: exp never overflows). Both
// backwards need only the output, so the node saves y (detached), not x.
// Kernels over a contiguous [outer, dim, inner] view: kernels/cpu/softmax.cpp,
// kernels/cuda/softmax.cu (emu and cuda).
#include <algorithm>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops/checks.h"
#include "engine/ops/registry.h"
#include "engine/backend.h"

namespace kiln {

KILN_REGISTER_OP(softmax);
KILN_REGISTER_OP(log_softmax);

namespace {

struct RowLayout {
    int64_t outer = 1, reduce = 1, inner = 1;
};

// A 0-d tensor is one row of one element (dim 0 or -1, as PyTorch).
RowLayout row_layout(const char* op, const Tensor& x, int64_t dim) {
    const int64_t ndim = x.dim();
    dim = wrap_dim(dim, std::max<int64_t>(ndim, 1), op);
    RowLayout layout;
    if (ndim == 0) return layout;
    for (int64_t d = 0; d < dim; ++d) layout.outer *= x.shape()[size_t(d)];
    layout.reduce = x.shape()[size_t(dim)];
    for (int64_t d = dim + 1; d < ndim; ++d) layout.inner *= x.shape()[size_t(d)];
    return layout;
}

class SoftmaxBackward : public Node {
public:
    SoftmaxBackward(bool log, Tensor y, RowLayout layout) : log_(log), y_(std::move(y)), layout_(layout) {}
    std::string name() const override { return log_ ? "LogSoftmaxBackward" : "SoftmaxBackward"; }
    void release_saved() override { y_ = Tensor(); }
    std::vector<Tensor> backward(const Tensor& dy) override {
        Tensor dx = Tensor::zeros(y_.shape(), y_.dtype(), dy.device());
        const Tensor dy_contiguous = dy.contiguous();
        const auto [outer, reduce, inner] = layout_;
        dispatch_floating(dx.dtype(), log_ ? "log_softmax" : "softmax", [&]<typename T>() {
            if (log_)
                KILN_ON_BACKEND(dy.device(), log_softmax_backward, dx.data<T>(), dy_contiguous.data<T>(),
                                y_.data<T>(), outer, reduce, inner);
            else
                KILN_ON_BACKEND(dy.device(), softmax_backward, dx.data<T>(), dy_contiguous.data<T>(), y_.data<T>(),
                                outer, reduce, inner);
        });
        return {dx};
    }

private:
    bool log_;
    Tensor y_;  // the op's output, detached and contiguous
    RowLayout layout_;
};

Tensor softmax_like(bool log, const Tensor& x, int64_t dim) {
    const char* op = log ? "log_softmax" : "softmax";
    check_floating(op, "x", x, Devices::all);
    const RowLayout layout = row_layout(op, x, dim);
    const Tensor input = x.detach().contiguous();
    Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
    dispatch_floating(x.dtype(), op, [&]<typename T>() {
        if (log)
            KILN_ON_BACKEND(x.device(), log_softmax_forward, y.data<T>(), input.data<T>(), layout.outer,
                            layout.reduce, layout.inner);
        else
            KILN_ON_BACKEND(x.device(), softmax_forward, y.data<T>(), input.data<T>(), layout.outer, layout.reduce,
                            layout.inner);
    });
    if (needs_grad({x})) record(y, std::make_shared<SoftmaxBackward>(log, y.detach(), layout), {x});
    return y;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_like(false, x, dim); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_like(true, x, dim); }

}  // namespace kiln
