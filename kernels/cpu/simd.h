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
// v stays in a register: GCC otherwise folds a vector used by several FMAs
// into each of them as a memory operand, one load per FMA, and a tile's
// loads then outnumber what the load ports issue per FMA.
inline void keep_in_register(vec& v) {
#if defined(__x86_64__)
    asm volatile("" : "+x"(v));
#else
    (void)v;
#endif
}
inline void load_into_register(vec& v, const float* p) {
    v = load(p);
    keep_in_register(v);
}
// p[l] = v[l] for l < count (count <= lanes); nothing written past them
inline void store_first(float* p, vec v, int64_t count) {
    if (count == lanes) return store(p, v);
#if defined(__AVX512F__)
    _mm512_mask_storeu_ps(p, __mmask16((1u << count) - 1), v);
#elif defined(__AVX2__) && defined(__FMA__)
    // 4, 2 and 1 floats at a time: AVX2's masked store is microcoded on AMD (a tenth of a plain store's rate)
    __m128 part = _mm256_castps256_ps128(v);
    if (count & 4) {
        _mm_storeu_ps(p, part);
        part = _mm256_extractf128_ps(v, 1);
        p += 4;
    }
    if (count & 2) {
        _mm_storel_pi(reinterpret_cast<__m64*>(p), part);
        part = _mm_movehl_ps(part, part);
        p += 2;
    }
    if (count & 1) _mm_store_ss(p, part);
#else
    for (int64_t l = 0; l < count; ++l) p[l] = v[l];
#endif
}
// the first count (<= lanes) floats from p, zeros after them; nothing read past them
inline vec load_first(const float* p, int64_t count) {
    if (count == lanes) return load(p);
#if defined(__AVX512F__)
    return _mm512_maskz_loadu_ps(__mmask16((1u << count) - 1), p);
#elif defined(__AVX2__) && defined(__FMA__)
    return _mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(int(count)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
#else
    vec v{};
    for (int64_t l = 0; l < count; ++l) v[l] = p[l];
    return v;
#endif
}
// (a0 b0 a1 b1 ...) of a's and b's lanes: the first half into low, the second into high
inline void interleave(vec a, vec b, vec& low, vec& high) {
#if defined(__AVX512F__)
    low = _mm512_permutex2var_ps(a, _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), b);
    high = _mm512_permutex2var_ps(a, _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), b);
#elif defined(__AVX2__) && defined(__FMA__)
    const __m256 l = _mm256_unpacklo_ps(a, b), h = _mm256_unpackhi_ps(a, b);  // per 128-bit half
    low = _mm256_permute2f128_ps(l, h, 0x20);
    high = _mm256_permute2f128_ps(l, h, 0x31);
#else
    for (int l = 0; l < lanes / 2; ++l) low[2 * l] = a[l], low[2 * l + 1] = b[l];
    for (int l = 0; l < lanes / 2; ++l) high[2 * l] = a[lanes / 2 + l], high[2 * l + 1] = b[lanes / 2 + l];
#endif
}
// interleave's inverse: the even lanes of (low high) into even, the odd ones into odd
inline void deinterleave(vec low, vec high, vec& even, vec& odd) {
#if defined(__AVX512F__)
    even = _mm512_permutex2var_ps(low, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), high);
    odd = _mm512_permutex2var_ps(low, _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), high);
#elif defined(__AVX2__) && defined(__FMA__)
    // (l0 l2 h0 h2 | l4 l6 h4 h6), then the middle 64-bit pairs swapped
    even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(low, high, 0x88)), 0xD8));
    odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(low, high, 0xDD)), 0xD8));
#else
    vec e{}, o{};
    for (int l = 0; l < lanes / 2; ++l) e[l] = low[2 * l], o[l] = low[2 * l + 1];
    for (int l = 0; l < lanes / 2; ++l) e[lanes / 2 + l] = high[2 * l], o[lanes / 2 + l] = high[2 * l + 1];
    even = e;
    odd = o;
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
