#pragma once
// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC 2011): a counter-based generator. The random numbers for element i depend
// only on (seed, counter = offset + i / 4), never on which thread computes
// them, so every backend and every thread count gives the same tensor.
#include <cmath>
#include <cstdint>

#include "kernels/common/hd.h"

namespace kiln::math {

struct Philox4 {
    uint32_t v[4];
};

KILN_HD Philox4 philox4x32_10(uint64_t seed, uint64_t counter) {
    constexpr uint32_t mul0 = 0xD2511F53u, mul1 = 0xCD9E8D57u;     // round multipliers
    constexpr uint32_t weyl0 = 0x9E3779B9u, weyl1 = 0xBB67AE85u;   // key schedule increments
    uint32_t c0 = uint32_t(counter), c1 = uint32_t(counter >> 32), c2 = 0, c3 = 0;
    uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
    for (int round = 0; round < 10; ++round) {
        const uint64_t p0 = uint64_t(mul0) * c0, p1 = uint64_t(mul1) * c2;
        const uint32_t n0 = uint32_t(p1 >> 32) ^ c1 ^ k0, n2 = uint32_t(p0 >> 32) ^ c3 ^ k1;
        c1 = uint32_t(p1);
        c3 = uint32_t(p0);
        c0 = n0;
        c2 = n2;
        k0 += weyl0;
        k1 += weyl1;
    }
    return {{c0, c1, c2, c3}};
}

// A 32-bit random integer to a float in [0, 1): the top 24 bits, exact in float.
KILN_HD float uint_to_unit_float(uint32_t x) { return float(x >> 8) * (1.0f / 16777216.0f); }

// The four uniform [0, 1) values of one Philox draw: values 4c .. 4c+3 of the stream.
struct Uniform4 {
    float v[4];
};
KILN_HD Uniform4 philox_uniform4(uint64_t seed, uint64_t counter) {
    const Philox4 r = philox4x32_10(seed, counter);
    return {{uint_to_unit_float(r.v[0]), uint_to_unit_float(r.v[1]), uint_to_unit_float(r.v[2]),
             uint_to_unit_float(r.v[3])}};
}

// Uniform [0, 1) value number `index` of the stream (seed, offset).
KILN_HD float philox_uniform(uint64_t seed, uint64_t offset, uint64_t index) {
    return uint_to_unit_float(philox4x32_10(seed, offset + index / 4).v[index % 4]);
}

// Box-Muller on two uniforms: (radius cos, radius sin) of a standard normal pair.
KILN_HD void box_muller(uint32_t bits1, uint32_t bits2, float& first, float& second) {
    const float u1 = 1.0f - uint_to_unit_float(bits1);  // (0, 1]: log is finite
    const float u2 = uint_to_unit_float(bits2);
    const float radius = std::sqrt(-2.0f * std::log(u1));
    const float angle = 6.28318530717958647692f * u2;
    first = radius * std::cos(angle);
    second = radius * std::sin(angle);
}

// The four standard normal values of one Philox draw: values 4c .. 4c+3.
KILN_HD Uniform4 philox_normal4(uint64_t seed, uint64_t counter) {
    const Philox4 r = philox4x32_10(seed, counter);
    Uniform4 out;
    box_muller(r.v[0], r.v[1], out.v[0], out.v[1]);
    box_muller(r.v[2], r.v[3], out.v[2], out.v[3]);
    return out;
}

// Standard normal value number `index`: Box-Muller on the two uniforms of
// lanes (0,1) or (2,3) of one Philox draw.
KILN_HD float philox_normal(uint64_t seed, uint64_t offset, uint64_t index) {
    return philox_normal4(seed, offset + index / 4).v[index % 4];
}

}  // namespace kiln::math
