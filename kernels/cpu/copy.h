#pragma once
// Copies and fills over raw pointers. Kernels assume valid arguments: the
// engine checked them.
#include <cstdint>
#include <vector>

namespace kiln::cpu {

// dst[index] = Dst(src[index]) over every multi-index of `shape`, each side
// with its own strides (in elements). Converts between element types.
template <typename Dst, typename Src>
void copy_strided(Dst* dst, const std::vector<int64_t>& dst_strides, const Src* src,
                  const std::vector<int64_t>& src_strides, const std::vector<int64_t>& shape);

// dst[i] = value for i < count
template <typename T>
void fill(T* dst, int64_t count, T value);

}  // namespace kiln::cpu
