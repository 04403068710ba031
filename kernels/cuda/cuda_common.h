#pragma once
// The first include of every kernels/cuda/*.cu file. The same source is built
// twice: by nvcc into namespace kiln::cuda (the cuda backend), and by the host
// compiler into namespace kiln::emu (the SIMT emulator). KILN_CUDA_NS names
// the namespace of the current build.
//
//   KILN_LAUNCH(kernel, grid, block, shared_bytes, args...)   // kernel<<<grid, block, shared_bytes, stream>>>(args...)
//   KILN_DYNAMIC_SHARED(float, tile);                           // extern __shared__ float tile[]
//
// A launch goes to the current stream of the current device
// (kernels/cuda/current_stream.h; set with kiln::StreamGuard, engine/stream.h),
// so call sites never name a stream. Under emu a launch runs to completion
// before KILN_LAUNCH returns, which is one valid schedule of a stream (and is
// counted on the emu stream that is current, kernels/emu/simt.h).
#include <cstdint>

#if defined(__CUDACC__)
#include <cuda_runtime.h>

#include "kernels/cuda/current_stream.h"
#define KILN_CUDA_NS cuda
namespace kiln::cuda {
// Throws kiln::Error for a failed launch (defined in kernels/cuda/runtime.cu).
void check_launch(const char* kernel_name);
}  // namespace kiln::cuda
#define KILN_LAUNCH(kernel, grid, block, shared_bytes, ...)                                        \
    do {                                                                                           \
        kernel<<<(grid), (block), (shared_bytes), ::kiln::cuda::current_stream()>>>(__VA_ARGS__); \
        ::kiln::cuda::check_launch(#kernel);                                                       \
    } while (0)
#define KILN_DYNAMIC_SHARED(T, name)                       \
    extern __shared__ unsigned char kiln_dynamic_shared[]; \
    T* name = reinterpret_cast<T*>(kiln_dynamic_shared)
#else
#include "kernels/emu/cuda_emu.h"
#define KILN_CUDA_NS emu
#endif

namespace kiln::KILN_CUDA_NS {
// Blocks of `threads` threads covering `count` elements.
inline unsigned blocks_for(int64_t count, unsigned threads) { return unsigned((count + threads - 1) / threads); }
}  // namespace kiln::KILN_CUDA_NS
