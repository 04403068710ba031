// transpose_block of kernels/cpu/simd.h, one version per vector width.
#include "kernels/cpu/simd.h"

namespace kiln::cpu::simd {

#if defined(__AVX512F__)
// GCC 12 warns inside its own unpack intrinsics (their _mm512_undefined_ps
// pass-through operand; GCC bug 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
// 16 x 16: unpack 32-bit, unpack 64-bit, then 128-bit lane shuffles.
void transpose_block(float* to, int64_t ld_to, const float* from, int64_t ld_from, int64_t rows, int64_t columns) {
    const __mmask16 valid = __mmask16((1u << columns) - 1);
    __m512 r[16], t[16];
    for (int k = 0; k < 16; ++k) r[k] = k < rows ? _mm512_maskz_loadu_ps(valid, from + k * ld_from) : _mm512_setzero_ps();
    for (int k = 0; k < 16; k += 2) {  // pairs of rows interleaved
        t[k] = _mm512_unpacklo_ps(r[k], r[k + 1]);
        t[k + 1] = _mm512_unpackhi_ps(r[k], r[k + 1]);
    }
    for (int k = 0; k < 16; k += 4) {  // then pairs of those, 64 bits at a time
        r[k] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[k]), _mm512_castps_pd(t[k + 2])));
        r[k + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[k]), _mm512_castps_pd(t[k + 2])));
        r[k + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[k + 1]), _mm512_castps_pd(t[k + 3])));
        r[k + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[k + 1]), _mm512_castps_pd(t[k + 3])));
    }
    // r[4 g + i] now holds, in 128-bit lane L, rows 4 g..4 g + 3 of column 4 L + i
    for (int i = 0; i < 4; ++i) {
        const __m512 a = _mm512_shuffle_f32x4(r[i], r[4 + i], 0x88), b = _mm512_shuffle_f32x4(r[i], r[4 + i], 0xdd);
        const __m512 c = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0x88), e = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0xdd);
        t[i] = _mm512_shuffle_f32x4(a, c, 0x88);       // column i
        t[8 + i] = _mm512_shuffle_f32x4(a, c, 0xdd);   // column 8 + i
        t[4 + i] = _mm512_shuffle_f32x4(b, e, 0x88);   // column 4 + i
        t[12 + i] = _mm512_shuffle_f32x4(b, e, 0xdd);  // column 12 + i
    }
    for (int j = 0; j < columns; ++j) _mm512_storeu_ps(to + j * ld_to, t[j]);
}
#pragma GCC diagnostic pop
#elif defined(__AVX2__) && defined(__FMA__)
// 8 x 8: unpack 32-bit, shuffle 64-bit, then swap 128-bit halves. Rows past
// `rows` are zero; a partial row is a masked load.
void transpose_block(float* to, int64_t ld_to, const float* from, int64_t ld_from, int64_t rows, int64_t columns) {
    __m256 r[8], t[8];
    for (int k = 0; k < 8; ++k) r[k] = k < rows ? load_first(from + k * ld_from, columns) : _mm256_setzero_ps();
    for (int k = 0; k < 8; k += 2) {
        t[k] = _mm256_unpacklo_ps(r[k], r[k + 1]);
        t[k + 1] = _mm256_unpackhi_ps(r[k], r[k + 1]);
    }
    for (int k = 0; k < 8; k += 4) {
        r[k] = _mm256_shuffle_ps(t[k], t[k + 2], 0x44);
        r[k + 1] = _mm256_shuffle_ps(t[k], t[k + 2], 0xee);
        r[k + 2] = _mm256_shuffle_ps(t[k + 1], t[k + 3], 0x44);
        r[k + 3] = _mm256_shuffle_ps(t[k + 1], t[k + 3], 0xee);
    }
    // r[4 g + i] now holds, in 128-bit half h, rows 4 g..4 g + 3 of column 4 h + i
    for (int i = 0; i < 4; ++i) {
        t[i] = _mm256_permute2f128_ps(r[i], r[4 + i], 0x20);      // column i
        t[4 + i] = _mm256_permute2f128_ps(r[i], r[4 + i], 0x31);  // column 4 + i
    }
    for (int j = 0; j < columns; ++j) _mm256_storeu_ps(to + j * ld_to, t[j]);
}
#else
void transpose_block(float* to, int64_t ld_to, const float* from, int64_t ld_from, int64_t rows, int64_t columns) {
    for (int64_t j = 0; j < columns; ++j)
        for (int64_t k = 0; k < lanes; ++k) to[j * ld_to + k] = k < rows ? from[k * ld_from + j] : 0.0f;
}
#endif

}  // namespace kiln::cpu::simd
