// add, sub, mul, div with NumPy broadcasting.
//   forward:  out = f(a, b)
//   backward: da = sum_to(dy * df/da, a.shape),  db = sum_to(dy * df/db, b.shape)
// Formulas: kernels/common/elementwise.h. Loops: kernels/cpu/elementwise.cpp.
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops/checks.h"
#include "engine/ops/registry.h"
#include "engine/backend.h"

namespace kiln {

KILN_REGISTER_OP(add);
KILN_REGISTER_OP(sub);
KILN_REGISTER_OP(mul);
KILN_REGISTER_OP(div);

using math::BinaryOp;

namespace {

const char* op_name(BinaryOp op) {
    switch (op) {
        case BinaryOp::add: return "add";
        case BinaryOp::sub: return "sub";
        case BinaryOp::mul: return "mul";
        case BinaryOp::div: return "div";
    }
    return "?";
}

// Strides that read `t` as if it had `shape`: missing leading dims and size-1
// dims that broadcast get stride 0.
Shape broadcast_strides(const Tensor& t, const Shape& shape) {
    Shape strides(shape.size(), 0);
    const size_t lead = shape.size() - size_t(t.dim());
    for (size_t d = 0; d < size_t(t.dim()); ++d)
        strides[lead + d] = (t.shape()[d] == 1 && shape[lead + d] != 1) ? 0 : t.strides()[d];
    return strides;
}

class BinaryBackward : public Node {
public:
    BinaryBackward(BinaryOp op, const Tensor& a, const Tensor& b) : op_(op), a_shape_(a.shape()), b_shape_(b.shape()) {
        // add and sub have constant derivatives: their backward needs no input values.
        // The backward kernel lays da out like a_, so keep contiguous copies.
        if (op == BinaryOp::mul || op == BinaryOp::div) {
            a_ = a.detach().contiguous();
            b_ = b.detach().contiguous();
        }
    }
    std::string name() const override {
        std::string n = op_name(op_);
        n[0] = char(std::toupper(n[0]));
        return n + "Backward";
    }
    void release_saved() override {
        a_ = Tensor();
        b_ = Tensor();
    }
    std::vector<Tensor> backward(const Tensor& dy) override {
        const bool want_a = next[0] != nullptr, want_b = next[1] != nullptr;
        if (op_ == BinaryOp::add || op_ == BinaryOp::sub) {
            Tensor da = want_a ? sum_to(dy, a_shape_) : Tensor();
            Tensor db = want_b ? sum_to(dy, b_shape_) : Tensor();
            if (want_b && op_ == BinaryOp::sub) db = neg(db);
            return {da, db};
        }
        Tensor da = want_a ? Tensor::zeros(a_shape_, dy.dtype(), dy.device()) : Tensor();
        Tensor db = want_b ? Tensor::zeros(b_shape_, dy.dtype(), dy.device()) : Tensor();
        const Tensor dy_contiguous = dy.contiguous();
        dispatch_floating(dy.dtype(), op_name(op_), [&]<typename T>() {
            KILN_ON_BACKEND(dy.device(), binary_backward, op_, want_a ? da.data<T>() : nullptr,
                            want_b ? db.data<T>() : nullptr, dy_contiguous.data<T>(), a_.data<T>(),
                            broadcast_strides(a_, dy.shape()), b_.data<T>(), broadcast_strides(b_, dy.shape()),
                            dy.shape());
        });
        return {da, db};
    }

private:
    BinaryOp op_;
    Shape a_shape_, b_shape_;
    Tensor a_, b_;
};

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
    const char* name = op_name(op);
    check_floating(name, "a", a, Devices::all);
    check_floating(name, "b", b, Devices::all);
    check_same_kind(name, "b", b, "a", a);
    const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
    Tensor out = Tensor::empty(shape, a.dtype(), a.device());
    dispatch_floating(a.dtype(), name, [&]<typename T>() {
        KILN_ON_BACKEND(a.device(), binary_forward, op, out.data<T>(), a.data<T>(), broadcast_strides(a, shape),
                        b.data<T>(), broadcast_strides(b, shape), shape);
    });
    if (needs_grad({a, b})) record(out, std::make_shared<BinaryBackward>(op, a, b), {a, b});
    return out;
}

}  // namespace

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
    const size_t ndim = std::max(a.size(), b.size());
    Shape shape(ndim);
    for (size_t i = 0; i < ndim; ++i) {
        const int64_t sa = i < ndim - a.size() ? 1 : a[i - (ndim - a.size())];
        const int64_t sb = i < ndim - b.size() ? 1 : b[i - (ndim - b.size())];
        KILN_CHECK(sa == sb || sa == 1 || sb == 1, op, ": cannot broadcast a ", shape_str(a), " with b ",
                   shape_str(b), " (dim ", i, ": ", sa, " vs ", sb, ")");
        shape[i] = sa == 1 ? sb : sa;
    }
    return shape;
}

void accumulate_(Tensor& dst, const Tensor& src) {
    KILN_CHECK(dst.shape() == src.shape() && dst.dtype() == src.dtype() && dst.device() == src.device(),
               "accumulate_: source ",
               shape_str(src.shape()), " ", dtype_name(src.dtype()), " does not match destination ",
               shape_str(dst.shape()), " ", dtype_name(dst.dtype()));
    if (!dst.is_contiguous()) dst = dst.contiguous();
    dispatch_floating(dst.dtype(), "accumulate_", [&]<typename T>() {
        KILN_ON_BACKEND(dst.device(), binary_forward, BinaryOp::add, dst.data<T>(), dst.data<T>(), dst.strides(),
                        src.data<T>(), src.strides(), dst.shape());
    });
}

Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::add, a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(BinaryOp::sub, a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryOp::mul, a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(BinaryOp::div, a, b); }

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return neg(x); }
namespace {
// A scalar operand: a 0-d tensor with the dtype and device of the tensor operand.
Tensor scalar_like(double value, const Tensor& like) { return Tensor::full({}, value, like.dtype(), like.device()); }
}  // namespace

Tensor operator+(const Tensor& a, double b) { return add(a, scalar_like(b, a)); }
Tensor operator-(const Tensor& a, double b) { return sub(a, scalar_like(b, a)); }
Tensor operator*(const Tensor& a, double b) { return mul(a, scalar_like(b, a)); }
Tensor operator/(const Tensor& a, double b) { return div(a, scalar_like(b, a)); }
Tensor operator+(double a, const Tensor& b) { return add(scalar_like(a, b), b); }
Tensor operator-(double a, const Tensor& b) { return sub(scalar_like(a, b), b); }
Tensor operator*(double a, const Tensor& b) { return mul(scalar_like(a, b), b); }
Tensor operator/(double a, const Tensor& b) { return div(scalar_like(a, b), b); }

}  // namespace kiln
