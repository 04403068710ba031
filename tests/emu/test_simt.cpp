// The SIMT emulator's semantics: thread and block indices, __syncthreads as a
// real barrier, shared memory per block (poisoned at block start), warp
// shuffles and ballots, schedules, and launch limits.
#include <doctest/doctest.h>

#include <vector>

#include "kernels/common/error.h"
#include "kernels/cuda/cuda_common.h"
#include "kernels/emu/device_memory.h"

using kiln::Error;
namespace simt = kiln::simt;

namespace {

// Every thread writes its global index: blockIdx.x * blockDim.x + threadIdx.x.
__global__ void iota_kernel(int* out, int n) {
    const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
    if (i < n) out[i] = i;
}

// Reverses each block's chunk through shared memory: needs the barrier.
__global__ void reverse_block_kernel(const float* in, float* out) {
    __shared__ float tile[64];
    const unsigned t = threadIdx.x;
    tile[t] = in[blockIdx.x * 64 + t];
    __syncthreads();
    out[blockIdx.x * 64 + t] = tile[63 - t];
}

// Warp sum by shuffles: lane 0 of each warp writes its warp's total.
__global__ void warp_sum_kernel(const int* in, int* out) {
    int value = in[threadIdx.x];
    for (int offset = 16; offset > 0; offset /= 2) value += __shfl_down_sync(0xFFFFFFFFu, value, unsigned(offset));
    if (threadIdx.x % 32 == 0) out[threadIdx.x / 32] = value;
}

__global__ void ballot_kernel(const int* in, unsigned* out) {
    const unsigned mask = __ballot_sync(0xFFFFFFFFu, in[threadIdx.x] > 0);
    const int broadcast = __shfl_sync(0xFFFFFFFFu, in[threadIdx.x], 5);
    const int swapped = __shfl_xor_sync(0xFFFFFFFFu, int(threadIdx.x), 1);
    if (threadIdx.x == 0) out[0] = mask;
    out[1 + threadIdx.x] = unsigned(broadcast);
    out[33 + threadIdx.x] = unsigned(swapped);
}

__global__ void read_uninitialised_shared_kernel(float* out) {
    __shared__ float never_written[4];
    out[threadIdx.x] = never_written[threadIdx.x];
}

__global__ void dynamic_shared_kernel(const float* in, float* out, int n) {
    KILN_DYNAMIC_SHARED(float, buffer);
    buffer[threadIdx.x] = in[threadIdx.x] * 2;
    __syncthreads();
    out[threadIdx.x] = buffer[unsigned(n - 1) - threadIdx.x];
}

__global__ void index_kernel(unsigned* out) {
    const unsigned t = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
    const unsigned b = blockIdx.y * gridDim.x + blockIdx.x;
    out[b * 24 + t] = b * 1000 + threadIdx.z * 100 + threadIdx.y * 10 + threadIdx.x;
}

}  // namespace

TEST_CASE("emu: every thread of every block runs once with its own indices") {
    std::vector<int> out(1000, -1);
    KILN_LAUNCH(iota_kernel, 4, 256, 0, out.data(), 1000);
    for (int i = 0; i < 1000; ++i) CHECK(out[size_t(i)] == i);
    std::vector<unsigned> ids(6 * 24, 0);
    KILN_LAUNCH(index_kernel, dim3(3, 2, 1), dim3(4, 3, 2), 0, ids.data());
    CHECK(ids[0] == 0);
    CHECK(ids[23] == 123);              // thread (3, 2, 1) of block 0
    CHECK(ids[5 * 24 + 7] == 5000 + 13);  // thread (3, 1, 0) of block (2, 1)
}

TEST_CASE("emu: __syncthreads is a real barrier, under every schedule") {
    std::vector<float> in(128), out(128, 0);
    for (int i = 0; i < 128; ++i) in[size_t(i)] = float(i);
    for (auto schedule : {simt::Schedule::forward, simt::Schedule::reverse, simt::Schedule::random}) {
        CAPTURE(simt::schedule_name(schedule));
        simt::ScheduleGuard guard(schedule, 7);
        KILN_LAUNCH(reverse_block_kernel, 2, 64, 0, in.data(), out.data());
        for (int b = 0; b < 2; ++b)
            for (int t = 0; t < 64; ++t) CHECK(out[size_t(b * 64 + t)] == float(b * 64 + 63 - t));
    }
}

TEST_CASE("emu: warp shuffles, ballot and xor exchange follow CUDA's definitions") {
    std::vector<int> in(64);
    for (int i = 0; i < 64; ++i) in[size_t(i)] = i % 3 == 0 ? i : -i;
    std::vector<int> sums(2, 0);
    KILN_LAUNCH(warp_sum_kernel, 1, 64, 0, in.data(), sums.data());
    int expected0 = 0, expected1 = 0;
    for (int i = 0; i < 32; ++i) expected0 += in[size_t(i)];
    for (int i = 32; i < 64; ++i) expected1 += in[size_t(i)];
    CHECK(sums[0] == expected0);
    CHECK(sums[1] == expected1);

    std::vector<unsigned> out(65, 0);
    KILN_LAUNCH(ballot_kernel, 1, 32, 0, in.data(), out.data());
    unsigned mask = 0;
    for (unsigned lane = 0; lane < 32; ++lane) mask |= unsigned(in[lane] > 0) << lane;
    CHECK(out[0] == mask);
    for (unsigned lane = 0; lane < 32; ++lane) {
        CHECK(int(out[1 + lane]) == in[5]);
        CHECK(out[33 + lane] == (lane ^ 1u));
    }
}

TEST_CASE("emu: shared memory starts poisoned (0xFF: NaN as float) in every block") {
    std::vector<float> out(4, 0);
    KILN_LAUNCH(read_uninitialised_shared_kernel, 1, 4, 0, out.data());
    for (float v : out) CHECK(std::isnan(v));
}

TEST_CASE("emu: dynamic shared memory is per launch and sized by the launch") {
    std::vector<float> in = {1, 2, 3, 4, 5}, out(5, 0);
    KILN_LAUNCH(dynamic_shared_kernel, 1, 5, 5 * sizeof(float), in.data(), out.data(), 5);
    CHECK(out == std::vector<float>{10, 8, 6, 4, 2});
}

TEST_CASE("emu: launches beyond the hardware limits are errors naming the kernel") {
    std::vector<int> out(4096);
    CHECK_THROWS_WITH_AS(KILN_LAUNCH(iota_kernel, 1, 2048, 0, out.data(), 4096),
                         doctest::Contains("kernel iota_kernel: block (2048, 1, 1) has 2048 threads, the limit is 1024"),
                         Error);
    CHECK_THROWS_WITH_AS(KILN_LAUNCH(iota_kernel, dim3(1, 70000, 1), 32, 0, out.data(), 0),
                         doctest::Contains("exceeds the grid limits"), Error);
    CHECK_THROWS_WITH_AS(KILN_LAUNCH(iota_kernel, dim3(1, 1, 1), dim3(1, 1, 65), 0, out.data(), 0),
                         doctest::Contains("exceeds the block dimension limits"), Error);
    CHECK_THROWS_WITH_AS(KILN_LAUNCH(dynamic_shared_kernel, 1, 4, 64 * 1024, nullptr, nullptr, 4),
                         doctest::Contains("65536 bytes of dynamic shared memory, the limit is 49152"), Error);
    CHECK_THROWS_WITH_AS(KILN_LAUNCH(iota_kernel, 0, 32, 0, out.data(), 0), doctest::Contains("zero dimension"), Error);
}
