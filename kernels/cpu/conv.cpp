// conv2d forward and backward: the three algorithms of kernels/cpu/conv.h.
#include "kernels/cpu/conv.h"

#include <algorithm>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/strided.h"

namespace kiln::cpu {

namespace {

int64_t max_threads() {
#ifdef _OPENMP
    return omp_in_parallel() ? 1 : omp_get_max_threads();
#else
    return 1;
#endif
}

// How many images run at once on the GEMM paths: one per thread when the batch
// covers the threads, else 1 (images in turn, each GEMM multi-threaded).
int64_t image_slots(const Conv2dShape& s) {
    const int64_t threads = max_threads();
    return threads > 1 && s.batch >= threads ? threads : 1;
}

struct Sizes {
    int64_t in_per_group, out_per_group;  // Cg, Og
    int64_t gemm_k;                       // Cg kH kW: one im2col row per (channel, tap)
    int64_t in_plane, out_plane;          // H W, L = H_out W_out
};

Sizes sizes_of(const Conv2dShape& s) {
    const int64_t cg = s.in_channels / s.groups;
    return {cg, s.out_channels / s.groups, cg * s.kernel_h * s.kernel_w, s.height * s.width, s.out_h * s.out_w};
}

// The outputs o in [begin, end) whose input index o * stride + offset lies in [0, size).
struct Range {
    int64_t begin, end;
};
Range valid_range(int64_t offset, int64_t stride, int64_t size, int64_t out_size) {
    const int64_t begin = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
    const int64_t end = std::min(out_size, offset > size - 1 ? 0 : (size - 1 - offset) / stride + 1);
    return {std::min(begin, end), end};
}

// col [Cg kH kW, L] from one group of one image, x [Cg, H, W]; zeros where a tap reads padding.
template <typename T>
void im2col(T* col, const T* x, const Conv2dShape& s, const Sizes& z) {
    for (int64_t c = 0; c < z.in_per_group; ++c)
        for (int64_t i = 0; i < s.kernel_h; ++i)
            for (int64_t j = 0; j < s.kernel_w; ++j) {
                T* row = col + ((c * s.kernel_h + i) * s.kernel_w + j) * z.out_plane;
                const int64_t offset = j * s.dilation_w - s.pad_w;
                const Range r = valid_range(offset, s.stride_w, s.width, s.out_w);
                for (int64_t oh = 0; oh < s.out_h; ++oh) {
                    T* out = row + oh * s.out_w;
                    const int64_t ih = oh * s.stride_h - s.pad_h + i * s.dilation_h;
                    if (ih < 0 || ih >= s.height) {
                        std::fill(out, out + s.out_w, T(0));
                        continue;
                    }
                    const T* in = x + (c * s.height + ih) * s.width;
                    std::fill(out, out + r.begin, T(0));
                    for (int64_t ow = r.begin; ow < r.end; ++ow) out[ow] = in[ow * s.stride_w + offset];
                    std::fill(out + r.end, out + s.out_w, T(0));
                }
            }
}

// dx [Cg, H, W] += each row of col added back to the pixels im2col took it from.
template <typename T>
void col2im(T* dx, const T* col, const Conv2dShape& s, const Sizes& z) {
    for (int64_t c = 0; c < z.in_per_group; ++c)
        for (int64_t i = 0; i < s.kernel_h; ++i)
            for (int64_t j = 0; j < s.kernel_w; ++j) {
                const T* row = col + ((c * s.kernel_h + i) * s.kernel_w + j) * z.out_plane;
                const int64_t offset = j * s.dilation_w - s.pad_w;
                const Range r = valid_range(offset, s.stride_w, s.width, s.out_w);
                for (int64_t oh = 0; oh < s.out_h; ++oh) {
                    const int64_t ih = oh * s.stride_h - s.pad_h + i * s.dilation_h;
                    if (ih < 0 || ih >= s.height) continue;
                    T* out = dx + (c * s.height + ih) * s.width;
                    const T* in = row + oh * s.out_w;
                    for (int64_t ow = r.begin; ow < r.end; ++ow) out[ow * s.stride_w + offset] += in[ow];
                }
            }
}

// Runs image(n, slot) for every image: in parallel with one slot per thread, or in turn in slot 0.
template <typename Image>
void for_each_image(const Conv2dShape& s, int64_t slots, Image image) {
    if (slots > 1) {
#pragma omp parallel for num_threads(slots) schedule(static)
        for (int64_t n = 0; n < s.batch; ++n) image(n, omp_thread());
    } else {
        for (int64_t n = 0; n < s.batch; ++n) image(n, 0);
    }
}

// ---- GEMM paths (pointwise and im2col) ----

template <typename T>
void gemm_forward(T* y, const T* x, const T* w, const T* b, const Conv2dShape& s, T* workspace, bool pointwise) {
    const Sizes z = sizes_of(s);
    const int64_t col_size = pointwise ? 0 : z.gemm_k * z.out_plane;
    for_each_image(s, image_slots(s), [&](int64_t n, int64_t slot) {
        T* col = workspace + slot * col_size;
        for (int64_t g = 0; g < s.groups; ++g) {
            const T* xg = x + (n * s.in_channels + g * z.in_per_group) * z.in_plane;
            T* yg = y + (n * s.out_channels + g * z.out_per_group) * z.out_plane;
            if (!pointwise) im2col(col, xg, s, z);
            T beta = T(0);
            if (b) {  // each output plane starts as its bias; the GEMM adds (beta = 1)
                for (int64_t o = 0; o < z.out_per_group; ++o)
                    std::fill(yg + o * z.out_plane, yg + (o + 1) * z.out_plane, b[g * z.out_per_group + o]);
                beta = T(1);
            }
            gemm<T>(false, false, z.out_per_group, z.out_plane, z.gemm_k, T(1), w + g * z.out_per_group * z.gemm_k,
                    z.gemm_k, pointwise ? xg : col, z.out_plane, beta, yg, z.out_plane);
        }
    });
}

template <typename T>
void gemm_backward_input(T* dx, const T* dy, const T* w, const Conv2dShape& s, T* workspace, bool pointwise) {
    const Sizes z = sizes_of(s);
    const int64_t col_size = pointwise ? 0 : z.gemm_k * z.out_plane;
    for_each_image(s, image_slots(s), [&](int64_t n, int64_t slot) {
        T* col = workspace + slot * col_size;
        for (int64_t g = 0; g < s.groups; ++g) {
            const T* dyg = dy + (n * s.out_channels + g * z.out_per_group) * z.out_plane;
            T* dxg = dx + (n * s.in_channels + g * z.in_per_group) * z.in_plane;
            const T* wg = w + g * z.out_per_group * z.gemm_k;
            if (pointwise) {  // dx[n, g] [Cg, HW] += w_g^T @ dy[n, g]
                gemm<T>(true, false, z.gemm_k, z.out_plane, z.out_per_group, T(1), wg, z.gemm_k, dyg, z.out_plane,
                        T(1), dxg, z.out_plane);
            } else {  // col = w_g^T @ dy[n, g], then added back into dx[n, g]
                gemm<T>(true, false, z.gemm_k, z.out_plane, z.out_per_group, T(1), wg, z.gemm_k, dyg, z.out_plane,
                        T(0), col, z.out_plane);
                col2im(dxg, col, s, z);
            }
        }
    });
}

// dw += sum_n dy[n, g] @ col(x[n, g])^T. With several image slots each thread
// sums its images into its own zeroed partial dw, and the partials are added
// into dw at the end (no two threads write one element).
template <typename T>
void gemm_backward_weight(T* dw, const T* dy, const T* x, const Conv2dShape& s, T* workspace, bool pointwise) {
    const Sizes z = sizes_of(s);
    const int64_t slots = image_slots(s);
    const int64_t col_size = pointwise ? 0 : z.gemm_k * z.out_plane;
    const int64_t weight_size = s.out_channels * z.gemm_k;
    const int64_t slot_size = col_size + (slots > 1 ? weight_size : 0);
    auto image = [&](int64_t n, T* col, T* dw_sum) {
        for (int64_t g = 0; g < s.groups; ++g) {
            const T* xg = x + (n * s.in_channels + g * z.in_per_group) * z.in_plane;
            const T* dyg = dy + (n * s.out_channels + g * z.out_per_group) * z.out_plane;
            if (!pointwise) im2col(col, xg, s, z);
            gemm<T>(false, true, z.out_per_group, z.gemm_k, z.out_plane, T(1), dyg, z.out_plane, pointwise ? xg : col,
                    z.out_plane, T(1), dw_sum + g * z.out_per_group * z.gemm_k, z.gemm_k);
        }
    };
    if (slots == 1) {
        for (int64_t n = 0; n < s.batch; ++n) image(n, workspace, dw);
        return;
    }
#pragma omp parallel num_threads(slots)
    {
        const int64_t team = omp_threads(), thread = omp_thread();
        T* col = workspace + thread * slot_size;
        T* partial = col + col_size;
        std::fill(partial, partial + weight_size, T(0));
#pragma omp for schedule(static)
        for (int64_t n = 0; n < s.batch; ++n) image(n, col, partial);
        // (implicit barrier: every partial is complete)
#pragma omp for schedule(static)
        for (int64_t e = 0; e < weight_size; ++e) {
            T total = T(0);
            for (int64_t t = 0; t < team; ++t) total += workspace[t * slot_size + col_size + e];
            dw[e] += total;
        }
    }
}

// ---- depthwise: direct loops (groups == C_in, one input channel per group) ----
// Output channel o reads input channel o / m, m = C_out / C_in the channel multiplier.

template <typename T>
void depthwise_forward(T* y, const T* x, const T* w, const T* b, const Conv2dShape& s) {
    const Sizes z = sizes_of(s);
    const int64_t taps = s.kernel_h * s.kernel_w, planes = s.batch * s.out_channels;
#pragma omp parallel for schedule(static) if (planes * z.out_plane * taps >= parallel_grain)
    for (int64_t p = 0; p < planes; ++p) {  // p = (n, o)
        const int64_t n = p / s.out_channels, o = p % s.out_channels;
        const T* xc = x + (n * s.in_channels + o / z.out_per_group) * z.in_plane;
        const T* wo = w + o * taps;
        T* yo = y + p * z.out_plane;
        std::fill(yo, yo + z.out_plane, b ? b[o] : T(0));
        for (int64_t oh = 0; oh < s.out_h; ++oh)
            for (int64_t i = 0; i < s.kernel_h; ++i) {
                const int64_t ih = oh * s.stride_h - s.pad_h + i * s.dilation_h;
                if (ih < 0 || ih >= s.height) continue;
                const T* __restrict in = xc + ih * s.width;
                T* __restrict out = yo + oh * s.out_w;
                for (int64_t j = 0; j < s.kernel_w; ++j) {
                    const T weight = wo[i * s.kernel_w + j];
                    const int64_t offset = j * s.dilation_w - s.pad_w;
                    const Range r = valid_range(offset, s.stride_w, s.width, s.out_w);
                    if (s.stride_w == 1)
                        for (int64_t ow = r.begin; ow < r.end; ++ow) out[ow] += weight * in[ow + offset];
                    else
                        for (int64_t ow = r.begin; ow < r.end; ++ow) out[ow] += weight * in[ow * s.stride_w + offset];
                }
            }
    }
}

// One task per input plane (n, c): it gathers from the m output channels that read it, so no two tasks write one element.
template <typename T>
void depthwise_backward_input(T* dx, const T* dy, const T* w, const Conv2dShape& s) {
    const Sizes z = sizes_of(s);
    const int64_t taps = s.kernel_h * s.kernel_w, planes = s.batch * s.in_channels;
#pragma omp parallel for schedule(static) if (s.batch * s.out_channels * z.out_plane * taps >= parallel_grain)
    for (int64_t p = 0; p < planes; ++p) {  // p = (n, c)
        const int64_t n = p / s.in_channels, c = p % s.in_channels;
        T* dxc = dx + p * z.in_plane;
        for (int64_t k = 0; k < z.out_per_group; ++k) {
            const int64_t o = c * z.out_per_group + k;
            const T* dyo = dy + (n * s.out_channels + o) * z.out_plane;
            const T* wo = w + o * taps;
            for (int64_t oh = 0; oh < s.out_h; ++oh)
                for (int64_t i = 0; i < s.kernel_h; ++i) {
                    const int64_t ih = oh * s.stride_h - s.pad_h + i * s.dilation_h;
                    if (ih < 0 || ih >= s.height) continue;
                    T* __restrict out = dxc + ih * s.width;
                    const T* __restrict in = dyo + oh * s.out_w;
                    for (int64_t j = 0; j < s.kernel_w; ++j) {
                        const T weight = wo[i * s.kernel_w + j];
                        const int64_t offset = j * s.dilation_w - s.pad_w;
                        const Range r = valid_range(offset, s.stride_w, s.width, s.out_w);
                        if (s.stride_w == 1)
                            for (int64_t ow = r.begin; ow < r.end; ++ow) out[ow + offset] += weight * in[ow];
                        else
                            for (int64_t ow = r.begin; ow < r.end; ++ow)
                                out[ow * s.stride_w + offset] += weight * in[ow];
                    }
                }
        }
    }
}

// One task per output channel o: it alone writes dw[o].
template <typename T>
void depthwise_backward_weight(T* dw, const T* dy, const T* x, const Conv2dShape& s) {
    const Sizes z = sizes_of(s);
    const int64_t taps = s.kernel_h * s.kernel_w;
#pragma omp parallel for schedule(static) if (s.batch * s.out_channels * z.out_plane * taps >= parallel_grain)
    for (int64_t o = 0; o < s.out_channels; ++o) {
        T* dwo = dw + o * taps;
        for (int64_t n = 0; n < s.batch; ++n) {
            const T* xc = x + (n * s.in_channels + o / z.out_per_group) * z.in_plane;
            const T* dyo = dy + (n * s.out_channels + o) * z.out_plane;
            for (int64_t oh = 0; oh < s.out_h; ++oh)
                for (int64_t i = 0; i < s.kernel_h; ++i) {
                    const int64_t ih = oh * s.stride_h - s.pad_h + i * s.dilation_h;
                    if (ih < 0 || ih >= s.height) continue;
                    const T* in = xc + ih * s.width;
                    const T* grad = dyo + oh * s.out_w;
                    for (int64_t j = 0; j < s.kernel_w; ++j) {
                        const int64_t offset = j * s.dilation_w - s.pad_w;
                        const Range r = valid_range(offset, s.stride_w, s.width, s.out_w);
                        T total = T(0);
#pragma omp simd reduction(+ : total)
                        for (int64_t ow = r.begin; ow < r.end; ++ow) total += grad[ow] * in[ow * s.stride_w + offset];
                        dwo[i * s.kernel_w + j] += total;
                    }
                }
        }
    }
}

}  // namespace

Conv2dAlgorithm conv2d_algorithm(const Conv2dShape& s) {
    if (s.groups > 1 && s.groups == s.in_channels) return Conv2dAlgorithm::depthwise;
    if (s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 && s.pad_w == 0)
        return Conv2dAlgorithm::pointwise;
    return Conv2dAlgorithm::im2col;
}

const char* conv2d_algorithm_name(Conv2dAlgorithm algorithm) {
    switch (algorithm) {
        case Conv2dAlgorithm::depthwise: return "depthwise";
        case Conv2dAlgorithm::pointwise: return "pointwise";
        case Conv2dAlgorithm::im2col: return "im2col";
    }
    return "?";
}

int64_t conv2d_workspace_size(const Conv2dShape& s, Conv2dPass pass) {
    const Conv2dAlgorithm algorithm = conv2d_algorithm(s);
    if (algorithm == Conv2dAlgorithm::depthwise) return 0;
    const Sizes z = sizes_of(s);
    const int64_t slots = image_slots(s);
    const int64_t col_size = algorithm == Conv2dAlgorithm::im2col ? z.gemm_k * z.out_plane : 0;
    const int64_t partial_size = pass == Conv2dPass::backward_weight && slots > 1 ? s.out_channels * z.gemm_k : 0;
    return slots * (col_size + partial_size);
}

template <typename T>
void conv2d_forward(T* y, const T* x, const T* w, const T* b, const Conv2dShape& s, T* workspace) {
    const Conv2dAlgorithm algorithm = conv2d_algorithm(s);
    if (algorithm == Conv2dAlgorithm::depthwise) return depthwise_forward(y, x, w, b, s);
    gemm_forward(y, x, w, b, s, workspace, algorithm == Conv2dAlgorithm::pointwise);
}

template <typename T>
void conv2d_backward_input(T* dx, const T* dy, const T* w, const Conv2dShape& s, T* workspace) {
    const Conv2dAlgorithm algorithm = conv2d_algorithm(s);
    if (algorithm == Conv2dAlgorithm::depthwise) return depthwise_backward_input(dx, dy, w, s);
    gemm_backward_input(dx, dy, w, s, workspace, algorithm == Conv2dAlgorithm::pointwise);
}

template <typename T>
void conv2d_backward_weight(T* dw, const T* dy, const T* x, const Conv2dShape& s, T* workspace) {
    const Conv2dAlgorithm algorithm = conv2d_algorithm(s);
    if (algorithm == Conv2dAlgorithm::depthwise) return depthwise_backward_weight(dw, dy, x, s);
    gemm_backward_weight(dw, dy, x, s, workspace, algorithm == Conv2dAlgorithm::pointwise);
}

template <typename T>
void conv2d_backward_bias(T* db, const T* dy, const Conv2dShape& s) {
    const int64_t plane = s.out_h * s.out_w;
#pragma omp parallel for schedule(static) if (s.batch * s.out_channels * plane >= parallel_grain)
    for (int64_t o = 0; o < s.out_channels; ++o) {
        double total = 0;  // in double, as sum() does for float32
        for (int64_t n = 0; n < s.batch; ++n) {
            const T* grad = dy + (n * s.out_channels + o) * plane;
#pragma omp simd reduction(+ : total)
            for (int64_t l = 0; l < plane; ++l) total += double(grad[l]);
        }
        db[o] += T(total);
    }
}

#define KILN_CONV(T)                                                                                          \
    template void conv2d_forward<T>(T*, const T*, const T*, const T*, const Conv2dShape&, T*);               \
    template void conv2d_backward_input<T>(T*, const T*, const T*, const Conv2dShape&, T*);                  \
    template void conv2d_backward_weight<T>(T*, const T*, const T*, const Conv2dShape&, T*);                 \
    template void conv2d_backward_bias<T>(T*, const T*, const Conv2dShape&);
KILN_CONV(float)
KILN_CONV(double)

}  // namespace kiln::cpu
