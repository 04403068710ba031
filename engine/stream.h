#pragma once
// Streams and events, after PyTorch's c10::cuda::CUDAStream and CUDAEvent.
//
// A stream is an ordered queue of device work. Each host thread has a
// current stream per device, the device's default stream until set: every
// hand-written kernel (KILN_LAUNCH), every cuBLAS/cuDNN call and every copy
// of Tensor::to is queued on the current stream of its device. Work on one
// stream runs in order; work on two streams may overlap, and is ordered only
// by events (or by synchronising the host).
//
//   kiln::Stream side(Device::cuda(0));          // a new stream
//   {
//       kiln::StreamGuard guard(side);             // current for this scope
//       y = relu(x);                               // runs on `side`
//   }
//   kiln::Event done;
//   done.record(side);
//   done.wait(kiln::Stream::current(Device::cuda(0)));  // later work on the current stream waits for relu
//
// cuda: a Stream owns a cudaStream_t created with cudaStreamNonBlocking (it
// does not synchronise with the legacy default stream, as PyTorch's streams);
// the default stream is CUDA's legacy default stream (handle null).
// emu: a launch runs to completion before it returns, a valid in-order
// schedule of any stream, so streams order nothing there; they are real
// objects that count their launches (emu_launches), and events record the
// host time (elapsed_ms measures host time on emu). cpu has no streams.
//
// Memory and streams: a cuda tensor's block belongs to the stream current at
// its allocation; a tensor used on another stream must be named with
// Tensor::record_stream(stream) (or the streams synchronised) before it is
// freed, else its block may be reused on its own stream while the other still
// reads it. A tensor freed while another stream is current counts as used by
// that stream too. The rule: engine/allocator.h, docs/architecture.md.
//
// Without a GPU every cuda use is one kiln::Error line ("cuda: no GPU: ...");
// in a build without nvcc, "cuda: this build of kiln has no CUDA backend".
#include <chrono>
#include <cstdint>
#include <memory>

#include "engine/device.h"

namespace kiln {

class Event;

class Stream {
public:
    // A new stream on `device` (cuda or emu). Its destructor (the last copy's)
    // waits for the work queued on it, then destroys it.
    explicit Stream(Device device);

    // The default stream of `device`, and this thread's current stream of it.
    static Stream default_stream(Device device);
    static Stream current(Device device);

    Device device() const;
    bool is_default() const;
    // cudaStream_t on cuda (null: the legacy default stream); null on emu.
    void* native_handle() const;

    // Blocks the host until the work queued so far has finished.
    void synchronize() const;
    // Whether that work has finished (always true on emu).
    bool query() const;
    // Work queued on this stream from now on waits for the work `event` was
    // recorded after (nothing when the event was never recorded).
    void wait(const Event& event) const;
    // The same for everything queued on `other` so far.
    void wait(const Stream& other) const;

    // emu only: kernel launches made while this stream was current.
    uint64_t emu_launches() const;

    bool operator==(const Stream& other) const { return state_ == other.state_; }

    struct State;

private:
    explicit Stream(std::shared_ptr<State> state) : state_(std::move(state)) {}
    std::shared_ptr<State> state_;
    friend class StreamGuard;
    friend void set_current_stream(const Stream& stream);
};

// Makes `stream` this thread's current stream of its device (outside a guard,
// until set again). Prefer StreamGuard.
void set_current_stream(const Stream& stream);

// `stream` is the current stream of its device for this scope, and on cuda
// its device is the current CUDA device; both are restored at the end.
class StreamGuard {
public:
    explicit StreamGuard(const Stream& stream);
    ~StreamGuard();
    StreamGuard(const StreamGuard&) = delete;
    StreamGuard& operator=(const StreamGuard&) = delete;

private:
    Stream previous_;
    int previous_cuda_device_ = -1;
};

// A point in a stream's work. Created empty; record() places it after the
// work queued so far on a stream (the CUDA event itself is created at the
// first record, on that stream's device).
class Event {
public:
    // `enable_timing`: elapsed_ms may be asked (CUDA events without timing
    // are cheaper to record and wait on).
    explicit Event(bool enable_timing = false);
    ~Event();
    Event(Event&& other) noexcept;
    Event& operator=(Event&& other) noexcept;
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;

    // Re-recording moves the event to the new point; an event stays on the
    // device of its first record.
    void record(const Stream& stream);
    bool recorded() const { return recorded_; }
    Device device() const { return device_; }
    // `stream` waits for this event (Stream::wait).
    void wait(const Stream& stream) const;
    // Whether the work before the record has finished (true if never recorded).
    bool query() const;
    // Blocks the host until it has.
    void synchronize() const;
    // Milliseconds from this event to `end` (both recorded with timing, on
    // one device); waits for both. On emu: host time between the records.
    double elapsed_ms(const Event& end) const;

private:
    bool timing_ = false;
    bool recorded_ = false;
    Device device_;
    void* handle_ = nullptr;  // cudaEvent_t
    std::chrono::steady_clock::time_point host_time_;  // emu: when it was recorded
};

// Blocks the host until all work queued on `device` (every stream) has
// finished; nothing to wait for on cpu and emu.
void synchronize(Device device);

}  // namespace kiln
