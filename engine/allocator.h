#pragma once
// CachingAllocator: the memory of cpu tensors (host memory) and of cuda
// tensors (one allocator per GPU, over cudaMalloc: a cudaMalloc per tensor
// would synchronise the device every step). emu tensors do not use it: they
// get exact-size guarded blocks (kernels/emu/device_memory.h).
//
// Every host block is 64-byte aligned (a cache line, an AVX-512 vector). Sizes are
// rounded up to a size class (four classes per power of two, so at most 25%
// waste) and a freed block goes back to its class's free list instead of to the
// OS: a training step asks for the same sizes every time, and fresh large
// allocations page-fault on every touch (that dominated PyTorch's CPU training
// time in our measurements). empty_cache() returns the cached blocks.
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

namespace kiln {

struct AllocatorStats {
    size_t bytes_in_use = 0;     // handed out and not yet freed
    size_t bytes_cached = 0;     // freed, kept for reuse
    size_t peak_bytes_in_use = 0;
    uint64_t allocations = 0;    // calls to allocate()
    uint64_t cache_hits = 0;     // allocations served from the cache
};

class CachingAllocator {
public:
    static constexpr size_t alignment = 64;

    // Where blocks come from and go back to when the cache is emptied; the
    // source returns null when it is out of memory.
    using Source = void* (*)(size_t bytes, int device);
    using Release = void (*)(void* block, int device);

    CachingAllocator(Source source, Release release, int device, const char* name);
    CachingAllocator() : CachingAllocator(nullptr, nullptr, 0, "host") {}  // host memory

    static CachingAllocator& host();

    void* allocate(size_t bytes);
    void deallocate(void* ptr);
    void empty_cache();
    AllocatorStats stats() const;

    // The size a request of `bytes` is rounded up to.
    static size_t size_class(size_t bytes);

    ~CachingAllocator();

private:
    void release_cache_locked();
    Source source_;
    Release release_;
    int device_;
    const char* name_;
    mutable std::mutex mutex_;
    std::map<void*, size_t> in_use_;                   // block -> its size class
    std::map<size_t, std::vector<void*>> free_blocks_;  // size class -> cached blocks
    AllocatorStats stats_;
};

}  // namespace kiln
