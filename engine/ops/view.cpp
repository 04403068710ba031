// Views: reshape/view/flatten, permute/transpose, narrow, squeeze/unsqueeze, expand.
// A view shares storage with its input and changes only shape, strides and
// offset; its backward maps the gradient back to the input's shape:
//   reshape family: dx = dy.reshape(x.shape)
//   permute:        dx = dy.permute(inverse permutation)
//   narrow:         dx = zeros(x.shape); dx.narrow(...) = dy
//   expand:         dx = sum_to(dy, x.shape)
#include <algorithm>
#include <numeric>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops/checks.h"
#include "engine/ops/registry.h"

namespace kiln {

KILN_REGISTER_OP(reshape);
KILN_REGISTER_OP(view);
KILN_REGISTER_OP(permute);
KILN_REGISTER_OP(transpose);
KILN_REGISTER_OP(narrow);
KILN_REGISTER_OP(squeeze);
KILN_REGISTER_OP(unsqueeze);
KILN_REGISTER_OP(expand);
KILN_REGISTER_OP(flatten);

namespace {

Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset) {
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = base.storage();
    impl->shape = shape;
    impl->strides = strides;
    impl->offset = offset;
    impl->dtype = base.dtype();
    impl->device = base.device();
    return Tensor(std::move(impl));
}

// Gradient of any view that only regroups elements: reshape it back.
class ReshapeBackward : public Node {
public:
    ReshapeBackward(std::string name, Shape input_shape) : name_(std::move(name)), input_shape_(std::move(input_shape)) {}
    std::string name() const override { return name_; }
    std::vector<Tensor> backward(const Tensor& dy) override { return {dy.reshape(input_shape_)}; }

private:
    std::string name_;
    Shape input_shape_;
};

class PermuteBackward : public Node {
public:
    explicit PermuteBackward(const std::vector<int64_t>& dims) : inverse_(dims.size()) {
        for (size_t i = 0; i < dims.size(); ++i) inverse_[size_t(dims[i])] = int64_t(i);
    }
    std::string name() const override { return "PermuteBackward"; }
    std::vector<Tensor> backward(const Tensor& dy) override { return {dy.permute(inverse_)}; }

private:
    std::vector<int64_t> inverse_;
};

class NarrowBackward : public Node {
public:
    NarrowBackward(Shape input_shape, int64_t dim, int64_t start)
        : input_shape_(std::move(input_shape)), dim_(dim), start_(start) {}
    std::string name() const override { return "NarrowBackward"; }
    std::vector<Tensor> backward(const Tensor& dy) override {
        Tensor dx = Tensor::zeros(input_shape_, dy.dtype(), dy.device());
        dx.narrow(dim_, start_, dy.size(dim_)).copy_(dy);
        return {dx};
    }

private:
    Shape input_shape_;
    int64_t dim_, start_;
};

class ExpandBackward : public Node {
public:
    explicit ExpandBackward(Shape input_shape) : input_shape_(std::move(input_shape)) {}
    std::string name() const override { return "ExpandBackward"; }
    std::vector<Tensor> backward(const Tensor& dy) override { return {sum_to(dy, input_shape_)}; }

private:
    Shape input_shape_;
};

// Strides that let a tensor (shape, strides) be read as new_shape without a
// copy, or nullopt (the algorithm of PyTorch's computeStride: dims of the old
// shape that are contiguous with each other form chunks, and each chunk must
// split into whole dims of the new shape).
std::optional<Shape> view_strides(const Shape& shape, const Shape& strides, const Shape& new_shape) {
    if (shape.empty() || numel_of(shape) == 0) return contiguous_strides(new_shape);
    Shape new_strides(new_shape.size());
    int64_t view_d = int64_t(new_shape.size()) - 1;
    int64_t chunk_base_stride = strides.back();
    int64_t tensor_numel = 1, view_numel = 1;
    for (int64_t tensor_d = int64_t(shape.size()) - 1; tensor_d >= 0; --tensor_d) {
        tensor_numel *= shape[size_t(tensor_d)];
        if (tensor_d == 0 || (shape[size_t(tensor_d - 1)] != 1 &&
                              strides[size_t(tensor_d - 1)] != tensor_numel * chunk_base_stride)) {
            while (view_d >= 0 && (view_numel < tensor_numel || new_shape[size_t(view_d)] == 1)) {
                new_strides[size_t(view_d)] = view_numel * chunk_base_stride;
                view_numel *= new_shape[size_t(view_d)];
                --view_d;
            }
            if (view_numel != tensor_numel) return std::nullopt;
            if (tensor_d > 0) {
                chunk_base_stride = strides[size_t(tensor_d - 1)];
                tensor_numel = view_numel = 1;
            }
        }
    }
    if (view_d != -1) return std::nullopt;
    return new_strides;
}

// Replaces one -1 in `shape` by the size that keeps numel, or fails naming `op`.
Shape infer_shape(const char* op, const Tensor& x, Shape shape) {
    int64_t known = 1, infer_at = -1;
    for (size_t d = 0; d < shape.size(); ++d) {
        if (shape[d] == -1) {
            KILN_CHECK(infer_at < 0, op, ": only one dim may be -1, got ", shape_str(shape));
            infer_at = int64_t(d);
        } else {
            KILN_CHECK(shape[d] >= 0, op, ": invalid size ", shape[d], " in shape ", shape_str(shape));
            known *= shape[d];
        }
    }
    if (infer_at >= 0) {
        KILN_CHECK(known != 0 && x.numel() % known == 0, op, ": cannot infer -1 in ", shape_str(shape),
                   " for a tensor ", shape_str(x.shape()));
        shape[size_t(infer_at)] = x.numel() / known;
    }
    KILN_CHECK(numel_of(shape) == x.numel(), op, ": shape ", shape_str(shape), " has ", numel_of(shape),
               " elements, input ", shape_str(x.shape()), " has ", x.numel());
    return shape;
}

Tensor regroup(const char* node_name, const Tensor& x, const Shape& shape, const Shape& strides) {
    Tensor out = make_view(x, shape, strides, x.offset());
    if (needs_grad({x})) record(out, std::make_shared<ReshapeBackward>(node_name, x.shape()), {x});
    return out;
}

}  // namespace

