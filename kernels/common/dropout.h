#pragma once
// The dropout mask, shared by every backend: draw i of the Philox stream
// (seed, offset) keeps its element (or its channel, for dropout2d) when
//   u_i >= p,   u_i = philox_uniform(seed, offset, i) in [0, 1)
// so p = 0 keeps everything and p = 1 drops everything. The comparison is in
// float, as a CUDA kernel would do it.
#include <cstdint>

#include "kernels/common/hd.h"
#include "kernels/common/philox.h"

namespace kiln::math {

KILN_HD bool dropout_keep(uint64_t seed, uint64_t offset, uint64_t index, float p) {
    return philox_uniform(seed, offset, index) >= p;
}

// The factor for kept values: 1 / (1 - p), and 0 for p = 1 (nothing is kept).
KILN_HD double dropout_scale(double p) { return p < 1 ? 1 / (1 - p) : 0; }

}  // namespace kiln::math
