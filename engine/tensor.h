#pragma once
// Tensor: a strided view of reference-counted storage, with autograd state.
//
// Copies of a Tensor share everything (like a shared_ptr); views (reshape,
// permute, narrow, expand, ...) share storage with different shape/strides.
// Tensors are row-major (NCHW for images); an op that needs contiguous input
// calls contiguous(), which copies only when the strides require it.
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/dtype.h"
#include "engine/error.h"

namespace kiln {

using Shape = std::vector<int64_t>;

class Generator;
class Node;
class Stream;
struct TensorImpl;

// Memory of one tensor or of several views of it. `pinned`: page-locked host
// memory (device cpu) for asynchronous copies to and from a GPU.
struct Storage {
    void* data = nullptr;
    size_t bytes = 0;
    Device device;
    bool pinned = false;
    Storage(size_t bytes, Device device, bool pinned = false);
    ~Storage();
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;
};

int64_t numel_of(const Shape& shape);
// Copies raw bytes between devices (host memcpy for cpu and emu; for cuda a
// copy on the current stream that returns once finished, engine/cuda_device.h).
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);
Shape contiguous_strides(const Shape& shape);

class Tensor {
public:
    Tensor() = default;  // undefined: defined() is false
    explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

    // --- factories (dtype float32 and device cpu unless given) ---
    static Tensor empty(const Shape& shape, DType dtype = DType::float32, Device device = Device::cpu());
    static Tensor zeros(const Shape& shape, DType dtype = DType::float32, Device device = Device::cpu());
    static Tensor ones(const Shape& shape, DType dtype = DType::float32, Device device = Device::cpu());
    static Tensor full(const Shape& shape, double value, DType dtype = DType::float32, Device device = Device::cpu());
    // A cpu tensor in pinned host memory (see pin_memory).
    static Tensor empty_pinned(const Shape& shape, DType dtype = DType::float32);
    static Tensor scalar(double value, DType dtype = DType::float32);  // 0-d
    // [start, start+step, ...) below end
    static Tensor arange(double start, double end, double step = 1, DType dtype = DType::float32);
    // Uniform [0, 1) and standard normal, from the default Philox stream (see engine/random.h).
    static Tensor rand(const Shape& shape, DType dtype = DType::float32);
    static Tensor randn(const Shape& shape, DType dtype = DType::float32);
    // The same from a given stream.
    static Tensor rand(const Shape& shape, DType dtype, Generator& generator);
    static Tensor randn(const Shape& shape, DType dtype, Generator& generator);
    // A copy of host values, reshaped to `shape`.
    static Tensor from_vector(const std::vector<double>& values, const Shape& shape, DType dtype = DType::float32);
    static Tensor from_int64(const std::vector<int64_t>& values, const Shape& shape);

    // --- metadata ---
    bool defined() const { return impl_ != nullptr; }
    const Shape& shape() const;
    const Shape& strides() const;
    int64_t size(int64_t dim) const;  // negative dims count from the end
    int64_t dim() const;
    int64_t numel() const;
    int64_t offset() const;           // in elements, into storage
    DType dtype() const;
    Device device() const;
    bool is_contiguous() const;
    const std::shared_ptr<Storage>& storage() const;

    // Pointer to the first element (storage + offset). T must match dtype().
    template <typename T> T* data() const;
    void* raw_data() const;

    // --- values ---
    double item() const;                        // numel() must be 1
    std::vector<double> to_vector() const;      // row-major copy of the values
    Tensor to(DType dtype) const;               // converted copy (or *this when equal)
    // A copy on another device (or *this when equal); differentiable. Copies
    // to and from cuda run on the current stream of the cuda side
    // (engine/stream.h) and return once finished, unless `non_blocking` and
    // the host side is pinned: then the copy may still be running (order work
    // on the stream after it, or synchronise before reading on the host). A
    // non-blocking copy from cuda to cpu lands in pinned memory so that it can
    // run that way (as PyTorch). Device to device copies are stream-ordered.
    Tensor to(Device device, bool non_blocking = false) const;
    Tensor clone() const;                       // contiguous copy, same graph
    Tensor contiguous() const;                  // *this if already contiguous
    void fill_(double value);                   // in place, outside autograd
    void copy_(const Tensor& source);           // in place, same shape, outside autograd

