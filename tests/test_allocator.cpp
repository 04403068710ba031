#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "engine/allocator.h"
#include "engine/tensor.h"
#include "support/skip.h"

using namespace kiln;

TEST_CASE("size classes: at most 25% waste, never smaller than asked") {
    for (size_t bytes : {size_t(1), size_t(512), size_t(513), size_t(1000), size_t(4097), size_t(1) << 20,
                         (size_t(1) << 20) + 1, size_t(123456789)}) {
        const size_t size = CachingAllocator::size_class(bytes);
        CAPTURE(bytes);
        CHECK(size >= bytes);
        if (bytes > 512) CHECK(double(size) <= 1.25 * double(bytes) + 1);
    }
}

TEST_CASE("blocks are 64-byte aligned and freed blocks are reused") {
    CachingAllocator allocator;
    void* a = allocator.allocate(100000);
    CHECK(reinterpret_cast<uintptr_t>(a) % CachingAllocator::alignment == 0);
    allocator.deallocate(a);
    CHECK(allocator.stats().bytes_cached >= 100000);
    void* b = allocator.allocate(99000);  // same size class
    CHECK(b == a);
    CHECK(allocator.stats().cache_hits == 1);
    allocator.deallocate(b);
    allocator.empty_cache();
    CHECK(allocator.stats().bytes_cached == 0);
    CHECK(allocator.stats().bytes_in_use == 0);
}

// ---- the host arena (engine/allocator.h): large blocks are ranges of reserved address space ----

namespace {
constexpr size_t MiB = size_t(1) << 20;
char* as_bytes(void* p) { return static_cast<char*>(p); }
// Bytes the allocator holds below its high-water marks: what is resident.
size_t held(const CachingAllocator& allocator) {
    const AllocatorStats s = allocator.stats();
    return s.bytes_in_use + s.bytes_cached;
}
}  // namespace

TEST_CASE("arena: large blocks are whole pages, page-aligned, and small ones keep their size classes") {
    CachingAllocator allocator;
    if (!allocator.uses_arena()) KILN_SKIP("arena: built with AddressSanitizer, the host arena is off");
    CHECK(allocator.block_size(CachingAllocator::arena_threshold - 1) ==
          CachingAllocator::size_class(CachingAllocator::arena_threshold - 1));
    CHECK(allocator.block_size(100000) == 25 * 4096);  // 24.4 pages -> 25, not the size class 131072
    CHECK(allocator.block_size(4 * MiB) == 4 * MiB);
    void* a = allocator.allocate(100000);
    void* b = allocator.allocate(3 * MiB + 1);
    CHECK(reinterpret_cast<uintptr_t>(a) % CachingAllocator::arena_page == 0);
    CHECK(reinterpret_cast<uintptr_t>(b) % CachingAllocator::arena_page == 0);
    CHECK(allocator.stats().bytes_in_use == 25 * 4096 + 3 * MiB + 4096);
    allocator.deallocate(a);
    allocator.deallocate(b);
}

TEST_CASE("arena: a freed range is split for a smaller block, the best fit first") {
    CachingAllocator allocator;
    if (!allocator.uses_arena()) KILN_SKIP("arena: built with AddressSanitizer, the host arena is off");
    void* a = allocator.allocate(2 * MiB);
    void* b = allocator.allocate(1 * MiB);
    void* c = allocator.allocate(4 * MiB);
    void* d = allocator.allocate(1 * MiB);  // keeps c's range from merging with the region's free tail
    CHECK(as_bytes(b) == as_bytes(a) + 2 * MiB);  // ranges are handed out in address order
    allocator.deallocate(a);
    allocator.deallocate(c);
    const size_t before = held(allocator);
    // Free: a's 2 MiB, c's 4 MiB and the tail. 1.5 MiB fits a best, 3 MiB fits c.
    void* e = allocator.allocate(MiB + MiB / 2);
    CHECK(e == a);
    void* f = allocator.allocate(3 * MiB);
    CHECK(f == c);
    void* g = allocator.allocate(MiB / 2);  // what is left of a
    CHECK(as_bytes(g) == as_bytes(a) + MiB + MiB / 2);
    CHECK(held(allocator) == before);  // all below the high-water mark: no new memory
    CHECK(allocator.stats().cache_hits == 3);
    for (void* p : {b, d, e, f, g}) allocator.deallocate(p);
}

