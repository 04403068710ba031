// Streams, events, pinned memory and asynchronous copies on cuda
// (engine/stream.h). On a machine without a GPU the first test checks that
// every such use is kiln's one-line error; the others need a GPU and report
// themselves skipped, by name, without one.
#include <doctest/doctest.h>

#include <functional>
#include <string>

#include "engine/cuda_device.h"
#include "engine/ops.h"
#include "engine/random.h"
#include "engine/stream.h"
#include "engine/vendor.h"
#include "tests/support/skip.h"

using namespace kiln;

namespace {

// Differences are summation order only (the same kernels on another stream
// give the same bits; cuDNN/cuBLAS against hand-written: as in test_vendor_on_cuda).
constexpr double float32_tolerance = 1e-4;
constexpr double conv_tolerance = 1e-3;

std::string error_of(const std::function<void()>& action) {
    try {
        action();
    } catch (const Error& error) {
        return error.what();
    }
    return "";
}

// Why cuda cannot run here, or "" when it can.
std::string no_gpu_reason() {
    return error_of([] { (void)Tensor::zeros({1}, DType::float32, Device::cuda(0)); });
}

double max_difference(const Tensor& a, const Tensor& b) { return max(abs(a.to(Device::cpu()) - b.to(Device::cpu()))).item(); }
double max_magnitude(const Tensor& a) { return std::max(max(abs(a.to(Device::cpu()))).item(), 1e-30); }

const Device gpu = Device::cuda(0);

}  // namespace

TEST_CASE("cuda without a GPU: streams, events, pinned memory and synchronize fail in one line") {
    if (no_gpu_reason().empty()) KILN_SKIP("a GPU is present: this test is for machines without one");
    const std::vector<std::pair<std::string, std::function<void()>>> uses = {
        {"Stream(cuda:0)", [] { const Stream s(gpu); }},
        {"Stream::current", [] { (void)Stream::current(gpu); }},
        {"Stream::default_stream", [] { (void)Stream::default_stream(gpu); }},
        {"Event::record", [] { Event e; e.record(Stream::current(gpu)); }},
        {"synchronize", [] { synchronize(gpu); }},
        {"Tensor::empty_pinned", [] { (void)Tensor::empty_pinned({4}); }},
        {"Tensor::pin_memory", [] { (void)Tensor::ones({4}).pin_memory(); }},
        {"to(cuda, non_blocking)", [] { (void)Tensor::ones({4}).to(gpu, true); }},
        {"cuda_memory_stats", [] { (void)cuda_memory_stats(gpu); }},
    };
    for (const auto& [what, use] : uses) {
        CAPTURE(what);
        const std::string message = error_of(use);
        CAPTURE(message);
        CHECK(message.rfind("kiln::Error: cuda: ", 0) == 0);
        CHECK(message.find('\n') == std::string::npos);
#if KILN_HAVE_CUDA
        CHECK(message.find("no GPU") != std::string::npos);
#else
        CHECK(message.find("no CUDA backend") != std::string::npos);
#endif
    }
}

TEST_CASE("cuda streams: two streams run kernels and copies concurrently, ordered by events, with the cpu results") {
    if (const std::string reason = no_gpu_reason(); !reason.empty()) KILN_SKIP("no usable GPU: " + reason);
    Generator generator(2026);
    const Tensor a = Tensor::randn({257, 131}, DType::float32, generator), b = Tensor::randn({131, 67}, DType::float32, generator);
    const Tensor c = Tensor::randn({1, 3, 33, 31}, DType::float32, generator), w = Tensor::randn({8, 3, 3, 3}, DType::float32, generator);
    const Tensor expected_product = relu(matmul(a, b));
    const Tensor expected_features = conv2d(c, w, Tensor(), {.stride = {1, 1}, .padding = {1, 1}});
    const VendorGuard hand_written("off");

    const Stream first(gpu), second(gpu);
    CHECK(first != second);
    const Tensor pinned_a = a.pin_memory(), pinned_b = b.pin_memory(), pinned_c = c.pin_memory(), pinned_w = w.pin_memory();
    Event first_done, second_done;
    Tensor product, features, product_host;
    {
        const StreamGuard guard(first);
        CHECK(Stream::current(gpu) == first);
        product = relu(matmul(pinned_a.to(gpu, true), pinned_b.to(gpu, true)));
        product_host = product.to(Device::cpu(), true);  // pinned, still being copied
        CHECK(product_host.is_pinned());
        first_done.record(first);
    }
    {
        const StreamGuard guard(second);
        features = conv2d(pinned_c.to(gpu, true), pinned_w.to(gpu, true), Tensor(), {.stride = {1, 1}, .padding = {1, 1}});
        second_done.record(second);
    }
    // The default stream uses both results: it waits for both streams, and the
    // tensors are recorded as used by it (they were allocated on the side streams).
    const Stream main = Stream::current(gpu);
    CHECK(main.is_default());
    main.wait(first_done);
    main.wait(second_done);
    product.record_stream(main);
    features.record_stream(main);
    const Tensor total = sum(product) + sum(features);
    first_done.synchronize();
    CHECK(first_done.query());
    CHECK(max_difference(product_host, expected_product) <= float32_tolerance * max_magnitude(expected_product));
    CHECK(max_difference(features, expected_features) <= float32_tolerance * max_magnitude(expected_features));
    const double expected_total = (sum(expected_product) + sum(expected_features)).item();
    CHECK(std::abs(total.item() - expected_total) <= float32_tolerance * std::max(1.0, std::abs(expected_total)));
    first.synchronize();
    second.synchronize();
    CHECK(first.query());
    CHECK(second.query());
}

