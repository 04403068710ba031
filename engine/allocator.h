#pragma once
// CachingAllocator: the memory of cpu tensors (host memory), of cuda tensors
// (one allocator per GPU, over cudaMalloc: a cudaMalloc per tensor would
// synchronise the device every step) and of pinned host tensors (one
// allocator over cudaHostAlloc). emu tensors do not use it: they get
// exact-size guarded blocks (kernels/emu/device_memory.h).
//
// Every host block is 64-byte aligned (a cache line, an AVX-512 vector). Sizes are
// rounded up to a size class (four classes per power of two, so at most 25%
// waste) and a freed block goes back to its class's free list instead of to the
// OS: a training step asks for the same sizes every time, and fresh large
// allocations page-fault on every touch (that dominated PyTorch's CPU training
// time in our measurements). empty_cache() returns the cached blocks.
//
// Host memory's large blocks (>= arena_threshold) come from an arena instead
// (docs/architecture.md). Free lists per size class hold on to memory per
// class: a step's memory is then the sum over classes of each class's own
// peak, and a training step's backward asks for other sizes than its forward
// freed (resnet18: 256 MiB cached for 179 MiB ever in use at once). The arena
// reserves address space with mmap in regions of arena_region bytes (the OS
// backs a page only when it is first written), rounds a request to whole
// pages, hands out the best-fitting free range (the smallest that fits, the
// lowest address among equals) split to size, and merges a freed range with
// its free neighbours. Memory is then the peak of bytes in use plus the
// fragmentation between ranges; after the first steps every range fits below
// the high-water mark already written, so no page is faulted in again.
// bytes_cached counts the free bytes below each region's high-water mark;
// empty_cache() unmaps regions with nothing in use and gives the pages of the
// other free ranges back (madvise). Built with AddressSanitizer the arena is
// off: each block is its own allocation, with ASan's redzones around it.
//
// Streams (device and pinned memory; PyTorch's CUDACachingAllocator rule). A
// block belongs to the stream that was current when it was allocated, and
// a freed block is handed again, without waiting, only to an allocation on
// that same stream: work queued on one stream runs in order, so the new
// owner's kernels cannot start before the old owner's have finished. A block
// that other streams used is not reused until they are done with it: streams
// named by record_stream(), and the stream current at deallocate() when it is
// not the owner, each get an event recorded at free time, and the block
// waits (bytes_pending) until every event has completed. Pinned host memory
// has no owner stream (the host writes it between copies): every stream that
// a copy recorded on it is waited for. Allocators without StreamOrder hooks
// (host memory) ignore streams.
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

namespace kiln {

struct AllocatorStats {
    size_t bytes_in_use = 0;     // handed out and not yet freed
    size_t bytes_cached = 0;     // freed, kept for reuse
    size_t bytes_pending = 0;    // freed, waiting for another stream's work before reuse
    size_t peak_bytes_in_use = 0;
    uint64_t allocations = 0;    // calls to allocate()
    uint64_t cache_hits = 0;     // allocations served from the cache
};

// A stream as the allocator sees it: an opaque handle (a cudaStream_t; null is
// CUDA's legacy default stream).
using StreamHandle = void*;

// How an allocator orders reuse after work queued on streams: CUDA events.
// None of these may throw (deallocate runs in destructors); record_event
// returns null when it cannot record, and the block is then released to its
// source instead of cached.
struct StreamOrder {
    bool host_memory;  // pinned host memory: no stream owns a block
    void* (*record_event)(StreamHandle stream, int device);  // an event after the work queued on `stream` so far
    bool (*event_done)(void* event, int device);             // has that work finished?
    void (*wait_event)(void* event, int device);              // block the host until it has
    void (*destroy_event)(void* event, int device);
};

class CachingAllocator {
public:
    static constexpr size_t alignment = 64;
    // Host memory: requests of at least this many bytes come from the arena.
    static constexpr size_t arena_threshold = size_t(64) << 10;
    static constexpr size_t arena_page = 4096;                 // arena blocks are whole, aligned pages
    static constexpr size_t arena_region = size_t(1) << 30;    // address space reserved at a time

