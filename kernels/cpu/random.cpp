#include "kernels/cpu/random.h"

#include "kernels/common/philox.h"
#include "kernels/cpu/strided.h"

namespace kiln::cpu {

template <typename T>
void uniform(T* out, int64_t count, uint64_t seed, uint64_t offset) {
#pragma omp parallel for if (count >= parallel_grain)
    for (int64_t i = 0; i < count; ++i) out[i] = T(math::philox_uniform(seed, offset, uint64_t(i)));
}

template <typename T>
void normal(T* out, int64_t count, uint64_t seed, uint64_t offset) {
#pragma omp parallel for if (count >= parallel_grain)
    for (int64_t i = 0; i < count; ++i) out[i] = T(math::philox_normal(seed, offset, uint64_t(i)));
}

template void uniform<float>(float*, int64_t, uint64_t, uint64_t);
template void uniform<double>(double*, int64_t, uint64_t, uint64_t);
template void normal<float>(float*, int64_t, uint64_t, uint64_t);
template void normal<double>(double*, int64_t, uint64_t, uint64_t);

}  // namespace kiln::cpu
