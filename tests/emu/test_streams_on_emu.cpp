// Streams and events on emu (engine/stream.h): the API's semantics, which are
// the same as on cuda, where a machine without a GPU can check them. A launch
// runs to completion on emu, so ordering cannot be observed here (that is
// tests/cuda/test_streams_on_cuda.cpp); what can: which stream is current, that
// KILN_LAUNCH follows it (launches are counted per stream), that kernels under
// a guard give the cpu results, and what events and errors report.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

#include "engine/ops.h"
#include "engine/random.h"
#include "engine/stream.h"
#include "kernels/emu/simt.h"

using namespace kiln;

namespace {

// Differences are summation order only.
constexpr double float32_tolerance = 1e-5;

std::string error_of(const std::function<void()>& action) {
    try {
        action();
    } catch (const Error& error) {
        return error.what();
    }
    return "";
}

// A small net's worth of kernels (GEMM, element-wise, convolution, reduction).
Tensor some_work(const Tensor& a, const Tensor& b, const Tensor& image, const Tensor& weight) {
    const Tensor product = relu(matmul(a, b));
    const Tensor features = conv2d(image, weight, Tensor(), {.stride = {1, 1}, .padding = {1, 1}});
    return sum(product) + sum(softmax(features, 1));
}

}  // namespace

TEST_CASE("emu streams: the default stream is current until a guard, new streams are distinct objects") {
    const Stream current = Stream::current(Device::emu());
    CHECK(current.is_default());
    CHECK(current == Stream::default_stream(Device::emu()));
    CHECK(current.native_handle() == nullptr);
    const Stream first(Device::emu()), second(Device::emu());
    CHECK_FALSE(first.is_default());
    CHECK(first != second);
    CHECK(first.device() == Device::emu());
    CHECK(first.query());
    first.synchronize();
    const Stream copy = first;  // copies share the stream
    CHECK(copy == first);
}

TEST_CASE("emu streams: StreamGuard sets the current stream for its scope and restores the previous one") {
    const Stream outer(Device::emu()), inner(Device::emu());
    {
        const StreamGuard guard(outer);
        CHECK(Stream::current(Device::emu()) == outer);
        {
            const StreamGuard nested(inner);
            CHECK(Stream::current(Device::emu()) == inner);
        }
        CHECK(Stream::current(Device::emu()) == outer);
    }
    CHECK(Stream::current(Device::emu()).is_default());
    set_current_stream(inner);  // without a guard: until set again
    CHECK(Stream::current(Device::emu()) == inner);
    set_current_stream(Stream::default_stream(Device::emu()));
    CHECK(Stream::current(Device::emu()).is_default());
}

TEST_CASE("emu streams: the current stream is per thread") {
    const Stream side(Device::emu());
    const StreamGuard guard(side);
    bool other_thread_sees_default = false;
    std::thread([&] { other_thread_sees_default = Stream::current(Device::emu()).is_default(); }).join();
    CHECK(other_thread_sees_default);
    CHECK(Stream::current(Device::emu()) == side);
}

TEST_CASE("emu streams: a stream that is current stays alive until it is replaced") {
    {
        const Stream temporary(Device::emu());
        set_current_stream(temporary);
    }
    // The Stream object is gone; the current stream (held by the thread) is not.
    const Stream current = Stream::current(Device::emu());
    CHECK_FALSE(current.is_default());
    Generator generator(5);
    const Tensor x = Tensor::randn({7}, DType::float32, generator).to(Device::emu());
    const uint64_t before = current.emu_launches();
    (void)relu(x);
    CHECK(current.emu_launches() > before);
    set_current_stream(Stream::default_stream(Device::emu()));
}