    // --- pinned memory and streams (engine/stream.h) ---
    // A copy in pinned (page-locked) host memory, from a caching allocator
    // over cudaHostAlloc, or *this when already pinned. cpu tensors only, and
    // not ones that require grad (pin data: inputs and batches). Needs a
    // usable GPU: without one, the one-line "cuda: no GPU" error (in a build
    // without nvcc, "no CUDA backend").
    Tensor pin_memory() const;
    bool is_pinned() const;
    // The tensor's memory is used by work on `stream` (PyTorch's
    // record_stream): when the tensor is freed, its block is not reused
    // before that work has finished. Needed when a cuda tensor allocated on
    // one stream is used on another; also for pinned tensors; nothing to do
    // on emu.
    void record_stream(const Stream& stream) const;

    // --- views (share storage; see engine/ops/view.cpp) ---
    Tensor reshape(const Shape& shape) const;   // a view when the strides allow, else a copy
    Tensor view(const Shape& shape) const;      // a view or an error
    Tensor permute(const std::vector<int64_t>& dims) const;
    Tensor transpose(int64_t dim0, int64_t dim1) const;
    Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
    Tensor squeeze(std::optional<int64_t> dim = std::nullopt) const;
    Tensor unsqueeze(int64_t dim) const;
    Tensor expand(const Shape& shape) const;    // size-1 dims broadcast with stride 0

    // --- autograd ---
    bool requires_grad() const;
    Tensor& set_requires_grad(bool requires_grad = true);  // leaves only
    Tensor grad() const;                        // undefined until a backward reaches it
    void set_grad(const Tensor& grad);          // e.g. to seed or clear it
    const std::shared_ptr<Node>& grad_fn() const;
    bool is_leaf() const;
    Tensor detach() const;                      // same storage, no graph
    // Backpropagates from this tensor. grad_output may be omitted only for a
    // one-element tensor. The graph's saved tensors are freed afterwards
    // unless retain_graph is set.
    void backward(const Tensor& grad_output = Tensor(), bool retain_graph = false) const;

    // --- identity ---
    TensorImpl* impl() const { return impl_.get(); }
    const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
    std::string name() const;                   // user label, used by the graph printer
    Tensor& set_name(const std::string& name);

private:
    std::shared_ptr<TensorImpl> impl_;
};

struct TensorImpl {
    std::shared_ptr<Storage> storage;
    Shape shape;
    Shape strides;     // in elements
    int64_t offset = 0;  // in elements
    DType dtype = DType::float32;
    Device device;
    // autograd
    bool requires_grad = false;
    Tensor grad;
    std::shared_ptr<Node> grad_fn;                 // null for leaves
    std::weak_ptr<Node> grad_accumulator;          // leaves: their AccumulateGrad node
    std::string name;
};

template <typename T>
T* Tensor::data() const {
    KILN_CHECK(defined(), "data: tensor is undefined");
    KILN_CHECK(dtype_of<T>() == dtype(), "data: tensor is ", dtype_name(dtype()), ", asked for ",
               dtype_name(dtype_of<T>()));
    return static_cast<T*>(raw_data());
}

// PyTorch-like printing: tensor([[1.0000, 2.0000]], dtype=float32, shape=[1, 2])
std::ostream& operator<<(std::ostream& out, const Tensor& tensor);
std::string to_string(const Tensor& tensor);

// Normalises a possibly negative dim for a tensor of `ndim` dims, naming `op` on error.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);

}  // namespace kiln
