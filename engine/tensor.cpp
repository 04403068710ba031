#include "engine/tensor.h"

#include <cmath>
#include <cstring>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "engine/allocator.h"
#include "engine/autograd.h"
#include "engine/random.h"
#include "engine/backend.h"
#include "engine/cuda_device.h"
#include "engine/stream.h"
#include "kernels/emu/device_memory.h"
#include "kernels/cpu/random.h"

namespace kiln {

// ---------------------------------------------------------------- Device

Device Device::parse(const std::string& text) {
    if (text == "cpu") return cpu();
    if (text == "emu") return emu();
    if (text == "cuda") return cuda(0);
    if (text.rfind("cuda:", 0) == 0) {
        const std::string index = text.substr(5);
        KILN_CHECK(!index.empty() && index.find_first_not_of("0123456789") == std::string::npos,
                   "device: \"", text, "\" has no valid index after cuda:");
        return cuda(std::stoi(index));
    }
    fail("device: unknown device \"", text, "\" (expected cpu, emu, cuda or cuda:N)");
}

std::string Device::str() const {
    switch (kind) {
        case Kind::cpu: return "cpu";
        case Kind::emu: return "emu";
        case Kind::cuda: return "cuda:" + std::to_string(index);
    }
    return "?";
}

// ---------------------------------------------------------------- Storage

Storage::Storage(size_t bytes, Device device, bool pinned) : bytes(bytes), device(device), pinned(pinned) {
    KILN_CHECK(!pinned || device.is_cpu(), "storage: only host memory can be pinned, not ", device.str());
    switch (device.kind) {
        case Device::Kind::cpu:
            data = pinned ? cuda_host_allocate(bytes) : CachingAllocator::host().allocate(bytes);
            break;
        case Device::Kind::emu: data = simt::device_allocate(bytes); break;  // exact size + guard: see device_memory.h
        case Device::Kind::cuda: data = cuda_allocate(bytes, device); break;
    }
}

Storage::~Storage() {
    switch (device.kind) {
        case Device::Kind::cpu:
            if (pinned) cuda_host_free(data);
            else CachingAllocator::host().deallocate(data);
            break;
        case Device::Kind::emu: simt::device_free(data); break;
        case Device::Kind::cuda: cuda_free(data, device); break;
    }
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
    if (bytes == 0) return;
    if (dst_device.kind == Device::Kind::cuda || src_device.kind == Device::Kind::cuda)
        cuda_copy_bytes(dst, dst_device, src, src_device, bytes);
    else
        std::memcpy(dst, src, bytes);  // cpu and emu memory are both host memory
}

int64_t numel_of(const Shape& shape) {
    int64_t count = 1;
    for (int64_t size : shape) count *= size;
    return count;
}

Shape contiguous_strides(const Shape& shape) {
    Shape strides(shape.size());
    int64_t stride = 1;
    for (size_t d = shape.size(); d-- > 0;) {
        strides[d] = stride;
        stride *= std::max<int64_t>(shape[d], 1);
    }
    return strides;
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
    const int64_t wrapped = dim < 0 ? dim + ndim : dim;
    KILN_CHECK(wrapped >= 0 && wrapped < std::max<int64_t>(ndim, 1), op, ": dim ", dim,
               " is out of range for a tensor with ", ndim, " dims");
    return wrapped;
}

// ---------------------------------------------------------------- factories

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
    for (int64_t size : shape)
        KILN_CHECK(size >= 0, "empty: negative size in shape ", shape_str(shape));
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = std::make_shared<Storage>(size_t(numel_of(shape)) * dtype_size(dtype), device);
    impl->shape = shape;
    impl->strides = contiguous_strides(shape);
    impl->dtype = dtype;
    impl->device = device;
    return Tensor(std::move(impl));
}

