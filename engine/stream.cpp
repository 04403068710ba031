// Streams and events (engine/stream.h). The current stream lives in two
// places that move together: here, as a Stream (so the current stream stays
// alive while current), and in the slot the kernels read (cuda:
// kernels/cuda/current_stream.h, emu: kernels/emu/simt.h).
#include "engine/stream.h"

#include <map>
#include <mutex>
#include <utility>

#include "engine/cuda_device.h"
#include "engine/error.h"
#include "kernels/emu/simt.h"

#if KILN_HAVE_CUDA
#include <cuda_runtime.h>

#include "engine/cuda_check.h"
#include "kernels/cuda/current_stream.h"
#include "kernels/cuda/vendor/streams.h"
#endif

namespace kiln {

namespace {
constexpr int max_cuda_devices = 64;  // kernels/cuda/current_stream.h's max_devices
#if KILN_HAVE_CUDA
static_assert(max_cuda_devices == cuda::max_devices);
#endif

[[noreturn]] void no_streams_on(Device device) {
    fail("stream: ", device.str(), " has no streams (cpu ops run on the calling thread); streams exist on cuda and emu");
}

void check_stream_device(Device device) {
    switch (device.kind) {
        case Device::Kind::cpu: no_streams_on(device);
        case Device::Kind::emu: return;
        case Device::Kind::cuda:
            cuda_check_device(device);  // the one-line "no GPU" (or "no CUDA backend") error
            KILN_CHECK(device.index < max_cuda_devices, "stream: ", device.str(), ": kiln keeps streams for devices 0 to ",
                       max_cuda_devices - 1);
            return;
    }
}

#if KILN_HAVE_CUDA
// Makes `index` the current CUDA device for a scope.
class CudaDeviceScope {
public:
    explicit CudaDeviceScope(Device device) {
        cuda_check(cudaGetDevice(&previous_), "cudaGetDevice", device);
        cuda_check(cudaSetDevice(device.index), "selecting the device", device);
    }
    ~CudaDeviceScope() { cudaSetDevice(previous_); }
    CudaDeviceScope(const CudaDeviceScope&) = delete;
    CudaDeviceScope& operator=(const CudaDeviceScope&) = delete;

private:
    int previous_ = 0;
};
#endif
}  // namespace

struct Stream::State {
    Device device;
    bool is_default = false;
    void* handle = nullptr;                // cudaStream_t; null: the legacy default stream
    simt::Stream* emu = nullptr;           // emu: the launch counter (the emulator's own for the default stream)
    std::unique_ptr<simt::Stream> owned_emu;

