// Strided copy with dtype conversion, and fill (copy.cu).
// The same signatures as kernels/cpu/copy.h, in namespace kiln::KILN_CUDA_NS.
// No include guard on purpose: kernels/backends.h includes this file once for
// each build (namespace kiln::emu, and kiln::cuda when nvcc exists), with
// KILN_CUDA_NS naming it.
#include <cstdint>
#include <vector>

namespace kiln::KILN_CUDA_NS {

template <typename Dst, typename Src>
void copy_strided(Dst* dst, const std::vector<int64_t>& dst_strides, const Src* src,
                  const std::vector<int64_t>& src_strides, const std::vector<int64_t>& shape);
template <typename T>
void fill(T* dst, int64_t count, T value);

}  // namespace kiln::KILN_CUDA_NS