Tensor Tensor::empty_pinned(const Shape& shape, DType dtype) {
    for (int64_t size : shape)
        KILN_CHECK(size >= 0, "empty_pinned: negative size in shape ", shape_str(shape));
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = std::make_shared<Storage>(size_t(numel_of(shape)) * dtype_size(dtype), Device::cpu(), true);
    impl->shape = shape;
    impl->strides = contiguous_strides(shape);
    impl->dtype = dtype;
    return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
    Tensor t = empty(shape, dtype, device);
    if (device.is_cpu()) std::memset(t.raw_data(), 0, size_t(t.numel()) * dtype_size(dtype));
    else t.fill_(0);
    return t;
}

Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
    Tensor t = empty(shape, dtype, device);
    t.fill_(value);
    return t;
}

Tensor Tensor::scalar(double value, DType dtype) { return full({}, value, dtype); }

Tensor Tensor::arange(double start, double end, double step, DType dtype) {
    KILN_CHECK(step != 0, "arange: step is 0");
    KILN_CHECK(std::isfinite(start) && std::isfinite(end) && std::isfinite(step), "arange: start ", start, ", end ",
               end, ", step ", step, " must be finite");
    const int64_t count = std::max<int64_t>(0, int64_t(std::ceil((end - start) / step)));
    std::vector<double> values(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) values[size_t(i)] = start + double(i) * step;
    return from_vector(values, {count}, dtype);
}

Tensor Tensor::rand(const Shape& shape, DType dtype) { return rand(shape, dtype, default_generator()); }
Tensor Tensor::randn(const Shape& shape, DType dtype) { return randn(shape, dtype, default_generator()); }

Tensor Tensor::rand(const Shape& shape, DType dtype, Generator& generator) {
    Tensor t = empty(shape, dtype);
    const uint64_t offset = generator.reserve(uint64_t(t.numel()));
    dispatch_floating(dtype, "rand", [&]<typename T>() { cpu::uniform(t.data<T>(), t.numel(), generator.seed(), offset); });
    return t;
}

Tensor Tensor::randn(const Shape& shape, DType dtype, Generator& generator) {
    Tensor t = empty(shape, dtype);
    const uint64_t offset = generator.reserve(uint64_t(t.numel()));
    dispatch_floating(dtype, "randn", [&]<typename T>() { cpu::normal(t.data<T>(), t.numel(), generator.seed(), offset); });
    return t;
}

Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape, DType dtype) {
    KILN_CHECK(int64_t(values.size()) == numel_of(shape), "from_int64: ", values.size(),
               " values do not fill shape ", shape_str(shape));
    Tensor t = empty(shape, dtype);
    dispatch_all(dtype, [&]<typename T>() {
        T* out = t.data<T>();
        for (size_t i = 0; i < values.size(); ++i) out[i] = T(values[i]);
    });
    return t;
}

Tensor Tensor::from_int64(const std::vector<int64_t>& values, const Shape& shape) {
    KILN_CHECK(int64_t(values.size()) == numel_of(shape), "from_int64: ", values.size(),
               " values do not fill shape ", shape_str(shape));
    Tensor t = empty(shape, DType::int64);
    std::copy(values.begin(), values.end(), t.data<int64_t>());
    return t;
}

// ---------------------------------------------------------------- metadata

namespace {
const TensorImpl& checked(const std::shared_ptr<TensorImpl>& impl) {
    KILN_CHECK(impl, "tensor: use of an undefined tensor");
    return *impl;
}
}  // namespace

const Shape& Tensor::shape() const { return checked(impl_).shape; }
const Shape& Tensor::strides() const { return checked(impl_).strides; }
int64_t Tensor::dim() const { return int64_t(shape().size()); }
int64_t Tensor::size(int64_t d) const { return shape()[size_t(wrap_dim(d, dim(), "size"))]; }
int64_t Tensor::numel() const { return numel_of(shape()); }
int64_t Tensor::offset() const { return checked(impl_).offset; }
DType Tensor::dtype() const { return checked(impl_).dtype; }
Device Tensor::device() const { return checked(impl_).device; }
const std::shared_ptr<Storage>& Tensor::storage() const { return checked(impl_).storage; }

