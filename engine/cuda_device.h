#pragma once
// Device memory and transfers of the cuda backend (engine/cuda_device.cpp, or
// kernels/cuda/runtime.cu when nvcc is present). Without a usable GPU each
// says so in one line: "cuda: no GPU: <driver message>".
#include <cstddef>

#include "engine/device.h"

namespace kiln {

void* cuda_allocate(size_t bytes, Device device);
void cuda_free(void* pointer, Device device);
// One side (or both) is a cuda device.
void cuda_copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);

}  // namespace kiln
