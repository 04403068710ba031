// Runtime support of the cuda build: launch error checking.
#include "kernels/common/error.h"
#include "kernels/cuda/cuda_common.h"

namespace kiln::cuda {

void check_launch(const char* kernel_name) {
    const cudaError_t status = cudaGetLastError();
    KILN_CHECK(status == cudaSuccess, "cuda: launching ", kernel_name, " failed: ", cudaGetErrorString(status));
}

}  // namespace kiln::cuda