    // Where blocks come from and go back to when the cache is emptied; the
    // source returns null when it is out of memory.
    using Source = void* (*)(size_t bytes, int device);
    using Release = void (*)(void* block, int device);

    // `order`: null for memory no stream uses (host memory); else it must
    // outlive the allocator.
    CachingAllocator(Source source, Release release, int device, const char* name,
                     const StreamOrder* order = nullptr);
    CachingAllocator();  // host memory: aligned_alloc for small blocks, the arena for large ones

    static CachingAllocator& host();

    // A block of at least `bytes`, owned by `stream` (the current stream of
    // the allocator's device; ignored without StreamOrder).
    void* allocate(size_t bytes, StreamHandle stream = nullptr);
    // Frees `ptr`; `current_stream` is the stream current at the free (a use
    // of the block when it is not the owner).
    void deallocate(void* ptr, StreamHandle current_stream = nullptr);
    // `stream` uses the block of `ptr` (PyTorch's Tensor.record_stream): when
    // the block is freed it is not reused before the work queued on `stream`
    // by then has finished.
    void record_stream(void* ptr, StreamHandle stream);
    // `stream` has finished all its work and is being destroyed: blocks it
    // owns now belong to the default stream (null).
    void retire_stream(StreamHandle stream);
    // Waits for pending blocks, then returns every cached block to the source.
    void empty_cache();
    AllocatorStats stats() const;

    // The size a request of `bytes` is rounded up to: its size class, or for
    // an arena block (host memory, `bytes` >= arena_threshold) whole pages.
    static size_t size_class(size_t bytes);
    size_t block_size(size_t bytes) const;
    // Whether large blocks come from the arena (host memory, not under ASan).
    bool uses_arena() const { return arena_; }

    ~CachingAllocator();

private:
    struct Block {
        size_t size = 0;
        StreamHandle owner = nullptr;        // allocation stream (device memory)
        std::vector<StreamHandle> used_by;   // other streams that used it (record_stream)
        bool arena = false;                  // a range of the host arena
    };
    // The arena: regions of reserved address space, each tiled by ranges.
    struct ArenaRange {
        size_t size;
        bool free;
        char* region;  // the base of the region it lies in
    };
    struct ArenaRegion {
        size_t size;
        size_t high_water;  // bytes from the base ever handed out: written, so resident
    };
    struct Pending {
        void* ptr;
        Block block;
        std::vector<void*> events;  // not yet completed
    };
    void release_cache_locked();
    void process_pending_locked(bool wait);
    void* take_cached_locked(size_t size, StreamHandle stream);
    void cache_locked(void* ptr, const Block& block);
    void* arena_allocate_locked(size_t size);
    bool arena_add_region_locked(size_t size);
    void arena_free_locked(char* ptr);
    void arena_release_locked();

    Source source_;
    Release release_;
    int device_;
    const char* name_;
    const StreamOrder* order_;
    mutable std::mutex mutex_;
    std::map<void*, Block> in_use_;
    // (owner stream, size class) -> cached blocks; the owner is null without StreamOrder
    std::map<std::pair<StreamHandle, size_t>, std::vector<void*>> free_blocks_;
    std::vector<Pending> pending_;
    AllocatorStats stats_;
    bool arena_ = false;
    std::map<char*, ArenaRegion> arena_regions_;        // by base address
    std::map<char*, ArenaRange> arena_ranges_;          // every range of every region, by address
    std::set<std::pair<size_t, char*>> arena_free_;     // the free ranges by (size, address): best fit first
    size_t arena_high_water_ = 0;                       // sum of the regions' high-water marks
    size_t arena_in_use_ = 0;
};

}  // namespace kiln
