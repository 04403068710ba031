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

// col [Cg kH kW, L] (row stride ld) from one group of one image, x [Cg, H, W]; zeros where a tap reads padding.
template <typename T>
void im2col(T* col, int64_t ld, const T* x, const Conv2dShape& s, const Sizes& z) {
    for (int64_t c = 0; c < z.in_per_group; ++c)
        for (int64_t i = 0; i < s.kernel_h; ++i)
            for (int64_t j = 0; j < s.kernel_w; ++j) {
                T* row = col + ((c * s.kernel_h + i) * s.kernel_w + j) * ld;
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

// dx [Cg, H, W] += each row of col (row stride ld) added back to the pixels im2col took it from.
template <typename T>
void col2im(T* dx, const T* col, int64_t ld, const Conv2dShape& s, const Sizes& z) {
    for (int64_t c = 0; c < z.in_per_group; ++c)
        for (int64_t i = 0; i < s.kernel_h; ++i)
            for (int64_t j = 0; j < s.kernel_w; ++j) {
                const T* row = col + ((c * s.kernel_h + i) * s.kernel_w + j) * ld;
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

// ---- GEMM paths (pointwise and im2col) ----
// Images go through the GEMMs in blocks of nb: a small output (L = 16 pixels
// in ResNet-18's last stage at 128x128) makes one image's GEMM too thin to run
// well, so nb images' columns sit side by side, col [K, nb L], and the GEMM's
// output [Og, nb L] is scattered to the images afterwards (dy gathered the
// same way in backward). Large images go one at a time, straight from x and
// into y. Blocks run one per thread when there are at least as many blocks as
// threads (each GEMM then single-threaded), else in turn with multi-threaded GEMMs.

// Columns (N = nb L) a GEMM gets at least, when the batch allows: OpenBLAS
// reaches 0.3 of peak at 128 but 0.5 and more from 256 up (bench_sgemm).
constexpr int64_t min_gemm_columns = 256;

struct Blocking {
    int64_t images;  // nb, images per block
    int64_t blocks;
    int64_t slots;   // blocks running at once (1: in turn)
};

Blocking blocking_of(const Conv2dShape& s, const Sizes& z) {
    const int64_t images =
        std::clamp<int64_t>((min_gemm_columns + z.out_plane - 1) / z.out_plane, 1, std::max<int64_t>(s.batch, 1));
    const int64_t blocks = (s.batch + images - 1) / images, threads = max_threads();
    return {images, blocks, threads > 1 && blocks >= threads ? threads : 1};
}

// One workspace slot per concurrent block: im2col columns, gathered output or
// dy columns, and (backward weight, several slots) a partial dw.
struct SlotLayout {
    int64_t col, gathered, partial, total;
};

SlotLayout slot_layout(const Conv2dShape& s, const Sizes& z, const Blocking& k, bool pointwise, Conv2dPass pass) {
    const int64_t columns = k.images * z.out_plane;
    const int64_t col = pointwise && k.images == 1 ? 0 : z.gemm_k * columns;
    const int64_t gathered = k.images > 1 ? z.out_per_group * columns : 0;
    const int64_t partial = pass == Conv2dPass::backward_weight && k.slots > 1 ? s.out_channels * z.gemm_k : 0;
    return {col, gathered, partial, col + gathered + partial};
}

// Runs block(n0, count, slot) for the blocks of images [n0, n0 + count).
template <typename Block>
void for_each_block(const Conv2dShape& s, const Blocking& k, Block block) {
    auto run = [&](int64_t b, int64_t slot) {
        const int64_t n0 = b * k.images;
        block(n0, std::min(k.images, s.batch - n0), slot);
    };
    if (k.slots > 1) {
#pragma omp parallel for num_threads(k.slots) schedule(static)
        for (int64_t b = 0; b < k.blocks; ++b) run(b, omp_thread());
    } else {
        for (int64_t b = 0; b < k.blocks; ++b) run(b, 0);
    }
}

// The GEMM's input operand [K, count L] for group g of images n0..: x itself
// for one pointwise image, else im2col'd into col.
template <typename T>
const T* input_columns(T* col, const T* x, int64_t n0, int64_t count, int64_t g, const Conv2dShape& s,
                       const Sizes& z, bool pointwise) {
    const T* first = x + (n0 * s.in_channels + g * z.in_per_group) * z.in_plane;
    if (pointwise && count == 1) return first;
    for (int64_t i = 0; i < count; ++i)
        im2col(col + i * z.out_plane, count * z.out_plane, first + i * s.in_channels * z.in_plane, s, z);
    return col;
}

// dy of group g of images n0.. as [Og, count L]: dy itself for one image, else gathered.
template <typename T>
const T* output_columns(T* gathered, const T* dy, int64_t n0, int64_t count, int64_t g, const Conv2dShape& s,
                        const Sizes& z) {
    const T* first = dy + (n0 * s.out_channels + g * z.out_per_group) * z.out_plane;
    if (count == 1) return first;
    for (int64_t o = 0; o < z.out_per_group; ++o)
        for (int64_t i = 0; i < count; ++i) {
            const T* from = first + (i * s.out_channels + o) * z.out_plane;
            std::copy(from, from + z.out_plane, gathered + (o * count + i) * z.out_plane);
        }
    return gathered;
}

// The epilogue (inference: eval batch norm + activation) over `planes`
// consecutive output planes of y starting at output channel `channel`, in
// place: y = act(y scale + shift), batch_norm's forward formula. Compiled
// once per activation so each plane is a plain vector loop.
template <math::BatchNormActivation A, typename T>
void epilogue_planes(T* y, int64_t channel, int64_t planes, int64_t plane_size, const math::BatchNormEpilogue<T>& e) {
    for (int64_t o = 0; o < planes; ++o) {
        const math::BatchNormAffine<T> affine = math::batch_norm_affine(e.mean, e.rstd, e.weight, e.bias, channel + o);
        T* plane = y + o * plane_size;
        for (int64_t l = 0; l < plane_size; ++l)
            plane[l] = math::batch_norm_activate(A, plane[l] * affine.scale + affine.shift);
    }
}
template <typename T>
void apply_epilogue(T* y, int64_t channel, int64_t planes, int64_t plane_size, const math::BatchNormEpilogue<T>& e) {
    if (!e) return;
    switch (e.activation) {
        case math::BatchNormActivation::none:
            return epilogue_planes<math::BatchNormActivation::none>(y, channel, planes, plane_size, e);
        case math::BatchNormActivation::relu:
            return epilogue_planes<math::BatchNormActivation::relu>(y, channel, planes, plane_size, e);
        case math::BatchNormActivation::relu6:
            return epilogue_planes<math::BatchNormActivation::relu6>(y, channel, planes, plane_size, e);
    }
}

template <typename T>
void gemm_forward(T* y, const T* x, const T* w, const T* b, const Conv2dShape& s, T* workspace, bool pointwise,
                  const math::BatchNormEpilogue<T>& epilogue) {
    const Sizes z = sizes_of(s);
    const Blocking k = blocking_of(s, z);
    const SlotLayout layout = slot_layout(s, z, k, pointwise, Conv2dPass::forward);
    for_each_block(s, k, [&](int64_t n0, int64_t count, int64_t slot) {
        T* col = workspace + slot * layout.total;
        T* gathered = col + layout.col;
        const int64_t columns = count * z.out_plane;
        for (int64_t g = 0; g < s.groups; ++g) {
            const T* operand = input_columns(col, x, n0, count, g, s, z, pointwise);
            const T* wg = w + g * z.out_per_group * z.gemm_k;
            T* yg = y + (n0 * s.out_channels + g * z.out_per_group) * z.out_plane;
            if (count == 1) {  // straight into y; each output plane starts as its bias (beta = 1)
                T beta = T(0);
                if (b) {
                    for (int64_t o = 0; o < z.out_per_group; ++o)
                        std::fill(yg + o * z.out_plane, yg + (o + 1) * z.out_plane, b[g * z.out_per_group + o]);
                    beta = T(1);
                }
                gemm<T>(false, false, z.out_per_group, columns, z.gemm_k, T(1), wg, z.gemm_k, operand, columns, beta,
                        yg, columns);
                apply_epilogue(yg, g * z.out_per_group, z.out_per_group, z.out_plane, epilogue);
                continue;
            }
            gemm<T>(false, false, z.out_per_group, columns, z.gemm_k, T(1), wg, z.gemm_k, operand, columns, T(0),
                    gathered, columns);
            for (int64_t i = 0; i < count; ++i)
                for (int64_t o = 0; o < z.out_per_group; ++o) {
                    const T* from = gathered + (o * count + i) * z.out_plane;
                    T* to = yg + (i * s.out_channels + o) * z.out_plane;
                    const T bias = b ? b[g * z.out_per_group + o] : T(0);
                    for (int64_t l = 0; l < z.out_plane; ++l) to[l] = from[l] + bias;
                    apply_epilogue(to, g * z.out_per_group + o, 1, z.out_plane, epilogue);
                }
        }
    });
}

// col = w_g^T @ dy[block, g] [K, count L], then each image's columns added back into dx (col2im);
// one pointwise image adds the GEMM straight into dx (beta = 1).
template <typename T>
void gemm_backward_input(T* dx, const T* dy, const T* w, const Conv2dShape& s, T* workspace, bool pointwise) {
    const Sizes z = sizes_of(s);
    const Blocking k = blocking_of(s, z);
    const SlotLayout layout = slot_layout(s, z, k, pointwise, Conv2dPass::backward_input);
    for_each_block(s, k, [&](int64_t n0, int64_t count, int64_t slot) {
        T* col = workspace + slot * layout.total;
        T* gathered = col + layout.col;
        const int64_t columns = count * z.out_plane;
        for (int64_t g = 0; g < s.groups; ++g) {
            const T* grad = output_columns(gathered, dy, n0, count, g, s, z);
            const T* wg = w + g * z.out_per_group * z.gemm_k;
            T* dxg = dx + (n0 * s.in_channels + g * z.in_per_group) * z.in_plane;
            if (pointwise && count == 1) {
                gemm<T>(true, false, z.gemm_k, columns, z.out_per_group, T(1), wg, z.gemm_k, grad, columns, T(1), dxg,
                        columns);
                continue;
            }
            gemm<T>(true, false, z.gemm_k, columns, z.out_per_group, T(1), wg, z.gemm_k, grad, columns, T(0), col,
                    columns);
            for (int64_t i = 0; i < count; ++i)
                col2im(dxg + i * s.in_channels * z.in_plane, col + i * z.out_plane, columns, s, z);
        }
    });
}

// dw_g += dy[block, g] @ col(x[block, g])^T, summed over the blocks. With
// several slots each thread sums its blocks into its own zeroed partial dw and
// the partials are added into dw at the end (no two threads write one element).
template <typename T>
void gemm_backward_weight(T* dw, const T* dy, const T* x, const Conv2dShape& s, T* workspace, bool pointwise) {
    const Sizes z = sizes_of(s);
    const Blocking k = blocking_of(s, z);
    const SlotLayout layout = slot_layout(s, z, k, pointwise, Conv2dPass::backward_weight);
    const int64_t weight_size = s.out_channels * z.gemm_k;
    auto block = [&](int64_t n0, int64_t count, T* slot, T* dw_sum) {
        T* col = slot;
        T* gathered = col + layout.col;
        const int64_t columns = count * z.out_plane;
        for (int64_t g = 0; g < s.groups; ++g) {
            const T* grad = output_columns(gathered, dy, n0, count, g, s, z);
            const T* operand = input_columns(col, x, n0, count, g, s, z, pointwise);
            gemm<T>(false, true, z.out_per_group, z.gemm_k, columns, T(1), grad, columns, operand, columns, T(1),
                    dw_sum + g * z.out_per_group * z.gemm_k, z.gemm_k);
        }
    };
    if (k.slots == 1) {
        for_each_block(s, k, [&](int64_t n0, int64_t count, int64_t) { block(n0, count, workspace, dw); });
        return;
    }
#pragma omp parallel num_threads(k.slots)
    {
        const int64_t team = omp_threads();
        T* slot = workspace + omp_thread() * layout.total;
        T* partial = slot + layout.col + layout.gathered;
        std::fill(partial, partial + weight_size, T(0));
#pragma omp for schedule(static)
        for (int64_t b = 0; b < k.blocks; ++b) {
            const int64_t n0 = b * k.images;
            block(n0, std::min(k.images, s.batch - n0), slot, partial);
        }
        // (implicit barrier: every partial is complete)
#pragma omp for schedule(static)
        for (int64_t e = 0; e < weight_size; ++e) {
            T total = T(0);
            for (int64_t t = 0; t < team; ++t) total += workspace[t * layout.total + layout.col + layout.gathered + e];
            dw[e] += total;
        }
    }
}

// ---- depthwise: direct loops (groups == C_in, one input channel per group) ----
// Output channel o reads input channel o / m, m = C_out / C_in the channel multiplier.
// Each task first copies its input plane into a zero-padded plane P [Hp, Wp]
// (Hp = H + 2 p_h, Wp = W + 2 p_w), so no loop below tests a bound. With
// stride 1 the output row oh starts at P[oh Wp] and tap (i, j) reads P shifted
// by i d_h Wp + j d_w: computed on rows of width Wp (the extra Wp - W_out
// columns are thrown away), the whole plane becomes one flat loop per tap,
//   Y[q] += w[i, j] P[q + i d_h Wp + j d_w],   q < (H_out - 1) Wp + W_out,
// long and contiguous, so it vectorises. Other strides loop row by row.

struct DepthwisePlanes {
    int64_t padded_h, padded_w, padded;  // P
    int64_t flat;                        // q range of the stride-1 flat loops
    int64_t wide;                        // H_out rows of width Wp
    bool unit_stride;
};

DepthwisePlanes depthwise_planes(const Conv2dShape& s) {
    const int64_t ph = s.height + 2 * s.pad_h, pw = s.width + 2 * s.pad_w;
    return {ph, pw, ph * pw, (s.out_h - 1) * pw + s.out_w, s.out_h * pw, s.stride_h == 1 && s.stride_w == 1};
}

// Per thread: the padded plane and one H_out x Wp plane.
int64_t depthwise_slot_size(const Conv2dShape& s) {
    const DepthwisePlanes d = depthwise_planes(s);
    return d.padded + d.wide;
}

template <typename T>
void pad_plane(T* padded, const T* plane, const Conv2dShape& s, const DepthwisePlanes& d) {
    std::fill(padded, padded + d.padded, T(0));
    for (int64_t h = 0; h < s.height; ++h)
        std::copy(plane + h * s.width, plane + (h + 1) * s.width, padded + (h + s.pad_h) * d.padded_w + s.pad_w);
}

// Offset in P of tap (i, j)
inline int64_t tap_offset(const Conv2dShape& s, const DepthwisePlanes& d, int64_t i, int64_t j) {
    return i * s.dilation_h * d.padded_w + j * s.dilation_w;
}

// out[q] = bias + sum_t w[t] in[q step + offset[t]], t < Taps (the taps of
// a 3x3 kernel), for q < count: the sum of each output stays in a register
// over all taps (the same additions in the same order as adding one tap at a
// time over the plane, so the same bits), instead of a load and a store of
// the output per tap. Step 1 is the flat stride-1 loop over P; step 2 one
// output row of a stride-2 layer (MobileNetV2's downsampling depthwise).
template <int Taps, int Step, typename T>
void accumulate_taps(T* __restrict out, int64_t count, const T* __restrict in, const int64_t* offset, const T* w,
                     T bias) {
    for (int64_t q = 0; q < count; ++q) {
        T sum = bias;
        for (int t = 0; t < Taps; ++t) sum += w[t] * in[q * Step + offset[t]];
        out[q] = sum;
    }
}

// One task per input plane (n, c): pad it once, then compute its m output planes.
template <typename T>
void depthwise_forward(T* y, const T* x, const T* w, const T* b, const Conv2dShape& s, T* workspace,
                       const math::BatchNormEpilogue<T>& epilogue) {
    const Sizes z = sizes_of(s);
    const DepthwisePlanes d = depthwise_planes(s);
    const int64_t taps = s.kernel_h * s.kernel_w, planes = s.batch * s.in_channels;
    const int64_t slot_size = depthwise_slot_size(s), threads = max_threads();  // one workspace slot per thread
#pragma omp parallel for num_threads(threads) schedule(static) if (s.batch * s.out_channels * z.out_plane * taps >= parallel_grain)
    for (int64_t p = 0; p < planes; ++p) {  // p = (n, c)
        const int64_t n = p / s.in_channels, c = p % s.in_channels;
        T* __restrict padded = workspace + omp_thread() * slot_size;
        T* __restrict wide = padded + d.padded;
        pad_plane(padded, x + p * z.in_plane, s, d);
        for (int64_t k = 0; k < z.out_per_group; ++k) {
            const int64_t o = c * z.out_per_group + k;
            const T* wo = w + o * taps;
            T* yo = y + (n * s.out_channels + o) * z.out_plane;
            const T bias = b ? b[o] : T(0);
            const bool three_by_three = s.kernel_h == 3 && s.kernel_w == 3;
            if (three_by_three && (d.unit_stride || (s.stride_h == 2 && s.stride_w == 2))) {
                int64_t offset[9];
                for (int64_t i = 0; i < 3; ++i)
                    for (int64_t j = 0; j < 3; ++j) offset[i * 3 + j] = tap_offset(s, d, i, j);
                if (d.unit_stride) {
                    accumulate_taps<9, 1>(wide, d.flat, padded, offset, wo, bias);
                    for (int64_t oh = 0; oh < s.out_h; ++oh)
                        std::copy(wide + oh * d.padded_w, wide + oh * d.padded_w + s.out_w, yo + oh * s.out_w);
                } else {
                    for (int64_t oh = 0; oh < s.out_h; ++oh)
                        accumulate_taps<9, 2>(yo + oh * s.out_w, s.out_w, padded + oh * 2 * d.padded_w, offset, wo,
                                              bias);
                }
                apply_epilogue(yo, o, 1, z.out_plane, epilogue);
                continue;
            }
            if (d.unit_stride) {
                std::fill(wide, wide + d.flat, bias);
                for (int64_t i = 0; i < s.kernel_h; ++i)
                    for (int64_t j = 0; j < s.kernel_w; ++j) {
                        const T weight = wo[i * s.kernel_w + j];
                        const T* in = padded + tap_offset(s, d, i, j);
                        for (int64_t q = 0; q < d.flat; ++q) wide[q] += weight * in[q];
                    }
                for (int64_t oh = 0; oh < s.out_h; ++oh)
                    std::copy(wide + oh * d.padded_w, wide + oh * d.padded_w + s.out_w, yo + oh * s.out_w);
                apply_epilogue(yo, o, 1, z.out_plane, epilogue);
                continue;
            }
            std::fill(yo, yo + z.out_plane, bias);
            for (int64_t oh = 0; oh < s.out_h; ++oh) {
                T* __restrict out = yo + oh * s.out_w;
                const T* row = padded + oh * s.stride_h * d.padded_w;
                for (int64_t i = 0; i < s.kernel_h; ++i)
                    for (int64_t j = 0; j < s.kernel_w; ++j) {
                        const T weight = wo[i * s.kernel_w + j];
                        const T* in = row + tap_offset(s, d, i, j);
                        for (int64_t ow = 0; ow < s.out_w; ++ow) out[ow] += weight * in[ow * s.stride_w];
                    }
            }
            apply_epilogue(yo, o, 1, z.out_plane, epilogue);
        }
    }
}

// One task per input plane (n, c): its gradient gathers from the m output
// channels that read it (no two tasks write one element). The gradient is
// summed in the padded plane (the taps that read padding land in its border,
// which is dropped), then added into dx.
template <typename T>
void depthwise_backward_input(T* dx, const T* dy, const T* w, const Conv2dShape& s, T* workspace) {
    const Sizes z = sizes_of(s);
    const DepthwisePlanes d = depthwise_planes(s);
    const int64_t taps = s.kernel_h * s.kernel_w, planes = s.batch * s.in_channels;
    const int64_t slot_size = depthwise_slot_size(s), threads = max_threads();  // one workspace slot per thread
#pragma omp parallel for num_threads(threads) schedule(static) if (s.batch * s.out_channels * z.out_plane * taps >= parallel_grain)
    for (int64_t p = 0; p < planes; ++p) {  // p = (n, c)
        const int64_t n = p / s.in_channels, c = p % s.in_channels;
        T* __restrict padded = workspace + omp_thread() * slot_size;  // gradient of P
        T* __restrict wide = padded + d.padded;                       // dy on rows of width Wp, zeros past W_out
        std::fill(padded, padded + d.padded, T(0));
        for (int64_t k = 0; k < z.out_per_group; ++k) {
            const int64_t o = c * z.out_per_group + k;
            const T* dyo = dy + (n * s.out_channels + o) * z.out_plane;
            const T* wo = w + o * taps;
            if (d.unit_stride) {
                for (int64_t oh = 0; oh < s.out_h; ++oh) {
                    T* row = wide + oh * d.padded_w;
                    std::copy(dyo + oh * s.out_w, dyo + (oh + 1) * s.out_w, row);
                    std::fill(row + s.out_w, row + d.padded_w, T(0));
                }
                for (int64_t i = 0; i < s.kernel_h; ++i)
                    for (int64_t j = 0; j < s.kernel_w; ++j) {
                        const T weight = wo[i * s.kernel_w + j];
                        T* out = padded + tap_offset(s, d, i, j);
                        for (int64_t q = 0; q < d.flat; ++q) out[q] += weight * wide[q];
                    }
                continue;
            }
            for (int64_t oh = 0; oh < s.out_h; ++oh) {
                const T* grad = dyo + oh * s.out_w;
                T* row = padded + oh * s.stride_h * d.padded_w;
                for (int64_t i = 0; i < s.kernel_h; ++i)
                    for (int64_t j = 0; j < s.kernel_w; ++j) {
                        const T weight = wo[i * s.kernel_w + j];
                        T* out = row + tap_offset(s, d, i, j);
                        for (int64_t ow = 0; ow < s.out_w; ++ow) out[ow * s.stride_w] += weight * grad[ow];
                    }
            }
        }
        T* dxc = dx + p * z.in_plane;
        for (int64_t h = 0; h < s.height; ++h) {
            const T* from = padded + (h + s.pad_h) * d.padded_w + s.pad_w;
            T* to = dxc + h * s.width;
            for (int64_t v = 0; v < s.width; ++v) to[v] += from[v];
        }
    }
}

// One task per output channel o (it alone writes dw[o]), over every image:
//   dw[o, i, j] += sum_q dy_wide[q] P[q + tap offset]   (stride 1; row by row otherwise)
template <typename T>
void depthwise_backward_weight(T* dw, const T* dy, const T* x, const Conv2dShape& s, T* workspace) {
    const Sizes z = sizes_of(s);
    const DepthwisePlanes d = depthwise_planes(s);
    const int64_t taps = s.kernel_h * s.kernel_w;
    const int64_t slot_size = depthwise_slot_size(s), threads = max_threads();  // one workspace slot per thread
#pragma omp parallel for num_threads(threads) schedule(static) if (s.batch * s.out_channels * z.out_plane * taps >= parallel_grain)
    for (int64_t o = 0; o < s.out_channels; ++o) {
        T* __restrict padded = workspace + omp_thread() * slot_size;
        T* __restrict wide = padded + d.padded;
        T* dwo = dw + o * taps;
        for (int64_t n = 0; n < s.batch; ++n) {
            pad_plane(padded, x + (n * s.in_channels + o / z.out_per_group) * z.in_plane, s, d);
            const T* dyo = dy + (n * s.out_channels + o) * z.out_plane;
            if (d.unit_stride) {
                for (int64_t oh = 0; oh < s.out_h; ++oh) {
                    T* row = wide + oh * d.padded_w;
                    std::copy(dyo + oh * s.out_w, dyo + (oh + 1) * s.out_w, row);
                    std::fill(row + s.out_w, row + d.padded_w, T(0));
                }
                for (int64_t i = 0; i < s.kernel_h; ++i)
                    for (int64_t j = 0; j < s.kernel_w; ++j) {
                        const T* in = padded + tap_offset(s, d, i, j);
                        T total = T(0);
#pragma omp simd reduction(+ : total)
                        for (int64_t q = 0; q < d.flat; ++q) total += wide[q] * in[q];
                        dwo[i * s.kernel_w + j] += total;
                    }
                continue;
            }
            for (int64_t i = 0; i < s.kernel_h; ++i)
                for (int64_t j = 0; j < s.kernel_w; ++j) {
                    T total = T(0);
                    for (int64_t oh = 0; oh < s.out_h; ++oh) {
                        const T* grad = dyo + oh * s.out_w;
                        const T* in = padded + oh * s.stride_h * d.padded_w + tap_offset(s, d, i, j);
#pragma omp simd reduction(+ : total)
                        for (int64_t ow = 0; ow < s.out_w; ++ow) total += grad[ow] * in[ow * s.stride_w];
                    }
                    dwo[i * s.kernel_w + j] += total;
                }
        }
    }
}

}  // namespace

int64_t conv2d_workspace_size(const Conv2dShape& s, Conv2dPass pass) {
    const Conv2dAlgorithm algorithm = conv2d_algorithm(s);
    if (algorithm == Conv2dAlgorithm::depthwise) return max_threads() * depthwise_slot_size(s);
    const Sizes z = sizes_of(s);
    const Blocking k = blocking_of(s, z);
    return k.slots * slot_layout(s, z, k, algorithm == Conv2dAlgorithm::pointwise, pass).total;
}

template <typename T>
void conv2d_forward(T* y, const T* x, const T* w, const T* b, const Conv2dShape& s, T* workspace,
                    const math::BatchNormEpilogue<T>& epilogue) {
    const Conv2dAlgorithm algorithm = conv2d_algorithm(s);
    if (algorithm == Conv2dAlgorithm::depthwise) return depthwise_forward(y, x, w, b, s, workspace, epilogue);
    gemm_forward(y, x, w, b, s, workspace, algorithm == Conv2dAlgorithm::pointwise, epilogue);
}

template <typename T>
void conv2d_backward_input(T* dx, const T* dy, const T* w, const Conv2dShape& s, T* workspace) {
    const Conv2dAlgorithm algorithm = conv2d_algorithm(s);
    if (algorithm == Conv2dAlgorithm::depthwise) return depthwise_backward_input(dx, dy, w, s, workspace);
    gemm_backward_input(dx, dy, w, s, workspace, algorithm == Conv2dAlgorithm::pointwise);
}

template <typename T>
void conv2d_backward_weight(T* dw, const T* dy, const T* x, const Conv2dShape& s, T* workspace) {
    const Conv2dAlgorithm algorithm = conv2d_algorithm(s);
    if (algorithm == Conv2dAlgorithm::depthwise) return depthwise_backward_weight(dw, dy, x, s, workspace);
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
    template void conv2d_forward<T>(T*, const T*, const T*, const T*, const Conv2dShape&, T*,                \
                                    const math::BatchNormEpilogue<T>&);                                     \
    template void conv2d_backward_input<T>(T*, const T*, const T*, const Conv2dShape&, T*);                  \
    template void conv2d_backward_weight<T>(T*, const T*, const T*, const Conv2dShape&, T*);                 \
    template void conv2d_backward_bias<T>(T*, const T*, const Conv2dShape&);
KILN_CONV(float)
KILN_CONV(double)

}  // namespace kiln::cpu
