#include "engine/cuda_device.h"

#include "kernels/common/error.h"

#if KILN_HAVE_CUDA
#include <cuda_runtime.h>

#include <map>
#include <mutex>

#include "engine/allocator.h"
#endif

namespace kiln {

#if KILN_HAVE_CUDA

namespace {
// One line for every failure; without a driver or GPU CUDA says e.g. "CUDA
// driver version is insufficient for CUDA runtime version".
void check(cudaError_t status, const char* what, Device device) {
    if (status == cudaSuccess) return;
    const bool no_gpu = status == cudaErrorInsufficientDriver || status == cudaErrorNoDevice ||
                        status == cudaErrorInvalidDevice;
    fail("cuda: ", no_gpu ? "no GPU: " : "", what, " on ", device.str(), " failed: ", cudaGetErrorString(status));
}
}  // namespace

namespace {
void* cuda_source(size_t bytes, int index) {
    void* pointer = nullptr;
    if (cudaSetDevice(index) != cudaSuccess || cudaMalloc(&pointer, bytes) != cudaSuccess) return nullptr;
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
    if (inserted) it->second = new CachingAllocator(cuda_source, cuda_release, device.index, "GPU");
    return *it->second;
}
}  // namespace

void* cuda_allocate(size_t bytes, Device device) {
    check(cudaSetDevice(device.index), "selecting the device", device);  // the one-line "no GPU" error
    return allocator_for(device).allocate(bytes);
}

void cuda_free(void* pointer, Device device) {
    if (pointer) allocator_for(device).deallocate(pointer);
}

void cuda_copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
    const bool to_gpu = dst_device.kind == Device::Kind::cuda, from_gpu = src_device.kind == Device::Kind::cuda;
    const cudaMemcpyKind kind = to_gpu && from_gpu ? cudaMemcpyDeviceToDevice
                                : to_gpu           ? cudaMemcpyHostToDevice
                                                   : cudaMemcpyDeviceToHost;
    check(cudaMemcpy(dst, src, bytes, kind), "cudaMemcpy", to_gpu ? dst_device : src_device);
}

#else

void* cuda_allocate(size_t, Device) { fail("cuda: this build of kiln has no CUDA backend (nvcc was not found)"); }
void cuda_free(void*, Device) {}
void cuda_copy_bytes(void*, Device, const void*, Device, size_t) {
    fail("cuda: this build of kiln has no CUDA backend (nvcc was not found)");
}

#endif

}  // namespace kiln
