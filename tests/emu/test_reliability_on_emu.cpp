// Reliability on emu: bit-reproducible training of a small net whose ops use
// no atomics, and the device memory cap that simulates a GPU running out.
#include <doctest/doctest.h>

#include <cstring>

#include "engine/allocator.h"
#include "engine/ops.h"
#include "kernels/emu/device_memory.h"
#include "optim/optimizer.h"

using namespace kiln;

namespace {

// conv2d (no bias) -> relu -> global average pool -> matmul (no bias) ->
// cross entropy, AdamW: none of these kernels uses atomicAdd (only the
// broadcasting binary backward of kernels/cuda/elementwise.cu does, e.g. a
// bias add), so the same steps are bit-reproducible on a GPU too.
std::vector<double> train_on_emu(uint64_t seed) {
    Generator generator(seed);
    const Device emu = Device::emu();
    Tensor conv = (Tensor::randn({4, 1, 3, 3}, DType::float32, generator) * 0.5).to(emu);
    Tensor head = (Tensor::randn({4, 2}, DType::float32, generator) * 0.5).to(emu);
    conv.set_requires_grad(true);
    head.set_requires_grad(true);
    optim::AdamW optimizer(std::vector<Tensor>{conv, head}, {{"lr", 0.05}});
    const Tensor x = Tensor::rand({4, 1, 6, 6}, DType::float32, generator).to(emu);
    const Tensor y = Tensor::from_int64({0, 1, 1, 0}, {4}).to(emu);
    Conv2dOptions same;
    same.padding = {1, 1};
    for (int step = 0; step < 3; ++step) {
        optimizer.zero_grad();
        const Tensor features = flatten(adaptive_avg_pool2d(relu(conv2d(x, conv, Tensor(), same)), {1, 1}));
        cross_entropy(matmul(features, head), y).backward();
        optimizer.step();
    }
    std::vector<double> weights = conv.to_vector(), h = head.to_vector();
    weights.insert(weights.end(), h.begin(), h.end());
    return weights;
}

}  // namespace

TEST_CASE("emu determinism: a net without atomics trains to bit-identical weights twice") {
    const std::vector<double> a = train_on_emu(3), b = train_on_emu(3);
    REQUIRE(a.size() == 36 + 8);
    CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

TEST_CASE("emu memory cap: an allocation over the cap fails with the size, the use and what to do") {
    struct Uncap {
        ~Uncap() { simt::set_device_memory_limit(0); }
    } uncap;
    const Tensor held = Tensor::zeros({1024}, DType::float32, Device::emu());  // 4096 bytes in use
    simt::set_device_memory_limit(simt::device_bytes_in_use() + 10000);
    const Tensor fits = Tensor::zeros({1024}, DType::float32, Device::emu());
    CHECK_THROWS_WITH_AS(Tensor::zeros({4096}, DType::float32, Device::emu()),
                         doctest::Contains("emu: out of device memory: asked for 16384 bytes with"), Error);
    try {
        (void)Tensor::zeros({4096}, DType::float32, Device::emu());
    } catch (const Error& e) {
        const std::string what = e.what();
        CHECK(what.find("use a smaller batch size, or --batch-size auto") != std::string::npos);
        CHECK(what.find("(cap ") != std::string::npos);
    }
    simt::set_device_memory_limit(0);
    CHECK_NOTHROW(Tensor::zeros({4096}, DType::float32, Device::emu()));
}

TEST_CASE("emu memory cap: the caching allocator frees its cache, retries once, then fails with a clear message") {
    struct Uncap {
        ~Uncap() { simt::set_device_memory_limit(0); }
    } uncap;
    // A caching allocator over capped emu memory, as the cuda one is over cudaMalloc.
    CachingAllocator allocator([](size_t bytes, int) { return simt::device_try_allocate(bytes); },
                               [](void* block, int) { simt::device_free(block); }, 0, "emu");
    const size_t base = simt::device_bytes_in_use();
    simt::set_device_memory_limit(base + 3 * 4096);
    void* a = allocator.allocate(4096);
    void* b = allocator.allocate(4096);
    allocator.deallocate(b);  // cached, still held from the device
    CHECK(allocator.stats().bytes_cached == 4096);
    // 8192 does not fit beside a (4096) and the cached block: the cache goes back and the retry fits.
    void* c = allocator.allocate(8192);
    CHECK(allocator.stats().bytes_cached == 0);
    // Nothing cached now: the next one fails, saying how much was asked and is in use.
    CHECK_THROWS_WITH_AS(allocator.allocate(4096),
                         doctest::Contains("allocator: out of emu memory: asked for 4096 bytes with 12288 bytes in use "
                                           "(0 cached bytes were freed and the allocation retried); use a smaller "
                                           "batch size, or --batch-size auto"),
                         Error);
    allocator.deallocate(a);
    allocator.deallocate(c);
    allocator.empty_cache();
    CHECK(simt::device_bytes_in_use() == base);
}
