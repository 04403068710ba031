#include "kernels/cpu/dropout.h"

#include "kernels/common/dropout.h"
#include "kernels/cpu/strided.h"

namespace kiln::cpu {

template <typename T>
void dropout_forward(T* y, const T* x, int64_t count, int64_t group, double p, uint64_t seed, uint64_t offset) {
    const T scale = T(math::dropout_scale(p));
#pragma omp parallel for if (count >= parallel_grain)
    for (int64_t i = 0; i < count; ++i)
        y[i] = math::dropout_keep(seed, offset, uint64_t(i / group), float(p)) ? x[i] * scale : T(0);
}

template <typename T>
void dropout_backward(T* dx, const T* dy, int64_t count, int64_t group, double p, uint64_t seed, uint64_t offset) {
    const T scale = T(math::dropout_scale(p));
#pragma omp parallel for if (count >= parallel_grain)
    for (int64_t i = 0; i < count; ++i)
        if (math::dropout_keep(seed, offset, uint64_t(i / group), float(p))) dx[i] += dy[i] * scale;
}

template void dropout_forward<float>(float*, const float*, int64_t, int64_t, double, uint64_t, uint64_t);
template void dropout_forward<double>(double*, const double*, int64_t, int64_t, double, uint64_t, uint64_t);
template void dropout_backward<float>(float*, const float*, int64_t, int64_t, double, uint64_t, uint64_t);
template void dropout_backward<double>(double*, const double*, int64_t, int64_t, double, uint64_t, uint64_t);

}  // namespace kiln::cpu
