#include <doctest/doctest.h>

#include <cstdint>

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
