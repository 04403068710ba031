#pragma once
// The float vector of the direct convolution (kernels/cpu/conv.cpp): one
// register of the widest FMA unit the build targets (-march=native in
// Release builds), so one kernel source serves every x86 CPU:
//   AVX-512F       16 lanes, 32 vector registers
//   AVX2 + FMA      8 lanes, 16 vector registers (AMD Zen 1-3, older Intel)
//   anything else   4 lanes of GCC's generic vectors (one SSE2 or NEON
//                   register: correct everywhere, so sanitizer and Debug
//                   builds run the same kernel; not meant to be fast)
// Loads and stores are unaligned; `registers` sizes the kernels' register tiles.
#include <cstdint>
#include <cstring>

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif

namespace kiln::cpu::simd {

#if defined(__AVX512F__)
constexpr int lanes = 16, registers = 32;
using vec = __m512;
inline vec fma(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
inline vec broadcast(float x) { return _mm512_set1_ps(x); }
#elif defined(__AVX2__) && defined(__FMA__)
constexpr int lanes = 8, registers = 16;
using vec = __m256;
inline vec fma(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
inline vec broadcast(float x) { return _mm256_set1_ps(x); }
#else
constexpr int lanes = 4, registers = 16;
typedef float vec __attribute__((vector_size(16)));
inline vec fma(vec a, vec b, vec c) { return a * b + c; }
inline vec broadcast(float x) { return vec{x, x, x, x}; }
#endif

inline vec zero() { return vec{}; }
inline vec load(const float* p) {
    vec v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
inline void store(float* p, vec v) { std::memcpy(p, &v, sizeof v); }
// v = load(p), kept in a register: GCC otherwise folds a vector used by
// several FMAs into each of them as a memory operand, one load per FMA, and
// a tile's loads then outnumber what the load ports issue per FMA.
inline void load_into_register(vec& v, const float* p) {
    v = load(p);
#if defined(__x86_64__)
    asm volatile("" : "+x"(v));
#endif
}
// the sum of v's lanes, in lane order
inline float sum(vec v) {
    float lane[lanes];
    store(lane, v);
    float total = 0.0f;
    for (int l = 0; l < lanes; ++l) total += lane[l];
    return total;
}

// to[j ld_to + k] = from[k ld_from + j] for k < lanes (zero for k >= rows)
// and j < columns: one lanes x lanes block (fewer rows or columns at the
// edges) transposed in registers where the ISA has the shuffles for it.
void transpose_block(float* to, int64_t ld_to, const float* from, int64_t ld_from, int64_t rows, int64_t columns);

}  // namespace kiln::cpu::simd
