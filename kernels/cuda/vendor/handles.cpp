// Per-device handles, the workspace cache and error checks of the vendor
// routines (see handles.h).
#include "kernels/cuda/vendor/handles.h"

#include <climits>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "kernels/common/error.h"
#include "kernels/cuda/current_stream.h"
#include "kernels/cuda/vendor/streams.h"

namespace kiln::vendor {

namespace {

// What each stream that ran a vendor routine keeps: work on two streams may
// overlap, so they must not share scratch memory.
struct StreamState {
    void* workspace = nullptr;  // cuDNN's algorithms, batch norm's scratch
    size_t workspace_bytes = 0;
    void* cublas_workspace = nullptr;
};

struct DeviceState {
    cublasHandle_t cublas = nullptr;
    cudaStream_t cublas_stream = nullptr;  // the stream and workspace the cuBLAS handle was last set to
    bool cublas_stream_set = false;
#if KILN_HAVE_CUDNN
    cudnnHandle_t cudnn = nullptr;
#endif
    std::map<cudaStream_t, StreamState> streams;
    // (is double, value) -> a device array of that value and its length
    std::map<std::pair<bool, double>, std::pair<void*, int64_t>> constants;
};

std::mutex state_mutex;

std::map<int, DeviceState>& states() {
    static auto* states = new std::map<int, DeviceState>();  // never destroyed: see handles.h
    return *states;
}

// The current device's state.
DeviceState& current_state() {
    int device = 0;
    check(cudaGetDevice(&device), "cudaGetDevice");
    std::lock_guard lock(state_mutex);
    return states()[device];
}

// cuBLAS's recommended workspace (cublasSetWorkspace): 32 MiB on Hopper
// (sm_90) and later, 4 MiB before.
size_t cublas_workspace_bytes() {
    int device = 0, major = 0;
    check(cudaGetDevice(&device), "cudaGetDevice");
    check(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), "cudaDeviceGetAttribute");
    return (major >= 9 ? size_t(32) : size_t(4)) << 20;
}

// The reason a library call failed when the GPU itself is not usable
// ("CUDA driver version is insufficient ..."), or "" when it is.
std::string no_gpu_reason() {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) return cudaGetErrorString(status);
    return count == 0 ? "no CUDA device" : "";
}

[[noreturn]] void fail_library(const char* library_status, const char* what) {
    const std::string reason = no_gpu_reason();
    if (!reason.empty()) fail("cuda: no GPU: ", what, " failed: ", library_status, " (", reason, ")");
    fail("vendor: ", what, " failed: ", library_status);
}

}  // namespace

void check(cudaError_t status, const char* what) {
    if (status == cudaSuccess) return;
    const bool no_gpu = status == cudaErrorInsufficientDriver || status == cudaErrorNoDevice;
    fail("cuda: ", no_gpu ? "no GPU: " : "", what, " failed: ", cudaGetErrorString(status));
}

void check(cublasStatus_t status, const char* what) {
    if (status != CUBLAS_STATUS_SUCCESS) fail_library(cublasGetStatusString(status), what);
}

