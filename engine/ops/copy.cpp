// contiguous, clone, to(dtype), to(device): copies that keep the graph.
//   backward: dx = dy (converted back to x's dtype or moved back to x's device)
// to(device) with cuda on one side: cuda_copy_bytes (engine/cuda_device.h:
// the current stream, pinned memory, when it waits).
#include "engine/autograd.h"
#include "engine/cuda_device.h"
#include "engine/ops.h"
#include "engine/ops/checks.h"
#include "engine/ops/registry.h"
#include "kernels/cpu/copy.h"

namespace kiln {

KILN_REGISTER_OP(contiguous);
KILN_REGISTER_OP(clone);
KILN_REGISTER_OP(to);
KILN_REGISTER_OP(to_device);

namespace {

class CopyBackward : public Node {
public:
    CopyBackward(std::string name, DType input_dtype) : name_(std::move(name)), input_dtype_(input_dtype) {}
    std::string name() const override { return name_; }
    std::vector<Tensor> backward(const Tensor& dy) override { return {dy.to(input_dtype_)}; }

private:
    std::string name_;
    DType input_dtype_;
};

Tensor copy(const char* node_name, const Tensor& x, DType dtype) {
    // (x's device was checked by the caller; the copy runs on that device's kernels)
    Tensor out = Tensor::empty(x.shape(), dtype, x.device());
    out.copy_(x);
    if (needs_grad({x})) record(out, std::make_shared<CopyBackward>(node_name, x.dtype()), {x});
    return out;
}

class ToDeviceBackward : public Node {
public:
    explicit ToDeviceBackward(Device source) : source_(source) {}
    std::string name() const override { return "ToDeviceBackward"; }
    std::vector<Tensor> backward(const Tensor& dy) override { return {dy.to(source_)}; }

private:
    Device source_;
};

}  // namespace

Tensor Tensor::to(Device target, bool non_blocking) const {
    check_tensor("to_device", "x", *this, Devices::all);
    if (target == device()) return *this;
    const Tensor source = detach().contiguous();
    const bool with_cuda = target.kind == Device::Kind::cuda || device().kind == Device::Kind::cuda;
    // Pinned memory lets a copy from the GPU run asynchronously; PyTorch allocates it for this too.
    Tensor out = non_blocking && with_cuda && target.is_cpu() ? Tensor::empty_pinned(shape(), dtype())
                                                               : Tensor::empty(shape(), dtype(), target);
    const size_t bytes = size_t(numel()) * dtype_size(dtype());
    if (!with_cuda) {
        copy_bytes(out.raw_data(), target, source.raw_data(), device(), bytes);
    } else if (bytes > 0) {
        const Tensor& host = target.kind == Device::Kind::cuda ? source : out;  // (device to device: not pinned)
        cuda_copy_bytes(out.raw_data(), target, source.raw_data(), device(), bytes, non_blocking,
                        host.is_pinned() ? host.storage()->data : nullptr);
    }
    if (needs_grad({*this})) record(out, std::make_shared<ToDeviceBackward>(device()), {*this});
    return out;
}

Tensor Tensor::contiguous() const {
    check_tensor("contiguous", "x", *this, Devices::all);
    return is_contiguous() ? *this : copy("ContiguousBackward", *this, dtype());
}

Tensor Tensor::clone() const {
    check_tensor("clone", "x", *this, Devices::all);
    return copy("CloneBackward", *this, dtype());
}

Tensor Tensor::to(DType target) const {
    check_tensor("to", "x", *this, Devices::all);
    if (target == dtype()) return *this;
    KILN_CHECK(!requires_grad() || is_floating(target), "to: cannot convert a tensor that requires grad to ",
               dtype_name(target));
    return copy("ToBackward", *this, target);
}

}  // namespace kiln
