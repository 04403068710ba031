#include "engine/cuda_device.h"

#include "kernels/common/error.h"

#if KILN_HAVE_CUDA
#include <cuda_runtime.h>
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

void* cuda_allocate(size_t bytes, Device device) {
    check(cudaSetDevice(device.index), "selecting the device", device);
    void* pointer = nullptr;
    check(cudaMalloc(&pointer, bytes ? bytes : 1), "cudaMalloc", device);
    return pointer;
}

void cuda_free(void* pointer, Device device) {
    if (!pointer) return;
    cudaSetDevice(device.index);
    cudaFree(pointer);  // never throws from a destructor
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
