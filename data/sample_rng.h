#pragma once
// SampleRng: the random stream of one sample in one epoch.
//
// Philox4x32-10 (kernels/common/philox.h) keyed by a hash of (seed, epoch),
// with the counter's high 32 bits set to the sample's position in the epoch
// and the low 32 bits counting draws. Every number a transform draws for a
// sample is therefore a pure function of (seed, epoch, position, draw number):
// the same whichever worker thread builds the sample, and in whatever order.
#include <cmath>
#include <cstdint>

#include "kernels/common/philox.h"

namespace kiln::data {

// splitmix64's finaliser: spreads (seed, epoch) over the whole 64-bit key.
inline uint64_t mix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

// Distinct streams for distinct purposes derive their key from (seed, tag, epoch).
inline uint64_t stream_key(uint64_t seed, uint64_t tag, uint64_t epoch) { return mix64(mix64(seed ^ mix64(tag)) + epoch); }

class SampleRng {
public:
    SampleRng(uint64_t key, uint64_t position) : key_(key), base_(position << 32) {}

    uint32_t next_u32() {
        if (lane_ == 4) {
            block_ = math::philox4x32_10(key_, base_ + counter_++);
            lane_ = 0;
        }
        return block_.v[lane_++];
    }
    float uniform() { return math::uint_to_unit_float(next_u32()); }             // [0, 1)
    float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }     // [lo, hi)
    bool bernoulli(float p) { return p > 0 && uniform() < p; }
    // [0, n) without modulo bias worth mentioning for n << 2^32.
    uint32_t below(uint32_t n) { return uint32_t((uint64_t(next_u32()) * n) >> 32); }
    float normal() {  // Box-Muller
        const float u1 = 1.0f - uniform(), u2 = uniform();
        return std::sqrt(-2.0f * std::log(u1)) * std::cos(6.28318530717958647692f * u2);
    }

private:
    uint64_t key_, base_;
    uint64_t counter_ = 0;
    math::Philox4 block_{};
    int lane_ = 4;
};

}  // namespace kiln::data