bool Tensor::is_contiguous() const {  // contiguous_strides, compared as they are computed (no allocation)
    const Shape& shape = this->shape();
    const Shape& strides = this->strides();
    int64_t expected = 1;
    for (size_t d = shape.size(); d-- > 0;) {
        if (shape[d] != 1 && strides[d] != expected) return false;
        expected *= std::max<int64_t>(shape[d], 1);
    }
    return true;
}

void* Tensor::raw_data() const {
    const TensorImpl& impl = checked(impl_);
    return static_cast<char*>(impl.storage->data) + impl.offset * int64_t(dtype_size(impl.dtype));
}

// ---------------------------------------------------------------- values

std::vector<double> Tensor::to_vector() const {
    if (!device().is_cpu()) return to(Device::cpu()).to_vector();
    std::vector<double> values(static_cast<size_t>(numel()));
    dispatch_all(dtype(), [&]<typename T>() {
        cpu::copy_strided(values.data(), contiguous_strides(shape()), data<T>(), strides(), shape());
    });
    return values;
}

double Tensor::item() const {
    KILN_CHECK(numel() == 1, "item: tensor has ", numel(), " elements (shape ", shape_str(shape()),
               "), expected exactly 1");
    return to_vector()[0];
}

void Tensor::fill_(double value) {
    KILN_CHECK(is_contiguous(), "fill_: tensor must be contiguous");
    dispatch_all(dtype(), [&]<typename T>() { KILN_ON_BACKEND(device(), fill, data<T>(), numel(), T(value)); });
}

void Tensor::copy_(const Tensor& source) {
    KILN_CHECK(source.shape() == shape(), "copy_: source shape ", shape_str(source.shape()),
               " differs from destination shape ", shape_str(shape()));
    KILN_CHECK(source.device() == device(), "copy_: source is on ", source.device().str(), ", destination on ",
               device().str(), "; move it with .to(device) first");
    dispatch_all(dtype(), [&]<typename Dst>() {
        dispatch_all(source.dtype(), [&]<typename Src>() {
            KILN_ON_BACKEND(device(), copy_strided, data<Dst>(), strides(), source.data<Src>(), source.strides(),
                            shape());
        });
    });
}

// ---------------------------------------------------------------- pinned memory and streams

bool Tensor::is_pinned() const { return storage()->pinned; }

Tensor Tensor::pin_memory() const {
    KILN_CHECK(defined(), "pin_memory: tensor is undefined");
    KILN_CHECK(device().is_cpu(), "pin_memory: the tensor is on ", device().str(), "; only cpu tensors can be pinned");
    KILN_CHECK(!requires_grad(), "pin_memory: the tensor requires grad; pin data (inputs, batches), or detach() first");
    if (is_pinned()) return *this;
    Tensor out = empty_pinned(shape(), dtype());
    out.copy_(*this);
    return out;
}

void Tensor::record_stream(const Stream& stream) const {
    const Device d = device();
    if (d.kind == Device::Kind::cuda) {
        KILN_CHECK(stream.device() == d, "record_stream: the tensor is on ", d.str(), ", the stream on ",
                   stream.device().str());
        cuda_record_stream(storage()->data, d, stream.native_handle());
    } else if (is_pinned()) {
        KILN_CHECK(stream.device().kind == Device::Kind::cuda, "record_stream: a pinned tensor is copied by cuda "
                   "streams, got a stream on ", stream.device().str());
        cuda_host_record_stream(storage()->data, stream.native_handle());
    } else {
        KILN_CHECK(d.kind == Device::Kind::emu, "record_stream: the tensor is on cpu and not pinned; no stream uses it");
        KILN_CHECK(stream.device() == d, "record_stream: the tensor is on emu, the stream on ", stream.device().str());
        // emu: every launch has finished when it returns; nothing to order
    }
}

// ---------------------------------------------------------------- autograd state

bool Tensor::requires_grad() const { return checked(impl_).requires_grad; }

