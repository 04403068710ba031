#include "engine/allocator.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <new>

#include "engine/error.h"

namespace kiln {

namespace {
void* host_source(size_t bytes, int) { return std::aligned_alloc(CachingAllocator::alignment, bytes); }
void host_release(void* block, int) { std::free(block); }
}  // namespace

CachingAllocator::CachingAllocator(Source source, Release release, int device, const char* name,
                                   const StreamOrder* order)
    : source_(source ? source : host_source), release_(release ? release : host_release), device_(device),
      name_(name), order_(order) {}

void CachingAllocator::release_cache_locked() {
    for (auto& [key, blocks] : free_blocks_)
        for (void* block : blocks) release_(block, device_);
    free_blocks_.clear();
    stats_.bytes_cached = 0;
}

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

size_t CachingAllocator::size_class(size_t bytes) {
    if (bytes <= 512) return 512;
    // Four classes per power of two: 1024, 1280, 1536, 1792, 2048, ...
    size_t power = std::bit_floor(bytes - 1);
    size_t step = power / 4;
    return (bytes + step - 1) / step * step;
}

void* CachingAllocator::allocate(size_t bytes, StreamHandle stream) {
    const size_t size = size_class(bytes);
    const StreamHandle owner = order_ && !order_->host_memory ? stream : nullptr;
    std::lock_guard lock(mutex_);
    ++stats_.allocations;
    if (!pending_.empty()) process_pending_locked(false);
    void* ptr = take_cached_locked(size, owner);
    if (ptr) {
        ++stats_.cache_hits;
    } else {
        ptr = source_(size, device_);
        size_t released = 0;
        if (!ptr) {  // wait for the pending blocks, give the whole cache back and try once more
            if (!pending_.empty()) process_pending_locked(true);
            released = stats_.bytes_cached;
            release_cache_locked();
            ptr = source_(size, device_);
        }
        KILN_CHECK(ptr, "allocator: out of ", name_, " memory: asked for ", bytes, " bytes with ",
                   stats_.bytes_in_use, " bytes in use (", released,
                   " cached bytes were freed and the allocation retried); use a smaller batch size, "
                   "or --batch-size auto to find one that fits");
    }
    in_use_[ptr] = Block{size, owner, {}};
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
    for (auto& [ptr, block] : in_use_) release_(ptr, device_);
}

}  // namespace kiln