TEST_CASE("cuda streams: a non_blocking copy from pinned memory is correct after synchronize, and its block waits") {
    if (const std::string reason = no_gpu_reason(); !reason.empty()) KILN_SKIP("no usable GPU: " + reason);
    Generator generator(11);
    // 64 MiB: the copy takes milliseconds, long enough for an early reuse of the pinned block to show.
    const Tensor values = Tensor::randn({16, 1024, 1024}, DType::float32, generator);
    const Stream side(gpu);
    Tensor on_gpu;
    {
        const StreamGuard guard(side);
        Tensor pinned = values.pin_memory();
        on_gpu = pinned.to(gpu, true);
        pinned = Tensor();  // freed while the copy may still read it: the block must wait for `side`
        Tensor reused = Tensor::empty_pinned({16, 1024, 1024});  // whatever block it gets, it overwrites
        reused.fill_(-1);
        side.synchronize();
    }
    CHECK(max_difference(on_gpu, values) == 0);
    // Pageable memory: copied and waited for, non_blocking or not.
    const Tensor pageable_copy = values.to(gpu, true);
    CHECK(max_difference(pageable_copy, values) == 0);
}

TEST_CASE("cuda streams: a block freed under another stream is not reused before that stream's work") {
    if (const std::string reason = no_gpu_reason(); !reason.empty()) KILN_SKIP("no usable GPU: " + reason);
    const Stream owner(gpu), other(gpu);
    Tensor t;
    {
        const StreamGuard guard(owner);
        t = Tensor::zeros({1 << 20}, DType::float32, gpu);
    }
    const size_t pending_before = cuda_memory_stats(gpu).bytes_pending;
    {
        const StreamGuard guard(other);
        other.wait(owner);  // t's zeros are written on `owner`
        t = t + 1.0;  // the old block is freed while `other` is current (and has used it)
        CHECK(cuda_memory_stats(gpu).bytes_pending > pending_before);
        other.synchronize();
    }
    CHECK(sum(t).item() == double(1 << 20));
}

TEST_CASE("cuda streams: cuDNN and cuBLAS run on the current (non-default) stream") {
    if (const std::string reason = no_gpu_reason(); !reason.empty()) KILN_SKIP("no usable GPU: " + reason);
    if (!vendor_built(VendorOp::conv) || !vendor_built(VendorOp::gemm)) KILN_SKIP("this build has no cuDNN");
    Generator generator(3);
    const Tensor x = Tensor::randn({2, 4, 17, 15}, DType::float32, generator).to(gpu);
    const Tensor w = Tensor::randn({6, 4, 3, 3}, DType::float32, generator).to(gpu);
    const Tensor a = Tensor::randn({65, 33}, DType::float32, generator).to(gpu);
    const Tensor b = Tensor::randn({33, 47}, DType::float32, generator).to(gpu);
    const Tensor gamma = Tensor::ones({6}, DType::float32, gpu), beta = Tensor::zeros({6}, DType::float32, gpu);
    Tensor hand_conv, hand_gemm, hand_norm;
    {
        const VendorGuard guard("off");
        hand_conv = conv2d(x, w, Tensor(), {.stride = {1, 1}, .padding = {1, 1}});
        hand_gemm = matmul(a, b);
        hand_norm = batch_norm(hand_conv, gamma, beta, Tensor(), Tensor(), true);
    }
    const Stream side(gpu);
    Tensor vendor_conv, vendor_gemm, vendor_norm;
    {
        const VendorGuard vendor("on");
        const StreamGuard guard(side);
        side.wait(Stream::default_stream(gpu));  // the inputs were written on the default stream
        for (const Tensor& t : {x, w, a, b, gamma, beta}) t.record_stream(side);
        vendor_conv = conv2d(x, w, Tensor(), {.stride = {1, 1}, .padding = {1, 1}});
        vendor_gemm = matmul(a, b);
        vendor_norm = batch_norm(vendor_conv, gamma, beta, Tensor(), Tensor(), true);
        side.synchronize();
    }
    CHECK(max_difference(vendor_conv, hand_conv) <= conv_tolerance * max_magnitude(hand_conv));
    CHECK(max_difference(vendor_gemm, hand_gemm) <= float32_tolerance * max_magnitude(hand_gemm));
    CHECK(max_difference(vendor_norm, hand_norm) <= conv_tolerance * max_magnitude(hand_norm));
}

TEST_CASE("cuda events: elapsed time of a GEMM, and a destroyed stream hands its memory back") {
    if (const std::string reason = no_gpu_reason(); !reason.empty()) KILN_SKIP("no usable GPU: " + reason);
    Generator generator(5);
    const Tensor a = Tensor::randn({512, 512}, DType::float32, generator).to(gpu);
    Event start(true), end(true);
    Tensor kept;
    {
        const Stream side(gpu);
        const StreamGuard guard(side);
        side.wait(Stream::default_stream(gpu));
        a.record_stream(side);
        start.record(side);
        kept = matmul(a, a);
        end.record(side);
    }  // the stream is destroyed with `kept` still alive; its block now belongs to the default stream
    const double ms = start.elapsed_ms(end);
    CHECK(ms > 0);
    CHECK(ms < 10000);
    const Tensor expected = matmul(a.to(Device::cpu()), a.to(Device::cpu()));
    CHECK(max_difference(kept, expected) <= float32_tolerance * max_magnitude(expected));
    kept = Tensor();
    synchronize(gpu);
}
