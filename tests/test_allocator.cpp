#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>

#include "engine/allocator.h"
#include "engine/tensor.h"

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
