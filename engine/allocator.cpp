#include "engine/allocator.h"

#include <bit>
#include <cstdlib>
#include <new>

#include "engine/error.h"

namespace kiln {

namespace {
void* host_source(size_t bytes, int) { return std::aligned_alloc(CachingAllocator::alignment, bytes); }
void host_release(void* block, int) { std::free(block); }
}  // namespace

CachingAllocator::CachingAllocator(Source source, Release release, int device, const char* name)
    : source_(source ? source : host_source), release_(release ? release : host_release), device_(device),
      name_(name) {}

void CachingAllocator::release_cache_locked() {
    for (auto& [block_size, blocks] : free_blocks_)
        for (void* block : blocks) release_(block, device_);
    free_blocks_.clear();
    stats_.bytes_cached = 0;
}

CachingAllocator& CachingAllocator::host() {
    // Never destroyed: tensors held in static objects may be freed after main returns.
    static CachingAllocator* instance = new CachingAllocator();
    return *instance;
}

size_t CachingAllocator::size_class(size_t bytes) {
    if (bytes <= 512) return 512;
    // Four classes per power of two: 1024, 1280, 1536, 1792, 2048, ...
    size_t power = std::bit_floor(bytes - 1);
    size_t step = power / 4;
    return (bytes + step - 1) / step * step;
}

void* CachingAllocator::allocate(size_t bytes) {
    const size_t size = size_class(bytes);
    std::lock_guard lock(mutex_);
    ++stats_.allocations;
    void* ptr = nullptr;
    auto cached = free_blocks_.find(size);
    if (cached != free_blocks_.end() && !cached->second.empty()) {
        ptr = cached->second.back();
        cached->second.pop_back();
        stats_.bytes_cached -= size;
        ++stats_.cache_hits;
    } else {
        ptr = source_(size, device_);
        size_t released = 0;
        if (!ptr) {  // give the cache back and try once more
            released = stats_.bytes_cached;
            release_cache_locked();
            ptr = source_(size, device_);
        }
        KILN_CHECK(ptr, "allocator: out of ", name_, " memory: asked for ", bytes, " bytes with ",
                   stats_.bytes_in_use, " bytes in use (", released,
                   " cached bytes were freed and the allocation retried); use a smaller batch size, "
                   "or --batch-size auto to find one that fits");
    }
    in_use_[ptr] = size;
    stats_.bytes_in_use += size;
    if (stats_.bytes_in_use > stats_.peak_bytes_in_use) stats_.peak_bytes_in_use = stats_.bytes_in_use;
    return ptr;
}

void CachingAllocator::deallocate(void* ptr) {
    if (!ptr) return;
    std::lock_guard lock(mutex_);
    auto it = in_use_.find(ptr);
    if (it == in_use_.end()) return;  // not ours: never happens through Storage
    const size_t size = it->second;
    in_use_.erase(it);
    stats_.bytes_in_use -= size;
    stats_.bytes_cached += size;
    free_blocks_[size].push_back(ptr);
}

void CachingAllocator::empty_cache() {
    std::lock_guard lock(mutex_);
    release_cache_locked();
}

AllocatorStats CachingAllocator::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

CachingAllocator::~CachingAllocator() {
    empty_cache();
    for (auto& [ptr, size] : in_use_) release_(ptr, device_);
}

}  // namespace kiln
