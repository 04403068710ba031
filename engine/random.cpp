#include "engine/random.h"

namespace kiln {

void Generator::manual_seed(uint64_t seed) {
    std::lock_guard lock(mutex_);
    seed_ = seed;
    offset_ = 0;
}

uint64_t Generator::reserve(uint64_t count) {
    std::lock_guard lock(mutex_);
    const uint64_t first = offset_;
    offset_ += (count + 3) / 4;
    return first;
}

Generator& default_generator() {
    static Generator generator;
    return generator;
}

}  // namespace kiln
