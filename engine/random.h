#pragma once
// Random streams. A Generator is a Philox key (the seed) and a position in its
// stream; each fill reserves a fresh range of counters, so results depend only
// on the seed and the order of calls, not on thread count or backend.
#include <cstdint>
#include <mutex>

namespace kiln {

class Generator {
public:
    explicit Generator(uint64_t seed = default_seed) : seed_(seed) {}
    static constexpr uint64_t default_seed = 0x6b696c6e;  // "kiln"

    void manual_seed(uint64_t seed);
    uint64_t seed() const { return seed_; }
    // Reserves the counters for `count` values (four per counter); returns the first.
    uint64_t reserve(uint64_t count);

private:
    std::mutex mutex_;
    uint64_t seed_;
    uint64_t offset_ = 0;
};

Generator& default_generator();
inline void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace kiln
