// Planted bugs the SIMT emulator must catch. Each test passes only if the bug
// is reported (or, for a race, exposed as schedule-dependent results): they
// prove that a green emu run means something.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <vector>

#include "kernels/common/error.h"
#include "kernels/cuda/cuda_common.h"
#include "kernels/emu/device_memory.h"

using kiln::Error;
namespace simt = kiln::simt;

namespace {

constexpr unsigned block_threads = 64;

// Tree reduction of one block in shared memory. With `barrier_in_loop` false
// the __syncthreads between the halving steps is missing: a thread may read a
// partial sum another thread has not written yet.
__global__ void block_sum_kernel(const float* in, float* out, bool barrier_in_loop) {
    __shared__ float partial[block_threads];
    const unsigned t = threadIdx.x;
    partial[t] = in[t];
    __syncthreads();
    for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2) {
        if (t < stride) partial[t] += partial[t + stride];
        if (barrier_in_loop) __syncthreads();
    }
    if (t == 0) *out = partial[0];
}

// Off by one: `i <= n` writes one element past the end.
__global__ void off_by_one_kernel(float* out, int n) {
    const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
    if (i <= n) out[i] = 1.0f;
}

// Writes one float past its dynamic shared memory.
__global__ void shared_overflow_kernel(float* out) {
    KILN_DYNAMIC_SHARED(float, buffer);
    buffer[threadIdx.x + 1] = float(threadIdx.x);
    __syncthreads();
    out[threadIdx.x] = buffer[threadIdx.x];
}

// Half the block returns before a barrier the other half waits at.
__global__ void early_exit_barrier_kernel(float* out) {
    if (threadIdx.x < 16) return;
    __syncthreads();
    out[threadIdx.x] = 1;
}

// Odd and even threads wait at two different barriers.
__global__ void two_barriers_kernel(float* out) {
    if (threadIdx.x % 2) {
        __syncthreads();
    } else {
        __syncthreads();
    }
    out[threadIdx.x] = 1;
}

// Only half a warp takes part in a full-mask shuffle.
__global__ void divergent_shuffle_kernel(float* out) {
    float value = float(threadIdx.x);
    if (threadIdx.x < 16) value = __shfl_down_sync(0xFFFFFFFFu, value, 1u);
    out[threadIdx.x] = value;
}

// The sum computed under each schedule.
std::vector<float> sums_under_schedules(bool barrier_in_loop) {
    std::vector<float> in(block_threads);
    for (unsigned i = 0; i < block_threads; ++i) in[i] = float(i + 1);
    std::vector<float> sums;
    for (auto schedule : {simt::Schedule::forward, simt::Schedule::reverse, simt::Schedule::random}) {
        simt::ScheduleGuard guard(schedule, 11);
        float sum = 0;
        KILN_LAUNCH(block_sum_kernel, 1, block_threads, 0, in.data(), &sum, barrier_in_loop);
        sums.push_back(sum);
    }
    return sums;
}

struct ChildResult {
    int exit_code;       // -1 if killed by a signal
    std::string output;  // its stderr
};

// Runs `body` in a forked child and collects its exit code and stderr: an
// AddressSanitizer report aborts the process, so a bug ASan catches must be
// planted in a child. The child exits with 42 after a kiln::Error whose
// message it prints.
ChildResult run_in_child(const std::function<void()>& body) {
    int pipe_ends[2];
    REQUIRE(pipe(pipe_ends) == 0);
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        dup2(pipe_ends[1], STDERR_FILENO);
        close(pipe_ends[0]);
        try {
            body();
        } catch (const Error& error) {
            std::fprintf(stderr, "%s\n", error.what());
            std::fflush(stderr);
            _exit(42);
        }
        _exit(0);
    }
    close(pipe_ends[1]);
    std::string output;
    char chunk[4096];
    ssize_t read_bytes = 0;
    while ((read_bytes = read(pipe_ends[0], chunk, sizeof chunk)) > 0) output.append(chunk, size_t(read_bytes));
    close(pipe_ends[0]);
    int status = 0;
    waitpid(child, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// A memory bug counts as caught when the emulator's guard check named it, or
// AddressSanitizer reported it.
void check_caught(const ChildResult& result, const std::string& emulator_words) {
    INFO("child exit code ", result.exit_code, ", stderr:\n", result.output);
    const bool by_emulator = result.exit_code == 42 && result.output.find(emulator_words) != std::string::npos;
    const bool by_asan = result.output.find("ERROR: AddressSanitizer") != std::string::npos;
    CHECK((by_emulator || by_asan));
}

}  // namespace

TEST_CASE("emu catches: a missing __syncthreads in a tree reduction (results depend on the schedule)") {
    const float expected = float(block_threads * (block_threads + 1) / 2);
    for (float sum : sums_under_schedules(true)) CHECK(sum == expected);  // the correct kernel agrees everywhere
    const std::vector<float> broken = sums_under_schedules(false);
    bool exposed = false;
    for (float sum : broken) exposed = exposed || sum != expected;
    CHECK_MESSAGE(exposed, "the race gave the right sum under every schedule");
}

TEST_CASE("emu catches: an off-by-one write past a device buffer") {
    check_caught(run_in_child([] {
                     const int n = 100;
                     auto* out = static_cast<float*>(simt::device_allocate(n * sizeof(float)));
                     KILN_LAUNCH(off_by_one_kernel, 1, 128, 0, out, n);
                     simt::device_free(out);
                 }),
                 "kernel off_by_one_kernel wrote past the end of a 400-byte device buffer");
}

TEST_CASE("emu catches: a write past the block's dynamic shared memory") {
    check_caught(run_in_child([] {
                     std::vector<float> out(32);
                     KILN_LAUNCH(shared_overflow_kernel, 1, 32, 32 * sizeof(float), out.data());
                 }),
                 "wrote past the end of its 128 bytes of dynamic shared memory");
}

TEST_CASE("emu catches: threads that exit while the rest of the block waits at __syncthreads") {
    std::vector<float> out(64);
    CHECK_THROWS_WITH_AS(KILN_LAUNCH(early_exit_barrier_kernel, 1, 64, 0, out.data()),
                         doctest::Contains("barrier divergence: threads (0, 0, 0)"), Error);
}

TEST_CASE("emu catches: threads of one block waiting at different __syncthreads") {
    std::vector<float> out(64);
    CHECK_THROWS_WITH_AS(KILN_LAUNCH(two_barriers_kernel, 1, 64, 0, out.data()),
                         doctest::Contains("barrier divergence: thread"), Error);
}

TEST_CASE("emu catches: a full-mask shuffle reached by half a warp") {
    std::vector<float> out(32);
    CHECK_THROWS_WITH_AS(KILN_LAUNCH(divergent_shuffle_kernel, 1, 32, 0, out.data()),
                         doctest::Contains("divergent_shuffle_kernel"), Error);
}
