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

// dropout_keep for draws 4 block .. 4 block + 3 from one Philox call: draw i
// is lane i % 4 of counter offset + i / 4, exactly as philox_uniform reads it.
struct DropoutKeep4 {
    bool keep[4];
};
KILN_HD DropoutKeep4 dropout_keep4(uint64_t seed, uint64_t offset, uint64_t block, float p) {
    const Philox4 r = philox4x32_10(seed, offset + block);
    return {{uint_to_unit_float(r.v[0]) >= p, uint_to_unit_float(r.v[1]) >= p, uint_to_unit_float(r.v[2]) >= p,
             uint_to_unit_float(r.v[3]) >= p}};
}

// The factor for kept values: 1 / (1 - p), and 0 for p = 1 (nothing is kept).
KILN_HD double dropout_scale(double p) { return p < 1 ? 1 / (1 - p) : 0; }

}  // namespace kiln::math
