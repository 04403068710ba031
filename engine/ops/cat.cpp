// cat and stack.
//   cat:   out = [t0 | t1 | ...] along dim     d t_i = dy.narrow(dim, offset_i, size_i)
//   stack: cat of the tensors unsqueezed at dim (its gradient comes from those two ops)
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops/checks.h"
#include "engine/ops/registry.h"

namespace kiln {

KILN_REGISTER_OP(cat);
KILN_REGISTER_OP(stack);

namespace {

class CatBackward : public Node {
public:
    CatBackward(int64_t dim, std::vector<int64_t> sizes) : dim_(dim), sizes_(std::move(sizes)) {}
    std::string name() const override { return "CatBackward"; }
    std::vector<Tensor> backward(const Tensor& dy) override {
        std::vector<Tensor> grads;
        int64_t offset = 0;
        for (int64_t size : sizes_) {
            grads.push_back(dy.narrow(dim_, offset, size).contiguous());
            offset += size;
        }
        return grads;
    }

private:
    int64_t dim_;
    std::vector<int64_t> sizes_;
};

}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
    KILN_CHECK(!tensors.empty(), "cat: no tensors given");
    const Tensor& first = tensors[0];
    check_floating("cat", "tensors[0]", first, Devices::all);
    KILN_CHECK(first.dim() > 0, "cat: tensors must be at least 1-D, tensors[0] is 0-d");
    dim = wrap_dim(dim, first.dim(), "cat");
    Shape out_shape = first.shape();
    out_shape[size_t(dim)] = 0;
    std::vector<int64_t> sizes;
    for (size_t i = 0; i < tensors.size(); ++i) {
        const Tensor& t = tensors[i];
        const std::string arg = "tensors[" + std::to_string(i) + "]";
        check_floating("cat", arg.c_str(), t, Devices::all);
        check_same_kind("cat", arg.c_str(), t, "tensors[0]", first);
        bool same = t.dim() == first.dim();
        for (int64_t d = 0; same && d < t.dim(); ++d) same = d == dim || t.size(d) == first.size(d);
        KILN_CHECK(same, "cat: ", arg, " ", shape_str(t.shape()), " does not match tensors[0] ",
                   shape_str(first.shape()), " outside dim ", dim);
        sizes.push_back(t.size(dim));
        out_shape[size_t(dim)] += t.size(dim);
    }
    Tensor out = Tensor::empty(out_shape, first.dtype(), first.device());
    int64_t offset = 0;
    for (const Tensor& t : tensors) {
        out.narrow(dim, offset, t.size(dim)).copy_(t);
        offset += t.size(dim);
    }
    if (needs_grad(tensors)) record(out, std::make_shared<CatBackward>(dim, sizes), tensors);
    return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
    KILN_CHECK(!tensors.empty(), "stack: no tensors given");
    for (size_t i = 0; i < tensors.size(); ++i) {
        check_floating("stack", ("tensors[" + std::to_string(i) + "]").c_str(), tensors[i], Devices::all);
        KILN_CHECK(tensors[i].shape() == tensors[0].shape(), "stack: tensors[", i, "] ",
                   shape_str(tensors[i].shape()), " differs from tensors[0] ", shape_str(tensors[0].shape()));
    }
    dim = wrap_dim(dim, tensors[0].dim() + 1, "stack");
    std::vector<Tensor> unsqueezed;
    for (const Tensor& t : tensors) unsqueezed.push_back(t.unsqueeze(dim));
    return cat(unsqueezed, dim);
}

}  // namespace kiln