TEST_CASE("arena: a freed range merges with its free neighbours, and other sizes reuse the memory") {
    CachingAllocator allocator;
    if (!allocator.uses_arena()) KILN_SKIP("arena: built with AddressSanitizer, the host arena is off");
    // A forward's activations, freed, then a backward's gradients of other sizes:
    // with one free list per size class these would all be new memory.
    std::vector<void*> blocks;
    for (int i = 0; i < 4; ++i) blocks.push_back(allocator.allocate(3 * MiB));
    void* held_back = allocator.allocate(MiB);  // the region's tail stays apart
    const size_t high_water = held(allocator);
    CHECK(high_water == 13 * MiB);
    for (void* p : blocks) allocator.deallocate(p);
    CHECK(allocator.stats().bytes_cached == 12 * MiB);
    void* whole = allocator.allocate(12 * MiB);  // the four ranges, merged
    CHECK(whole == blocks[0]);
    allocator.deallocate(whole);
    void* x = allocator.allocate(5 * MiB);
    void* y = allocator.allocate(5 * MiB);
    void* z = allocator.allocate(2 * MiB);
    CHECK(as_bytes(y) == as_bytes(x) + 5 * MiB);
    CHECK(as_bytes(z) == as_bytes(y) + 5 * MiB);
    CHECK(held(allocator) == high_water);
    for (void* p : {x, y, z, held_back}) allocator.deallocate(p);
}

TEST_CASE("arena: empty_cache unmaps what is free and lowers the high-water mark to the last block in use") {
    CachingAllocator allocator;
    if (!allocator.uses_arena()) KILN_SKIP("arena: built with AddressSanitizer, the host arena is off");
    void* a = allocator.allocate(MiB);
    void* b = allocator.allocate(MiB);
    void* c = allocator.allocate(4 * MiB);
    allocator.deallocate(c);
    allocator.deallocate(a);
    allocator.empty_cache();  // b holds the region: a's pages go back, c's range is above b
    CHECK(allocator.stats().bytes_in_use == MiB);
    CHECK(allocator.stats().bytes_cached == MiB);  // a's range, below b (its pages given back)
    static_cast<char*>(b)[MiB - 1] = 1;            // b is untouched by the release
    void* d = allocator.allocate(MiB);             // a's range, written again
    CHECK(d == a);
    static_cast<char*>(d)[0] = 1;
    allocator.deallocate(b);
    allocator.deallocate(d);
    allocator.empty_cache();
    CHECK(allocator.stats().bytes_cached == 0);
    CHECK(allocator.stats().bytes_in_use == 0);
    void* e = allocator.allocate(MiB);  // a new region
    CHECK(e != nullptr);
    CHECK(allocator.stats().bytes_cached == 0);
    allocator.deallocate(e);
}

TEST_CASE("arena: a block larger than a region gets a region of its own") {
    CachingAllocator allocator;
    if (!allocator.uses_arena()) KILN_SKIP("arena: built with AddressSanitizer, the host arena is off");
    void* small = allocator.allocate(MiB);
    void* big = allocator.allocate(CachingAllocator::arena_region + 1);  // reserved, never written: no RSS
    CHECK(big != nullptr);
    CHECK(allocator.stats().bytes_in_use == MiB + CachingAllocator::arena_region + 4096);
    allocator.deallocate(big);
    allocator.deallocate(small);
    allocator.empty_cache();
    CHECK(allocator.stats().bytes_cached == 0);
}

TEST_CASE("tensors allocate through the host caching allocator") {
    const AllocatorStats before = CachingAllocator::host().stats();
    { const Tensor t = Tensor::empty({1000, 1000}); }
    { const Tensor t = Tensor::empty({1000, 1000}); }
    const AllocatorStats after = CachingAllocator::host().stats();
    CHECK(after.allocations - before.allocations == 2);
    CHECK(after.cache_hits - before.cache_hits >= 1);
    CHECK(reinterpret_cast<uintptr_t>(Tensor::empty({3}).raw_data()) % 64 == 0);
}

namespace {
int source_calls = 0, release_calls = 0;
void* counting_source(size_t bytes, int device) {
    ++source_calls;
    CHECK(device == 3);
    return std::malloc(bytes);
}
void counting_release(void* block, int) {
    ++release_calls;
    std::free(block);
}
}  // namespace

