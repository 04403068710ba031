#pragma once
// What every vendor routine (kernels/cuda/vendor/*.cpp) shares; not a public
// header (it includes the libraries' headers).
//
// Handles: one cuBLAS handle and one cuDNN handle per CUDA device, created at
// the first call on that device and reused for the life of the process (never
// destroyed: destroying them from static destructors races the CUDA runtime's
// own teardown). Each call runs on the current stream (kernels/cuda/
// current_stream.h), in order with kiln's hand-written kernels there:
// cudnn_handle() and cublas_handle() set their handle's stream to it. One
// thread at a time: kiln's ops run on the calling thread, and these handles
// are not meant to be shared by concurrent threads.
//
// Workspace: per device and stream. cuDNN's convolution algorithms need
// scratch memory, and two streams' calls may overlap, so each stream keeps
// one buffer (cudaMalloc) that grows to the largest request and is reused by
// every later call on that stream (in stream order, so reuse is safe);
// growing frees the old buffer with cudaFree, which waits for the device
// first. cuBLAS gets a workspace per stream too (cublasSetWorkspace, its
// recommended size), as cublasSetStream would otherwise put every stream on
// the handle's one default workspace. A destroyed kiln::Stream frees its
// buffers (kernels/cuda/vendor/streams.h). These are a few long-lived buffers,
// not per-call allocations, so they do not go through the engine's caching
// allocator (kernels/ cannot reach it).
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#if KILN_HAVE_CUDNN
#include <cudnn.h>
#endif

namespace kiln::vendor {

// Any failure is a kiln::Error naming the call; without a usable GPU it is
// kiln's one line "cuda: no GPU: ...".
void check(cudaError_t status, const char* what);
void check(cublasStatus_t status, const char* what);

// The current device's cuBLAS handle, set to the current stream and its workspace.
cublasHandle_t cublas_handle();

// The workspace of the current device and stream, at least `bytes` long
// (valid until the next call on this stream asks for more).
void* workspace(size_t bytes);

// Never more workspace than this for one cuDNN call: an algorithm that wants
// more is skipped for the next one the heuristics rank (1 GiB leaves room for
// the net on the smallest GPU users have, 16 GiB).
constexpr size_t max_workspace_bytes = size_t(1) << 30;

#if KILN_HAVE_CUDNN
void check(cudnnStatus_t status, const char* what);

// The current device's cuDNN handle, set to the current stream.
cudnnHandle_t cudnn_handle();

// A cached device array of at least `count` values `value` of T (batch norm's
// stand-in weight of ones and bias of zeros).
template <typename T>
const T* constant_array(T value, int64_t count);

template <typename T>
constexpr cudnnDataType_t cudnn_type() {
    return std::is_same_v<T, double> ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
}

// cuDNN's descriptors as scoped objects: created in the constructor,
// destroyed in the destructor.
template <typename Handle, cudnnStatus_t (*create)(Handle*), cudnnStatus_t (*destroy)(Handle)>
class Descriptor {
public:
    Descriptor() { check(create(&handle_), "creating a cuDNN descriptor"); }
    ~Descriptor() { destroy(handle_); }
    Descriptor(const Descriptor&) = delete;
    Descriptor& operator=(const Descriptor&) = delete;
    operator Handle() const { return handle_; }

private:
    Handle handle_{};
};
using TensorDescriptor = Descriptor<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor>;
using FilterDescriptor = Descriptor<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor>;
using ConvolutionDescriptor =
    Descriptor<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor, cudnnDestroyConvolutionDescriptor>;
using PoolingDescriptor =
    Descriptor<cudnnPoolingDescriptor_t, cudnnCreatePoolingDescriptor, cudnnDestroyPoolingDescriptor>;
using ActivationDescriptor =
    Descriptor<cudnnActivationDescriptor_t, cudnnCreateActivationDescriptor, cudnnDestroyActivationDescriptor>;

// A packed NCHW tensor descriptor of T; cuDNN takes int dimensions.
template <typename T>
void set_tensor(cudnnTensorDescriptor_t descriptor, int64_t n, int64_t c, int64_t h, int64_t w);
#endif

}  // namespace kiln::vendor
