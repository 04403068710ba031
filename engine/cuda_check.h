#pragma once
// Not a public header (it includes the CUDA runtime's): the engine's CUDA
// calls turn a failed status into kiln's one line, "cuda: no GPU: ..." when
// the driver or device is missing. Defined in engine/cuda_device.cpp; only
// in builds with nvcc.
#include <cuda_runtime.h>

#include "engine/device.h"

namespace kiln {

void cuda_check(cudaError_t status, const char* what, Device device);

}  // namespace kiln