TEST_CASE("a caching allocator over another memory source (as each GPU's) reuses and releases through it") {
    source_calls = release_calls = 0;
    {
        CachingAllocator allocator(counting_source, counting_release, 3, "test device");
        void* a = allocator.allocate(5000);
        allocator.deallocate(a);
        void* b = allocator.allocate(4900);  // same size class: from the cache, no second source call
        CHECK(b == a);
        CHECK(source_calls == 1);
        allocator.deallocate(b);
        allocator.empty_cache();
        CHECK(release_calls == 1);
        (void)allocator.allocate(100);  // still in use when the allocator goes: released by its destructor
    }
    CHECK(source_calls == 2);
    CHECK(release_calls == 2);
}

// ---- stream-ordered reuse (engine/allocator.h), with fake events the test completes ----

namespace {
struct FakeEvent {
    StreamHandle stream;
    bool done = false;
};
std::vector<FakeEvent*> live_events;
int recorded_events = 0, waited_events = 0;
bool refuse_events = false;
int fake_stream_a = 0, fake_stream_b = 0;  // their addresses are the streams
StreamHandle stream_a = &fake_stream_a, stream_b = &fake_stream_b;

void* fake_record(StreamHandle stream, int) {
    if (refuse_events) return nullptr;
    ++recorded_events;
    live_events.push_back(new FakeEvent{stream});
    return live_events.back();
}
bool fake_done(void* event, int) { return static_cast<FakeEvent*>(event)->done; }
void fake_wait(void* event, int) {
    ++waited_events;
    static_cast<FakeEvent*>(event)->done = true;
}
void fake_destroy(void* event, int) {
    std::erase(live_events, static_cast<FakeEvent*>(event));
    delete static_cast<FakeEvent*>(event);
}
// The work queued so far on `stream` finishes.
void finish(StreamHandle stream) {
    for (FakeEvent* event : live_events)
        if (event->stream == stream) event->done = true;
}
void reset_fake_events() {
    recorded_events = waited_events = 0;
    refuse_events = false;
}

constexpr StreamOrder fake_device_order{false, fake_record, fake_done, fake_wait, fake_destroy};
constexpr StreamOrder fake_pinned_order{true, fake_record, fake_done, fake_wait, fake_destroy};

int live_blocks = 0, block_limit = 1 << 30;
void* limited_source(size_t bytes, int) {
    if (live_blocks >= block_limit) return nullptr;
    ++live_blocks;
    return std::malloc(bytes);
}
void limited_release(void* block, int) {
    --live_blocks;
    std::free(block);
}
}  // namespace

TEST_CASE("streams: a freed block goes back to its own stream only, another stream gets a different block") {
    reset_fake_events();
    CachingAllocator allocator(counting_source, counting_release, 3, "test device", &fake_device_order);
    void* a = allocator.allocate(5000, stream_a);
    allocator.deallocate(a, stream_a);  // freed on its own stream: no event
    CHECK(recorded_events == 0);
    CHECK(allocator.stats().bytes_cached == CachingAllocator::size_class(5000));
    void* b = allocator.allocate(5000, stream_b);  // stream b's kernels could overtake a's: not the same block
    CHECK(b != a);
    void* c = allocator.allocate(5000, stream_a);
    CHECK(c == a);
    allocator.deallocate(b, stream_b);
    allocator.deallocate(c, stream_a);
}

TEST_CASE("streams: a block freed while another stream is current waits for that stream's work") {
    reset_fake_events();
    CachingAllocator allocator(counting_source, counting_release, 3, "test device", &fake_device_order);
    void* a = allocator.allocate(5000, stream_a);
    allocator.deallocate(a, stream_b);  // stream b may still be using it
    CHECK(recorded_events == 1);
    CHECK(allocator.stats().bytes_pending == CachingAllocator::size_class(5000));
    CHECK(allocator.stats().bytes_cached == 0);
    void* b = allocator.allocate(5000, stream_a);  // b's work has not finished: not reused yet
    CHECK(b != a);
    finish(stream_b);
    void* c = allocator.allocate(5000, stream_a);  // now it is, on its owner stream
    CHECK(c == a);
    CHECK(allocator.stats().bytes_pending == 0);
    CHECK(live_events.empty());  // the completed event was destroyed
    allocator.deallocate(b, stream_a);
    allocator.deallocate(c, stream_a);
}

