#pragma once
// The current stream of the cuda backend: one per host thread and CUDA
// device, null (CUDA's legacy default stream) until set. KILN_LAUNCH under
// nvcc (kernels/cuda/cuda_common.h) launches every hand-written kernel on it,
// the vendor routines set their cuBLAS/cuDNN handle to it, and the engine's
// copies are queued on it. The engine's kiln::Stream and StreamGuard
// (engine/stream.h) are what set it; this is the slot they write, kept here so
// that kernels/ needs nothing from engine/. Defined in kernels/cuda/runtime.cu
// (nvcc builds only).
#include <cuda_runtime_api.h>

namespace kiln::cuda {

// Devices a thread can hold a current stream for (more than any node has).
constexpr int max_devices = 64;

// The current stream of `device` on this thread.
cudaStream_t current_stream(int device);
// The current stream of the current CUDA device (cudaGetDevice); null when
// there is no usable device (the launch or call that follows reports it).
cudaStream_t current_stream();
// Throws kiln::Error when `device` is not in [0, max_devices).
void set_current_stream(int device, cudaStream_t stream);

}  // namespace kiln::cuda
