// matmul (batched, broadcasting) and linear, on GEMM (kernels/cpu/gemm.cpp).
//   matmul: C = A @ B            dA = dC @ B^T,  dB = A^T @ dC   (summed over broadcast batch dims)
//   linear: y = x @ W^T + b      dx = dy @ W,    dW = dy^T @ x,  db = sum_rows dy
// On a cuda device with the vendor switch on for gemm (engine/vendor.h),
// cuBLAS runs the GEMMs (kernels/cuda/vendor/gemm.h); a batched matmul whose
// matrices lie at a constant stride is one strided batched cuBLAS call.
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops/checks.h"
#include "engine/ops/registry.h"
#include "engine/backend.h"
#include "engine/vendor.h"

namespace kiln {

KILN_REGISTER_OP(matmul);
KILN_REGISTER_OP(linear);

namespace {

Shape batch_dims(const Tensor& t) { return Shape(t.shape().begin(), t.shape().end() - 2); }

// offsets[i] == i * offsets[1] for two or more matrices: they lie at one stride (0 when broadcast).
bool at_constant_stride(const std::vector<int64_t>& offsets) {
    if (offsets.size() < 2) return false;
    for (size_t i = 0; i < offsets.size(); ++i)
        if (offsets[i] != int64_t(i) * offsets[1]) return false;
    return true;
}

class MatmulBackward : public Node {
public:
    MatmulBackward(Tensor a, Tensor b) : a_(std::move(a)), b_(std::move(b)) {}
    std::string name() const override { return "MatmulBackward"; }
    void release_saved() override {
        a_ = Tensor();
        b_ = Tensor();
    }
    std::vector<Tensor> backward(const Tensor& dy) override {
        Tensor da, db;
        if (next[0]) da = sum_to(matmul(dy, b_.transpose(-1, -2)), a_.shape());
        if (next[1]) db = sum_to(matmul(a_.transpose(-1, -2), dy), b_.shape());
        return {da, db};
    }

private:
    Tensor a_, b_;
};

// a [..., n, k] @ b [..., k, m], both at least 2-D.
Tensor matmul_2d_or_more(const Tensor& a, const Tensor& b) {
    const int64_t n = a.size(-2), k = a.size(-1), m = b.size(-1);
    KILN_CHECK(b.size(-2) == k, "matmul: a ", shape_str(a.shape()), " has ", k, " columns but b ",
               shape_str(b.shape()), " has ", b.size(-2), " rows");
    Shape batch = broadcast_shapes(batch_dims(a), batch_dims(b), "matmul");
    Shape a_full = batch, b_full = batch, out_shape = batch;
    a_full.insert(a_full.end(), {n, k});
    b_full.insert(b_full.end(), {k, m});
    out_shape.insert(out_shape.end(), {n, m});
    // Contiguous matrices, batch dims broadcast with stride 0.
    const Tensor a_expanded = a.detach().contiguous().expand(a_full);
    const Tensor b_expanded = b.detach().contiguous().expand(b_full);
    Tensor out = Tensor::empty(out_shape, a.dtype(), a.device());
    const int64_t batch_count = numel_of(batch);
    // offsets of matrix i in a and b, from their (possibly 0) batch strides
    std::vector<int64_t> a_offsets(static_cast<size_t>(batch_count)), b_offsets(static_cast<size_t>(batch_count));
    for (int64_t i = 0; i < batch_count; ++i) {
        int64_t rest = i;
        for (int64_t d = int64_t(batch.size()) - 1; d >= 0; --d) {
            const int64_t index = rest % batch[size_t(d)];
            rest /= batch[size_t(d)];
            a_offsets[size_t(i)] += index * a_expanded.strides()[size_t(d)];
            b_offsets[size_t(i)] += index * b_expanded.strides()[size_t(d)];
        }
    }
    dispatch_floating(a.dtype(), "matmul", [&]<typename T>() {
        const bool vendor = use_vendor(VendorOp::gemm, a.device());
        if (vendor && at_constant_stride(a_offsets) && at_constant_stride(b_offsets)) {
            KILN_ON_CUBLAS(gemm_strided_batched, false, false, n, m, k, T(1), a_expanded.data<T>(), k, a_offsets[1],
                           b_expanded.data<T>(), m, b_offsets[1], T(0), out.data<T>(), m, n * m, batch_count);
            return;
        }
        for (int64_t i = 0; i < batch_count; ++i) {
            const T* a_matrix = a_expanded.data<T>() + a_offsets[size_t(i)];
            const T* b_matrix = b_expanded.data<T>() + b_offsets[size_t(i)];
            if (vendor)
                KILN_ON_CUBLAS(gemm, false, false, n, m, k, T(1), a_matrix, k, b_matrix, m, T(0),
                               out.data<T>() + i * n * m, m);
            else
                KILN_ON_BACKEND(a.device(), gemm, false, false, n, m, k, T(1), a_matrix, k, b_matrix, m, T(0),
                                out.data<T>() + i * n * m, m);
        }
    });
    if (needs_grad({a, b})) record(out, std::make_shared<MatmulBackward>(a.detach(), b.detach()), {a, b});
    return out;
}

class LinearBackward : public Node {
public:
    LinearBackward(Tensor x, Tensor weight, bool has_bias) : x_(std::move(x)), weight_(std::move(weight)), has_bias_(has_bias) {}
    std::string name() const override { return "LinearBackward"; }
    void release_saved() override {
        x_ = Tensor();
        weight_ = Tensor();
    }
    std::vector<Tensor> backward(const Tensor& dy) override {
        const int64_t rows = x_.size(0), in = x_.size(1), out = weight_.size(0);
        const Tensor dy2 = dy.contiguous().reshape({rows, out});
        Tensor dx, dweight, dbias;
        dispatch_floating(dy.dtype(), "linear", [&]<typename T>() {
            if (next[0]) {
                dx = Tensor::empty({rows, in}, dy.dtype(), dy.device());
                KILN_ON_VENDOR_OR_BACKEND(VendorOp::gemm, CUBLAS, dy.device(), gemm, false, false, rows, in, out, T(1),
                                          dy2.data<T>(), out, weight_.data<T>(), in, T(0), dx.data<T>(), in);
            }
            if (next[1]) {
                dweight = Tensor::empty({out, in}, dy.dtype(), dy.device());
                KILN_ON_VENDOR_OR_BACKEND(VendorOp::gemm, CUBLAS, dy.device(), gemm, true, false, out, in, rows, T(1),
                                          dy2.data<T>(), out, x_.data<T>(), in, T(0), dweight.data<T>(), in);
            }
        });
        if (has_bias_ && next[2]) dbias = sum(dy2, {0});
        if (dx.defined()) dx = dx.reshape(input_shape);
        return {dx, dweight, dbias};
    }
    Shape input_shape;

private:
    Tensor x_, weight_;  // x as [rows, in], both contiguous
    bool has_bias_;
};

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
    check_floating("matmul", "a", a, Devices::all);
    check_floating("matmul", "b", b, Devices::all);
    check_same_kind("matmul", "b", b, "a", a);
    KILN_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: operands must be at least 1-D, got a ", shape_str(a.shape()),
               " and b ", shape_str(b.shape()));
    // torch.matmul: a vector becomes a 1-row (a) or 1-column (b) matrix, and that dim is removed again.
    const Tensor a2 = a.dim() == 1 ? a.unsqueeze(0) : a;
    const Tensor b2 = b.dim() == 1 ? b.unsqueeze(-1) : b;
    Tensor out = matmul_2d_or_more(a2, b2);
    if (b.dim() == 1) out = out.squeeze(-1);
    if (a.dim() == 1) out = out.squeeze(a.dim() == 1 && b.dim() == 1 ? -1 : -2);
    return out;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
    check_floating("linear", "x", x, Devices::all);
    check_floating("linear", "weight", weight, Devices::all);
    check_same_kind("linear", "weight", weight, "x", x);
    KILN_CHECK(weight.dim() == 2, "linear: weight must be [out, in], got ", shape_str(weight.shape()));
    KILN_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear: x ", shape_str(x.shape()),
               " has last dim ", x.dim() ? x.size(-1) : 0, " but weight ", shape_str(weight.shape()), " expects ",
               weight.size(1), " input features");
    const int64_t in = weight.size(1), out = weight.size(0), rows = x.numel() / std::max<int64_t>(in, 1);
    if (bias.defined()) {
        check_floating("linear", "bias", bias, Devices::all);
        check_same_kind("linear", "bias", bias, "x", x);
        KILN_CHECK(bias.shape() == Shape{out}, "linear: bias must be [", out, "] for weight ",
                   shape_str(weight.shape()), ", got ", shape_str(bias.shape()));
    }
    const Tensor x2 = x.detach().contiguous().reshape({rows, in});
    const Tensor w = weight.detach().contiguous();
    Tensor y = Tensor::empty({rows, out}, x.dtype(), x.device());
    if (bias.defined()) y.copy_(bias.detach().unsqueeze(0).expand({rows, out}));  // every row starts as the bias
    dispatch_floating(x.dtype(), "linear", [&]<typename T>() {
        const T beta = bias.defined() ? T(1) : T(0);  // the GEMM adds x @ W^T onto the bias
        KILN_ON_VENDOR_OR_BACKEND(VendorOp::gemm, CUBLAS, x.device(), gemm, false, true, rows, out, in, T(1),
                                  x2.data<T>(), in, w.data<T>(), in, beta, y.data<T>(), out);
    });
    Shape out_shape = x.shape();
    out_shape.back() = out;
    y = y.reshape(out_shape);
    std::vector<Tensor> inputs{x, weight};
    if (bias.defined()) inputs.push_back(bias);
    if (needs_grad(inputs)) {
        auto node = std::make_shared<LinearBackward>(x2, w, bias.defined());
        node->input_shape = x.shape();
        record(y, node, inputs);
    }
    return y;
}

}  // namespace kiln
