#pragma once
// What lets a CUDA kernel source compile as plain C++ for the emu backend:
// the CUDA keywords, built-in variables, intrinsics, atomics and vector types,
// mapped onto the SIMT emulator (kernels/emu/simt.h). Included by
// kernels/cuda/cuda_common.h when the compiler is not nvcc.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <source_location>

#include "kernels/emu/simt.h"

// ---- keywords ----
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict
// One object per block: all static __shared__ variables live in one linker
// section, which the emulator poisons at the start of every block (blocks run
// one at a time, so the section is the running block's shared memory).
#define __shared__ static __attribute__((section("kiln_simt_shared")))

// ---- built-in variables ----
using dim3 = kiln::simt::Dim3;
using uint3 = kiln::simt::Dim3;
#define threadIdx (::kiln::simt::thread_index())
#define blockIdx (::kiln::simt::block_index())
#define blockDim (::kiln::simt::block_dim())
#define gridDim (::kiln::simt::grid_dim())
constexpr int warpSize = 32;

// ---- barriers and warp collectives ----
inline void __syncthreads(const std::source_location& site = std::source_location::current()) {
    ::kiln::simt::syncthreads(site);
}

namespace kiln::simt::detail {
template <typename T>
uint64_t to_bits(T value) {
    static_assert(sizeof(T) <= sizeof(uint64_t), "warp shuffles move at most 8 bytes");
    uint64_t bits = 0;
    std::memcpy(&bits, &value, sizeof(T));
    return bits;
}
template <typename T>
T from_bits(uint64_t bits) {
    T value;
    std::memcpy(&value, &bits, sizeof(T));
    return value;
}
template <typename T>
T shuffle(WarpOp op, unsigned mask, T value, int argument, int width, const std::source_location& site) {
    return from_bits<T>(warp_collective(op, mask, to_bits(value), argument, width, site));
}
}  // namespace kiln::simt::detail

inline void __syncwarp(unsigned mask = 0xFFFFFFFFu, const std::source_location& site = std::source_location::current()) {
    ::kiln::simt::warp_collective(::kiln::simt::WarpOp::sync, mask, 0, 0, 32, site);
}
template <typename T>
T __shfl_sync(unsigned mask, T value, int source_lane, int width = 32,
              const std::source_location& site = std::source_location::current()) {
    return ::kiln::simt::detail::shuffle(::kiln::simt::WarpOp::shfl, mask, value, source_lane, width, site);
}
template <typename T>
T __shfl_up_sync(unsigned mask, T value, unsigned delta, int width = 32,
                 const std::source_location& site = std::source_location::current()) {
    return ::kiln::simt::detail::shuffle(::kiln::simt::WarpOp::shfl_up, mask, value, int(delta), width, site);
}
template <typename T>
T __shfl_down_sync(unsigned mask, T value, unsigned delta, int width = 32,
                   const std::source_location& site = std::source_location::current()) {
    return ::kiln::simt::detail::shuffle(::kiln::simt::WarpOp::shfl_down, mask, value, int(delta), width, site);
}
template <typename T>
T __shfl_xor_sync(unsigned mask, T value, int lane_mask, int width = 32,
                  const std::source_location& site = std::source_location::current()) {
    return ::kiln::simt::detail::shuffle(::kiln::simt::WarpOp::shfl_xor, mask, value, lane_mask, width, site);
}
inline unsigned __ballot_sync(unsigned mask, int predicate,
                              const std::source_location& site = std::source_location::current()) {
    return unsigned(::kiln::simt::warp_collective(::kiln::simt::WarpOp::ballot, mask, predicate != 0, 0, 32, site));
}
inline int __any_sync(unsigned mask, int predicate, const std::source_location& site = std::source_location::current()) {
    return int(::kiln::simt::warp_collective(::kiln::simt::WarpOp::any, mask, predicate != 0, 0, 32, site));
}
inline int __all_sync(unsigned mask, int predicate, const std::source_location& site = std::source_location::current()) {
    return int(::kiln::simt::warp_collective(::kiln::simt::WarpOp::all, mask, predicate != 0, 0, 32, site));
}

// ---- atomics: the threads of a block run one at a time, so plain read-modify-write is atomic ----
template <typename T>
T atomicAdd(T* address, T value) {
    const T old = *address;
    *address = old + value;
    return old;
}
template <typename T>
T atomicMax(T* address, T value) {
    const T old = *address;
    *address = old > value ? old : value;
    return old;
}
template <typename T>
T atomicMin(T* address, T value) {
    const T old = *address;
    *address = old < value ? old : value;
    return old;
}
template <typename T>
T atomicCAS(T* address, T compare, T value) {
    const T old = *address;
    if (old == compare) *address = value;
    return old;
}
template <typename T>
T atomicExch(T* address, T value) {
    const T old = *address;
    *address = value;
    return old;
}

// ---- loads and math intrinsics ----
template <typename T>
T __ldg(const T* address) {
    return *address;
}
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float x, float y) { return x / y; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }

// ---- vector types ----
struct alignas(8) float2 {
    float x, y;
};
struct alignas(16) float4 {
    float x, y, z, w;
};
struct alignas(8) int2 {
    int x, y;
};
inline float2 make_float2(float x, float y) { return {x, y}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }

// ---- launching and dynamic shared memory (see kernels/cuda/cuda_common.h) ----
#define KILN_LAUNCH(kernel, grid, block, shared_bytes, ...)                                                 \
    ::kiln::simt::launch(#kernel, ::kiln::simt::Dim3(grid), ::kiln::simt::Dim3(block), size_t(shared_bytes), \
                         [&]() { kernel(__VA_ARGS__); })
#define KILN_DYNAMIC_SHARED(T, name) T* name = reinterpret_cast<T*>(::kiln::simt::dynamic_shared_memory())