Tensor& Tensor::set_requires_grad(bool requires_grad) {
    KILN_CHECK(is_leaf(), "set_requires_grad: only leaf tensors (not results of ops) can be changed; use detach()");
    KILN_CHECK(!requires_grad || is_floating(dtype()), "set_requires_grad: a ", dtype_name(dtype()),
               " tensor cannot require a gradient");
    impl_->requires_grad = requires_grad;
    return *this;
}

Tensor Tensor::grad() const { return checked(impl_).grad; }

void Tensor::set_grad(const Tensor& grad) {
    if (grad.defined())
        KILN_CHECK(grad.shape() == shape() && grad.dtype() == dtype(), "set_grad: gradient ", shape_str(grad.shape()),
                   " ", dtype_name(grad.dtype()), " does not match tensor ", shape_str(shape()), " ",
                   dtype_name(dtype()));
    checked(impl_);
    impl_->grad = grad;
}

const std::shared_ptr<Node>& Tensor::grad_fn() const { return checked(impl_).grad_fn; }
bool Tensor::is_leaf() const { return grad_fn() == nullptr; }

Tensor Tensor::detach() const {
    const TensorImpl& impl = checked(impl_);
    auto detached = std::make_shared<TensorImpl>();
    detached->storage = impl.storage;
    detached->shape = impl.shape;
    detached->strides = impl.strides;
    detached->offset = impl.offset;
    detached->dtype = impl.dtype;
    detached->device = impl.device;
    return Tensor(std::move(detached));
}

std::string Tensor::name() const { return checked(impl_).name; }
Tensor& Tensor::set_name(const std::string& name) {
    checked(impl_);
    impl_->name = name;
    return *this;
}

// ---------------------------------------------------------------- printing

namespace {
constexpr int64_t print_edge_items = 3;  // elements shown at each end of a long dimension
constexpr int64_t print_threshold = 1000;  // tensors with more elements are summarised

void print_values(std::ostream& out, const std::vector<double>& values, const Shape& shape, const Shape& strides,
                  size_t dim, int64_t offset, bool summarise, bool integral, int indent) {
    if (shape.empty()) {
        out << values[size_t(offset)];
        return;
    }
    out << '[';
    const int64_t size = shape[dim];
    const bool skip = summarise && size > 2 * print_edge_items;
    for (int64_t i = 0; i < size; ++i) {
        if (skip && i == print_edge_items) {
            out << (dim + 1 == shape.size() ? "..., " : "...,\n" + std::string(size_t(indent + 1), ' '));
            i = size - print_edge_items;
        }
        if (dim + 1 == shape.size()) {
            const double value = values[size_t(offset + i * strides[dim])];
            if (integral) out << int64_t(value);
            else out << value;
        } else {
            print_values(out, values, shape, strides, dim + 1, offset + i * strides[dim], summarise, integral,
                         indent + 1);
        }
        if (i + 1 < size) out << (dim + 1 == shape.size() ? ", " : ",\n" + std::string(size_t(indent + 1), ' '));
    }
    out << ']';
}
}  // namespace

std::ostream& operator<<(std::ostream& out, const Tensor& tensor) {
    if (!tensor.defined()) return out << "tensor(undefined)";
    const std::vector<double> values = tensor.to_vector();
    std::ostringstream body;
    if (is_floating(tensor.dtype())) body << std::fixed << std::setprecision(4);
    const int indent = 7;  // strlen("tensor(")
    print_values(body, values, tensor.shape(), contiguous_strides(tensor.shape()), 0, 0,
                 tensor.numel() > print_threshold, tensor.dtype() == DType::int64, indent);
    out << "tensor(" << body.str() << ", dtype=" << dtype_name(tensor.dtype())
        << ", shape=" << shape_str(tensor.shape());
    if (!tensor.device().is_cpu()) out << ", device=" << tensor.device().str();
    if (tensor.grad_fn()) out << ", grad_fn=" << tensor.grad_fn()->name();
    else if (tensor.requires_grad()) out << ", requires_grad";
    return out << ')';
}

std::string to_string(const Tensor& tensor) {
    std::ostringstream out;
    out << tensor;
    return out.str();
}

}  // namespace kiln