cublasHandle_t cublas_handle() {
    DeviceState& state = current_state();
    if (!state.cublas) {
        check(cublasCreate(&state.cublas), "cublasCreate");
        // Full FP32: no TF32 tensor cores, so SGEMM results compare with the hand-written kernels'.
        check(cublasSetMathMode(state.cublas, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
    }
    const cudaStream_t stream = cuda::current_stream();
    if (!state.cublas_stream_set || state.cublas_stream != stream) {
        check(cublasSetStream(state.cublas, stream), "cublasSetStream");
        // cublasSetStream puts the handle back on cuBLAS's default workspace,
        // which every stream of the handle would share: each stream gets its
        // own (as PyTorch does, per handle and stream).
        StreamState& on_stream = state.streams[stream];
        const size_t bytes = cublas_workspace_bytes();
        if (!on_stream.cublas_workspace)
            check(cudaMalloc(&on_stream.cublas_workspace, bytes), "cudaMalloc (cuBLAS workspace)");
        check(cublasSetWorkspace(state.cublas, on_stream.cublas_workspace, bytes), "cublasSetWorkspace");
        state.cublas_stream = stream;
        state.cublas_stream_set = true;
    }
    return state.cublas;
}

void* workspace(size_t bytes) {
    StreamState& state = current_state().streams[cuda::current_stream()];
    if (bytes > state.workspace_bytes) {
        constexpr size_t granule = size_t(1) << 20;  // grow in MiB steps: fewer regrowths as shapes vary
        const size_t size = (bytes + granule - 1) / granule * granule;
        if (state.workspace) check(cudaFree(state.workspace), "cudaFree (vendor workspace)");
        state.workspace = nullptr;
        state.workspace_bytes = 0;
        check(cudaMalloc(&state.workspace, size), "cudaMalloc (vendor workspace)");
        state.workspace_bytes = size;
    }
    return state.workspace;
}

void release_stream(void* stream) {
    std::lock_guard lock(state_mutex);
    for (auto& [device, state] : states()) {
        auto found = state.streams.find(static_cast<cudaStream_t>(stream));
        if (found == state.streams.end()) continue;
        cudaFree(found->second.workspace);  // (never throws: called while a stream is destroyed)
        cudaFree(found->second.cublas_workspace);
        state.streams.erase(found);
        if (state.cublas_stream == stream) state.cublas_stream_set = false;  // set again before the next call
    }
}

#if KILN_HAVE_CUDNN

void check(cudnnStatus_t status, const char* what) {
    if (status != CUDNN_STATUS_SUCCESS) fail_library(cudnnGetErrorString(status), what);
}

cudnnHandle_t cudnn_handle() {
    DeviceState& state = current_state();
    if (!state.cudnn) check(cudnnCreate(&state.cudnn), "cudnnCreate");
    check(cudnnSetStream(state.cudnn, cuda::current_stream()), "cudnnSetStream");
    return state.cudnn;
}

template <typename T>
const T* constant_array(T value, int64_t count) {
    DeviceState& state = current_state();
    auto& [pointer, length] = state.constants[{std::is_same_v<T, double>, double(value)}];
    if (length < count) {
        if (pointer) check(cudaFree(pointer), "cudaFree (vendor constants)");
        pointer = nullptr;
        length = 0;
        check(cudaMalloc(&pointer, size_t(count) * sizeof(T)), "cudaMalloc (vendor constants)");
        // Shared by every stream from now on: complete before any of them reads it.
        const std::vector<T> host(size_t(count), value);
        const cudaStream_t stream = cuda::current_stream();
        check(cudaMemcpyAsync(pointer, host.data(), size_t(count) * sizeof(T), cudaMemcpyHostToDevice, stream),
              "cudaMemcpyAsync (vendor constants)");
        check(cudaStreamSynchronize(stream), "cudaStreamSynchronize (vendor constants)");
        length = count;
    }
    return static_cast<const T*>(pointer);
}
template const float* constant_array<float>(float, int64_t);
template const double* constant_array<double>(double, int64_t);

template <typename T>
void set_tensor(cudnnTensorDescriptor_t descriptor, int64_t n, int64_t c, int64_t h, int64_t w) {
    KILN_CHECK(n <= INT_MAX && c <= INT_MAX && h <= INT_MAX && w <= INT_MAX && n * c * h * w <= INT_MAX,
               "vendor: cuDNN takes tensors of at most 2^31 - 1 elements, got [", n, ", ", c, ", ", h, ", ", w, "]");
    check(cudnnSetTensor4dDescriptor(descriptor, CUDNN_TENSOR_NCHW, cudnn_type<T>(), int(n), int(c), int(h), int(w)),
          "cudnnSetTensor4dDescriptor");
}
template void set_tensor<float>(cudnnTensorDescriptor_t, int64_t, int64_t, int64_t, int64_t);
template void set_tensor<double>(cudnnTensorDescriptor_t, int64_t, int64_t, int64_t, int64_t);

#endif

}  // namespace kiln::vendor