    State(Device device, bool is_default) : device(device), is_default(is_default) {}
    State(const State&) = delete;
    State& operator=(const State&) = delete;
    ~State() {
        if (is_default || device.kind != Device::Kind::cuda) return;
#if KILN_HAVE_CUDA
        // Nothing that used the stream may outlive it: finish its work, then
        // hand its blocks to the default stream and free its vendor workspaces
        // (never throws: errors here are the device's, reported by the next call).
        cudaStreamSynchronize(static_cast<cudaStream_t>(handle));
        cuda_retire_stream(handle, device);
        vendor::release_stream(handle);
        cudaStreamDestroy(static_cast<cudaStream_t>(handle));
#endif
    }
};

namespace {
// The default stream of each device (never destroyed: a thread may still hold one at exit).
std::shared_ptr<Stream::State> default_state(Device device) {
    static std::mutex mutex;
    static auto* states = new std::map<std::pair<int, int>, std::shared_ptr<Stream::State>>();
    std::lock_guard lock(mutex);
    auto& state = (*states)[{int(device.kind), device.index}];
    if (!state) {
        state = std::make_shared<Stream::State>(device, true);
        if (device.kind == Device::Kind::emu) state->emu = &simt::default_stream();
    }
    return state;
}

// This thread's current streams; null: the device's default stream.
thread_local std::shared_ptr<Stream::State> current_cuda[max_cuda_devices];
thread_local std::shared_ptr<Stream::State> current_emu;

std::shared_ptr<Stream::State>& current_slot(Device device) {
    return device.kind == Device::Kind::emu ? current_emu : current_cuda[device.index];
}
}  // namespace

// ---------------------------------------------------------------- Stream

Stream::Stream(Device device) {
    check_stream_device(device);
    state_ = std::make_shared<State>(device, false);
    if (device.kind == Device::Kind::emu) {
        state_->owned_emu = std::make_unique<simt::Stream>();
        state_->emu = state_->owned_emu.get();
        return;
    }
#if KILN_HAVE_CUDA
    const CudaDeviceScope scope(device);
    cudaStream_t stream = nullptr;
    // Non-blocking: no implicit synchronisation with the legacy default stream (PyTorch's streams are the same).
    cuda_check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags", device);
    state_->handle = stream;
#endif
}

Stream Stream::default_stream(Device device) {
    check_stream_device(device);
    return Stream(default_state(device));
}

Stream Stream::current(Device device) {
    check_stream_device(device);
    const std::shared_ptr<State>& current = current_slot(device);
    return Stream(current ? current : default_state(device));
}

Device Stream::device() const { return state_->device; }
bool Stream::is_default() const { return state_->is_default; }
void* Stream::native_handle() const { return state_->handle; }

void Stream::synchronize() const {
    if (device().kind != Device::Kind::cuda) return;  // emu: its launches have finished
#if KILN_HAVE_CUDA
    cuda_check(cudaStreamSynchronize(static_cast<cudaStream_t>(state_->handle)), "cudaStreamSynchronize", device());
#endif
}

bool Stream::query() const {
    if (device().kind != Device::Kind::cuda) return true;
#if KILN_HAVE_CUDA
    const cudaError_t status = cudaStreamQuery(static_cast<cudaStream_t>(state_->handle));
    if (status == cudaErrorNotReady) {
        (void)cudaGetLastError();  // "not ready" is no error: do not leave it for the next launch check
        return false;
    }
    cuda_check(status, "cudaStreamQuery", device());
#endif
    return true;
}

void Stream::wait(const Event& event) const { event.wait(*this); }

void Stream::wait(const Stream& other) const {
    if (other == *this) return;
    Event event;
    event.record(other);
    event.wait(*this);
}

uint64_t Stream::emu_launches() const {
    KILN_CHECK(device().kind == Device::Kind::emu, "stream: launches are counted on emu only, this stream is on ",
               device().str());
    return state_->emu->launches.load();
}

void set_current_stream(const Stream& stream) {
    const Device device = stream.device();
    if (device.kind == Device::Kind::emu) {
        simt::set_current_stream(stream.is_default() ? nullptr : stream.state_->emu);
    } else {
#if KILN_HAVE_CUDA
        cuda::set_current_stream(device.index, static_cast<cudaStream_t>(stream.native_handle()));
#endif
    }
    current_slot(device) = stream.is_default() ? nullptr : stream.state_;
}

// ---------------------------------------------------------------- StreamGuard

StreamGuard::StreamGuard(const Stream& stream) : previous_(Stream::current(stream.device())) {
#if KILN_HAVE_CUDA
    if (stream.device().kind == Device::Kind::cuda) {
        cuda_check(cudaGetDevice(&previous_cuda_device_), "cudaGetDevice", stream.device());
        cuda_check(cudaSetDevice(stream.device().index), "selecting the device", stream.device());
    }
#endif
    set_current_stream(stream);
}

StreamGuard::~StreamGuard() {
    set_current_stream(previous_);  // (never throws: the slots exist, the device was checked)
#if KILN_HAVE_CUDA
    if (previous_cuda_device_ >= 0) cudaSetDevice(previous_cuda_device_);
#endif
}

// ---------------------------------------------------------------- Event

Event::Event(bool enable_timing) : timing_(enable_timing) {}

Event::~Event() {
#if KILN_HAVE_CUDA
    if (handle_) cudaEventDestroy(static_cast<cudaEvent_t>(handle_));
#endif
}

Event::Event(Event&& other) noexcept
    : timing_(other.timing_), recorded_(other.recorded_), device_(other.device_),
      handle_(std::exchange(other.handle_, nullptr)), host_time_(other.host_time_) {
    other.recorded_ = false;
}

Event& Event::operator=(Event&& other) noexcept {
    if (this != &other) {
        Event moved(std::move(other));
        std::swap(timing_, moved.timing_);
        std::swap(recorded_, moved.recorded_);
        std::swap(device_, moved.device_);
        std::swap(handle_, moved.handle_);
        std::swap(host_time_, moved.host_time_);
    }
    return *this;
}

void Event::record(const Stream& stream) {
    const Device device = stream.device();
    KILN_CHECK(!recorded_ || device == device_, "event: recorded on ", device_.str(),
               " before, cannot be recorded on a stream of ", device.str());
    if (device.kind == Device::Kind::emu) {
        host_time_ = std::chrono::steady_clock::now();  // every earlier launch has finished
    } else {
#if KILN_HAVE_CUDA
        const CudaDeviceScope scope(device);
        if (!handle_) {
            cudaEvent_t event = nullptr;
            cuda_check(cudaEventCreateWithFlags(&event, timing_ ? cudaEventDefault : cudaEventDisableTiming),
                       "cudaEventCreateWithFlags", device);
            handle_ = event;
        }
        cuda_check(cudaEventRecord(static_cast<cudaEvent_t>(handle_), static_cast<cudaStream_t>(stream.native_handle())),
                   "cudaEventRecord", device);
#endif
    }
    device_ = device;
    recorded_ = true;
}

void Event::wait(const Stream& stream) const {
    if (!recorded_ || device_.kind == Device::Kind::emu) return;  // an emu event's work has finished
#if KILN_HAVE_CUDA
    if (stream.device().kind != Device::Kind::cuda) {  // emu work runs on the host: the host waits
        synchronize();
        return;
    }
    const CudaDeviceScope scope(stream.device());
    cuda_check(cudaStreamWaitEvent(static_cast<cudaStream_t>(stream.native_handle()), static_cast<cudaEvent_t>(handle_), 0),
               "cudaStreamWaitEvent", stream.device());
#else
    (void)stream;
#endif
}

bool Event::query() const {
    if (!recorded_ || device_.kind == Device::Kind::emu) return true;
#if KILN_HAVE_CUDA
    const cudaError_t status = cudaEventQuery(static_cast<cudaEvent_t>(handle_));
    if (status == cudaErrorNotReady) {
        (void)cudaGetLastError();
        return false;
    }
    cuda_check(status, "cudaEventQuery", device_);
#endif
    return true;
}

void Event::synchronize() const {
    if (!recorded_ || device_.kind == Device::Kind::emu) return;
#if KILN_HAVE_CUDA
    cuda_check(cudaEventSynchronize(static_cast<cudaEvent_t>(handle_)), "cudaEventSynchronize", device_);
#endif
}

double Event::elapsed_ms(const Event& end) const {
    KILN_CHECK(timing_ && end.timing_, "event: elapsed_ms needs both events created with enable_timing");
    KILN_CHECK(recorded_ && end.recorded_, "event: elapsed_ms needs both events recorded (the ",
               recorded_ ? "end" : "start", " event was not)");
    KILN_CHECK(device_ == end.device_, "event: elapsed_ms between events of ", device_.str(), " and ",
               end.device_.str());
    if (device_.kind == Device::Kind::emu)
        return std::chrono::duration<double, std::milli>(end.host_time_ - host_time_).count();
    float ms = 0;
#if KILN_HAVE_CUDA
    synchronize();
    end.synchronize();
    cuda_check(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(handle_), static_cast<cudaEvent_t>(end.handle_)),
               "cudaEventElapsedTime", device_);
#endif
    return double(ms);
}

// ---------------------------------------------------------------- synchronize

void synchronize(Device device) {
    if (device.kind != Device::Kind::cuda) return;  // cpu and emu work has finished when its call returns
    check_stream_device(device);
#if KILN_HAVE_CUDA
    const CudaDeviceScope scope(device);
    cuda_check(cudaDeviceSynchronize(), "cudaDeviceSynchronize", device);
#endif
}

}  // namespace kiln
