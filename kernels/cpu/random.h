#pragma once
// Fills from the Philox stream (seed, offset): element i gets value number i of
// the stream (kernels/common/philox.h), whatever the thread count.
#include <cstdint>

namespace kiln::cpu {

template <typename T>
void uniform(T* out, int64_t count, uint64_t seed, uint64_t offset);

template <typename T>
void normal(T* out, int64_t count, uint64_t seed, uint64_t offset);

}  // namespace kiln::cpu
