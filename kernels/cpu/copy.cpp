#include "kernels/cpu/copy.h"

#include <algorithm>

#include "kernels/cpu/strided.h"

namespace kiln::cpu {

template <typename Dst, typename Src>
void copy_strided(Dst* dst, const std::vector<int64_t>& dst_strides, const Src* src,
                  const std::vector<int64_t>& src_strides, const std::vector<int64_t>& shape) {
    // Destinations never overlap (dst strides come from a non-broadcast tensor), so threads may split the work.
    for_each_strided<2>(shape, {dst_strides.data(), src_strides.data()},
                        [=](int64_t, const std::array<int64_t, 2>& offset) { dst[offset[0]] = Dst(src[offset[1]]); });
}

template <typename T>
void fill(T* dst, int64_t count, T value) {
    std::fill(dst, dst + count, value);
}

#define KILN_COPY(Dst, Src)                                                                              \
    template void copy_strided<Dst, Src>(Dst*, const std::vector<int64_t>&, const Src*,                  \
                                         const std::vector<int64_t>&, const std::vector<int64_t>&);
#define KILN_COPY_FROM(Src) KILN_COPY(float, Src) KILN_COPY(double, Src) KILN_COPY(int64_t, Src)
KILN_COPY_FROM(float)
KILN_COPY_FROM(double)
KILN_COPY_FROM(int64_t)
template void fill<float>(float*, int64_t, float);
template void fill<double>(double*, int64_t, double);
template void fill<int64_t>(int64_t*, int64_t, int64_t);

}  // namespace kiln::cpu
