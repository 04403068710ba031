// Runtime support of the cuda build: launch error checking and the current
// stream of each device (kernels/cuda/current_stream.h).
#include "kernels/common/error.h"
#include "kernels/cuda/cuda_common.h"
#include "kernels/cuda/current_stream.h"

namespace kiln::cuda {

void check_launch(const char* kernel_name) {
    const cudaError_t status = cudaGetLastError();
    KILN_CHECK(status == cudaSuccess, "cuda: launching ", kernel_name, " failed: ", cudaGetErrorString(status));
}

namespace {
thread_local cudaStream_t current_streams[max_devices] = {};  // null: the legacy default stream
}  // namespace

cudaStream_t current_stream(int device) {
    return device >= 0 && device < max_devices ? current_streams[device] : nullptr;
}

cudaStream_t current_stream() {
    int device = 0;
    if (cudaGetDevice(&device) != cudaSuccess) return nullptr;
    return current_stream(device);
}

void set_current_stream(int device, cudaStream_t stream) {
    KILN_CHECK(device >= 0 && device < max_devices, "cuda: device index ", device, " is out of range [0, ",
               max_devices, ")");
    current_streams[device] = stream;
}

}  // namespace kiln::cuda