TEST_CASE("emu streams: kernels launched under a guard go to its stream and give the cpu results") {
    Generator generator(2026);
    // Awkward sizes: no multiple of a tile, batch 1.
    const Tensor a = Tensor::randn({33, 17}, DType::float32, generator);
    const Tensor b = Tensor::randn({17, 29}, DType::float32, generator);
    const Tensor image = Tensor::randn({1, 3, 9, 11}, DType::float32, generator);
    const Tensor weight = Tensor::randn({5, 3, 3, 3}, DType::float32, generator);
    const double expected = some_work(a, b, image, weight).item();

    const Stream first(Device::emu()), second(Device::emu());
    const Stream default_stream = Stream::default_stream(Device::emu());
    const uint64_t default_before = default_stream.emu_launches();
    const Tensor ea = a.to(Device::emu()), eb = b.to(Device::emu()), eimage = image.to(Device::emu()),
                 eweight = weight.to(Device::emu());
    double on_first = 0, on_second = 0;
    {
        const StreamGuard guard(first);
        on_first = some_work(ea, eb, eimage, eweight).item();
    }
    {
        const StreamGuard guard(second);
        on_second = some_work(ea, eb, eimage, eweight).item();
    }
    CHECK(first.emu_launches() > 0);
    CHECK(first.emu_launches() == second.emu_launches());  // the same work, the same launches
    CHECK(default_stream.emu_launches() == default_before);   // none leaked to the default stream
    const double scale = std::max(1.0, std::abs(expected));
    CHECK(std::abs(on_first - expected) <= float32_tolerance * scale);
    CHECK(std::abs(on_second - expected) <= float32_tolerance * scale);
    // Work after the guards is on the default stream again.
    (void)relu(ea);
    CHECK(default_stream.emu_launches() > default_before);
}

TEST_CASE("emu events: record, query, synchronize, wait, and host-time elapsed_ms") {
    const Stream side(Device::emu());
    Event start(true), end(true);
    CHECK_FALSE(start.recorded());
    CHECK(start.query());  // never recorded: nothing to wait for
    start.record(side);
    CHECK(start.recorded());
    CHECK(start.device() == Device::emu());
    constexpr auto pause = std::chrono::milliseconds(20);
    std::this_thread::sleep_for(pause);
    end.record(side);
    CHECK(end.query());
    end.synchronize();
    end.wait(Stream::current(Device::emu()));
    Stream::current(Device::emu()).wait(side);
    const double ms = start.elapsed_ms(end);
    CHECK(ms >= 20.0);  // emu reports host time: at least the pause
    CHECK(ms < 10000.0);

    Event moved = std::move(start);
    CHECK(moved.recorded());
    CHECK_FALSE(start.recorded());  // NOLINT(bugprone-use-after-move): a moved-from event is empty
}

TEST_CASE("emu events and streams: misuse is a one-line kiln::Error") {
    const Stream side(Device::emu());
    Event untimed, timed(true), unrecorded(true);
    untimed.record(side);
    timed.record(side);
    CHECK(error_of([&] { (void)untimed.elapsed_ms(timed); }) ==
          "kiln::Error: event: elapsed_ms needs both events created with enable_timing");
    CHECK(error_of([&] { (void)timed.elapsed_ms(unrecorded); }) ==
          "kiln::Error: event: elapsed_ms needs both events recorded (the end event was not)");
    CHECK(error_of([] { const Stream s(Device::cpu()); }).rfind("kiln::Error: stream: cpu has no streams", 0) == 0);
    CHECK(error_of([] { (void)Stream::current(Device::cpu()); }).rfind("kiln::Error: stream: cpu has no streams", 0) ==
          0);
    CHECK(error_of([] { (void)Tensor::ones({2}).record_stream(Stream(Device::emu())); }) ==
          "kiln::Error: record_stream: the tensor is on cpu and not pinned; no stream uses it");
    synchronize(Device::emu());  // nothing to wait for
    synchronize(Device::cpu());
}

TEST_CASE("emu streams: non_blocking copies and record_stream are valid on emu (and synchronous)") {
    Generator generator(7);
    const Tensor x = Tensor::randn({3, 5}, DType::float32, generator);
    const Stream side(Device::emu());
    const StreamGuard guard(side);
    const Tensor on_emu = x.to(Device::emu(), /*non_blocking=*/true);
    on_emu.record_stream(side);
    const Tensor back = on_emu.to(Device::cpu(), /*non_blocking=*/true);
    CHECK_FALSE(back.is_pinned());  // emu memory is host memory: no pinned staging
    CHECK(back.to_vector() == x.to_vector());
}
