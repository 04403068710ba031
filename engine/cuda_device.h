#pragma once
// Device memory, pinned host memory and transfers of the cuda backend
// (engine/cuda_device.cpp, over the CUDA runtime when nvcc is present).
// Without a usable GPU each says so in one line: "cuda: no GPU: <driver
// message>"; in a build without nvcc, `no_cuda_backend_message`.
#include <cstddef>

#include "engine/allocator.h"
#include "engine/device.h"

namespace kiln {

inline constexpr const char* no_cuda_backend_message =
    "cuda: this build of kiln has no CUDA backend (nvcc was not found)";

// Throws the one-line error unless `device` is a usable GPU (changes nothing).
void cuda_check_device(Device device);

// Device memory: one CachingAllocator per GPU, stream-ordered (the rule is in
// engine/allocator.h). A block belongs to the current stream of `device` at
// allocation; a free counts as a use by the stream then current.
void* cuda_allocate(size_t bytes, Device device);
void cuda_free(void* pointer, Device device);
// `stream` (a cudaStream_t of `device`) uses the block at `pointer` (a block
// start, as Storage::data).
void cuda_record_stream(void* pointer, Device device, void* stream);
// `stream` (of `device`) has finished its work and is being destroyed.
void cuda_retire_stream(void* stream, Device device);
AllocatorStats cuda_memory_stats(Device device);

// Pinned (page-locked) host memory for asynchronous copies: cudaHostAlloc
// through one CachingAllocator. A block used by an asynchronous copy is
// recorded with the copy's stream and not reused before the copy finished.
void* cuda_host_allocate(size_t bytes);
void cuda_host_free(void* pointer);
void cuda_host_record_stream(void* pointer, void* stream);
AllocatorStats cuda_host_memory_stats();

// Copies `bytes` where one side (or both) is a cuda device, on the current
// stream of the cuda side (of the destination for device to device). Returns
// once the copy has finished, except (a) device to device, which is ordered
// on the stream like a kernel, and (b) with `non_blocking` when the host side
// is pinned: `pinned_block` is then the start of the host side's block, which
// is recorded as used by the stream. Pageable host memory is always waited for.
void cuda_copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes,
                     bool non_blocking = false, void* pinned_block = nullptr);

}  // namespace kiln
