#include "engine/cuda_device.h"

#include "kernels/common/error.h"

#if KILN_HAVE_CUDA
#include <cuda_runtime.h>

#include <map>
#include <mutex>

#include "engine/cuda_check.h"
#include "kernels/cuda/current_stream.h"
#endif

namespace kiln {

#if KILN_HAVE_CUDA

// One line for every failure; without a driver or GPU CUDA says e.g. "CUDA
// driver version is insufficient for CUDA runtime version".
void cuda_check(cudaError_t status, const char* what, Device device) {
    if (status == cudaSuccess) return;
    const bool no_gpu = status == cudaErrorInsufficientDriver || status == cudaErrorNoDevice ||
                        status == cudaErrorInvalidDevice;
    fail("cuda: ", no_gpu ? "no GPU: " : "", what, " on ", device.str(), " failed: ", cudaGetErrorString(status));
}

void cuda_check_device(Device device) {
    int count = 0;
    cuda_check(cudaGetDeviceCount(&count), "looking for the GPU", device);
    KILN_CHECK(device.index >= 0 && device.index < count, "cuda: no GPU: ", device.str(), " does not exist (",
               count, " CUDA device", count == 1 ? "" : "s", ")");
}

namespace {

// ---- the events that order block reuse (StreamOrder of engine/allocator.h); never throw ----

// An event after the work queued on `stream` so far, created on the stream's
// device (`device`, or for a pinned block the stream's own device).
void* record_event(StreamHandle stream, int device) {
    int previous = 0;
    if (cudaGetDevice(&previous) != cudaSuccess) return nullptr;
    if (device < 0 && (!stream || cudaStreamGetDevice(static_cast<cudaStream_t>(stream), &device) != cudaSuccess))
        device = previous;
    if (cudaSetDevice(device) != cudaSuccess) return nullptr;
    cudaEvent_t event = nullptr;
    const bool recorded = cudaEventCreateWithFlags(&event, cudaEventDisableTiming) == cudaSuccess &&
                          cudaEventRecord(event, static_cast<cudaStream_t>(stream)) == cudaSuccess;
    cudaSetDevice(previous);
    if (recorded) return event;
    if (event) cudaEventDestroy(event);
    (void)cudaGetLastError();  // the block is released instead; do not leave the error to the next launch check
    return nullptr;
}
bool event_done(void* event, int) {
    const cudaError_t status = cudaEventQuery(static_cast<cudaEvent_t>(event));
    if (status != cudaErrorNotReady) return true;  // (an error is the device's, reported by the next checked call)
    (void)cudaGetLastError();                       // "not ready" is no error: do not leave it for check_launch
    return false;
}
void wait_event(void* event, int) { cudaEventSynchronize(static_cast<cudaEvent_t>(event)); }
void destroy_event(void* event, int) { cudaEventDestroy(static_cast<cudaEvent_t>(event)); }

constexpr StreamOrder device_order{false, record_event, event_done, wait_event, destroy_event};
constexpr StreamOrder pinned_order{true, record_event, event_done, wait_event, destroy_event};

// ---- device memory ----

void* cuda_source(size_t bytes, int index) {
    void* pointer = nullptr;
    if (cudaSetDevice(index) != cudaSuccess || cudaMalloc(&pointer, bytes) != cudaSuccess) {
        (void)cudaGetLastError();  // out of memory is the allocator's to report
        return nullptr;
    }
    return pointer;
}
void cuda_release(void* block, int index) {
    cudaSetDevice(index);
    cudaFree(block);  // never throws: also called from destructors
}

// One caching allocator per GPU, created on first use (after the device was found usable).
CachingAllocator& allocator_for(Device device) {
    static std::mutex mutex;
    static std::map<int, CachingAllocator*> allocators;  // never destroyed: tensors may outlive main
    std::lock_guard lock(mutex);
    auto [it, inserted] = allocators.try_emplace(device.index, nullptr);
    if (inserted) it->second = new CachingAllocator(cuda_source, cuda_release, device.index, "GPU", &device_order);
    return *it->second;
}

// ---- pinned host memory ----

void* pinned_source(size_t bytes, int) {
    void* pointer = nullptr;
    if (cudaHostAlloc(&pointer, bytes, cudaHostAllocDefault) != cudaSuccess) {
        (void)cudaGetLastError();
        return nullptr;
    }
    return pointer;
}
void pinned_release(void* block, int) { cudaFreeHost(block); }

CachingAllocator& pinned_allocator() {
    static auto* allocator =  // never destroyed, as the device allocators
        new CachingAllocator(pinned_source, pinned_release, -1, "pinned host", &pinned_order);
    return *allocator;
}

}  // namespace

void* cuda_allocate(size_t bytes, Device device) {
    cuda_check(cudaSetDevice(device.index), "selecting the device", device);  // the one-line "no GPU" error
    return allocator_for(device).allocate(bytes, cuda::current_stream(device.index));
}

void cuda_free(void* pointer, Device device) {
    if (pointer) allocator_for(device).deallocate(pointer, cuda::current_stream(device.index));
}

void cuda_record_stream(void* pointer, Device device, void* stream) { allocator_for(device).record_stream(pointer, stream); }

void cuda_retire_stream(void* stream, Device device) { allocator_for(device).retire_stream(stream); }

AllocatorStats cuda_memory_stats(Device device) {
    cuda_check_device(device);
    return allocator_for(device).stats();
}

void* cuda_host_allocate(size_t bytes) {
    // Without a driver cudaHostAlloc fails too: say "no GPU", not "out of pinned memory"
    // (checked until it succeeds once: a static whose initialiser throws is tried again).
    static const bool usable = (cuda_check_device(Device::cuda(0)), true);
    (void)usable;
    return pinned_allocator().allocate(bytes);
}

void cuda_host_free(void* pointer) {
    if (pointer) pinned_allocator().deallocate(pointer);
}

void cuda_host_record_stream(void* pointer, void* stream) { pinned_allocator().record_stream(pointer, stream); }

AllocatorStats cuda_host_memory_stats() { return pinned_allocator().stats(); }

void cuda_copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes,
                     bool non_blocking, void* pinned_block) {
    const bool to_gpu = dst_device.kind == Device::Kind::cuda, from_gpu = src_device.kind == Device::Kind::cuda;
    const Device gpu = to_gpu ? dst_device : src_device;
    cuda_check(cudaSetDevice(gpu.index), "selecting the device", gpu);
    const cudaStream_t stream = cuda::current_stream(gpu.index);
    if (to_gpu && from_gpu) {
        if (src_device.index != dst_device.index)  // the source's stream does not order the destination's: wait for it
            cuda_check(cudaStreamSynchronize(cuda::current_stream(src_device.index)), "cudaStreamSynchronize", src_device);
        cuda_check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream), "cudaMemcpyAsync", gpu);
        return;
    }
    const cudaMemcpyKind kind = to_gpu ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost;
    cuda_check(cudaMemcpyAsync(dst, src, bytes, kind, stream), "cudaMemcpyAsync", gpu);
    if (non_blocking && pinned_block) {
        cuda_host_record_stream(pinned_block, stream);
        return;
    }
    cuda_check(cudaStreamSynchronize(stream), "cudaStreamSynchronize", gpu);
}

#else

void cuda_check_device(Device) { fail(no_cuda_backend_message); }
void* cuda_allocate(size_t, Device) { fail(no_cuda_backend_message); }
void cuda_free(void*, Device) {}
void cuda_record_stream(void*, Device, void*) { fail(no_cuda_backend_message); }
void cuda_retire_stream(void*, Device) {}
AllocatorStats cuda_memory_stats(Device) { fail(no_cuda_backend_message); }
void* cuda_host_allocate(size_t) { fail(no_cuda_backend_message); }
void cuda_host_free(void*) {}
void cuda_host_record_stream(void*, void*) { fail(no_cuda_backend_message); }
AllocatorStats cuda_host_memory_stats() { fail(no_cuda_backend_message); }
void cuda_copy_bytes(void*, Device, const void*, Device, size_t, bool, void*) { fail(no_cuda_backend_message); }

#endif

}  // namespace kiln
