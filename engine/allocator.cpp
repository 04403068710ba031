#include "engine/allocator.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <iterator>
#include <new>

#include <sys/mman.h>

#include "engine/error.h"

#if defined(__SANITIZE_ADDRESS__)
#define KILN_HOST_ARENA 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KILN_HOST_ARENA 0
#endif
#endif
#ifndef KILN_HOST_ARENA
#define KILN_HOST_ARENA 1
#endif

namespace kiln {

namespace {
void* host_source(size_t bytes, int) { return std::aligned_alloc(CachingAllocator::alignment, bytes); }
void host_release(void* block, int) { std::free(block); }

size_t round_up(size_t bytes, size_t multiple) { return (bytes + multiple - 1) / multiple * multiple; }
}  // namespace

CachingAllocator::CachingAllocator(Source source, Release release, int device, const char* name,
                                   const StreamOrder* order)
    : source_(source ? source : host_source), release_(release ? release : host_release), device_(device),
      name_(name), order_(order) {}

CachingAllocator::CachingAllocator() : CachingAllocator(nullptr, nullptr, 0, "host") { arena_ = KILN_HOST_ARENA; }

void CachingAllocator::release_cache_locked() {
    for (auto& [key, blocks] : free_blocks_)
        for (void* block : blocks) release_(block, device_);
    free_blocks_.clear();
    if (arena_) arena_release_locked();
    stats_.bytes_cached = arena_high_water_ - arena_in_use_;
}

// ---------------------------------------------------------------- host arena

// Reserves a region for at least `size` bytes; false when the OS refuses.
bool CachingAllocator::arena_add_region_locked(size_t size) {
    size_t region = std::max(arena_region, round_up(size, size_t(2) << 20));
    void* base = mmap(nullptr, region, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED && region > size) {  // a limit on address space: just this block
        region = size;
        base = mmap(nullptr, region, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    }
    if (base == MAP_FAILED) return false;
    char* start = static_cast<char*>(base);
    arena_regions_[start] = ArenaRegion{region, 0};
    arena_ranges_[start] = ArenaRange{region, true, start};
    arena_free_.insert({region, start});
    return true;
}

// The best-fitting free range for `size` (whole pages), split to size; null
// when no range fits and no region can be added.
void* CachingAllocator::arena_allocate_locked(size_t size) {
    auto fit = arena_free_.lower_bound({size, nullptr});
    if (fit == arena_free_.end()) {
        if (!arena_add_region_locked(size)) return nullptr;
        fit = arena_free_.lower_bound({size, nullptr});
    }
    const auto [range_size, start] = *fit;
    arena_free_.erase(fit);
    ArenaRange& range = arena_ranges_.at(start);
    range.free = false;
    if (range_size > size) {  // the rest stays free
        range.size = size;
        arena_ranges_[start + size] = ArenaRange{range_size - size, true, range.region};
        arena_free_.insert({range_size - size, start + size});
    }
    ArenaRegion& region = arena_regions_.at(range.region);
    const size_t end = size_t(start - range.region) + size;
    size_t grown = 0;  // bytes above the high-water mark: pages the OS has yet to give
    if (end > region.high_water) {
        grown = end - region.high_water;
        region.high_water = end;
    }
    if (grown == 0) ++stats_.cache_hits;
    arena_high_water_ += grown;
    arena_in_use_ += size;
    stats_.bytes_cached = stats_.bytes_cached + grown - size;  // cached = high-water - in use, never negative
    return start;
}

// Frees the range at `ptr` and merges it with its free neighbours in the region.
void CachingAllocator::arena_free_locked(char* ptr) {
    auto it = arena_ranges_.find(ptr);
    ArenaRange& range = it->second;
    arena_in_use_ -= range.size;
    stats_.bytes_cached += range.size;
    range.free = true;
    if (auto next = std::next(it); next != arena_ranges_.end() && next->second.free &&
                                   next->second.region == range.region) {
        arena_free_.erase({next->second.size, next->first});
        range.size += next->second.size;
        arena_ranges_.erase(next);
    }
    if (it != arena_ranges_.begin()) {
        auto previous = std::prev(it);
        if (previous->second.free && previous->second.region == range.region) {
            arena_free_.erase({previous->second.size, previous->first});
            previous->second.size += range.size;
            arena_ranges_.erase(it);
            it = previous;
        }
    }
    arena_free_.insert({it->second.size, it->first});
}

// Unmaps the regions with nothing in use; gives the pages of the other free
// ranges back to the OS and lowers each high-water mark to its last block in use.
void CachingAllocator::arena_release_locked() {
    for (auto region = arena_regions_.begin(); region != arena_regions_.end();) {
        char* base = region->first;
        const ArenaRange& first = arena_ranges_.at(base);
        if (first.free && first.size == region->second.size) {
            arena_free_.erase({first.size, base});
            arena_ranges_.erase(base);
            munmap(base, region->second.size);
            arena_high_water_ -= region->second.high_water;
            region = arena_regions_.erase(region);
            continue;
        }
        ++region;
    }
    for (const auto& [size, start] : arena_free_) madvise(start, size, MADV_DONTNEED);
    for (auto& [base, region] : arena_regions_) {
        const auto last = std::prev(arena_ranges_.lower_bound(base + region.size));
        const size_t end = last->second.free ? size_t(last->first - base) : region.size;
        arena_high_water_ -= region.high_water - end;
        region.high_water = end;
    }
}

// ---------------------------------------------------------------- free lists

void CachingAllocator::cache_locked(void* ptr, const Block& block) {
    free_blocks_[{block.owner, block.size}].push_back(ptr);
    stats_.bytes_cached += block.size;
}

void* CachingAllocator::take_cached_locked(size_t size, StreamHandle stream) {
    auto cached = free_blocks_.find({stream, size});
    if (cached == free_blocks_.end() || cached->second.empty()) return nullptr;
    void* ptr = cached->second.back();
    cached->second.pop_back();
    stats_.bytes_cached -= size;
    return ptr;
}

// Moves the pending blocks whose events have all completed (every one, after
// waiting, when `wait`) to the free lists of their owners.
void CachingAllocator::process_pending_locked(bool wait) {
    for (auto it = pending_.begin(); it != pending_.end();) {
        std::erase_if(it->events, [&](void* event) {
            if (wait) order_->wait_event(event, device_);
            if (!wait && !order_->event_done(event, device_)) return false;
            order_->destroy_event(event, device_);
            return true;
        });
        if (!it->events.empty()) {
            ++it;
            continue;
        }
        stats_.bytes_pending -= it->block.size;
        cache_locked(it->ptr, it->block);
        it = pending_.erase(it);
    }
}

CachingAllocator& CachingAllocator::host() {
    // Never destroyed: tensors held in static objects may be freed after main returns.
    static CachingAllocator* instance = new CachingAllocator();
    return *instance;
}

size_t CachingAllocator::block_size(size_t bytes) const {
    return arena_ && bytes >= arena_threshold ? round_up(bytes, arena_page) : size_class(bytes);
}

size_t CachingAllocator::size_class(size_t bytes) {
    if (bytes <= 512) return 512;
    // Four classes per power of two: 1024, 1280, 1536, 1792, 2048, ...
    size_t power = std::bit_floor(bytes - 1);
    size_t step = power / 4;
    return (bytes + step - 1) / step * step;
}

void* CachingAllocator::allocate(size_t bytes, StreamHandle stream) {
    const size_t size = block_size(bytes);
    const bool arena = arena_ && bytes >= arena_threshold;
    const StreamHandle owner = order_ && !order_->host_memory ? stream : nullptr;
    std::lock_guard lock(mutex_);
    ++stats_.allocations;
    if (!pending_.empty()) process_pending_locked(false);
    // An arena range (it counts its own cache hits), or a cached block of the size class, or a new block.
    const auto fresh = [&] { return arena ? arena_allocate_locked(size) : source_(size, device_); };
    void* ptr = arena ? nullptr : take_cached_locked(size, owner);
    if (ptr) {
        ++stats_.cache_hits;
    } else {
        ptr = fresh();
        size_t released = 0;
        if (!ptr) {  // wait for the pending blocks, give the whole cache back and try once more
            if (!pending_.empty()) process_pending_locked(true);
            released = stats_.bytes_cached;
            release_cache_locked();
            ptr = fresh();
        }
        KILN_CHECK(ptr, "allocator: out of ", name_, " memory: asked for ", bytes, " bytes with ",
                   stats_.bytes_in_use, " bytes in use (", released,
                   " cached bytes were freed and the allocation retried); use a smaller batch size, "
                   "or --batch-size auto to find one that fits");
    }
    in_use_[ptr] = Block{size, owner, {}, arena};
    stats_.bytes_in_use += size;
    if (stats_.bytes_in_use > stats_.peak_bytes_in_use) stats_.peak_bytes_in_use = stats_.bytes_in_use;
    return ptr;
}

void CachingAllocator::deallocate(void* ptr, StreamHandle current_stream) {
    if (!ptr) return;
    std::lock_guard lock(mutex_);
    auto it = in_use_.find(ptr);
    if (it == in_use_.end()) return;  // not ours: never happens through Storage
    Block block = std::move(it->second);
    in_use_.erase(it);
    stats_.bytes_in_use -= block.size;
    if (block.arena) {
        arena_free_locked(static_cast<char*>(ptr));
        return;
    }
    if (order_ && !order_->host_memory && current_stream != block.owner &&
        std::find(block.used_by.begin(), block.used_by.end(), current_stream) == block.used_by.end())
        block.used_by.push_back(current_stream);
    if (!order_ || block.used_by.empty()) {
        cache_locked(ptr, block);
        return;
    }
    Pending pending{ptr, block, {}};
    for (StreamHandle stream : block.used_by) {
        void* event = order_->record_event(stream, device_);
        if (!event) {  // reuse cannot be ordered: back to the source (cudaFree/cudaFreeHost wait for the device)
            for (void* recorded : pending.events) order_->destroy_event(recorded, device_);
            release_(ptr, device_);
            return;
        }
        pending.events.push_back(event);
    }
    stats_.bytes_pending += block.size;
    pending_.push_back(std::move(pending));
}

void CachingAllocator::record_stream(void* ptr, StreamHandle stream) {
    if (!order_) return;
    std::lock_guard lock(mutex_);
    auto it = in_use_.find(ptr);
    if (it == in_use_.end()) return;
    Block& block = it->second;
    if (!order_->host_memory && stream == block.owner) return;  // its own stream orders it already
    if (std::find(block.used_by.begin(), block.used_by.end(), stream) == block.used_by.end())
        block.used_by.push_back(stream);
}

void CachingAllocator::retire_stream(StreamHandle stream) {
    if (!order_ || !stream) return;
    std::lock_guard lock(mutex_);
    for (auto& [ptr, block] : in_use_) {
        if (block.owner == stream) block.owner = nullptr;
        std::erase(block.used_by, stream);  // its work has finished
    }
    for (Pending& pending : pending_)
        if (pending.block.owner == stream) pending.block.owner = nullptr;
    for (auto it = free_blocks_.begin(); it != free_blocks_.end();) {
        if (it->first.first != stream) {
            ++it;
            continue;
        }
        std::vector<void*>& to = free_blocks_[{nullptr, it->first.second}];
        to.insert(to.end(), it->second.begin(), it->second.end());
        it = free_blocks_.erase(it);
    }
}

void CachingAllocator::empty_cache() {
    std::lock_guard lock(mutex_);
    if (!pending_.empty()) process_pending_locked(true);
    release_cache_locked();
}

AllocatorStats CachingAllocator::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

CachingAllocator::~CachingAllocator() {
    empty_cache();
    for (auto& [ptr, block] : in_use_)
        if (!block.arena) release_(ptr, device_);
    for (auto& [base, region] : arena_regions_) munmap(base, region.size);
}

}  // namespace kiln
