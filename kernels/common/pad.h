#pragma once
// The index maps of pad along one dim, shared by every backend (KILN_HD).
// A dim of input size n gets `before` elements in front (negative: crops) and
// has out_size elements after padding. Output index o reads input index
// i = o - before, mapped by the mode:
//   constant:  i if 0 <= i < n, else none (the fill value)
//   reflect:   i < 0 -> -i,  i >= n -> 2 (n - 1) - i    (the edge is not repeated; needs pads < n)
//   replicate: clamp(i, 0, n - 1)                        (needs n > 0)
// pad_source_index is that map (forward, and the cpu backward's scatter);
// pad_outputs_reading is its inverse (the CUDA backward's gather).
#include <cstdint>

#include "kernels/common/hd.h"

namespace kiln::math {

enum class PadKind { constant, reflect, replicate };

// The input index read by output index o, or -1 for the constant fill.
KILN_HD int64_t pad_source_index(int64_t o, int64_t before, int64_t n, PadKind kind) {
    int64_t i = o - before;
    switch (kind) {
        case PadKind::constant: return (i >= 0 && i < n) ? i : -1;
        case PadKind::reflect:
            if (i < 0) i = -i;
            if (i >= n) i = 2 * (n - 1) - i;
            return i;
        case PadKind::replicate: return i < 0 ? 0 : (i >= n ? n - 1 : i);
    }
    return -1;
}

// Every output index o in [0, out_size) with pad_source_index(o) == i, as at
// most three ranges [first[k], last[k]] (k < count):
//   constant:  o = i + before, if inside the output;
//   replicate: i + before, widened to 0 for i = 0 and to out_size - 1 for i = n - 1;
//   reflect:   i + before; before - i (the left mirror, 1 <= i <= before);
//              before + 2 (n - 1) - i (the right mirror, n - 1 - after <= i <= n - 2).
// Valid arguments as checked by the engine (reflect: 0 <= pads < n; replicate: pads >= 0, n > 0).
struct PadOutputRanges {
    int count = 0;
    int64_t first[3] = {0, 0, 0}, last[3] = {0, 0, 0};
};

KILN_HD PadOutputRanges pad_outputs_reading(int64_t i, int64_t before, int64_t n, int64_t out_size, PadKind kind) {
    PadOutputRanges ranges;
    const int64_t direct = i + before;
    switch (kind) {
        case PadKind::constant:
            if (direct >= 0 && direct < out_size) {
                ranges.first[0] = ranges.last[0] = direct;
                ranges.count = 1;
            }
            break;
        case PadKind::replicate:
            ranges.first[0] = i == 0 ? 0 : direct;
            ranges.last[0] = i == n - 1 ? out_size - 1 : direct;
            ranges.count = 1;
            break;
        case PadKind::reflect: {
            const int64_t after = out_size - n - before;
            ranges.first[0] = ranges.last[0] = direct;
            ranges.count = 1;
            if (i >= 1 && i <= before) {
                ranges.first[ranges.count] = ranges.last[ranges.count] = before - i;
                ++ranges.count;
            }
            if (i >= n - 1 - after && i <= n - 2) {
                ranges.first[ranges.count] = ranges.last[ranges.count] = before + 2 * (n - 1) - i;
                ++ranges.count;
            }
            break;
        }
    }
    return ranges;
}

}  // namespace kiln::math