Tensor Tensor::view(const Shape& requested) const {
    check_tensor("view", "x", *this, Devices::all);
    const Shape shape = infer_shape("view", *this, requested);
    const std::optional<Shape> strides = view_strides(this->shape(), this->strides(), shape);
    KILN_CHECK(strides, "view: a tensor ", shape_str(this->shape()), " with strides ", shape_str(this->strides()),
               " cannot be viewed as ", shape_str(shape), " without a copy; use reshape()");
    return regroup("ViewBackward", *this, shape, *strides);
}

Tensor Tensor::reshape(const Shape& requested) const {
    check_tensor("reshape", "x", *this, Devices::all);
    const Shape shape = infer_shape("reshape", *this, requested);
    if (const std::optional<Shape> strides = view_strides(this->shape(), this->strides(), shape))
        return regroup("ReshapeBackward", *this, shape, *strides);
    return contiguous().view(shape);
}

Tensor Tensor::permute(const std::vector<int64_t>& requested) const {
    check_tensor("permute", "x", *this, Devices::all);
    KILN_CHECK(int64_t(requested.size()) == dim(), "permute: got ", requested.size(), " dims ",
               shape_str(requested), " for a tensor ", shape_str(shape()));
    std::vector<int64_t> dims(requested.size());
    std::vector<bool> used(requested.size(), false);
    Shape new_shape(dims.size()), new_strides(dims.size());
    for (size_t i = 0; i < dims.size(); ++i) {
        dims[i] = wrap_dim(requested[i], dim(), "permute");
        KILN_CHECK(!used[size_t(dims[i])], "permute: dim ", dims[i], " appears twice in ", shape_str(requested));
        used[size_t(dims[i])] = true;
        new_shape[i] = shape()[size_t(dims[i])];
        new_strides[i] = strides()[size_t(dims[i])];
    }
    Tensor out = make_view(*this, new_shape, new_strides, offset());
    if (needs_grad({*this})) record(out, std::make_shared<PermuteBackward>(dims), {*this});
    return out;
}

