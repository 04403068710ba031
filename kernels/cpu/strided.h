#pragma once
// N-dimensional strided iteration shared by the cpu kernels.
//
// for_each_strided(shape, {strides_0, ..., strides_K-1}, body) calls
// body(linear_index, offsets) for every multi-index of `shape` in row-major
// order, where offsets[k] = sum_d index[d] * strides_k[d]. A stride of 0 is how
// broadcasting reads one element many times. Work is split over OpenMP threads
// by ranges of linear_index when parallel is true (the body must then not
// write to the same place from two indices).
#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace kiln::cpu {

constexpr int64_t parallel_grain = 262144;  // below this many elements, threads cost more than they save

template <size_t K, typename Body>
void for_each_strided_range(const std::vector<int64_t>& shape, const std::array<const int64_t*, K>& strides,
                            int64_t begin, int64_t end, Body& body) {
    const int ndim = int(shape.size());
    if (begin >= end) return;
    if (ndim == 0) {
        std::array<int64_t, K> offsets{};
        body(int64_t(0), offsets);
        return;
    }
    std::vector<int64_t> index(ndim);
    std::array<int64_t, K> offsets{};
    int64_t rest = begin;
    for (int d = ndim - 1; d >= 0; --d) {
        index[d] = rest % shape[d];
        rest /= shape[d];
        for (size_t k = 0; k < K; ++k) offsets[k] += index[d] * strides[k][d];
    }
    const int64_t inner = shape[ndim - 1];
    int64_t linear = begin;
    while (linear < end) {
        // innermost dimension: a tight loop
        const int64_t count = std::min(inner - index[ndim - 1], end - linear);
        for (int64_t i = 0; i < count; ++i) {
            body(linear + i, offsets);
            for (size_t k = 0; k < K; ++k) offsets[k] += strides[k][ndim - 1];
        }
        linear += count;
        index[ndim - 1] += count;
        // carry into outer dimensions
        for (int d = ndim - 1; d > 0 && index[d] == shape[d]; --d) {
            for (size_t k = 0; k < K; ++k) offsets[k] += strides[k][d - 1] - shape[d] * strides[k][d];
            index[d] = 0;
            ++index[d - 1];
        }
    }
}

template <size_t K, typename Body>
void for_each_strided(const std::vector<int64_t>& shape, const std::array<const int64_t*, K>& strides, Body body,
                      bool parallel = true) {
    int64_t total = 1;
    for (int64_t size : shape) total *= size;
    if (!parallel || total < parallel_grain) {
        for_each_strided_range(shape, strides, 0, total, body);
        return;
    }
#pragma omp parallel
    {
        Body local = body;
        // static split of [0, total) over the team
        const int64_t threads = omp_threads(), thread = omp_thread();
        const int64_t chunk = (total + threads - 1) / threads;
        for_each_strided_range(shape, strides, thread * chunk, std::min(total, (thread + 1) * chunk), local);
    }
}

}  // namespace kiln::cpu
