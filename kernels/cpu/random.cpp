#include "kernels/cpu/random.h"

#include "kernels/common/philox.h"
#include "kernels/cpu/strided.h"

namespace kiln::cpu {

// One Philox draw per four values (the draw is the expensive part); value i
// is still value i of the stream, whatever the thread count.
template <typename T, typename Draw4>
void fill_by_fours(T* out, int64_t count, uint64_t seed, uint64_t offset, Draw4 draw4) {
    const int64_t counters = (count + 3) / 4;
#pragma omp parallel for if (count >= parallel_grain)
    for (int64_t c = 0; c < counters; ++c) {
        const math::Uniform4 values = draw4(seed, offset + uint64_t(c));
        for (int64_t lane = 0; lane < 4 && 4 * c + lane < count; ++lane) out[4 * c + lane] = T(values.v[lane]);
    }
}

template <typename T>
void uniform(T* out, int64_t count, uint64_t seed, uint64_t offset) {
    fill_by_fours(out, count, seed, offset, math::philox_uniform4);
}

template <typename T>
void normal(T* out, int64_t count, uint64_t seed, uint64_t offset) {
    fill_by_fours(out, count, seed, offset, math::philox_normal4);
}

template void uniform<float>(float*, int64_t, uint64_t, uint64_t);
template void uniform<double>(double*, int64_t, uint64_t, uint64_t);
template void normal<float>(float*, int64_t, uint64_t, uint64_t);
template void normal<double>(double*, int64_t, uint64_t, uint64_t);

}  // namespace kiln::cpu