Tensor Tensor::transpose(int64_t dim0, int64_t dim1) const {
    check_tensor("transpose", "x", *this, Devices::all);
    std::vector<int64_t> dims(static_cast<size_t>(dim()));
    std::iota(dims.begin(), dims.end(), 0);
    std::swap(dims[size_t(wrap_dim(dim0, dim(), "transpose"))], dims[size_t(wrap_dim(dim1, dim(), "transpose"))]);
    return permute(dims);
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
    check_tensor("narrow", "x", *this, Devices::all);
    KILN_CHECK(dim() > 0, "narrow: cannot narrow a 0-d tensor");
    d = wrap_dim(d, dim(), "narrow");
    KILN_CHECK(start >= 0 && length >= 0 && start + length <= size(d), "narrow: start ", start, " length ", length,
               " is outside dim ", d, " of size ", size(d), " (tensor ", shape_str(shape()), ")");
    Shape new_shape = shape();
    new_shape[size_t(d)] = length;
    Tensor out = make_view(*this, new_shape, strides(), offset() + start * strides()[size_t(d)]);
    if (needs_grad({*this})) record(out, std::make_shared<NarrowBackward>(shape(), d, start), {*this});
    return out;
}

Tensor Tensor::squeeze(std::optional<int64_t> d) const {
    check_tensor("squeeze", "x", *this, Devices::all);
    Shape new_shape, new_strides;
    const int64_t only = d ? wrap_dim(*d, dim(), "squeeze") : -1;
    for (int64_t i = 0; i < dim(); ++i) {
        const bool drop = shape()[size_t(i)] == 1 && (only < 0 || i == only);
        if (!drop) {
            new_shape.push_back(shape()[size_t(i)]);
            new_strides.push_back(strides()[size_t(i)]);
        }
    }
    return regroup("SqueezeBackward", *this, new_shape, new_strides);
}

Tensor Tensor::unsqueeze(int64_t d) const {
    check_tensor("unsqueeze", "x", *this, Devices::all);
    d = wrap_dim(d, dim() + 1, "unsqueeze");
    Shape new_shape = shape(), new_strides = strides();
    const int64_t stride = d < dim() ? strides()[size_t(d)] * shape()[size_t(d)] : 1;
    new_shape.insert(new_shape.begin() + d, 1);
    new_strides.insert(new_strides.begin() + d, stride);
    return regroup("UnsqueezeBackward", *this, new_shape, new_strides);
}

Tensor Tensor::expand(const Shape& requested) const {
    check_tensor("expand", "x", *this, Devices::all);
    KILN_CHECK(int64_t(requested.size()) >= dim(), "expand: target ", shape_str(requested), " has fewer dims than ",
               shape_str(shape()));
    const size_t lead = requested.size() - size_t(dim());
    Shape new_shape(requested.size()), new_strides(requested.size(), 0);
    for (size_t i = 0; i < requested.size(); ++i) {
        if (i < lead) {
            KILN_CHECK(requested[i] >= 0, "expand: invalid size ", requested[i], " in ", shape_str(requested));
            new_shape[i] = requested[i];
            continue;
        }
        const int64_t have = shape()[i - lead];
        const int64_t want = requested[i] == -1 ? have : requested[i];
        KILN_CHECK(have == want || have == 1, "expand: cannot expand ", shape_str(shape()), " to ",
                   shape_str(requested), " (dim ", i, ": ", have, " to ", want, "; only size-1 dims expand)");
        new_shape[i] = want;
        new_strides[i] = have == want ? strides()[i - lead] : 0;
    }
    Tensor out = make_view(*this, new_shape, new_strides, offset());
    if (needs_grad({*this})) record(out, std::make_shared<ExpandBackward>(shape()), {*this});
    return out;
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
    check_tensor("flatten", "x", x, Devices::all);
    if (x.dim() == 0) return x.reshape({1});
    start_dim = wrap_dim(start_dim, x.dim(), "flatten");
    end_dim = wrap_dim(end_dim, x.dim(), "flatten");
    KILN_CHECK(start_dim <= end_dim, "flatten: start_dim ", start_dim, " is after end_dim ", end_dim);
    Shape shape(x.shape().begin(), x.shape().begin() + start_dim);
    int64_t merged = 1;
    for (int64_t d = start_dim; d <= end_dim; ++d) merged *= x.shape()[size_t(d)];
    shape.push_back(merged);
    shape.insert(shape.end(), x.shape().begin() + end_dim + 1, x.shape().end());
    return x.reshape(shape);
}

}  // namespace kiln
