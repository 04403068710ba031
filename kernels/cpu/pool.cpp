#include "kernels/cpu/pool.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "kernels/cpu/strided.h"

namespace kiln::cpu {

namespace {

using math::adaptive_bin;
using math::avg_divisor;
using math::pool_window;
using math::Span;

bool parallel_over_planes(const Pool2dGeometry& g) {
    return g.planes > 1 && g.planes * g.height * g.width >= parallel_grain;
}

// The maxima and arg-maxes of the outputs [begin, end) of one output row
// whose 3x3 stride-2 windows lie wholly inside the input; `top` points at
// the first input row of the windows, shifted by -pad, which is plane index
// `top_index`. The same selection rule as every max pool
// (math::max_pool_takes, so the same value and arg-max, NaN included), and
// the arg-max kept as an int32 offset in the window, so the float and the
// index selects have the same lane count and the loop vectorises; the plane
// index is added afterwards.
template <typename T>
void max_of_windows_3x3s2(T* __restrict y, int64_t* __restrict argmax, const T* __restrict top, int64_t width,
                          int64_t begin, int64_t end, int64_t top_index) {
    constexpr int64_t chunk = 64;
    int32_t offset[chunk];
    for (int64_t first = begin; first < end; first += chunk) {
        const int64_t last = std::min(end, first + chunk);
#pragma omp simd
        for (int64_t ow = first; ow < last; ++ow) {
            const T* window = top + 2 * ow;
            T best = window[0];
            int32_t at = 0;
            for (int h = 0; h < 3; ++h)
                for (int w = 0; w < 3; ++w) {
                    const T value = window[h * width + w];
                    const bool take = math::max_pool_takes(value, best);
                    best = take ? value : best;
                    at = take ? int32_t(h * width + w) : at;
                }
            y[ow] = best;
            offset[ow - first] = at;
        }
        for (int64_t ow = first; ow < last; ++ow) argmax[ow] = top_index + 2 * ow + offset[ow - first];
    }
}

// [first, last): the outputs of a row whose 3-wide stride-2 windows lie
// wholly inside the input (2 ow - pad >= 0 and 2 ow - pad + 3 <= width);
// callers copy them into variables (clang 14's OpenMP regions cannot name
// structured bindings)
std::pair<int64_t, int64_t> three_wide_inside(const Pool2dGeometry& g) {
    const int64_t first = (g.pad_w + 1) / 2;
    const int64_t last = g.width + g.pad_w >= 3 ? std::min(g.out_width, (g.width + g.pad_w - 3) / 2 + 1) : 0;
    return {first, last};
}

// the better of value and best by the max pool's rule
template <typename T>
T max_pool_keep(T value, T best) {
    return math::max_pool_takes(value, best) ? value : best;
}

// Values only (inference, no arg-max wanted): each output row first takes
// its window's rows' maxima column by column, then those columns' maxima
// over each window: k_h + k_w comparisons per output instead of k_h k_w,
// both loops over contiguous or constant-stride memory, the first two rows
// in one pass, the scalar loop only over the columns the vector loop leaves
// (resnet18's stem pool at batch 1, 32 planes of 64x64, one thread: 0.174
// -> 0.091 ms, then 0.091 -> 0.048-0.060 ms). The same values as the
// window-order rule: a maximum is a maximum, and a NaN in a window still
// wins it; only which of several NaNs (or of +0 and -0) is kept may differ.
template <typename T>
void max_pool2d_values(T* y, const T* x, const Pool2dGeometry& g) {
    // 3x3 stride-2 windows (ResNet's stem pool) wholly inside a row: the interior columns vectorised
    const bool three_wide = g.kernel_w == 3 && g.stride_w == 2;
    const std::pair<int64_t, int64_t> inside = three_wide_inside(g);
    const int64_t first = inside.first, last = inside.second;
    // the outputs the scalar loop takes: [0, vector_first) and [vector_last, out_width)
    const int64_t vector_first = three_wide && first < last ? first : g.out_width;
    const int64_t vector_last = three_wide && first < last ? last : g.out_width;
#pragma omp parallel if (parallel_over_planes(g))
    {
        std::vector<T> column(size_t(g.width));
        T* __restrict columns = column.data();
#pragma omp for
        for (int64_t p = 0; p < g.planes; ++p) {
            const T* plane = x + p * g.height * g.width;
            for (int64_t oh = 0; oh < g.out_height; ++oh) {
                const Span rows = pool_window(oh, g.height, g.kernel_h, g.stride_h, g.pad_h);
                const T* __restrict top = plane + rows.begin * g.width;
                if (rows.end - rows.begin == 1) {
                    std::copy_n(top, g.width, columns);
                } else {  // the first two rows in one pass
                    const T* __restrict second = top + g.width;
#pragma omp simd
                    for (int64_t w = 0; w < g.width; ++w) columns[w] = max_pool_keep(second[w], top[w]);
                }
                for (int64_t h = rows.begin + 2; h < rows.end; ++h) {
                    const T* __restrict row = plane + h * g.width;
#pragma omp simd
                    for (int64_t w = 0; w < g.width; ++w) columns[w] = max_pool_keep(row[w], columns[w]);
                }
                T* __restrict out = y + (p * g.out_height + oh) * g.out_width;
                const auto window_max = [&](int64_t ow) {
                    const Span cols = pool_window(ow, g.width, g.kernel_w, g.stride_w, g.pad_w);
                    T best = columns[cols.begin];
                    for (int64_t w = cols.begin + 1; w < cols.end; ++w) best = max_pool_keep(columns[w], best);
                    out[ow] = best;
                };
                for (int64_t ow = 0; ow < vector_first; ++ow) window_max(ow);
                for (int64_t ow = vector_last; ow < g.out_width; ++ow) window_max(ow);
                if (three_wide)
#pragma omp simd
                    for (int64_t ow = first; ow < last; ++ow) {
                        const T* window = columns + 2 * ow - g.pad_w;
                        out[ow] = max_pool_keep(window[2], max_pool_keep(window[1], window[0]));
                    }
            }
        }
    }
}

}  // namespace

template <typename T>
void max_pool2d_forward(T* y, int64_t* argmax, const T* x, const Pool2dGeometry& g) {
    if (!argmax) return max_pool2d_values(y, x, g);
    // 3x3 stride-2 windows (ResNet's stem pool): the interior columns of each row vectorised
    const bool three_by_three = g.kernel_h == 3 && g.kernel_w == 3 && g.stride_w == 2 && g.width < (int64_t(1) << 28);
    const std::pair<int64_t, int64_t> inside = three_wide_inside(g);
    const int64_t first = inside.first, last = inside.second;
#pragma omp parallel for if (parallel_over_planes(g))
    for (int64_t p = 0; p < g.planes; ++p) {
        const T* plane = x + p * g.height * g.width;
        for (int64_t oh = 0; oh < g.out_height; ++oh) {
            const Span rows = pool_window(oh, g.height, g.kernel_h, g.stride_h, g.pad_h);
            const int64_t row = (p * g.out_height + oh) * g.out_width;
            const bool interior = three_by_three && rows.end - rows.begin == 3 && first < last;
            if (interior)
                max_of_windows_3x3s2(y + row, argmax + row, plane + rows.begin * g.width - g.pad_w,
                                     g.width, first, last, rows.begin * g.width - g.pad_w);
            for (int64_t ow = 0; ow < g.out_width; ++ow) {
                if (interior && ow >= first && ow < last) continue;
                const Span cols = pool_window(ow, g.width, g.kernel_w, g.stride_w, g.pad_w);
                int64_t best = rows.begin * g.width + cols.begin;
                T best_value = plane[best];
                for (int64_t h = rows.begin; h < rows.end; ++h)
                    for (int64_t w = cols.begin; w < cols.end; ++w) {
                        const T value = plane[h * g.width + w];
                        // select, not branch: on random data the branch is a coin toss
                        const bool take = math::max_pool_takes(value, best_value);
                        best_value = take ? value : best_value;
                        best = take ? h * g.width + w : best;
                    }
                y[row + ow] = best_value;
                argmax[row + ow] = best;
            }
        }
    }
}

template <typename T>
void max_pool2d_backward(T* dx, const T* dy, const int64_t* argmax, const Pool2dGeometry& g) {
    const int64_t out_plane = g.out_height * g.out_width;
    // Windows overlap when stride < kernel: two outputs may add into one dx, so
    // threads split planes, never the outputs of one plane.
#pragma omp parallel for if (parallel_over_planes(g))
    for (int64_t p = 0; p < g.planes; ++p)
        for (int64_t o = 0; o < out_plane; ++o)
            dx[p * g.height * g.width + argmax[p * out_plane + o]] += dy[p * out_plane + o];
}

template <typename T>
void avg_pool2d_forward(T* y, const T* x, const Pool2dGeometry& g, bool count_include_pad) {
#pragma omp parallel for if (parallel_over_planes(g))
    for (int64_t p = 0; p < g.planes; ++p) {
        const T* plane = x + p * g.height * g.width;
        for (int64_t oh = 0; oh < g.out_height; ++oh) {
            const Span rows = pool_window(oh, g.height, g.kernel_h, g.stride_h, g.pad_h);
            for (int64_t ow = 0; ow < g.out_width; ++ow) {
                const Span cols = pool_window(ow, g.width, g.kernel_w, g.stride_w, g.pad_w);
                double total = 0;  // in double: a float sum over a large window loses digits
                for (int64_t h = rows.begin; h < rows.end; ++h)
                    for (int64_t w = cols.begin; w < cols.end; ++w) total += plane[h * g.width + w];
                y[(p * g.out_height + oh) * g.out_width + ow] = T(total / double(avg_divisor(rows, cols, count_include_pad)));
            }
        }
    }
}

template <typename T>
void avg_pool2d_backward(T* dx, const T* dy, const Pool2dGeometry& g, bool count_include_pad) {
#pragma omp parallel for if (parallel_over_planes(g))
    for (int64_t p = 0; p < g.planes; ++p) {
        T* plane = dx + p * g.height * g.width;
        for (int64_t oh = 0; oh < g.out_height; ++oh) {
            const Span rows = pool_window(oh, g.height, g.kernel_h, g.stride_h, g.pad_h);
            for (int64_t ow = 0; ow < g.out_width; ++ow) {
                const Span cols = pool_window(ow, g.width, g.kernel_w, g.stride_w, g.pad_w);
                const T share = dy[(p * g.out_height + oh) * g.out_width + ow] /
                                T(avg_divisor(rows, cols, count_include_pad));
                for (int64_t h = rows.begin; h < rows.end; ++h)
                    for (int64_t w = cols.begin; w < cols.end; ++w) plane[h * g.width + w] += share;
            }
        }
    }
}

template <typename T>
void adaptive_avg_pool2d_forward(T* y, const T* x, const Pool2dGeometry& g) {
#pragma omp parallel for if (parallel_over_planes(g))
    for (int64_t p = 0; p < g.planes; ++p) {
        const T* plane = x + p * g.height * g.width;
        for (int64_t oh = 0; oh < g.out_height; ++oh) {
            const Span rows = adaptive_bin(oh, g.height, g.out_height);
            for (int64_t ow = 0; ow < g.out_width; ++ow) {
                const Span cols = adaptive_bin(ow, g.width, g.out_width);
                double total = 0;  // in double: global pooling of a 224 x 224 plane sums 50 176 terms
                for (int64_t h = rows.begin; h < rows.end; ++h)
                    for (int64_t w = cols.begin; w < cols.end; ++w) total += plane[h * g.width + w];
                y[(p * g.out_height + oh) * g.out_width + ow] = T(total / double(rows.padded_size * cols.padded_size));
            }
        }
    }
}

template <typename T>
void adaptive_avg_pool2d_backward(T* dx, const T* dy, const Pool2dGeometry& g) {
#pragma omp parallel for if (parallel_over_planes(g))
    for (int64_t p = 0; p < g.planes; ++p) {
        T* plane = dx + p * g.height * g.width;
        for (int64_t oh = 0; oh < g.out_height; ++oh) {
            const Span rows = adaptive_bin(oh, g.height, g.out_height);
            for (int64_t ow = 0; ow < g.out_width; ++ow) {
                const Span cols = adaptive_bin(ow, g.width, g.out_width);
                const T share = dy[(p * g.out_height + oh) * g.out_width + ow] / T(rows.padded_size * cols.padded_size);
                for (int64_t h = rows.begin; h < rows.end; ++h)
                    for (int64_t w = cols.begin; w < cols.end; ++w) plane[h * g.width + w] += share;
            }
        }
    }
}

#define KILN_POOL(T)                                                                                     \
    template void max_pool2d_forward<T>(T*, int64_t*, const T*, const Pool2dGeometry&);                  \
    template void max_pool2d_backward<T>(T*, const T*, const int64_t*, const Pool2dGeometry&);           \
    template void avg_pool2d_forward<T>(T*, const T*, const Pool2dGeometry&, bool);                      \
    template void avg_pool2d_backward<T>(T*, const T*, const Pool2dGeometry&, bool);                     \
    template void adaptive_avg_pool2d_forward<T>(T*, const T*, const Pool2dGeometry&);                   \
    template void adaptive_avg_pool2d_backward<T>(T*, const T*, const Pool2dGeometry&);
KILN_POOL(float)
KILN_POOL(double)

}  // namespace kiln::cpu
