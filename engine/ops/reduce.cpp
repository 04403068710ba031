// sum, mean, max/argmax over dims, and sum_to (the backward of broadcasting).
//   sum:  y = sum_dims x                    dx = broadcast(dy)
//   mean: y = sum_dims x / n                dx = broadcast(dy) / n
//   max:  y = max_dim x, i = argmax_dim x   dx[i] = dy  (0 elsewhere)
// The kernels reduce the middle axis of a contiguous [outer, reduce, inner]
// view (kernels/cpu/reduce.cpp); dims that are not adjacent are permuted to
// the end first.
#include <algorithm>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops/checks.h"
#include "engine/ops/registry.h"
#include "engine/backend.h"

namespace kiln {

KILN_REGISTER_OP(sum);
KILN_REGISTER_OP(mean);
KILN_REGISTER_OP(max);
KILN_REGISTER_OP(sum_to);

namespace {

// Sorted, unique, wrapped reduction dims; all dims when `dims` is empty.
std::vector<int64_t> reduction_dims(const char* op, const Tensor& x, const std::vector<int64_t>& dims) {
    std::vector<int64_t> result;
    if (dims.empty()) {
        for (int64_t d = 0; d < x.dim(); ++d) result.push_back(d);
        return result;
    }
    for (int64_t d : dims) result.push_back(wrap_dim(d, x.dim(), op));
    std::sort(result.begin(), result.end());
    KILN_CHECK(std::adjacent_find(result.begin(), result.end()) == result.end(), op, ": dim repeated in ",
               shape_str(dims));
    return result;
}

Shape keepdim_shape(const Tensor& x, const std::vector<int64_t>& dims) {
    Shape shape = x.shape();
    for (int64_t d : dims) shape[size_t(d)] = 1;
    return shape;
}

Shape reduced_shape(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
    if (keepdim) return keepdim_shape(x, dims);
    Shape shape;
    for (int64_t d = 0; d < x.dim(); ++d)
        if (!std::binary_search(dims.begin(), dims.end(), d)) shape.push_back(x.shape()[size_t(d)]);
    return shape;
}

class SumBackward : public Node {
public:
    SumBackward(std::string name, Shape input_shape, Shape keepdim_shape, double scale)
        : name_(std::move(name)), input_shape_(std::move(input_shape)), keepdim_shape_(std::move(keepdim_shape)),
          scale_(scale) {}
    std::string name() const override { return name_; }
    std::vector<Tensor> backward(const Tensor& dy) override {
        Tensor dx = dy.reshape(keepdim_shape_).expand(input_shape_).contiguous();
        if (scale_ != 1) dx = dx * scale_;
        return {dx};
    }

private:
    std::string name_;
    Shape input_shape_, keepdim_shape_;
    double scale_;
};

class MaxBackward : public Node {
public:
    MaxBackward(Shape input_shape, Tensor indices, int64_t outer, int64_t reduce, int64_t inner)
        : input_shape_(std::move(input_shape)), indices_(std::move(indices)), outer_(outer), reduce_(reduce),
          inner_(inner) {}
    std::string name() const override { return "MaxBackward"; }
    void release_saved() override { indices_ = Tensor(); }
    std::vector<Tensor> backward(const Tensor& dy) override {
        Tensor dx = Tensor::zeros(input_shape_, dy.dtype(), dy.device());
        const Tensor dy_contiguous = dy.contiguous();
        dispatch_floating(dy.dtype(), "max", [&]<typename T>() {
            KILN_ON_BACKEND(dy.device(), max_backward, dx.data<T>(), dy_contiguous.data<T>(), indices_.data<int64_t>(), outer_, reduce_, inner_);
        });
        return {dx};
    }

private:
    Shape input_shape_;
    Tensor indices_;
    int64_t outer_, reduce_, inner_;
};

// Sum over sorted `dims` of x, with keepdim shape, no graph.
Tensor sum_kernel(const Tensor& x, const std::vector<int64_t>& dims) {
    // Move the reduced dims to the end: [kept..., reduced...] -> [outer, reduce, 1].
    std::vector<int64_t> order;
    for (int64_t d = 0; d < x.dim(); ++d)
        if (!std::binary_search(dims.begin(), dims.end(), d)) order.push_back(d);
    int64_t reduce = 1;
    for (int64_t d : dims) {
        order.push_back(d);
        reduce *= x.shape()[size_t(d)];
    }
    const Tensor input = x.detach().permute(order).contiguous();
    Tensor out = Tensor::empty(keepdim_shape(x, dims), x.dtype(), x.device());
    const int64_t outer = reduce == 0 ? out.numel() : x.numel() / reduce;
    dispatch_floating(x.dtype(), "sum", [&]<typename T>() {
        KILN_ON_BACKEND(x.device(), sum_forward, out.data<T>(), input.data<T>(), outer, reduce, 1);
    });
    return out;
}

Tensor sum_like(const char* op, const char* node_name, const Tensor& x, const std::vector<int64_t>& requested,
                bool keepdim, bool average) {
    check_floating(op, "x", x, Devices::all);
    const std::vector<int64_t> dims = reduction_dims(op, x, requested);
    int64_t count = 1;
    for (int64_t d : dims) count *= x.shape()[size_t(d)];
    KILN_CHECK(!average || count > 0, op, ": mean over an empty dim of ", shape_str(x.shape()));
    const double scale = average ? 1.0 / double(count) : 1.0;
    Tensor out = sum_kernel(x, dims);
    if (average) {
        NoGradGuard no_grad;
        out = out * scale;
    }
    out = out.detach().reshape(reduced_shape(x, dims, keepdim));
    if (needs_grad({x}))
        record(out, std::make_shared<SumBackward>(node_name, x.shape(), keepdim_shape(x, dims), scale), {x});
    return out;
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
    return sum_like("sum", "SumBackward", x, dims, keepdim, false);
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
    return sum_like("mean", "MeanBackward", x, dims, keepdim, true);
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
    check_floating("sum_to", "x", x, Devices::all);
    if (x.shape() == shape) return x;
    KILN_CHECK(broadcast_shapes(x.shape(), shape, "sum_to") == x.shape(), "sum_to: ", shape_str(x.shape()),
               " does not broadcast from ", shape_str(shape));
    // Sum the leading dims that broadcasting added, and the dims where shape has 1.
    const size_t lead = x.shape().size() - shape.size();
    std::vector<int64_t> dims;
    for (size_t d = 0; d < x.shape().size(); ++d)
        if (d < lead || (shape[d - lead] == 1 && x.shape()[d] != 1)) dims.push_back(int64_t(d));
    return sum(x, dims, true).reshape(shape);
}

MaxResult max(const Tensor& x, int64_t dim, bool keepdim) {
    check_floating("max", "x", x, Devices::all);
    KILN_CHECK(x.dim() > 0, "max: x is 0-d; use max(x) without a dim");
    dim = wrap_dim(dim, x.dim(), "max");
    KILN_CHECK(x.size(dim) > 0, "max: dim ", dim, " of ", shape_str(x.shape()), " is empty");
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < dim; ++d) outer *= x.shape()[size_t(d)];
    for (int64_t d = dim + 1; d < x.dim(); ++d) inner *= x.shape()[size_t(d)];
    const int64_t reduce = x.size(dim);
    const Tensor input = x.detach().contiguous();
    Shape out_shape = x.shape();
    out_shape[size_t(dim)] = 1;
    Tensor values = Tensor::empty(out_shape, x.dtype(), x.device());
    Tensor indices = Tensor::empty(out_shape, DType::int64, x.device());
    dispatch_floating(x.dtype(), "max", [&]<typename T>() {
        KILN_ON_BACKEND(x.device(), max_forward, values.data<T>(), indices.data<int64_t>(), input.data<T>(), outer, reduce, inner);
    });
    if (!keepdim) {
        values = values.squeeze(dim);
        indices = indices.squeeze(dim);
    }
    if (needs_grad({x})) record(values, std::make_shared<MaxBackward>(x.shape(), indices, outer, reduce, inner), {x});
    return {values, indices};
}

Tensor max(const Tensor& x) {
    check_floating("max", "x", x, Devices::all);
    KILN_CHECK(x.numel() > 0, "max: x ", shape_str(x.shape()), " is empty");
    return max(x.reshape({x.numel()}), 0).values;
}

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
    NoGradGuard no_grad;
    return max(x, dim, keepdim).indices;
}

}  // namespace kiln