TEST_CASE("streams: record_stream makes a free wait for every stream named, even when freed on the owner") {
    reset_fake_events();
    CachingAllocator allocator(counting_source, counting_release, 3, "test device", &fake_device_order);
    void* a = allocator.allocate(5000, stream_a);
    allocator.record_stream(a, stream_a);  // its own stream: nothing to add
    allocator.record_stream(a, stream_b);
    allocator.record_stream(a, stream_b);  // named twice: one event
    allocator.deallocate(a, stream_a);
    CHECK(recorded_events == 1);
    REQUIRE(live_events.size() == 1);
    CHECK(live_events[0]->stream == stream_b);
    CHECK(allocator.allocate(5000, stream_a) != a);
    finish(stream_b);
    CHECK(allocator.allocate(5000, stream_a) == a);
}

TEST_CASE("streams: pinned host blocks wait for every stream that copied them, the default stream included") {
    reset_fake_events();
    CachingAllocator allocator(counting_source, counting_release, 3, "test pinned", &fake_pinned_order);
    void* a = allocator.allocate(5000);
    allocator.record_stream(a, nullptr);  // an asynchronous copy on the legacy default stream
    allocator.deallocate(a);
    CHECK(recorded_events == 1);
    CHECK(allocator.stats().bytes_pending > 0);
    void* b = allocator.allocate(5000);
    CHECK(b != a);
    finish(nullptr);
    CHECK(allocator.allocate(5000) == a);
    allocator.deallocate(b);
    void* c = allocator.allocate(5000);  // never used by a stream: reused at once
    CHECK(c == b);
}

TEST_CASE("streams: a destroyed stream's blocks go to the default stream") {
    reset_fake_events();
    CachingAllocator allocator(counting_source, counting_release, 3, "test device", &fake_device_order);
    void* cached = allocator.allocate(5000, stream_a);
    void* held = allocator.allocate(9000, stream_a);
    allocator.record_stream(held, stream_b);
    allocator.deallocate(cached, stream_a);
    allocator.retire_stream(stream_a);
    allocator.retire_stream(stream_b);  // b finished too: held needs no event any more
    CHECK(allocator.allocate(5000, nullptr) == cached);
    allocator.deallocate(held, nullptr);
    CHECK(recorded_events == 0);
    CHECK(allocator.allocate(9000, nullptr) == held);
}

TEST_CASE("streams: out of memory waits for the pending blocks, releases the cache and retries") {
    reset_fake_events();
    live_blocks = 0;
    block_limit = 1;
    {
        CachingAllocator allocator(limited_source, limited_release, 0, "test device", &fake_device_order);
        void* a = allocator.allocate(5000, stream_a);
        allocator.deallocate(a, stream_b);  // pending on b
        void* b = allocator.allocate(20000, stream_a);  // the source is full: wait for b, free a, retry
        CHECK(b != nullptr);
        CHECK(waited_events == 1);
        CHECK(live_blocks == 1);
        CHECK(allocator.stats().bytes_pending == 0);
        allocator.deallocate(b, stream_a);
    }
    block_limit = 1 << 30;
    CHECK(live_blocks == 0);
}

TEST_CASE("streams: a block whose reuse cannot be ordered (no event) goes back to its source") {
    reset_fake_events();
    source_calls = release_calls = 0;
    CachingAllocator allocator(counting_source, counting_release, 3, "test device", &fake_device_order);
    void* a = allocator.allocate(5000, stream_a);
    refuse_events = true;
    allocator.deallocate(a, stream_b);
    CHECK(release_calls == 1);
    CHECK(allocator.stats().bytes_pending == 0);
    CHECK(allocator.stats().bytes_cached == 0);
    refuse_events = false;
}

TEST_CASE("streams: an allocator without stream hooks (host memory) ignores streams") {
    CachingAllocator allocator;
    void* a = allocator.allocate(5000, stream_a);
    allocator.record_stream(a, stream_b);
    allocator.deallocate(a, stream_b);
    CHECK(allocator.stats().bytes_pending == 0);
    CHECK(allocator.allocate(5000, stream_b) == a);
}
