#pragma once
// N-d index arithmetic for the CUDA kernels (both builds): shapes and strides
// travel to the device by value in a fixed-size struct.
#include <cstdint>
#include <vector>

#include "kernels/common/error.h"
#include "kernels/common/hd.h"

namespace kiln::math {

constexpr int max_dims = 8;

struct StridedLayout {
    int ndim = 0;
    int64_t shape[max_dims] = {};
    int64_t strides[max_dims] = {};
};

inline StridedLayout make_layout(const std::vector<int64_t>& shape, const std::vector<int64_t>& strides) {
    KILN_CHECK(shape.size() <= size_t(max_dims), "cuda kernels: ", shape.size(), " dims, at most ", max_dims,
               " are supported");
    StridedLayout layout;
    layout.ndim = int(shape.size());
    for (size_t d = 0; d < shape.size(); ++d) {
        layout.shape[d] = shape[d];
        layout.strides[d] = strides[d];
    }
    return layout;
}

// Offset of row-major element `linear` of layout.shape under layout.strides.
KILN_HD int64_t strided_offset(const StridedLayout& layout, int64_t linear) {
    int64_t offset = 0;
    for (int d = layout.ndim - 1; d >= 0; --d) {
        offset += (linear % layout.shape[d]) * layout.strides[d];
        linear /= layout.shape[d];
    }
    return offset;
}

}  // namespace kiln::math
