// Strided copy (with dtype conversion) and fill.
// Launch: one thread per element, 256 per block.
#include "kernels/cuda/cuda_common.h"
#include "kernels/cuda/copy.h"
#include "kernels/cuda/strided.h"

namespace kiln::KILN_CUDA_NS {

namespace {
constexpr unsigned threads_per_block = 256;

template <typename Dst, typename Src>
__global__ void copy_strided_kernel(Dst* dst, math::StridedLayout dst_layout, const Src* src,
                                    math::StridedLayout src_layout, int64_t count) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < count) dst[math::strided_offset(dst_layout, i)] = Dst(src[math::strided_offset(src_layout, i)]);
}

template <typename T>
__global__ void fill_kernel(T* dst, int64_t count, T value) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < count) dst[i] = value;
}
}  // namespace

template <typename Dst, typename Src>
void copy_strided(Dst* dst, const std::vector<int64_t>& dst_strides, const Src* src,
                  const std::vector<int64_t>& src_strides, const std::vector<int64_t>& shape) {
    int64_t count = 1;
    for (int64_t size : shape) count *= size;
    if (count == 0) return;
    KILN_LAUNCH((copy_strided_kernel<Dst, Src>), blocks_for(count, threads_per_block), threads_per_block, 0, dst,
                math::make_layout(shape, dst_strides), src, math::make_layout(shape, src_strides), count);
}

template <typename T>
void fill(T* dst, int64_t count, T value) {
    if (count == 0) return;
    KILN_LAUNCH(fill_kernel<T>, blocks_for(count, threads_per_block), threads_per_block, 0, dst, count, value);
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
#undef KILN_COPY_FROM
#undef KILN_COPY

}  // namespace kiln::KILN_CUDA_NS
