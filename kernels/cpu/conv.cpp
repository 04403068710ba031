// conv2d forward and backward: the three algorithms of kernels/cpu/conv.h.
#include "kernels/cpu/conv.h"

#include <algorithm>
#include <atomic>
#include <utility>
#include <type_traits>
#include <vector>

#include <unistd.h>

#include "kernels/common/winograd.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/simd.h"
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

// Short rows (a 4x4 plane's are 4 floats) copied and cleared inline: a call
// to memmove or memset per row cost more than the row (the two were a third
// of a 4x4 depthwise layer's time). Blocks of 8 and a guarded last block: GCC
// turns a plain element loop into the library call.
template <typename T>
inline void copy_row(T* __restrict to, const T* __restrict from, int64_t n) {
    if (n >= 64) return void(std::copy(from, from + n, to));
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; ++k) to[i + k] = from[i + k];
    for (int k = 0; k < 8; ++k)
        if (i + k < n) to[i + k] = from[i + k];
}
template <typename T>
inline void zero_row(T* to, int64_t n) {
    if (n >= 64) return void(std::fill(to, to + n, T(0)));
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; ++k) to[i + k] = T(0);
    for (int k = 0; k < 8; ++k)
        if (i + k < n) to[i + k] = T(0);
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

// The epilogue (inference: eval batch norm + activation), batch_norm's
// forward formula: to[l] = act(from[l] scale + shift) for one output
// channel's values (to may be from). Compiled once per activation so each
// span is a plain vector loop.
template <math::BatchNormActivation A, typename T>
void epilogue_span(T* to, const T* from, int64_t count, const math::BatchNormAffine<T>& affine) {
    for (int64_t l = 0; l < count; ++l) to[l] = math::batch_norm_output(A, from[l], affine.scale, affine.shift);
}

// Calls fn(std::integral_constant<BatchNormActivation, a>) for the run-time activation.
template <typename Fn>
void with_activation(math::BatchNormActivation activation, Fn&& fn) {
    using math::BatchNormActivation;
    switch (activation) {
        case BatchNormActivation::none: return fn(std::integral_constant<BatchNormActivation, BatchNormActivation::none>{});
        case BatchNormActivation::relu: return fn(std::integral_constant<BatchNormActivation, BatchNormActivation::relu>{});
        case BatchNormActivation::relu6:
            return fn(std::integral_constant<BatchNormActivation, BatchNormActivation::relu6>{});
    }
}

// The epilogue over `planes` consecutive output planes of y starting at
// output channel `channel`, in place (nothing without one).
template <typename T>
void apply_epilogue(T* y, int64_t channel, int64_t planes, int64_t plane_size, const math::BatchNormEpilogue<T>& e) {
    if (!e) return;
    with_activation(e.activation, [&](auto activation) {
        for (int64_t o = 0; o < planes; ++o) {
            T* plane = y + o * plane_size;
            epilogue_span<decltype(activation)::value>(
                plane, plane, plane_size, math::batch_norm_affine(e.mean, e.rstd, e.weight, e.bias, channel + o));
        }
    });
}

// Output channel `channel`'s plane y [rows, width] from rows `pitch` apart
// (the wide rows of the depthwise and direct kernels): copied, with the
// epilogue applied on the way when there is one (one pass, not two).
template <typename T>
void store_rows(T* y, const T* from, int64_t rows, int64_t width, int64_t pitch, int64_t channel,
                const math::BatchNormEpilogue<T>& e) {
    if (!e) {
        for (int64_t r = 0; r < rows; ++r) copy_row(y + r * width, from + r * pitch, width);
        return;
    }
    const math::BatchNormAffine<T> affine = math::batch_norm_affine(e.mean, e.rstd, e.weight, e.bias, channel);
    with_activation(e.activation, [&](auto activation) {
        for (int64_t r = 0; r < rows; ++r)
            epilogue_span<decltype(activation)::value>(y + r * width, from + r * pitch, width, affine);
    });
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

// ---- stride phases: the padded planes of the depthwise and direct kernels ----
// A plane [H, W] zero-padded to P [Hp, Wp] (Hp = H + 2 p_h, Wp = W + 2 p_w)
// and split by stride into s_h s_w phase planes
//   P_ab [Hq, Wq],  P_ab[u, v] = P[u s_h + a, v s_w + b],  Hq = ceil(Hp / s_h), Wq = ceil(Wp / s_w)
// (one phase, P itself, at stride 1). Output pixel (oh, ow) sits at flat
// position q = oh Wq + ow, and the tap at kernel offset (h, w) = (i d_h, j d_w),
// which reads P[oh s_h + h, ow s_w + w], reads phase (h mod s_h, w mod s_w) at
//   q + (h / s_h) Wq + w / s_w:
// on that flat axis (rows of width Wq, the Wq - W_out extra columns of each
// row computed and thrown away) every tap is a contiguous run at any stride.

// The rows x [width] of a plane into their column phases at stride S = 2
// or 4: P[u, S v + b] = x[S v + b - p_w] for phase b, whose row starts at
// row + b phase_size (wq floats; none written past them). x[S e + r] goes
// to phase (r + p_w) mod S at e + (r + p_w) / S: where each residue r goes
// is worked out once per plane, not per row. In float, S vectors of x at
// a time are deinterleaved in registers (S = 4: twice), the rest one value
// at a time (GCC's own vectorisation of the strided loop ran in short
// pieces and scalar tails).
template <int S>
struct ColumnSplit {
    static_assert(S == 2 || S == 4);
    int64_t to[S], counts[S], fewest;  // residue r's values x[S e + r] go to row + to[r] + e, e < counts[r]
    ColumnSplit(int64_t width, int64_t pad_w, int64_t wq, int64_t phase_size) : fewest(wq) {
        for (int64_t r = 0; r < S; ++r) {
            const int64_t at = (r + pad_w) / S;
            to[r] = (r + pad_w) % S * phase_size + at;
            counts[r] = std::clamp<int64_t>(wq - at, 0, (width - r + S - 1) / S);
            fewest = std::min(fewest, counts[r]);
        }
    }
    template <typename T>
    void split(T* row, const T* from) const {
        int64_t e = 0;
        if constexpr (std::is_same_v<T, float>)
            for (; e + simd::lanes <= fewest; e += simd::lanes) {
                const float* x = from + S * e;
                simd::vec even, odd;
                simd::deinterleave(simd::load(x), simd::load(x + simd::lanes), even, odd);
                if constexpr (S == 2) {
                    simd::store(row + to[0] + e, even);
                    simd::store(row + to[1] + e, odd);
                } else {
                    simd::vec even_2, odd_2, residue[4];
                    simd::deinterleave(simd::load(x + 2 * simd::lanes), simd::load(x + 3 * simd::lanes), even_2, odd_2);
                    simd::deinterleave(even, even_2, residue[0], residue[2]);
                    simd::deinterleave(odd, odd_2, residue[1], residue[3]);
                    for (int r = 0; r < 4; ++r) simd::store(row + to[r] + e, residue[r]);
                }
            }
        for (int64_t r = 0; r < S; ++r)
            for (int64_t i = e; i < counts[r]; ++i) row[to[r] + i] = from[S * i + r];
    }
};

struct Phases {
    int64_t height, width, pad_h, pad_w, stride_h, stride_w;
    int64_t rows() const { return (height + 2 * pad_h + stride_h - 1) / stride_h; }     // Hq
    int64_t columns() const { return (width + 2 * pad_w + stride_w - 1) / stride_w; }  // Wq
    int64_t phase() const { return rows() * columns(); }
    int64_t size() const { return stride_h * stride_w * phase(); }  // all phases of one plane
    // where each tap (i, j) of a kernel reads for q = 0, in row-major order
    std::vector<int64_t> offsets(int64_t kernel_h, int64_t kernel_w, int64_t dilation_h, int64_t dilation_w) const {
        std::vector<int64_t> offset;
        for (int64_t i = 0; i < kernel_h; ++i)
            for (int64_t j = 0; j < kernel_w; ++j) {
                const int64_t h = i * dilation_h, w = j * dilation_w;
                offset.push_back(((h % stride_h) * stride_w + w % stride_w) * phase() + h / stride_h * columns() +
                                 w / stride_w);
            }
        return offset;
    }
    // `to` [size] = the phases of `plane` [height, width] (zeros where P is padding)
    template <typename T>
    void split(T* to, const T* plane) const {
        const int64_t wq = columns(), size = phase();
        if (stride_h == 1 && stride_w == 1) {  // rows copied whole, only the border written with zeros
            zero_row(to, pad_h * wq + pad_w);  // top rows, first left border
            for (int64_t h = 0; h < height; ++h) {
                T* row = to + (h + pad_h) * wq + pad_w;
                copy_row(row, plane + h * width, width);
                zero_row(row + width, wq - width);  // right border and the next row's left border
            }
            zero_row(to + (height + pad_h) * wq + pad_w, size - (height + pad_h) * wq - pad_w);
            return;
        }
        // zeros first, in one call (the phases of a strided layer are small), then the image
        std::fill(to, to + stride_h * stride_w * size, T(0));
        const ColumnSplit<2> in_two(width, pad_w, wq, size);
        for (int64_t h = 0; h < height; ++h) {
            const int64_t u = (h + pad_h) / stride_h, a = (h + pad_h) % stride_h;
            const T* from = plane + h * width;
            T* row = to + a * stride_w * size + u * wq;  // phase (a, 0)'s row u; (a, b)'s is b size further
            if (stride_w == 2) {
                in_two.split(row, from);
                continue;
            }
            for (int64_t b = 0; b < stride_w; ++b) {
                const auto [v0, v1] = inside(b);  // the columns of this phase that are not padding
                for (int64_t v = v0; v < v1; ++v) row[b * size + v] = from[v * stride_w + b - pad_w];
            }
        }
    }
    // [v0, v1): the columns v of phase column offset b whose w = v s_w + b - p_w lies in [0, width)
    std::pair<int64_t, int64_t> inside(int64_t b) const {
        const int64_t v0 = std::max<int64_t>(0, (pad_w - b + stride_w - 1) / stride_w);
        const int64_t v1 = std::min(columns(), (width + pad_w - b + stride_w - 1) / stride_w);
        return {v0, std::max(v0, v1)};
    }
    // plane [height, width] += the phases `from` [size] where they are not padding (split's adjoint)
    template <typename T>
    void add_to(T* plane, const T* from) const {
        const int64_t wq = columns(), size = phase();
        for (int64_t h = 0; h < height; ++h) {
            const int64_t u = (h + pad_h) / stride_h, a = (h + pad_h) % stride_h;
            T* to = plane + h * width;
            for (int64_t b = 0; b < stride_w; ++b) {
                const auto [v0, v1] = inside(b);
                const T* row = from + (a * stride_w + b) * size + u * wq;
                if (stride_w == 2)  // as in split
                    for (int64_t v = v0; v < v1; ++v) to[v * 2 + b - pad_w] += row[v];
                else
                    for (int64_t v = v0; v < v1; ++v) to[v * stride_w + b - pad_w] += row[v];
            }
        }
    }
};

// The direct forward's layout for planes of W_out <= lanes / 2, whose tiles
// hold two output rows per vector (direct_tiling's halves): each phase's
// rows cut to lanes / 2 floats from each column offset j' a tap reads at,
//   Z_{ab,j'}[u][l] = P_ab[u, j' + l]   (l < lanes / 2; 0 past the row),
// so that what a vector reads for output rows oh and oh + 1 at tap (h, w),
// rows u = oh + h / s_h and u + 1 of Z_{ab, w / s_w}, is one contiguous
// vector. (From P_ab itself it was two half loads and a shuffle: resnet18's
// 4x4 layers at batch 1 ran 15 % slower.) Z_{ab,j'} is group
// (a s_w + b) J + j' of a plane's groups of Hq rows.
struct PairedRows {
    Phases phases;
    int64_t shifts;  // J: the column offsets j' = 0 .. J - 1
    static constexpr int64_t half = simd::lanes / 2;
    int64_t group() const { return phases.rows() * half; }
    int64_t size() const { return phases.stride_h * phases.stride_w * shifts * group(); }
    std::vector<int64_t> offsets(int64_t kernel_h, int64_t kernel_w, int64_t dilation_h, int64_t dilation_w) const {
        std::vector<int64_t> offset;
        for (int64_t i = 0; i < kernel_h; ++i)
            for (int64_t j = 0; j < kernel_w; ++j) {
                const int64_t h = i * dilation_h, w = j * dilation_w;
                const int64_t phase = (h % phases.stride_h) * phases.stride_w + w % phases.stride_w;
                offset.push_back((phase * shifts + w / phases.stride_w) * group() + h / phases.stride_h * half);
            }
        return offset;
    }
    // `to` [size] from `split`, one plane's phases (Phases::split)
    void arrange(float* to, const float* split) const {
        const int64_t wq = phases.columns(), hq = phases.rows();
        for (int64_t phase = 0; phase < phases.stride_h * phases.stride_w; ++phase)
            for (int64_t j = 0; j < shifts; ++j) {
                const int64_t count = std::clamp<int64_t>(wq - j, 0, half);
                for (int64_t u = 0; u < hq; ++u) {
                    float* row = to + ((phase * shifts + j) * hq + u) * half;
                    copy_row(row, split + phase * phases.phase() + u * wq + j, count);
                    zero_row(row + count, half - count);
                }
            }
    }
};

// ---- depthwise: direct loops (groups == C_in, one input channel per group) ----
// Output channel o reads input channel o / m, m = C_out / C_in the channel multiplier.
// Each task first copies its input plane into its stride phases P_ab (above),
// so no loop below tests a bound and, at any stride, tap t = (i, j) is one
// long contiguous loop over the flat axis:
//   Y[q] += w[i, j] P[q + offset_t],   q < (H_out - 1) Wq + W_out,
// which vectorises (row by row, a stride-2 layer's taps were strided loads
// and stores: MobileNetV2's four downsampling depthwise layers took 2/3 of
// its depthwise backward time).

struct DepthwisePlanes {
    Phases phases;
    int64_t padded;               // P, all phases
    int64_t flat;                 // q range of the flat loops
    int64_t wide;                 // H_out rows of width Wq
    int64_t width;                // Wq
    std::vector<int64_t> offset;  // in P, of each tap (i, j)
    int64_t reach;                // the largest offset
};

DepthwisePlanes depthwise_planes(const Conv2dShape& s) {
    const Phases phases{s.height, s.width, s.pad_h, s.pad_w, s.stride_h, s.stride_w};
    const int64_t wq = phases.columns();
    std::vector<int64_t> offset = phases.offsets(s.kernel_h, s.kernel_w, s.dilation_h, s.dilation_w);
    const int64_t reach = *std::max_element(offset.begin(), offset.end());
    return {phases, phases.size(), (s.out_h - 1) * wq + s.out_w, s.out_h * wq, wq, std::move(offset), reach};
}

// Images per task: small planes go several images of one channel at a
// time, their planes end to end, `padded` positions apart, so that one flat
// loop covers them all (an 8x8 plane alone is 78 positions: 9 vectors and a
// scalar tail of 6, with a task's fixed costs on top). The positions
// between one image's last output and the next image's plane are computed
// and dropped; a tap never reads across into the next image for an output
// that is kept. About 8192 floats per buffer.
int64_t depthwise_chunk(const DepthwisePlanes& d, int64_t batch) {
    return std::clamp<int64_t>(8192 / d.padded, 1, std::max<int64_t>(batch, 1));
}

// Per thread: a chunk's padded planes, and its H_out x Wq planes (`padded`
// apart; the input gradient's after `reach` zeros).
int64_t depthwise_slot_size(const Conv2dShape& s) {
    const DepthwisePlanes d = depthwise_planes(s);
    return 2 * depthwise_chunk(d, s.batch) * d.padded + d.reach;
}

// `count` planes of dy [H_out, W_out], `image` apart, on rows of width Wq,
// `padded` apart, zeros in the extra columns and up to the next plane.
template <typename T>
void widen_rows(T* wide, const T* plane, int64_t count, int64_t image, const Conv2dShape& s, const DepthwisePlanes& d) {
    for (int64_t i = 0; i < count; ++i) {
        T* to = wide + i * d.padded;
        const T* from = plane + i * image;
        for (int64_t oh = 0; oh < s.out_h; ++oh) {
            T* row = to + oh * d.width;
            copy_row(row, from + oh * s.out_w, s.out_w);
            zero_row(row + s.out_w, d.width - s.out_w);
        }
        zero_row(to + d.wide, d.padded - d.wide);
    }
}

// `count` planes of x, `image` apart, split into their phases, `padded` apart
template <typename T>
void split_planes(T* padded, const T* plane, int64_t count, int64_t image, const DepthwisePlanes& d) {
    for (int64_t i = 0; i < count; ++i) d.phases.split(padded + i * d.padded, plane + i * image);
}

// out[q] = (Add ? out[q] : bias) + sum_t w[t] in[q + offset[t]], t < Taps (the taps of a 3x3
// kernel), for q < count: the sum of each output stays in a register over
// all taps (the same additions in the same order as adding one tap at a
// time over the plane, so the same bits), instead of a load and a store of
// the output per tap.
template <int Taps, bool Add, typename T>
void accumulate_taps(T* __restrict out, int64_t count, const T* __restrict in, const int64_t* offset, const T* w,
                     T bias) {
    for (int64_t q = 0; q < count; ++q) {
        T sum = Add ? out[q] : bias;
        for (int t = 0; t < Taps; ++t) sum += w[t] * in[q + offset[t]];
        out[q] = sum;
    }
}

// accumulate_taps<9> for taps on 3 rows of 3 neighbouring positions,
// offset[3 i + j] = offset[3 i] + j Step (a 3x3 kernel at unit stride and
// dilation; Step -1: the input gradient's gather): 3 row pointers, the
// column a constant displacement. Nine tap pointers and nine weights did
// not fit AVX2's 16 registers, and the loop reloaded them from the stack
// for every vector.
template <int Step, bool Add, typename T>
void accumulate_3x3_rows(T* __restrict out, int64_t count, const T* __restrict in, const int64_t* offset,
                         const T* w, T bias) {
    const T* __restrict r0 = in + offset[0];
    const T* __restrict r1 = in + offset[3];
    const T* __restrict r2 = in + offset[6];
    const T w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5], w6 = w[6], w7 = w[7], w8 = w[8];
    for (int64_t q = 0; q < count; ++q) {
        T sum = Add ? out[q] : bias;
        sum += w0 * r0[q];
        sum += w1 * r0[q + Step];
        sum += w2 * r0[q + 2 * Step];
        sum += w3 * r1[q];
        sum += w4 * r1[q + Step];
        sum += w5 * r1[q + 2 * Step];
        sum += w6 * r2[q];
        sum += w7 * r2[q + Step];
        sum += w8 * r2[q + 2 * Step];
        out[q] = sum;
    }
}

// The step s when offset[3 i + j] = offset[3 i] + j s for s = 1 or -1, else 0.
int taps_on_rows(const int64_t* offset) {
    for (const int step : {1, -1}) {
        bool rows = true;
        for (int t = 0; t < 9; ++t) rows = rows && offset[t] == offset[t / 3 * 3] + t % 3 * step;
        if (rows) return step;
    }
    return 0;
}

// out[q] = (add ? out[q] : bias) + sum_{t < taps} w[t] in[q + offset[t]] for q < count:
// 3x3 kernels in registers, other sizes a tap at a time.
template <typename T>
void sum_taps(T* __restrict out, int64_t count, const T* __restrict in, const int64_t* offset, const T* w,
              int64_t taps, T bias, bool add) {
    if (taps == 9) {
        const int step = taps_on_rows(offset);
        if (step == 1 && add) accumulate_3x3_rows<1, true>(out, count, in, offset, w, bias);
        else if (step == 1) accumulate_3x3_rows<1, false>(out, count, in, offset, w, bias);
        else if (step == -1 && add) accumulate_3x3_rows<-1, true>(out, count, in, offset, w, bias);
        else if (step == -1) accumulate_3x3_rows<-1, false>(out, count, in, offset, w, bias);
        else if (add) accumulate_taps<9, true>(out, count, in, offset, w, bias);
        else accumulate_taps<9, false>(out, count, in, offset, w, bias);
        return;
    }
    if (!add) std::fill(out, out + count, bias);
    for (int64_t t = 0; t < taps; ++t) {
        const T* from = in + offset[t];
        for (int64_t q = 0; q < count; ++q) out[q] += w[t] * from[q];
    }
}

// dw[t] += sum_q wide[q] in[q + offset[t]] for t < Taps (a 3x3 kernel's):
// the Taps sums in one pass over q, each wide[q] loaded once; in float,
// Taps vector accumulators (an array reduction under omp simd was summed
// across lanes at every step).
template <int Taps, typename T>
void tap_dot_products(T* dw, int64_t count, const T* __restrict wide, const T* __restrict in, const int64_t* offset) {
    T total[Taps] = {};
    int64_t q = 0;
    if constexpr (std::is_same_v<T, float>) {
        simd::vec acc[Taps];
#pragma GCC unroll 9
        for (int t = 0; t < Taps; ++t) acc[t] = simd::zero();
        for (; q + simd::lanes <= count; q += simd::lanes) {
            const simd::vec grad = simd::load(wide + q);
#pragma GCC unroll 9
            for (int t = 0; t < Taps; ++t) acc[t] = simd::fma(grad, simd::load(in + q + offset[t]), acc[t]);
        }
        for (int t = 0; t < Taps; ++t) total[t] = simd::sum(acc[t]);
    }
    for (; q < count; ++q)
        for (int t = 0; t < Taps; ++t) total[t] += wide[q] * in[q + offset[t]];
    for (int t = 0; t < Taps; ++t) dw[t] += total[t];
}

// One task per (input channel c, chunk of images): split the planes into
// phases once, then compute their m output channels.
template <typename T>
void depthwise_forward(T* y, const T* x, const T* w, const T* b, const Conv2dShape& s, T* workspace,
                       const math::BatchNormEpilogue<T>& epilogue) {
    const Sizes z = sizes_of(s);
    const DepthwisePlanes d = depthwise_planes(s);
    const int64_t taps = s.kernel_h * s.kernel_w, chunk = depthwise_chunk(d, s.batch);
    const int64_t chunks = (s.batch + chunk - 1) / chunk, tasks = s.in_channels * chunks;
    const int64_t slot_size = depthwise_slot_size(s), threads = max_threads();  // one workspace slot per thread
#pragma omp parallel for num_threads(threads) schedule(static) if (s.batch * s.out_channels * z.out_plane * taps >= parallel_depthwise_macs)
    for (int64_t task = 0; task < tasks; ++task) {
        const int64_t c = task % s.in_channels, n0 = task / s.in_channels * chunk, count = std::min(chunk, s.batch - n0);
        T* __restrict padded = workspace + omp_thread() * slot_size;
        T* __restrict wide = padded + chunk * d.padded;
        split_planes(padded, x + (n0 * s.in_channels + c) * z.in_plane, count, s.in_channels * z.in_plane, d);
        for (int64_t k = 0; k < z.out_per_group; ++k) {
            const int64_t o = c * z.out_per_group + k;
            sum_taps(wide, (count - 1) * d.padded + d.flat, padded, d.offset.data(), w + o * taps, taps,
                     b ? b[o] : T(0), false);
            for (int64_t i = 0; i < count; ++i)
                store_rows(y + ((n0 + i) * s.out_channels + o) * z.out_plane, wide + i * d.padded, s.out_h, s.out_w,
                           d.width, o, epilogue);
        }
    }
}

// One task per (input channel c, chunk of images): its gradient gathers from the m output
// channels that read it (no two tasks write one element). The gradient of P,
//   dP[q] = sum_{o, t} w[o, t] dy_wide_o[q - offset_t]   (0 outside dy_wide),
// is summed at every position of P, in registers over the taps as in the
// forward: on dy_wide shifted right by `reach` (the largest offset) with
// zeros around it, the offsets are reach - offset_t. The taps that read
// padding land in P's border, which is dropped; the rest is added into dx.
template <typename T>
void depthwise_backward_input(T* dx, const T* dy, const T* w, const Conv2dShape& s, T* workspace) {
    const Sizes z = sizes_of(s);
    const DepthwisePlanes d = depthwise_planes(s);
    const int64_t taps = s.kernel_h * s.kernel_w, chunk = depthwise_chunk(d, s.batch);
    const int64_t chunks = (s.batch + chunk - 1) / chunk, tasks = s.in_channels * chunks;
    std::vector<int64_t> gather(static_cast<size_t>(taps));
    for (int64_t t = 0; t < taps; ++t) gather[size_t(t)] = d.reach - d.offset[size_t(t)];
    const int64_t slot_size = depthwise_slot_size(s), threads = max_threads();  // one workspace slot per thread
#pragma omp parallel for num_threads(threads) schedule(static) if (s.batch * s.out_channels * z.out_plane * taps >= parallel_depthwise_macs)
    for (int64_t task = 0; task < tasks; ++task) {
        const int64_t c = task % s.in_channels, n0 = task / s.in_channels * chunk, count = std::min(chunk, s.batch - n0);
        T* __restrict grad = workspace + omp_thread() * slot_size;  // gradient of the chunk's P
        T* __restrict shifted = grad + chunk * d.padded;            // [reach + count padded]: zeros, dy_wide planes
        std::fill(shifted, shifted + d.reach, T(0));
        for (int64_t k = 0; k < z.out_per_group; ++k) {
            const int64_t o = c * z.out_per_group + k;
            widen_rows(shifted + d.reach, dy + (n0 * s.out_channels + o) * z.out_plane, count,
                       s.out_channels * z.out_plane, s, d);
            sum_taps(grad, count * d.padded, shifted, gather.data(), w + o * taps, taps, T(0), k > 0);
        }
        for (int64_t i = 0; i < count; ++i)
            d.phases.add_to(dx + ((n0 + i) * s.in_channels + c) * z.in_plane, grad + i * d.padded);
    }
}

// One task per output channel o (it alone writes dw[o]), over every image,
// a chunk at a time:
//   dw[o, i, j] += sum_q dy_wide[q] P[q + tap offset]
template <typename T>
void depthwise_backward_weight(T* dw, const T* dy, const T* x, const Conv2dShape& s, T* workspace) {
    const Sizes z = sizes_of(s);
    const DepthwisePlanes d = depthwise_planes(s);
    const int64_t taps = s.kernel_h * s.kernel_w, chunk = depthwise_chunk(d, s.batch);
    const int64_t slot_size = depthwise_slot_size(s), threads = max_threads();  // one workspace slot per thread
#pragma omp parallel for num_threads(threads) schedule(static) if (s.batch * s.out_channels * z.out_plane * taps >= parallel_depthwise_macs)
    for (int64_t o = 0; o < s.out_channels; ++o) {
        T* __restrict padded = workspace + omp_thread() * slot_size;
        T* __restrict wide = padded + chunk * d.padded;
        T* dwo = dw + o * taps;
        for (int64_t n0 = 0; n0 < s.batch; n0 += chunk) {
            const int64_t count = std::min(chunk, s.batch - n0), positions = (count - 1) * d.padded + d.flat;
            split_planes(padded, x + (n0 * s.in_channels + o / z.out_per_group) * z.in_plane, count,
                         s.in_channels * z.in_plane, d);
            widen_rows(wide, dy + (n0 * s.out_channels + o) * z.out_plane, count, s.out_channels * z.out_plane, s, d);
            if (taps == 9) {
                tap_dot_products<9>(dwo, positions, wide, padded, d.offset.data());
                continue;
            }
            for (int64_t t = 0; t < taps; ++t)
                tap_dot_products<1>(dwo + t, positions, wide, padded, &d.offset[size_t(t)]);
        }
    }
}

// ---- direct: float convolutions in SIMD vectors (kernels/cpu/simd.h), no im2col ----
// Every input plane is first split into its stride phases P_c (above; the
// depthwise trick). On the flat axis the convolution is, per output channel o,
//   Y_o[q] = sum_{c, t} w[o, c, t] P_c[q + offset_t],
// a sum of shifted contiguous vectors at any stride. The register tile is
// R output channels x V vectors of positions (V <= 3; R = 8 with AVX-512's
// 32 registers, 4 with AVX2's 16): each step (c, t) loads V input vectors
// once and broadcasts R weights, R V fused multiply-adds for R + V loads; the
// weights are read where they are (a pass says how to step through them).
// A vector holds consecutive positions q, or a row's outputs from its start,
// or two short rows (direct_tiling: whichever computes fewest positions that
// are not outputs). One task per (image, block of R output channels) walks
// the tiles; each tile is stored to a small buffer and its outputs copied
// (plus bias) into y, then the block's planes get the epilogue while in cache.
// Input gradient (stride 1): the same computation on dy padded by
// d (k - 1) - p, with the kernel flipped and its two channel axes swapped:
//   dx[c] += sum_{o, t} w[o, c, taps - 1 - t] Pdy_o[q + offset_t].
// Weight gradient: with dy on the flat axis too, transposed to
// dyT [q, C_out] (zeros in the extra columns),
//   dw[o, c, t] += sum_{n, q} P_c[q + offset_t] dyT[q, o],
// `lanes` output channels per vector: a task (1-4 vectors of output
// channels, 2 or 4 input channels, 3 taps of one kernel row) keeps 24
// accumulators (AVX-512; 12 with AVX2) over all positions, loading dyT
// vectors and broadcasting 6 or 12 input values per position (no loads split
// across cache lines, no sums across lanes). The images go in chunks whose
// padded inputs and dyT fit a core's L2.
constexpr int64_t lanes = simd::lanes;
// R output channels x V vectors of positions per register tile (V at most):
// 8 x 3 with 32 vector registers (AVX-512), 4 x 3 with 16 (AVX2): R V
// accumulators, V inputs and a broadcast weight fill the register file.
constexpr int64_t direct_rows = simd::registers == 32 ? 8 : 4;
constexpr int64_t direct_vectors = 3;
constexpr int64_t consecutive_columns[direct_vectors] = {0, lanes, 2 * lanes};  // a tile's vectors side by side
// A tiling of halves has at most 2 vectors, so twice as many rows: the same accumulators
constexpr int64_t direct_halves_rows = direct_rows * direct_vectors / 2;
constexpr int64_t direct_width = lanes * direct_vectors;
constexpr int64_t direct_slack = 2 * direct_width;  // zeros past the last plane that a tile may read

// One group, float, a kernel larger than 1x1, W_out >= 8 (>= 4 for a
// single image) and at least 64 (input channel, tap) steps per tile (27 for
// a single image). On smaller planes half of each AVX-512 vector (or of the
// positions of the weight gradient's rows of width Wq) would be padding, and
// with fewer steps (MobileNetV2's 3-channel 3x3 stem) a tile's store and
// copy outweigh its sums: the GEMM path was faster there at batch 8 and 32
// on two threads (0.47 vs 0.56 ms at batch 8: a direct pass this small runs
// on one thread, parallel_macs), while for one image the direct pass takes
// 0.074 ms where im2col + GEMM take 0.114 (docs/benchmarks.md). A
// single image's 4x4 planes (resnet18's layer4 at batch 1) still go direct:
// OpenBLAS packs the weights on every call, which one image cannot amortise
// (its packing took more time than its multiply), while the direct tile
// reads each weight once (resnet18 latency 7.2-8.6 -> 5.8-7.9 ms). The
// input gradient also needs stride 1 and padding the flipped convolution
// can mirror (p <= d (k - 1)).
// Then the policy (conv.h) decides.
std::atomic<ConvDirectPolicy> direct_policy{ConvDirectPolicy::automatic};

bool direct_applies(const Conv2dShape& s, Conv2dPass pass) {
    if (s.groups != 1 || s.out_w < (s.batch == 1 ? 4 : 8) || s.kernel_h * s.kernel_w == 1 ||
        s.in_channels * s.kernel_h * s.kernel_w < (s.batch == 1 ? 27 : 64))
        return false;
    if (pass == Conv2dPass::backward_input &&
        !(s.stride_h == 1 && s.stride_w == 1 && s.pad_h <= s.dilation_h * (s.kernel_h - 1) &&
          s.pad_w <= s.dilation_w * (s.kernel_w - 1)))
        return false;
    switch (direct_policy.load(std::memory_order_relaxed)) {
        case ConvDirectPolicy::direct: return true;
        case ConvDirectPolicy::gemm: return false;
        case ConvDirectPolicy::winograd:  // where Winograd does not apply
        case ConvDirectPolicy::winograd4:
        case ConvDirectPolicy::automatic: break;
    }
    return pass != Conv2dPass::backward_weight || simd::registers == 32;
}

// ---- depthwise across channels: float, `lanes` channels in each vector ----
// On small planes the depthwise loops above spend more on each plane's fixed
// costs (its phases, a call per tap, the stores) than on its sums: at batch
// 1, MobileNetV2's 8x8 and 4x4 layers ran at 1-4 GFLOP/s. Here a task takes
// `lanes` channels c0 + k of one image and interleaves them, channels last:
// the zero-padded planes P [Hp, Wp] (Hp = H + 2 p_h, Wp = W + 2 p_w) as
//   I[(u Wp + v) lanes + k] = P_{c0+k}[u, v],
// dy as dO[p lanes + k] = dy_{c0+k}[p]. Every tap t = (i, j) is then one
// vector multiply-add for all `lanes` channels at any stride and dilation;
// with at(oh, ow) = (oh s_h Wp + ow s_w) lanes and offset_t = (i d_h Wp + j d_w) lanes:
//   forward  O[p] = b + sum_t w_t I[at(p) + offset_t]         (p = oh W_out + ow; taps in row-major order)
//   input    dI[at(p) + offset_t] += w_t dO[p]                (the forward's gathers become scatters)
//   weight   dw_t += sum_{n, p} dO[p] I[at(p) + offset_t]     (per lane, summed over the images in order)
// O and dI are transposed back into the channels' planes. Channel multiplier
// 1 (C_out = C_in); the policy (conv.h) decides where: `automatic` leaves
// the forward of planes over 32x32 at stride 1 to the per-plane loops (I, O
// and the planes, 130 KiB each for a 64x64 plane, no longer stay in L1:
// MobileNetV2's first layer measured 1.30 vs 1.50 ms at batch 32, 0.041 vs
// 0.062 at batch 1), every other pass and shape measured faster here.
bool depthwise_across_channels_applies(const Conv2dShape& s, Conv2dPass pass) {
    if (s.groups != s.in_channels || s.out_channels != s.in_channels) return false;
    switch (direct_policy.load(std::memory_order_relaxed)) {
        case ConvDirectPolicy::gemm: return false;
        case ConvDirectPolicy::direct: return true;
        case ConvDirectPolicy::winograd:
        case ConvDirectPolicy::winograd4:
        case ConvDirectPolicy::automatic: break;
    }
    return !(pass == Conv2dPass::forward && s.stride_h * s.stride_w == 1 && s.out_h * s.out_w > 32 * 32);
}

// to[p lanes + k] = from[k plane + p] for p < positions and k < lanes (zeros for k >= count)
void to_lanes(float* to, const float* from, int64_t count, int64_t plane, int64_t positions) {
    for (int64_t p = 0; p < positions; p += lanes)
        simd::transpose_block(to + p * lanes, lanes, from + p, plane, count, std::min(lanes, positions - p));
}
// to[k pitch + p] = from[p lanes + k] for k < count and p < positions
// (nothing written past them: a last partial block goes through `tail`).
void from_lanes(float* to, int64_t pitch, const float* from, int64_t count, int64_t positions) {
    const int64_t whole = positions / lanes * lanes;
    for (int64_t p = 0; p < whole; p += lanes)
        simd::transpose_block(to + p, pitch, from + p * lanes, lanes, lanes, count);
    if (whole == positions) return;
    alignas(64) float tail[lanes * lanes];
    simd::transpose_block(tail, lanes, from + whole * lanes, lanes, positions - whole, count);
    for (int64_t k = 0; k < count; ++k) copy_row(to + k * pitch + whole, tail + k * lanes, positions - whole);
}

struct AcrossChannels {
    int64_t taps, blocks;                        // kH kW; channel blocks of `lanes`
    int64_t padded_h, padded_w;                  // Hp, Wp
    int64_t in_plane, out_plane, pitch;          // H W, L, a plane's rows in `planes`
    std::vector<int64_t> offset;                 // offset_t
    explicit AcrossChannels(const Conv2dShape& s)
        : taps(s.kernel_h * s.kernel_w), blocks((s.in_channels + lanes - 1) / lanes),
          padded_h(s.height + 2 * s.pad_h), padded_w(s.width + 2 * s.pad_w), in_plane(s.height * s.width),
          out_plane(s.out_h * s.out_w), pitch(std::max(in_plane, out_plane)) {
        for (int64_t i = 0; i < s.kernel_h; ++i)
            for (int64_t j = 0; j < s.kernel_w; ++j)
                offset.push_back((i * s.dilation_h * padded_w + j * s.dilation_w) * lanes);
    }
    int64_t interleaved() const { return padded_h * padded_w * lanes; }           // I or dI
    int64_t slot() const { return interleaved() + out_plane * lanes + lanes * std::max(pitch, taps) + (taps + 1) * lanes; }
    // The calling thread's slot of the workspace: I (or dI), then O (or dO),
    // then the planes (or dw's sums), then the block's weight vectors
    struct Slot {
        float* interleaved;
        float* positions;
        float* planes;
        float* weights;
    };
    Slot slot_of(float* workspace) const {
        float* first = workspace + omp_thread() * slot();
        float* planes = first + interleaved() + out_plane * lanes;
        return {first, first + interleaved(), planes, planes + lanes * std::max(pitch, taps)};
    }
    int64_t at(const Conv2dShape& s, int64_t oh, int64_t ow) const {
        return (oh * s.stride_h * padded_w + ow * s.stride_w) * lanes;
    }
};

// I from the planes of channels c0 .. c0 + count - 1 (x points at c0's): zeros in the border and in lanes >= count.
void interleave_planes(float* interleaved, const float* x, int64_t count, const Conv2dShape& s, const AcrossChannels& a) {
    const int64_t row = a.padded_w * lanes;
    zero_row(interleaved, s.pad_h * row);
    for (int64_t h = 0; h < s.height; ++h) {
        float* to = interleaved + (s.pad_h + h) * row;
        zero_row(to, s.pad_w * lanes);
        to_lanes(to + s.pad_w * lanes, x + h * s.width, count, a.in_plane, s.width);
        zero_row(to + (s.pad_w + s.width) * lanes, (a.padded_w - s.pad_w - s.width) * lanes);
    }
    zero_row(interleaved + (s.pad_h + s.height) * row, (a.padded_h - s.pad_h - s.height) * row);
}

// Block c0's weight vectors, to[t lanes + k] = w[c0 + k, t], then its bias
// vector (b may be null; zeros past the last channel).
float* weights_across_channels(float* to, const float* w, const float* b, int64_t c0, int64_t count, int64_t taps) {
    std::fill(to, to + (taps + 1) * lanes, 0.0f);
    for (int64_t k = 0; k < count; ++k) {
        for (int64_t t = 0; t < taps; ++t) to[t * lanes + k] = w[(c0 + k) * taps + t];
        to[taps * lanes + k] = b ? b[c0 + k] : 0.0f;
    }
    return to;
}

// A block's weight vectors (weights_across_channels' layout): held in
// registers when Taps is known, else loaded at each use.
template <int Taps>
struct TapWeights {
    const float* weight;
    simd::vec held[Taps > 0 ? Taps : 1];
    explicit TapWeights(const float* block) : weight(block) {
        if constexpr (Taps > 0)
            for (int t = 0; t < Taps; ++t) held[t] = simd::load(weight + t * lanes);
    }
    simd::vec operator[](int64_t t) const {
        if constexpr (Taps > 0) return held[t];
        return simd::load(weight + t * lanes);
    }
};

// The three passes' loops over output positions, for Taps taps known when
// compiled (a 3x3 kernel's nine vectors stay in registers) or, Taps = 0, a.taps.
template <int Taps, typename Finish>
void forward_across_channels(float* __restrict out, const float* __restrict interleaved, const float* weight,
                             const Conv2dShape& s, const AcrossChannels& a, const Finish& finish) {
    const int64_t taps = Taps > 0 ? Taps : a.taps;
    const TapWeights<Taps> w(weight);
    const simd::vec bias = simd::load(weight + taps * lanes);
    for (int64_t oh = 0; oh < s.out_h; ++oh)
        for (int64_t ow = 0; ow < s.out_w; ++ow) {
            const float* in = interleaved + a.at(s, oh, ow);
            simd::vec sum = bias;
            for (int64_t t = 0; t < taps; ++t) sum = simd::fma(w[t], simd::load(in + a.offset[t]), sum);
            simd::store(out + (oh * s.out_w + ow) * lanes, finish(sum));
        }
}
template <int Taps>
void input_gradient_across_channels(float* __restrict grad, const float* __restrict dout, const float* weight,
                                    const Conv2dShape& s, const AcrossChannels& a) {
    const int64_t taps = Taps > 0 ? Taps : a.taps;
    const TapWeights<Taps> w(weight);
    for (int64_t oh = 0; oh < s.out_h; ++oh)
        for (int64_t ow = 0; ow < s.out_w; ++ow) {
            float* to = grad + a.at(s, oh, ow);
            const simd::vec g = simd::load(dout + (oh * s.out_w + ow) * lanes);
            for (int64_t t = 0; t < taps; ++t)
                simd::store(to + a.offset[t], simd::fma(w[t], g, simd::load(to + a.offset[t])));
        }
}
template <int Taps>
void weight_gradient_across_channels(float* sums, const float* __restrict dout, const float* __restrict interleaved,
                                     const Conv2dShape& s, const AcrossChannels& a) {
    const int64_t taps = Taps > 0 ? Taps : a.taps;
    for (int64_t t0 = 0; t0 < taps; t0 += 9) {  // nine accumulators at a time
        const int64_t count = Taps > 0 ? Taps : std::min<int64_t>(9, taps - t0);
        simd::vec acc[9];
        for (int64_t t = 0; t < count; ++t) acc[t] = simd::load(sums + (t0 + t) * lanes);
        for (int64_t oh = 0; oh < s.out_h; ++oh)
            for (int64_t ow = 0; ow < s.out_w; ++ow) {
                const float* in = interleaved + a.at(s, oh, ow);
                const simd::vec g = simd::load(dout + (oh * s.out_w + ow) * lanes);
                for (int64_t t = 0; t < count; ++t) acc[t] = simd::fma(g, simd::load(in + a.offset[t0 + t]), acc[t]);
            }
        for (int64_t t = 0; t < count; ++t) simd::store(sums + (t0 + t) * lanes, acc[t]);
    }
}

// Runs fn(std::integral_constant<int, Taps>) with Taps = 9 for a 3x3 kernel, else 0.
template <typename Fn>
void with_taps(int64_t taps, Fn&& fn) {
    if (taps == 9) return fn(std::integral_constant<int, 9>{});
    fn(std::integral_constant<int, 0>{});
}

bool parallel_across_channels(const Conv2dShape& s) {
    return s.batch * s.out_channels * s.out_h * s.out_w * s.kernel_h * s.kernel_w >= parallel_depthwise_macs;
}

// The epilogue in lanes: act(v scale_k + shift_k) with lane k channel
// c0 + k's scale and shift (batch_norm's formula on vectors, as the
// forward stores each position of O; none without an epilogue).
template <math::BatchNormActivation A>
struct LanesFinish {
    bool epilogue;
    simd::vec scale, shift;
    LanesFinish(const math::BatchNormEpilogue<float>& e, int64_t c0, int64_t count) : epilogue(bool(e)) {
        alignas(64) float scales[lanes] = {}, shifts[lanes] = {};
        for (int64_t k = 0; k < count && epilogue; ++k) {
            const math::BatchNormAffine<float> affine = math::batch_norm_affine(e.mean, e.rstd, e.weight, e.bias, c0 + k);
            scales[k] = affine.scale, shifts[k] = affine.shift;
        }
        scale = simd::load(scales), shift = simd::load(shifts);
    }
    simd::vec operator()(simd::vec v) const { return epilogue ? math::batch_norm_output(A, v, scale, shift) : v; }
};

// One task per (image, block of channels).
void depthwise_across_channels_forward(float* y, const float* x, const float* w, const float* b,
                                       const Conv2dShape& s, float* workspace,
                                       const math::BatchNormEpilogue<float>& epilogue) {
    const AcrossChannels a(s);
#pragma omp parallel for num_threads(max_threads()) schedule(static) if (parallel_across_channels(s))
    for (int64_t task = 0; task < s.batch * a.blocks; ++task) {
        const int64_t n = task / a.blocks, block = task % a.blocks, c0 = block * lanes;
        const int64_t count = std::min(lanes, s.in_channels - c0);
        const AcrossChannels::Slot slot = a.slot_of(workspace);  // I, O, the weights
        const float* weight = weights_across_channels(slot.weights, w, b, c0, count, a.taps);
        interleave_planes(slot.interleaved, x + (n * s.in_channels + c0) * a.in_plane, count, s, a);
        with_activation(epilogue.activation, [&](auto activation) {
            const LanesFinish<activation.value> finish(epilogue, c0, count);
            with_taps(a.taps, [&](auto taps) {
                forward_across_channels<taps.value>(slot.positions, slot.interleaved, weight, s, a, finish);
            });
        });
        from_lanes(y + (n * s.out_channels + c0) * a.out_plane, a.out_plane, slot.positions, count, a.out_plane);
    }
}

// One task per (image, block of channels): dI from zeros, its interior added into dx.
void depthwise_across_channels_backward_input(float* dx, const float* dy, const float* w, const Conv2dShape& s,
                                              float* workspace) {
    const AcrossChannels a(s);
#pragma omp parallel for num_threads(max_threads()) schedule(static) if (parallel_across_channels(s))
    for (int64_t task = 0; task < s.batch * a.blocks; ++task) {
        const int64_t n = task / a.blocks, block = task % a.blocks, c0 = block * lanes;
        const int64_t count = std::min(lanes, s.in_channels - c0);
        const AcrossChannels::Slot slot = a.slot_of(workspace);  // dI, dO, the planes, the weights
        const float* weight = weights_across_channels(slot.weights, w, nullptr, c0, count, a.taps);
        zero_row(slot.interleaved, a.interleaved());
        to_lanes(slot.positions, dy + (n * s.out_channels + c0) * a.out_plane, count, a.out_plane, a.out_plane);
        with_taps(a.taps, [&](auto taps) {
            input_gradient_across_channels<decltype(taps)::value>(slot.interleaved, slot.positions, weight, s, a);
        });
        for (int64_t h = 0; h < s.height; ++h)  // the rows of dI inside the padding
            from_lanes(slot.planes + h * s.width, a.pitch,
                       slot.interleaved + ((s.pad_h + h) * a.padded_w + s.pad_w) * lanes, count, s.width);
        for (int64_t k = 0; k < count; ++k) {
            float* to = dx + (n * s.in_channels + c0 + k) * a.in_plane;
            const float* from = slot.planes + k * a.pitch;
            for (int64_t l = 0; l < a.in_plane; ++l) to[l] += from[l];
        }
    }
}

// One task per block of channels (it alone writes their dw), over the images in order.
void depthwise_across_channels_backward_weight(float* dw, const float* dy, const float* x, const Conv2dShape& s,
                                               float* workspace) {
    const AcrossChannels a(s);
#pragma omp parallel for num_threads(max_threads()) schedule(static) if (parallel_across_channels(s))
    for (int64_t block = 0; block < a.blocks; ++block) {
        const int64_t c0 = block * lanes, count = std::min(lanes, s.in_channels - c0);
        const AcrossChannels::Slot slot = a.slot_of(workspace);  // I, dO, the sums [taps][lanes]
        float* sums = slot.planes;
        zero_row(sums, a.taps * lanes);
        for (int64_t n = 0; n < s.batch; ++n) {
            interleave_planes(slot.interleaved, x + (n * s.in_channels + c0) * a.in_plane, count, s, a);
            to_lanes(slot.positions, dy + (n * s.out_channels + c0) * a.out_plane, count, a.out_plane, a.out_plane);
            with_taps(a.taps, [&](auto taps) {
                weight_gradient_across_channels<decltype(taps)::value>(sums, slot.positions, slot.interleaved, s, a);
            });
        }
        for (int64_t k = 0; k < count; ++k)
            for (int64_t t = 0; t < a.taps; ++t) dw[(c0 + k) * a.taps + t] += sums[t * lanes + k];
    }
}

// One direct pass: `channels` planes of [height, width] in (split into
// phases), `outputs` planes of [out_h, out_w] out, and where the weight
// of (output r, channel c, tap t) is: weights[r row + c channel + t tap]
// (tap may be negative: the flipped kernel).
struct DirectPass {
    int64_t batch, channels, height, width, outputs, out_h, out_w;
    int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
    int64_t weight_row, weight_channel, weight_tap, weight_first;  // strides, and the offset of (0, 0, 0)
    bool paired = false;  // the planes in PairedRows' layout (tiles of halves: direct_tiles_pass)
    Phases phases() const { return {height, width, pad_h, pad_w, stride_h, stride_w}; }
    PairedRows paired_rows() const { return {phases(), dilation_w * (kernel_w - 1) / stride_w + 1}; }
    int64_t phase_w() const { return phases().columns(); }  // Wq
    int64_t plane() const { return paired ? paired_rows().size() : phases().size(); }  // one channel's
    int64_t taps() const { return kernel_h * kernel_w; }
    int64_t flat() const { return (out_h - 1) * phase_w() + out_w; }  // positions q up to the last output
    int64_t positions() const { return out_h * phase_w(); }           // whole rows of width Wq
    int64_t outputs_padded() const { return (outputs + lanes - 1) / lanes * lanes; }
    int64_t transposed_gradient() const { return positions() * outputs_padded(); }  // dyT of one image
    int64_t padded_inputs() const { return (batch * channels * plane() + lanes - 1) / lanes * lanes + direct_slack; }  // whole vectors
    // In P_c (or Z_c): where tap t reads for q = 0.
    std::vector<int64_t> offsets() const {
        return paired ? paired_rows().offsets(kernel_h, kernel_w, dilation_h, dilation_w)
                      : phases().offsets(kernel_h, kernel_w, dilation_h, dilation_w);
    }
    // the vectors of direct_tiling's flat and by-rows tilings
    int64_t flat_vectors() const { return (flat() + lanes - 1) / lanes; }
    int64_t row_vectors() const { return out_h * ((out_w + lanes - 1) / lanes); }
    // direct_tiling's halves: two output rows per vector, where that takes fewer vectors than flat or by rows
    bool halves() const { return 2 * out_w <= lanes && (out_h + 1) / 2 < std::min(flat_vectors(), row_vectors()); }
};

// Enough multiply-adds for a second thread to pay.
bool direct_parallel(const DirectPass& d) {
    return d.batch * d.outputs * d.channels * d.taps() * d.flat() >= parallel_macs;
}

DirectPass direct_forward_pass(const Conv2dShape& s) {
    const int64_t taps = s.kernel_h * s.kernel_w;
    return {s.batch,      s.in_channels, s.height,  s.width,  s.out_channels, s.out_h,      s.out_w,
            s.kernel_h,   s.kernel_w,    s.stride_h, s.stride_w, s.pad_h,     s.pad_w,      s.dilation_h,
            s.dilation_w, s.in_channels * taps, taps, 1, 0};
}
// dx from dy (stride 1): the output's padding mirrored, the two channel axes
// swapped, the kernel flipped (tap t reads w[o, c, taps - 1 - t])
DirectPass direct_backward_input_pass(const Conv2dShape& s) {
    const int64_t taps = s.kernel_h * s.kernel_w;
    return {s.batch,      s.out_channels, s.out_h,   s.out_w,   s.in_channels, s.height, s.width,
            s.kernel_h,   s.kernel_w,     1,         1,         s.dilation_h * (s.kernel_h - 1) - s.pad_h,
            s.dilation_w * (s.kernel_w - 1) - s.pad_w, s.dilation_h, s.dilation_w, taps, s.in_channels * taps, -1,
            taps - 1};
}

// P: every plane of x [N, C, H, W] split into phases, then zeros. The direct passes call it (and direct_planes) inside one parallel
// region: its loop is shared among the team, ending at a barrier (a region
// per step costs a wake-up of the sleeping threads each time).
void pad_direct_inputs(float* padded, const float* x, const DirectPass& d, float* split_slots = nullptr) {
    const Phases phases = d.phases();
    const int64_t planes = d.batch * d.channels, plane = d.plane();
    if (omp_thread() == 0) std::fill(padded + planes * plane, padded + planes * plane + direct_slack, 0.0f);
    if (d.paired) {  // split into this thread's slot of `split_slots` (phases().size() each), then arranged
        const PairedRows paired = d.paired_rows();
        float* split = split_slots + omp_thread() * phases.size();
#pragma omp for schedule(static)
        for (int64_t p = 0; p < planes; ++p) {
            phases.split(split, x + p * d.height * d.width);
            paired.arrange(padded + p * plane, split);
        }
        return;
    }
#pragma omp for schedule(static)
    for (int64_t p = 0; p < planes; ++p) phases.split(padded + p * plane, x + p * d.height * d.width);
}

// What a register tile's row r gets on its way out: nothing (KeepValues),
// or the forward's bias and epilogue (RowsFinish).
struct KeepValues {
    simd::vec operator()(int64_t, simd::vec v) const { return v; }
};
// act((v + b) scale + shift) for output channels k0 .. k0 + rows - 1:
// batch_norm's formula on vectors, applied as a tile is stored (not in a
// pass over the block's planes afterwards). Rows past `rows` (a spare
// block's zero rows, never copied out) keep their values.
template <math::BatchNormActivation A>
struct RowsFinish {
    static constexpr int64_t most_rows = std::max(direct_rows, direct_halves_rows);  // any register tile's
    bool bias = false, epilogue = false;
    simd::vec add[most_rows], scale[most_rows], shift[most_rows];
    RowsFinish(const float* b, const math::BatchNormEpilogue<float>& e, int64_t k0, int64_t rows)
        : bias(b != nullptr), epilogue(bool(e)) {
        for (int64_t r = 0; r < most_rows; ++r) {
            const bool real = r < rows;
            add[r] = simd::broadcast(bias && real ? b[k0 + r] : 0.0f);
            const math::BatchNormAffine<float> affine =
                epilogue && real ? math::batch_norm_affine(e.mean, e.rstd, e.weight, e.bias, k0 + r)
                                 : math::BatchNormAffine<float>{1.0f, 0.0f};
            scale[r] = simd::broadcast(affine.scale), shift[r] = simd::broadcast(affine.shift);
        }
    }
    simd::vec operator()(int64_t r, simd::vec v) const {
        if (bias) v = v + add[r];
        if (epilogue) v = math::batch_norm_output(A, v, scale[r], shift[r]);
        return v;
    }
};

// The register tile of direct_tile and product_tile: R rows x V vectors
// of accumulators, zero at first.
template <int V, int64_t R = direct_rows>
struct RegisterTile {
    simd::vec acc[R][V] = {};
    // acc[r][v] += weight[r row] x[v]: R broadcasts
    void multiply(const simd::vec (&x)[V], const float* weight, int64_t row) {
#pragma GCC unroll 12
        for (int r = 0; r < int(R); ++r) {
            const simd::vec w = simd::broadcast(weight[r * row]);
#pragma GCC unroll 3
            for (int v = 0; v < V; ++v) acc[r][v] = simd::fma(w, x[v], acc[r][v]);
        }
    }
    // acc[r][v] += weight[r row] in[lanes v]: V loads, kept in registers, and R broadcasts
    void step(const float* in, const float* weight, int64_t row) {
        simd::vec x[V];
#pragma GCC unroll 3
        for (int v = 0; v < V; ++v) simd::load_into_register(x[v], in + lanes * v);
        multiply(x, weight, row);
    }
    // out[r pitch + lanes v + l] = finish(r, acc[r][v])[l]
    template <typename Finish = KeepValues>
    void store(float* out, int64_t pitch, const Finish& finish = {}) const {
        store_at(out, pitch, consecutive_columns, finish);
    }
    // out[r pitch + column[v] + l] = finish(r, acc[r][v])[l]
    template <typename Finish>
    void store_at(float* out, int64_t pitch, const int64_t* column, const Finish& finish) const {
#pragma GCC unroll 12
        for (int r = 0; r < int(R); ++r)
#pragma GCC unroll 3
            for (int v = 0; v < V; ++v) simd::store(out + r * pitch + column[v], finish(r, acc[r][v]));
    }
};

// How direct_planes covers a plane's outputs with vectors. Vector v of a
// tile reads P_c (Z_c for halves) at low[v] + offset_t, and its lanes land
// in the output plane in segments. Three ways; direct_tiling takes the one
// with the fewest vectors:
//   flat:   consecutive positions q = oh Wq + ow, so each row's Wq - W_out
//           extra columns are computed and dropped (none when Wq = W_out);
//   rows:   each output row from its start in ceil(W_out / lanes) vectors,
//           only the last one's tail dropped (none when lanes divides W_out);
//   halves: two output rows of W_out <= lanes / 2 per vector, from the
//           planes in PairedRows' layout (DirectPass::paired).
// resnet18's 8x8 planes at stride 1 (Wq = 10, AVX2): 10 vectors flat, 8 by
// rows; its 4x4 planes (Wq = 6): 3 flat, 2 in halves.
struct DirectSegment {
    int64_t lane, index, count;  // tile columns [lane, lane + count) -> the plane's outputs [index, index + count)
};
// how a tile loads its vectors: from one place (flat, one row, or rows of
// halves), or from one place each
enum class DirectLoads { consecutive, separate };
struct DirectTile {
    int vectors = 0;
    DirectLoads loads = DirectLoads::consecutive;
    int64_t low[direct_vectors] = {};
    int64_t first_segment = 0, segments = 0;
    bool whole = false;                    // every vector lands whole in the output plane,
    int64_t output[direct_vectors] = {};  // vector v at output[v]
};
struct DirectTiling {
    int64_t rows = direct_rows;  // output channels per tile: direct_halves_rows for halves
    std::vector<DirectTile> tiles;
    std::vector<DirectSegment> segments;
};

DirectTiling direct_tiling(const DirectPass& d) {
    const int64_t wq = d.phase_w(), flat = d.flat(), per_row = (d.out_w + lanes - 1) / lanes;
    const int64_t flat_vectors = d.flat_vectors(), row_vectors = d.row_vectors();
    const bool halves = d.paired;  // (then d.halves())
    const bool rows = !halves && row_vectors < flat_vectors;
    const int64_t vectors = halves ? (d.out_h + 1) / 2 : rows ? row_vectors : flat_vectors;
    DirectTiling tiling;
    if (halves) tiling.rows = direct_halves_rows;
    const int64_t per_tile = halves ? 2 : direct_vectors;
    for (int64_t i = 0; i < vectors; ++i) {
        if (i % per_tile == 0) {
            tiling.tiles.push_back({});
            tiling.tiles.back().first_segment = int64_t(tiling.segments.size());
        }
        DirectTile& tile = tiling.tiles.back();
        const int64_t v = tile.vectors++, lane = v * lanes;
        auto segment = [&](int64_t at, int64_t index, int64_t count) {
            DirectSegment* last = tile.segments ? &tiling.segments.back() : nullptr;
            if (last && last->lane + last->count == at && last->index + last->count == index)
                last->count += count;  // it goes on where the last one ended
            else
                tiling.segments.push_back({at, index, count}), ++tile.segments;
        };
        if (halves) {  // rows 2i and 2i + 1 of Z (a last odd row's second half reads one row past, dropped)
            const int64_t oh = 2 * i;
            tile.low[v] = oh * PairedRows::half;
            segment(lane, oh * d.out_w, d.out_w);
            if (oh + 1 < d.out_h) segment(lane + PairedRows::half, (oh + 1) * d.out_w, d.out_w);
        } else if (rows) {
            const int64_t oh = i / per_row, ow = i % per_row * lanes;
            tile.low[v] = oh * wq + ow;
            segment(lane, oh * d.out_w + ow, std::min(lanes, d.out_w - ow));
        } else {  // the valid columns of positions [q0, q0 + lanes), row by row
            const int64_t q0 = i * lanes, q1 = std::min(flat, q0 + lanes);
            tile.low[v] = q0;
            for (int64_t q = q0; q < q1;) {
                const int64_t oh = q / wq, ow = q % wq, end = std::min(q1 - q, wq - ow);
                if (ow < d.out_w) segment(lane + q - q0, oh * d.out_w + ow, std::min(end, d.out_w - ow));
                q += end;
            }
        }
    }
    for (DirectTile& tile : tiling.tiles) {
        for (int v = 1; v < tile.vectors; ++v)
            if (tile.low[v] != tile.low[0] + v * lanes) tile.loads = DirectLoads::separate;
        tile.whole = true;  // segments that start and end at vector boundaries and cover every vector
        int64_t covered = 0;
        for (int64_t k = tile.first_segment; k < tile.first_segment + tile.segments; ++k) {
            const DirectSegment& segment = tiling.segments[size_t(k)];
            tile.whole = tile.whole && segment.lane % lanes == 0 && segment.count % lanes == 0;
            for (int64_t l = 0; l < segment.count && tile.whole; l += lanes)
                tile.output[(segment.lane + l) / lanes] = segment.index + l;
            covered += segment.count;
        }
        tile.whole = tile.whole && covered == tile.vectors * lanes;
    }
    return tiling;
}

// out[r pitch + column[v] + l] = sum_{c, t} weight(r, c, t) P_c[low[v] + offset[t] + l]:
// R x V accumulators in registers over all (c, t), stored into the tile
// buffer or, when each vector lands whole in the output plane, there. Not
// inlined: inside direct_planes' task loop every direct layer ran 15-40 %
// slower (batch 1, one thread).
template <int64_t R, int V, DirectLoads Loads, typename Finish>
[[gnu::noinline]] void direct_tile(float* __restrict out, int64_t pitch, const int64_t* column, const float* in,
                                   const DirectTile& at, const float* weights, const DirectPass& d, const int64_t* offset,
                                   const Finish& finish) {
    const int64_t plane = d.plane(), taps = d.taps();
    const float* low[V];  // one base pointer per vector, the same index for all of them
    for (int v = 0; v < V; ++v) low[v] = in + at.low[v];
    RegisterTile<V, R> sums;
    for (int64_t c = 0; c < d.channels; ++c) {
        const float* wc = weights + c * d.weight_channel;
        for (int64_t t = 0; t < taps; ++t) {
            const int64_t k = c * plane + offset[t];
            simd::vec x[V];
#pragma GCC unroll 3
            for (int v = 0; v < V; ++v) {
                if constexpr (Loads == DirectLoads::separate) x[v] = simd::load(low[v] + k);
                else x[v] = simd::load(low[0] + k + lanes * v);
                simd::keep_in_register(x[v]);
            }
            sums.multiply(x, wc + t * d.weight_tap, d.weight_row);
        }
    }
    sums.store_at(out, pitch, column, finish);
}

// out[r pitch + q] = sum_{c < depth} a[r lda + c] b[c ldb + q] for r < R and
// q < lanes V: a matrix product in the same register tile (each step V loads
// of b and R broadcasts of a).
template <int V, typename Finish = KeepValues>
void product_tile(float* __restrict out, int64_t pitch, const float* a, int64_t lda, const float* b, int64_t ldb,
                  int64_t depth, const Finish& finish = {}) {
    RegisterTile<V> sums;
    for (int64_t c = 0; c < depth; ++c) sums.step(b + c * ldb, a + c, lda);
    sums.store(out, pitch, finish);
}

// product_tile over `count` columns from q = 0, the widest tiles first,
// but four vectors left as two tiles of 2 (a 1-vector tile has half the
// multiply-adds per broadcast: resnet18's layer2 at batch 1, Winograd
// blocks of 4 vectors, spent 3 % of the net's time in its 3 + 1 tiles)
void product_rows(float* out, int64_t pitch, int64_t count, const float* a, int64_t lda, const float* b, int64_t ldb,
                  int64_t depth) {
    for (int64_t q0 = 0; q0 < count;) {
        const int64_t left = (count - q0 + lanes - 1) / lanes;
        const int64_t vectors = left == 4 ? 2 : std::min<int64_t>(direct_vectors, left);
        if (vectors == 3) product_tile<3>(out + q0, pitch, a, lda, b + q0, ldb, depth);
        else if (vectors == 2) product_tile<2>(out + q0, pitch, a, lda, b + q0, ldb, depth);
        else product_tile<1>(out + q0, pitch, a, lda, b + q0, ldb, depth);
        q0 += vectors * lanes;
    }
}

// A core's L2 in bytes (1 MiB when the system does not say).
int64_t l2_bytes() {
    static const int64_t bytes = [] {
        const long size = sysconf(_SC_LEVEL2_CACHE_SIZE);
        return size > 0 ? int64_t(size) : int64_t(1) << 20;
    }();
    return bytes;
}

// ---- pointwise (1x1, stride 1) forward in product_tile's register tiles ----
//   y_n [K, L] = W [K, C] x_n [C, L]   (+ b, then the epilogue)
// R output channels x V vectors of positions per tile, the weights
// broadcast from where they are. OpenBLAS packs all of W on every call;
// at batch 1 a late MobileNetV2 layer's W (480 x 80 at width 0.5) is ten
// times its input, and packing cost about what the product did. One task
// per (image, block of R output channels); a last partial block reads its
// weights from `spare` (R x C, zero rows past K). Positions in whole
// vectors: L a multiple of `lanes`, which the policy checks. `automatic`
// takes it for one image whose x_n fits a quarter of L2 (each block of R
// output channels reads all of it): MobileNetV2's batch-1 pointwise layers
// 0.556 -> 0.404 ms in all (best of 4, one thread), the 32x32 ones level
// or slower. At batch 32 OpenBLAS, which can amortise its packing and
// blocks several images at a time, won on about half the layers.
bool pointwise_tiles_apply(const Conv2dShape& s) {
    if (conv2d_algorithm(s) != Conv2dAlgorithm::pointwise || s.groups != 1 || s.out_h * s.out_w % lanes != 0)
        return false;
    switch (direct_policy.load(std::memory_order_relaxed)) {
        case ConvDirectPolicy::gemm: return false;
        case ConvDirectPolicy::direct: return true;
        case ConvDirectPolicy::winograd:
        case ConvDirectPolicy::winograd4:
        case ConvDirectPolicy::automatic: break;
    }
    return s.batch == 1 && s.in_channels * s.out_h * s.out_w * int64_t(sizeof(float)) <= l2_bytes() / 4;
}

void pointwise_tiles_forward(float* y, const float* x, const float* w, const float* b, const Conv2dShape& s,
                             float* spare, const math::BatchNormEpilogue<float>& epilogue) {
    const int64_t K = s.out_channels, C = s.in_channels, L = s.out_h * s.out_w;
    const int64_t blocks = (K + direct_rows - 1) / direct_rows, full = K / direct_rows;
    for (int64_t r = 0; r < direct_rows && full < blocks; ++r)
        for (int64_t c = 0; c < C; ++c) spare[r * C + c] = full * direct_rows + r < K ? w[(full * direct_rows + r) * C + c] : 0.0f;
    with_activation(epilogue.activation, [&](auto activation) {
#pragma omp parallel for num_threads(max_threads()) schedule(static) if (s.batch * K * C * L >= parallel_macs)
        for (int64_t task = 0; task < s.batch * blocks; ++task) {
            const int64_t n = task / blocks, block = task % blocks, k0 = block * direct_rows;
            const int64_t rows = std::min(direct_rows, K - k0);
            const float* weights = block < full ? w + k0 * C : spare;
            const float* in = x + n * C * L;
            float* out = y + (n * K + k0) * L;
            const RowsFinish<decltype(activation)::value> finish(b, epilogue, k0, rows);
            alignas(64) float tile[direct_rows * direct_width];
            for (int64_t q0 = 0; q0 < L; q0 += direct_width) {
                const int64_t vectors = std::min<int64_t>(direct_vectors, (L - q0) / lanes);
                float* to = rows == direct_rows ? out + q0 : tile;
                const int64_t pitch = rows == direct_rows ? L : direct_width;
                if (vectors == 3) product_tile<3>(to, pitch, weights, C, in + q0, L, C, finish);
                else if (vectors == 2) product_tile<2>(to, pitch, weights, C, in + q0, L, C, finish);
                else product_tile<1>(to, pitch, weights, C, in + q0, L, C, finish);
                for (int64_t r = 0; r < rows && to == tile; ++r)
                    copy_row(out + r * L + q0, tile + r * direct_width, vectors * lanes);
            }
        }
    });
}

// sums[k][v] (k = (channel c < CB, tap j < 3) of 3 taps of one kernel row,
// `lanes` output channels per vector v) = sum_{n, q} P_c[n][q + offset_j] dyT[n][q][lanes v..]:
// 3 CB V accumulators (24 with AVX-512, 12 with AVX2); each position loads V
// vectors of dy^T and broadcasts 3 CB input values (no loads split across
// cache lines, no sums across lanes).
template <int CB, int V>
void direct_weight_tile(float* __restrict sums, const float* dy_t, int64_t outputs_padded, const float* in,
                        const DirectPass& d, int64_t positions, const int64_t* tap_offset) {
    constexpr int K = 3 * CB;
    simd::vec acc[K][V];
#pragma GCC unroll 12
    for (int k = 0; k < K; ++k)
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v) acc[k][v] = simd::zero();
    const int64_t plane = d.plane(), in_image = d.channels * plane;
    const int64_t offset[3] = {tap_offset[0], tap_offset[1], tap_offset[2]};
    for (int64_t n = 0; n < d.batch; ++n) {
        const float* p = in + n * in_image;
        const float* g = dy_t + n * positions * outputs_padded;
        for (int64_t q = 0; q < positions; ++q) {
            simd::vec grad[V];
#pragma GCC unroll 4
            for (int v = 0; v < V; ++v) grad[v] = simd::load(g + q * outputs_padded + lanes * v);
#pragma GCC unroll 12
            for (int k = 0; k < K; ++k) {
                const simd::vec x = simd::broadcast(p[(k / 3) * plane + q + offset[k % 3]]);
#pragma GCC unroll 4
                for (int v = 0; v < V; ++v) acc[k][v] = simd::fma(x, grad[v], acc[k][v]);
            }
        }
    }
#pragma GCC unroll 12
    for (int k = 0; k < K; ++k)
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v) simd::store(sums + (k * V + v) * lanes, acc[k][v]);
}

// The weight-gradient tile of `channels` (2 or 4) input channels and
// `vectors` vectors of output channels, within the register budget.
constexpr int weight_accumulators = simd::registers == 32 ? 24 : 12;
void direct_weight_block(int64_t channels, int64_t vectors, float* sums, const float* dy_t, int64_t outputs_padded,
                         const float* in, const DirectPass& d, int64_t positions, const int64_t* tap_offset) {
    auto run = [&]<int CB, int V>() { direct_weight_tile<CB, V>(sums, dy_t, outputs_padded, in, d, positions, tap_offset); };
    if constexpr (weight_accumulators == 24) {  // 2 x 1..4 or 4 x 1..2 (x 16 lanes)
        if (channels == 4) return vectors == 2 ? run.operator()<4, 2>() : run.operator()<4, 1>();
        if (vectors == 4) return run.operator()<2, 4>();
        if (vectors == 3) return run.operator()<2, 3>();
        return vectors == 2 ? run.operator()<2, 2>() : run.operator()<2, 1>();
    } else {  // 2 x 1..2 or 4 x 1 (x 8 lanes)
        if (channels == 4) return run.operator()<4, 1>();
        return vectors == 2 ? run.operator()<2, 2>() : run.operator()<2, 1>();
    }
}

// y (or dx with accumulate) [N, outputs, out_h, out_w] from the padded
// inputs: one task per (image, block of R outputs), shared among the team.
// Each value is the tile's sum, its bias and epilogue applied as the tile is
// stored (RowsFinish), or the sum added to y. A partial last block reads
// its weights from `spare`, a zero-padded copy of them with rows R apart.
void direct_planes(float* y, const float* padded, const float* w, const float* bias, const DirectPass& d,
                   bool accumulate, float* spare, const math::BatchNormEpilogue<float>& epilogue) {
    const int64_t taps = d.taps();
    const int64_t out_plane = d.out_h * d.out_w;
    const std::vector<int64_t> offset = d.offsets();
    const DirectTiling tiling = direct_tiling(d);
    const int64_t R = tiling.rows, blocks = (d.outputs + R - 1) / R, full = d.outputs / R;
    // the spare block: weight (r, c, t) at spare[r + (c taps + t) R]
    DirectPass spare_pass = d;
    spare_pass.weight_row = 1, spare_pass.weight_channel = taps * R, spare_pass.weight_tap = R;
#pragma omp single
    if (full < blocks)
        for (int64_t r = 0; r < R; ++r)
            for (int64_t c = 0; c < d.channels; ++c)
                for (int64_t t = 0; t < taps; ++t) {
                    const int64_t o = full * R + r;
                    spare[(c * taps + t) * R + r] =
                        o < d.outputs ? w[d.weight_first + o * d.weight_row + c * d.weight_channel + t * d.weight_tap]
                                      : 0.0f;
                }
    const int64_t* tap_offset = offset.data();
    const int64_t tasks = d.batch * blocks;
#pragma omp for schedule(static)
    for (int64_t task = 0; task < tasks; ++task) {
        const int64_t n = task / blocks, block = task % blocks;
        const int64_t o0 = block * R, rows = std::min(R, d.outputs - o0);
        const DirectPass& pass = block < full ? d : spare_pass;
        const float* weights = block < full ? w + d.weight_first + o0 * d.weight_row : spare;
        const float* in = padded + n * d.channels * d.plane();
        float* out = y + (n * d.outputs + o0) * out_plane;
        // the block's tiles, `finish` what their rows get on their way out
        const auto tiles = [&](const auto& finish) {
            alignas(64) float tile[direct_halves_rows * direct_width];
            for (const DirectTile& at : tiling.tiles) {
                // straight into y when the tile's vectors land whole there (a full block, not accumulating)
                const bool into_y = at.whole && rows == R && !accumulate;
                auto run = [&]<int64_t Rows, int V, DirectLoads Loads>() {
                    if (into_y) direct_tile<Rows, V, Loads>(out, out_plane, at.output, in, at, weights, pass, tap_offset, finish);
                    else direct_tile<Rows, V, Loads>(tile, direct_width, consecutive_columns, in, at, weights, pass, tap_offset, finish);
                };
                using enum DirectLoads;
                if (d.paired) {  // tiles of halves: 1 or 2 vectors
                    if (at.vectors == 2) run.template operator()<direct_halves_rows, 2, consecutive>();
                    else run.template operator()<direct_halves_rows, 1, consecutive>();
                } else if (at.vectors == 3) {
                    if (at.loads == consecutive) run.template operator()<direct_rows, 3, consecutive>();
                    else run.template operator()<direct_rows, 3, separate>();
                } else if (at.vectors == 2) {
                    if (at.loads == consecutive) run.template operator()<direct_rows, 2, consecutive>();
                    else run.template operator()<direct_rows, 2, separate>();
                } else {
                    run.template operator()<direct_rows, 1, consecutive>();
                }
                for (int64_t k = at.first_segment; k < at.first_segment + at.segments && !into_y; ++k) {
                    const auto [lane, index, count] = tiling.segments[size_t(k)];
                    for (int64_t r = 0; r < rows; ++r) {
                        const float* from = tile + r * direct_width + lane;
                        float* to = out + r * out_plane + index;
                        if (accumulate)
                            for (int64_t l = 0; l < count; ++l) to[l] += from[l];
                        else
                            copy_row(to, from, count);
                    }
                }
            }
        };
        if (accumulate) {
            tiles(KeepValues{});
        } else {
            with_activation(epilogue.activation, [&](auto activation) {
                tiles(RowsFinish<activation.value>(bias, epilogue, o0, rows));
            });
        }
    }
}

// The spare block of direct_planes: R rows of channels x taps weights.
int64_t spare_weights(const DirectPass& d) { return direct_halves_rows * d.channels * d.taps(); }

// Images per chunk of the weight gradient: its padded inputs and dy^T fill
// 3/4 of a core's L2 (1.5 of 2 MiB on the AVX-512 machine of
// docs/benchmarks.md, 384 of 512 KiB on the AVX2 one) while every task reads them.
int64_t weight_chunk_images(const DirectPass& d) {
    const int64_t per_image = d.channels * d.plane() + d.transposed_gradient();
    const int64_t budget = l2_bytes() * 3 / 4 / int64_t(sizeof(float));
    return std::clamp<int64_t>(budget / per_image, 1, std::max<int64_t>(d.batch, 1));
}

// The forward's and input gradient's pass: in PairedRows' layout for tiles of halves.
DirectPass direct_tiles_pass(DirectPass d) {
    d.paired = d.halves();
    return d;
}

// padded inputs, then the spare block of direct_planes and the split slots
// of pad_direct_inputs (paired planes), or dy^T (direct_backward_weight)
int64_t direct_workspace_size(const Conv2dShape& s, Conv2dPass pass) {
    if (pass != Conv2dPass::backward_weight) {
        const DirectPass d = direct_tiles_pass(pass == Conv2dPass::forward ? direct_forward_pass(s)
                                                                           : direct_backward_input_pass(s));
        return d.padded_inputs() + spare_weights(d) + (d.paired ? max_threads() * d.phases().size() : 0);
    }
    DirectPass d = direct_forward_pass(s);
    d.batch = std::min(d.batch, weight_chunk_images(d));  // a chunk at a time
    // and room for a last block of input channels to read up to 3 planes past
    // the last channel (blocks of at most 4; what it sums there is dropped)
    return d.padded_inputs() + d.batch * d.transposed_gradient() + 3 * d.plane();
}

void direct_forward(float* y, const float* x, const float* w, const float* b, const Conv2dShape& s, float* workspace,
                    const math::BatchNormEpilogue<float>& epilogue) {
    const DirectPass d = direct_tiles_pass(direct_forward_pass(s));
    float* padded = workspace;
    float* spare = padded + d.padded_inputs();
#pragma omp parallel num_threads(max_threads()) if (direct_parallel(d))
    {
        pad_direct_inputs(padded, x, d, spare + spare_weights(d));
        direct_planes(y, padded, w, b, d, false, spare, epilogue);
    }
}

void direct_backward_input(float* dx, const float* dy, const float* w, const Conv2dShape& s, float* workspace) {
    const DirectPass d = direct_tiles_pass(direct_backward_input_pass(s));
    float* padded = workspace;
    float* spare = padded + d.padded_inputs();
#pragma omp parallel num_threads(max_threads()) if (direct_parallel(d))
    {
        pad_direct_inputs(padded, dy, d, spare + spare_weights(d));
        direct_planes(dx, padded, w, nullptr, d, true, spare, {});
    }
}

// dw [C_out, C_in, kH, kW], a chunk of images at a time: the chunk's inputs
// padded and dy transposed to dyT [n, H_out Wq, C_out padded to 16] (zeros
// in the extra columns), then one task per (block of 64 or 32 output
// channels, block of 2 or 4 input channels, kernel row) adds the chunk's
// sums to its part of dw. Partial blocks read zero lanes of dyT, or
// channels past C_in (the next image's, dyT, or the workspace's spare
// planes), and store only what exists.
void direct_backward_weight(float* dw, const float* dy, const float* x, const Conv2dShape& s, float* workspace) {
    const DirectPass d = direct_forward_pass(s);
    const int64_t positions = d.positions(), wq = d.phase_w(), out_plane = d.out_h * d.out_w;
    const int64_t outputs_padded = d.outputs_padded(), chunk = weight_chunk_images(d);
    // 2 input channels x the most output vectors (4 of 16 lanes with AVX-512, 2 of 8 with AVX2) per task
    // where C_out allows, else 4 input channels x half as many (a partial last block has fewer vectors)
    constexpr int64_t most_vectors = weight_accumulators / 6;
    const int64_t block_vectors = outputs_padded >= most_vectors * lanes ? most_vectors : most_vectors / 2;
    const int64_t block_outputs = block_vectors * lanes, block_channels = weight_accumulators / 3 / block_vectors;
    const int64_t output_blocks = (d.outputs + block_outputs - 1) / block_outputs;
    const int64_t channel_blocks = (d.channels + block_channels - 1) / block_channels;
    // and per kernel row i, 3 taps j0..j0 + 2 (a last group of 1 or 2 repeats its last tap, not stored)
    const int64_t groups = (d.kernel_w + 2) / 3, taps = d.taps();
    const int64_t tasks = output_blocks * channel_blocks * d.kernel_h * groups;
    const std::vector<int64_t> offsets = d.offsets();
#pragma omp parallel num_threads(max_threads()) if (direct_parallel(d))
    for (int64_t n0 = 0; n0 < d.batch; n0 += chunk) {  // every thread walks the chunks; the loops are shared
        DirectPass c = d;
        c.batch = std::min(chunk, d.batch - n0);
        float* padded = workspace;
        float* dy_t = padded + c.padded_inputs();
        pad_direct_inputs(padded, x + n0 * d.channels * d.height * d.width, c);
        // dy^T: `lanes` output channels x up to `lanes` columns at a time, transposed in registers
        const int64_t output_groups = outputs_padded / lanes;
#pragma omp for schedule(static)
        for (int64_t job = 0; job < c.batch * output_groups; ++job) {
            const int64_t n = job / output_groups, o0 = job % output_groups * lanes;
            const int64_t rows = std::min(lanes, d.outputs - o0);  // the others are zero lanes
            float* to = dy_t + n * positions * outputs_padded + o0;
            const float* from = dy + ((n0 + n) * d.outputs + o0) * out_plane;
            for (int64_t oh = 0; oh < d.out_h; ++oh) {
                for (int64_t w0 = 0; w0 < d.out_w; w0 += lanes)
                    simd::transpose_block(to + (oh * wq + w0) * outputs_padded, outputs_padded,
                                          from + oh * d.out_w + w0, out_plane, rows, std::min(lanes, d.out_w - w0));
                for (int64_t ow = d.out_w; ow < wq; ++ow)  // the extra columns
                    std::fill_n(to + (oh * wq + ow) * outputs_padded, lanes, 0.0f);
            }
        }
#pragma omp for schedule(static)
        for (int64_t task = 0; task < tasks; ++task) {
            const int64_t j0 = task % groups * 3, i = task / groups % d.kernel_h;
            const int64_t c0 = task / groups / d.kernel_h % channel_blocks * block_channels;
            const int64_t o0 = task / groups / d.kernel_h / channel_blocks * block_outputs;
            const int64_t vectors = std::min(block_outputs, outputs_padded - o0) / lanes;
            int64_t tap_offset[3];
            for (int64_t j = 0; j < 3; ++j) tap_offset[j] = offsets[size_t(i * d.kernel_w + std::min(j0 + j, d.kernel_w - 1))];
            alignas(64) float sums[weight_accumulators * lanes];
            direct_weight_block(block_channels, vectors, sums, dy_t + o0, outputs_padded, padded + c0 * d.plane(), c,
                                positions, tap_offset);
            for (int64_t k = 0; k < 3 * block_channels; ++k) {
                const int64_t channel = c0 + k / 3, j = j0 + k % 3, t = i * d.kernel_w + j;
                if (channel >= d.channels || j >= d.kernel_w) continue;
                for (int64_t l = 0; l < std::min(lanes * vectors, d.outputs - o0); ++l)
                    dw[((o0 + l) * d.channels + channel) * taps + t] += sums[(k * vectors + l / lanes) * lanes + l % lanes];
            }
        }
    }
}

// ---- Winograd F(2x2, 3x3) and F(4x4, 3x3) (kernels/common/winograd.h): 3x3 kernels at stride 1 ----
// Written for 2x2 tiles below; F(4x4, 3x3) is the same with t = 4 for 2:
// t x t tiles from (t + 2) x (t + 2) patches of the plane's stride-t phases,
// (t + 2)^2 points (16 or 36) in U, V and M.
// The output in 2x2 tiles; tile (ti, tj) reads the 4x4 patch of the padded
// input P at rows 2 ti.., columns 2 tj... Split by stride 2 into its four
// phases P_ab[u, v] = P[2 u + a, 2 v + b] (rows of Wq = tiles_w + 1), P puts
// patch element (i, j) of consecutive tiles of a tile row in consecutive
// places: tile (ti, tj) reads P_{i mod 2, j mod 2} at row ti + i / 2, column
// tj + j / 2, so the input transform runs on whole vectors of tiles. A block
// of tiles (whole images, or some tile rows of one) at a time:
//   U [16][K'][C] = G g G^T of every (output k, input c) kernel (once per call; K' = K rounded up to R)
//   V [16][C][Q]  = B^T d B of every (input channel, tile of the block)
//   M [16][K'][Q] = U_x V_x for each of the 16 points x: product_tile's register tiles
//   y             = A^T m A of every (output, tile) + bias (or added into y), then the epilogue
// 16 multiplies per 2x2 outputs and input channel where the direct kernel
// does 36, for the transforms and V's and M's round trip through the cache.
// When U fits half a core's L2, every thread takes its own blocks of tile
// rows, sized so that V and M stay in L2 (no barriers); when it does not,
// the threads share each block of whole images (sized by U: the products
// read all of U once per block) stage by stage.
// The input gradient is the same on dy with the direct pass's flipped kernel;
// the weight gradient, its adjoint, is winograd_backward_weight below.
// One group, 3x3, stride 1, dilation 1, and at most 1024 x 1024 channels
// (the transformed kernels, 16 or 36 C_in C_out floats, then stay under
// 144 MiB).
bool winograd_shape(const Conv2dShape& s) {
    return s.groups == 1 && s.kernel_h == 3 && s.kernel_w == 3 && s.stride_h == 1 && s.stride_w == 1 &&
           s.dilation_h == 1 && s.dilation_w == 1 && s.in_channels * s.out_channels <= 1024 * 1024;
}

bool winograd_applies(const Conv2dShape& s, Conv2dPass pass) {
    if (!winograd_shape(s)) return false;
    if (pass == Conv2dPass::backward_input && (s.pad_h > 2 || s.pad_w > 2)) return false;
    switch (direct_policy.load(std::memory_order_relaxed)) {
        case ConvDirectPolicy::winograd:
        case ConvDirectPolicy::winograd4: return true;
        case ConvDirectPolicy::direct:
        case ConvDirectPolicy::gemm: return false;
        case ConvDirectPolicy::automatic: break;
    }
    // Where it measured faster (docs/benchmarks.md, rounds 6, 8 and 9): at
    // least 64 channels in and out and at least 64 output tiles in the batch
    // (with fewer, transforming the C_in C_out kernels costs what it saves);
    // with 32-63 channels from 2048 tiles on (resnet18's 32-channel 32x32
    // layer at batch 32: forward 7.9 -> 6.6 ms, input gradient 8.0 -> 6.7)
    // or from 256 tiles per image (that layer at batch 1 to 8: 0.77-1.0 of
    // the direct kernel's time, level in the machine's fast minutes; with 16
    // or 64 tiles per image, 8x8 and 16x16 planes, 1.0-1.4).
    const int64_t per_image = ((s.out_h + 1) / 2) * ((s.out_w + 1) / 2), tiles = s.batch * per_image;
    const int64_t channels = std::min(s.in_channels, s.out_channels);
    return (channels >= 64 && tiles >= 64) || (channels >= 32 && (tiles >= 2048 || per_image >= 256));
}

// The batch's 4x4 output tiles when its planes (nearly) fill them, at most
// 1/9 of the computed outputs past the plane; 0 when they do not.
int64_t filled_4x4_tiles(const Conv2dShape& s) {
    const int64_t tiles_h = (s.out_h + 3) / 4, tiles_w = (s.out_w + 3) / 4;
    return 16 * tiles_h * tiles_w * 8 <= 9 * s.out_h * s.out_w ? s.batch * tiles_h * tiles_w : 0;
}

// The tile of the forward and input-gradient passes where winograd_applies:
// F(4x4, 3x3) or F(2x2, 3x3) (the weight gradient is F(2x2, 3x3)'s adjoint).
// `automatic` takes F(4x4, 3x3) for a forward with at least 64 filled 4x4
// tiles (filled_4x4_tiles). Measured against F(2x2, 3x3) (docs/benchmarks.md
// round 10), resnet18's layers: batch 1, one thread, 32 channels at 32x32
// (64 tiles) 0.89, 64 at 16x16 (16 tiles) 1.13; batch 8, 128 at 8x8 (32
// tiles) 1.11, the rest 0.79-0.84; batch 32, two threads, all four 0.73-0.85;
// a 13x11 plane (a third of its 16x12 outputs thrown away) 1.12-1.41. The
// input gradient stays F(2x2, 3x3): F(4x4) took 0.70-1.34 of its time at
// batch 32 in one noisy run.
int64_t winograd_tile(const Conv2dShape& s, Conv2dPass pass) {
    switch (direct_policy.load(std::memory_order_relaxed)) {
        case ConvDirectPolicy::winograd4: return 4;
        case ConvDirectPolicy::winograd: return 2;
        default: break;
    }
    return pass == Conv2dPass::forward && filled_4x4_tiles(s) >= 64 ? 4 : 2;
}

// The distance between two points' matrices in V [points][C][Q] (M
// [points][K'][Q], DY [16][K][Q]): rows Q floats rounded up to an odd number
// of cache lines.
// Exactly rows Q apart (32 x 64 floats, 8 KiB, in resnet18's layer1 blocks)
// the 16 stores of a vector of tiles' input transform, and the 16 loads of
// its output transform, all fell in one set of the 8-way L1 (4 KiB apart
// is the same set). An odd number of lines puts them in 16 sets.
int64_t point_stride(int64_t rows, int64_t Q) {
    constexpr int64_t line = 64 / int64_t(sizeof(float));
    return ((rows * Q + line - 1) / line | 1) * line;
}

struct Winograd {
    DirectPass d;  // the convolution (3x3, stride 1) and where its weights are
    int64_t tile;  // F(tile x tile, 3x3): 2 or 4
    int64_t points() const { return (tile + 2) * (tile + 2); }
    int64_t tiles_h() const { return (d.out_h + tile - 1) / tile; }
    int64_t tiles_w() const { return (d.out_w + tile - 1) / tile; }
    int64_t wq() const { return tiles_w() + 1; }
    int64_t outputs_padded() const { return (d.outputs + direct_rows - 1) / direct_rows * direct_rows; }  // K'
    int64_t kernels() const { return points() * outputs_padded() * d.channels; }                    // U
    int64_t per_tile() const { return points() * (d.channels + outputs_padded()); }                  // V and M
    bool private_blocks() const { return kernels() * int64_t(sizeof(float)) <= l2_bytes() / 2; }
    // tile rows per block: V and M in half of L2 (private blocks, whose U
    // takes at most the other half), or whole images in U's size (shared
    // blocks); whole images when they fit. Half, not a quarter: resnet18's
    // 32x32 and 16x16 layers at batch 32 then ran 5-12 % faster (blocks of
    // 2 tile rows had cost more per call than the cache misses they saved)
    int64_t block_rows() const {
        if (!private_blocks()) return std::clamp<int64_t>(kernels() / (per_tile() * tiles_w()), tiles_h(), tiles_h() * d.batch);
        const int64_t budget = l2_bytes() / 2 / int64_t(sizeof(float));
        return std::clamp<int64_t>(budget / (per_tile() * tiles_w()), 1, tiles_h() * d.batch);
    }
    int64_t block_images() const { return std::max<int64_t>(1, block_rows() / tiles_h()); }
    int64_t block_positions() const {  // Q: the tiles of the largest block, in whole vectors
        const int64_t tiles = std::min(block_rows(), tiles_h()) * block_images() * tiles_w();
        return (tiles + lanes - 1) / lanes * lanes;
    }
    int64_t block_size() const {  // V, M and a vector of slack
        return points() * (point_stride(d.channels, block_positions()) + point_stride(outputs_padded(), block_positions())) +
               lanes;
    }
    int64_t phase_rows() const { return std::min(block_rows(), tiles_h()) + 1; }
    int64_t window(int64_t rows) const { return (rows + 1) * wq(); }  // one phase of a block of tile rows
    int64_t phase_slot() const { return tile * tile * phase_rows() * wq() + lanes; }  // the window's phases and zeros
    // U (unless prepared: given), then the blocks' V and M, then the threads' phase slots
    int64_t workspace(bool prepared = false) const {
        const int64_t blocks = private_blocks() ? max_threads() : 1;
        return (prepared ? 0 : kernels()) + blocks * block_size() + max_threads() * phase_slot();
    }
};

// The forward's tile with prepared kernels (conv2d_prepared_kind), 0 for
// none. `automatic`, with at least 32 channels in and out: F(4x4, 3x3) from
// 64 filled 4x4 tiles in the batch, or from 16 with at most 64 channels
// (more, and its 36 C_in C_out transformed kernels are more to read than
// the tiles' work saves); else F(2x2, 3x3) from 16 2x2 tiles. Measured
// (docs/benchmarks.md round 10), resnet18's layers, time / the direct
// kernel's: batch 1, one thread: 32 ch 32x32 F(4x4) 0.46 (F(2x2) 0.52), 64
// ch 16x16 0.46 (0.56), 128 ch 8x8 F(2x2) 0.78 (F(4x4) 1.48), 256 ch 4x4
// F(2x2) 1.95; batch 4: 0.48, 0.48, F(2x2) 0.62 (F(4x4) 0.76), F(2x2) 0.59.
// `winograd` and `winograd4` force their tile, `direct` and `gemm` none.
int winograd_prepared_tile(const Conv2dShape& s) {
    if (!winograd_shape(s)) return 0;
    switch (direct_policy.load(std::memory_order_relaxed)) {
        case ConvDirectPolicy::winograd4: return 4;
        case ConvDirectPolicy::winograd: return 2;
        case ConvDirectPolicy::direct:
        case ConvDirectPolicy::gemm: return 0;
        case ConvDirectPolicy::automatic: break;
    }
    const int64_t fewest = std::min(s.in_channels, s.out_channels), most = std::max(s.in_channels, s.out_channels);
    if (fewest < 32) return 0;
    const int64_t tiles4 = filled_4x4_tiles(s);
    if (tiles4 >= 64 || (tiles4 >= 16 && most <= 64)) return 4;
    return s.batch * ((s.out_h + 1) / 2) * ((s.out_w + 1) / 2) >= 16 ? 2 : 0;
}

// The forward's or input gradient's Winograd pass
Winograd winograd_of(const Conv2dShape& s, Conv2dPass pass) {
    return {pass == Conv2dPass::forward ? direct_forward_pass(s) : direct_backward_input_pass(s), winograd_tile(s, pass)};
}

// Images [n0, n0 + images), tile rows [r0, r0 + rows) of each: its tiles
// at V's and M's positions n rows tiles_w + (ti - r0) tiles_w + tj.
struct WinogradBlock {
    int64_t n0, images, r0, rows;
};

// `phase` cleared for a block's planes: each of them writes its values in
// the same places (winograd_input_tiles), so the padding stays zero from one
// plane to the next and only a new block's window needs clearing.
void winograd_clear_phases(float* phase, const Winograd& wg, const WinogradBlock& b) {
    std::fill(phase, phase + wg.tile * wg.tile * wg.window(b.rows) + lanes, 0.0f);
}

// V [points][C][Q] of a block (points point_stride(C, Q) apart): B^T d B of
// input channel c of image n0 + n, x [N, C, H, W]. The block's window of the
// padded plane, phase rows r0 .. r0 + rows, is split into `phase` first
// (cleared for the block by winograd_clear_phases: only the values are
// written here).
template <int Tile>
void winograd_input_tiles(float* V, int64_t Q, const Winograd& wg, const float* x, const WinogradBlock& b, int64_t n,
                          int64_t c, float* phase) {
    using F = math::WinogradTransforms<Tile>;
    const DirectPass& d = wg.d;
    const int64_t wq = wg.wq(), tiles_w = wg.tiles_w(), window = wg.window(b.rows);
    int64_t offset[F::points];  // patch element (i, j) in the window's phases
    for (int64_t i = 0; i < F::side; ++i)
        for (int64_t j = 0; j < F::side; ++j)
            offset[F::side * i + j] = ((i % Tile) * Tile + j % Tile) * window + i / Tile * wq + j / Tile;
    const float* plane = x + ((b.n0 + n) * d.channels + c) * d.height * d.width;
    const ColumnSplit<Tile> columns(d.width, d.pad_w, wq, window);
    for (int64_t a = 0; a < Tile; ++a)
        for (int64_t u = 0; u <= b.rows; ++u) {
            const int64_t h = Tile * (b.r0 + u) + a - d.pad_h;
            if (h < 0 || h >= d.height) continue;
            columns.split(phase + a * Tile * window + u * wq, plane + h * d.width);
        }
    float* to = V + c * Q + n * b.rows * tiles_w;
    const int64_t plane_stride = point_stride(d.channels, Q);
    if (n == b.images - 1)  // the block's last tiles: positions up to Q are multiplied too
        for (int j = 0; j < F::points; ++j)
            std::fill(to + j * plane_stride + b.rows * tiles_w, to + j * plane_stride + Q - n * b.rows * tiles_w, 0.0f);
    for (int64_t ti = 0; ti < b.rows; ++ti)
        for (int64_t tj = 0; tj < tiles_w; tj += lanes) {
            simd::vec patch[F::points], v[F::points];
            for (int j = 0; j < F::points; ++j) patch[j] = simd::load(phase + offset[j] + ti * wq + tj);
            F::input(v, patch);
            for (int j = 0; j < F::points; ++j)  // not into the next tile row (or image: another task's)
                simd::store_first(to + j * plane_stride + ti * tiles_w + tj, v[j], std::min(lanes, tiles_w - tj));
        }
}

// U [points][K'][C] = G g G^T of every kernel (k, c) (zeros for k >= K),
// shared among the threads of the calling parallel region (or one thread).
template <int Tile>
void winograd_kernels(float* U, const float* w, const Winograd& wg) {
    using F = math::WinogradTransforms<Tile>;
    const DirectPass& d = wg.d;
    const int64_t C = d.channels, K = d.outputs, Kp = wg.outputs_padded();
#pragma omp for schedule(static)
    for (int64_t k = 0; k < Kp; ++k)
        for (int64_t c0 = 0; c0 < C; c0 += lanes) {  // `lanes` kernels at a time, transposed to taps x lanes
            const int64_t count = std::min(lanes, C - c0);
            alignas(64) float taps[9][lanes] = {};
            // kernel (k, c)'s 9 taps lie in memory from `from`, reversed when tap is -1 (the flipped kernel)
            const float* from = w + d.weight_first + k * d.weight_row + c0 * d.weight_channel + std::min<int64_t>(0, 8 * d.weight_tap);
            if (k < K) {
                int64_t m = 0;
                for (; m + lanes <= 9; m += lanes)
                    simd::transpose_block(taps[m], lanes, from + m, d.weight_channel, count, lanes);
                for (; m < 9; ++m)  // the last taps
                    for (int64_t l = 0; l < count; ++l) taps[m][l] = from[l * d.weight_channel + m];
            }
            simd::vec g[9], u[F::points];
            for (int t = 0; t < 9; ++t) g[t] = simd::load(taps[d.weight_tap > 0 ? t : 8 - t]);
            F::kernel(u, g);
            for (int j = 0; j < F::points; ++j)  // not into the next row (another task's)
                simd::store_first(U + (j * Kp + k) * C + c0, u[j], count);
        }
}

// Output row i of `lanes` tiles side by side: their Tile columns c[0 ..
// Tile - 1] interleaved into Tile vectors of consecutive outputs.
template <int Tile>
void interleave_columns(const simd::vec* c, simd::vec* out) {
    if constexpr (Tile == 2) {
        simd::interleave(c[0], c[1], out[0], out[1]);
    } else {  // (c0 c2 ..) and (c1 c3 ..) interleaved, then those two
        simd::vec even_low, even_high, odd_low, odd_high;
        simd::interleave(c[0], c[2], even_low, even_high);
        simd::interleave(c[1], c[3], odd_low, odd_high);
        simd::interleave(even_low, odd_low, out[0], out[1]);
        simd::interleave(even_high, odd_high, out[2], out[3]);
    }
}

// y (accumulate: dx, no bias or epilogue) from x; the transformed kernels
// U from w into the workspace, or `prepared` (winograd_kernels' U) when given
template <int Tile, math::BatchNormActivation A>
void winograd_tiles(float* y, const float* x, const float* w, const float* prepared, const float* bias,
                    const Winograd& wg, bool accumulate, float* workspace,
                    const math::BatchNormEpilogue<float>& epilogue) {
    using F = math::WinogradTransforms<Tile>;
    const DirectPass& d = wg.d;
    const int64_t C = d.channels, K = d.outputs, Kp = wg.outputs_padded();
    const int64_t tiles_h = wg.tiles_h(), tiles_w = wg.tiles_w(), out_plane = d.out_h * d.out_w;
    const bool private_blocks = wg.private_blocks();
    const int64_t rows = std::min(wg.block_rows(), tiles_h), row_blocks = (tiles_h + rows - 1) / rows;
    const int64_t images = wg.block_images();
    float* const U = prepared ? nullptr : workspace;  // written once here, or given
    const float* const transformed = prepared ? prepared : U;
    float* blocks = workspace + (prepared ? 0 : wg.kernels());
    float* slots = blocks + (private_blocks ? max_threads() : 1) * wg.block_size();

    // M [points][K'][Q] = U V: point j, output rows k0 .. k0 + R (points point_stride apart in V and M)
    const auto multiply = [&](float* M, const float* V, int64_t Q, int64_t j, int64_t k0) {
        product_rows(M + j * point_stride(Kp, Q) + k0 * Q, Q, Q, transformed + (j * Kp + k0) * C, C,
                     V + j * point_stride(C, Q), Q, C);
    };
    // y's rows of the block, output channel k of image n0 + n: the tile's
    // values plus bias, then the epilogue (RowsFinish), or added into y
    const auto transform_output = [&](const float* M, int64_t Q, const WinogradBlock& b, int64_t n, int64_t k) {
        float* out = y + ((b.n0 + n) * K + k) * out_plane;
        const float* from = M + k * Q + n * b.rows * tiles_w;
        const int64_t points = point_stride(Kp, Q);
        const RowsFinish<A> finish(bias, epilogue, k, 1);
        for (int64_t ti = 0; ti < b.rows; ++ti)
            for (int64_t tj = 0; tj < tiles_w; tj += lanes) {
                simd::vec m[F::points], block[Tile * Tile];
                for (int j = 0; j < F::points; ++j) m[j] = simd::load(from + j * points + ti * tiles_w + tj);
                F::output(block, m);
                // output rows Tile ti + i: each tile's Tile columns side by side
                const int64_t oh = Tile * (b.r0 + ti), columns = std::min(Tile * lanes, d.out_w - Tile * tj);
                for (int64_t i = 0; i < Tile && oh + i < d.out_h; ++i) {
                    simd::vec values[Tile];
                    interleave_columns<Tile>(block + Tile * i, values);
                    float* row = out + (oh + i) * d.out_w + Tile * tj;
                    for (int64_t part = 0; part < Tile; ++part) {
                        const int64_t count = std::min(lanes, columns - part * lanes);
                        if (count <= 0) break;
                        float* to = row + part * lanes;
                        simd::store_first(to, accumulate ? simd::load_first(to, count) + values[part] : finish(0, values[part]),
                                          count);
                    }
                }
            }
    };

#pragma omp parallel num_threads(max_threads()) if (direct_parallel(d))
    {
        float* phase = slots + omp_thread() * wg.phase_slot();
        if (!prepared) winograd_kernels<Tile>(U, w, wg);
        if (private_blocks) {  // each thread its own blocks, V and M in its own slot
            float* V = blocks + omp_thread() * wg.block_size();
            const int64_t tasks = images < 2 ? d.batch * row_blocks : (d.batch + images - 1) / images;
#pragma omp for schedule(static)
            for (int64_t task = 0; task < tasks; ++task) {
                const WinogradBlock b = images < 2 ? WinogradBlock{task / row_blocks, 1, task % row_blocks * rows,
                                                                   std::min(rows, tiles_h - task % row_blocks * rows)}
                                                   : WinogradBlock{task * images, std::min(images, d.batch - task * images), 0, tiles_h};
                const int64_t Q = (b.images * b.rows * tiles_w + lanes - 1) / lanes * lanes;
                float* M = V + F::points * point_stride(C, Q);
                winograd_clear_phases(phase, wg, b);
                for (int64_t n = 0; n < b.images; ++n)
                    for (int64_t c = 0; c < C; ++c) winograd_input_tiles<Tile>(V, Q, wg, x, b, n, c, phase);
                for (int64_t j = 0; j < F::points; ++j)
                    for (int64_t k0 = 0; k0 < Kp; k0 += direct_rows) multiply(M, V, Q, j, k0);
                for (int64_t n = 0; n < b.images; ++n)
                    for (int64_t k = 0; k < K; ++k) transform_output(M, Q, b, n, k);
            }
        } else {  // blocks of whole images, each stage shared
            for (int64_t n0 = 0; n0 < d.batch; n0 += images) {
                const WinogradBlock b{n0, std::min(images, d.batch - n0), 0, tiles_h};
                const int64_t Q = (b.images * tiles_h * tiles_w + lanes - 1) / lanes * lanes;
                float* V = blocks;
                float* M = V + F::points * point_stride(C, Q);
                winograd_clear_phases(phase, wg, b);
#pragma omp for schedule(static)
                for (int64_t plane = 0; plane < b.images * C; ++plane)
                    winograd_input_tiles<Tile>(V, Q, wg, x, b, plane / C, plane % C, phase);
                const int64_t row_groups = Kp / direct_rows;
#pragma omp for schedule(static)
                for (int64_t task = 0; task < F::points * row_groups; ++task)
                    multiply(M, V, Q, task / row_groups, task % row_groups * direct_rows);
#pragma omp for schedule(static)
                for (int64_t plane = 0; plane < b.images * K; ++plane)
                    transform_output(M, Q, b, plane / K, plane % K);
            }
        }
    }
}

// y (accumulate: dx, no bias or epilogue) from x by F(wg.tile x wg.tile, 3x3)
// (winograd_tiles; `prepared` may be null)
void winograd_planes(float* y, const float* x, const float* w, const float* prepared, const float* bias,
                     const Winograd& wg, bool accumulate, float* workspace,
                     const math::BatchNormEpilogue<float>& epilogue) {
    with_activation(epilogue.activation, [&](auto activation) {
        constexpr math::BatchNormActivation A = decltype(activation)::value;
        if (wg.tile == 4) return winograd_tiles<4, A>(y, x, w, prepared, bias, wg, accumulate, workspace, epilogue);
        winograd_tiles<2, A>(y, x, w, prepared, bias, wg, accumulate, workspace, epilogue);
    });
}

// The weight gradient: a chunk of images at a time (V and DY in four L2s'
// worth), into S, then the kernel transform's adjoint:
//   V [16][C][Q]  = B^T d B (the forward's input transform)
//   DY [16][K][Q] = A dy A^T of every (output, tile)
//   S [16][K][C] += DY_x V_x^T: 16 matrix products through OpenBLAS (its own
//                   blocking for a long inner dimension), one per task
//   dw[k, c]     += G^T s G, s the 16 points of S[.][k][c]
struct WinogradWeight {
    Winograd wg;
    int64_t tiles() const { return wg.tiles_h() * wg.tiles_w(); }
    int64_t chunk() const {
        const int64_t per_image = 16 * (wg.d.channels + wg.d.outputs) * tiles();
        return std::clamp<int64_t>(4 * l2_bytes() / int64_t(sizeof(float)) / per_image, 1, wg.d.batch);
    }
    int64_t positions() const { return (chunk() * tiles() + lanes - 1) / lanes * lanes; }
    int64_t sums() const { return 16 * wg.d.outputs * wg.d.channels; }
    // a plane's phases (V), then a tile row of dy by parities (DY)
    int64_t phase_slot() const { return 4 * (wg.tiles_h() + 1) * wg.wq() + lanes + 4 * (wg.tiles_w() + lanes); }
    int64_t workspace() const {
        return sums() + 16 * (point_stride(wg.d.channels, positions()) + point_stride(wg.d.outputs, positions())) +
               max_threads() * phase_slot();
    }
};

void winograd_backward_weight(float* dw, const float* dy, const float* x, const Conv2dShape& s, float* workspace) {
    if (s.batch == 0) return;  // (S would never be written)
    const WinogradWeight ww{Winograd{direct_forward_pass(s), 2}};
    const Winograd& wg = ww.wg;
    const int64_t C = s.in_channels, K = s.out_channels, T = ww.tiles(), chunk = ww.chunk();
    const int64_t tiles_h = wg.tiles_h(), tiles_w = wg.tiles_w(), out_plane = s.out_h * s.out_w;
    float* S = workspace;
    float* V = S + ww.sums();
    float* DY = V + 16 * point_stride(C, ww.positions());
    float* slots = DY + 16 * point_stride(K, ww.positions());
#pragma omp parallel num_threads(max_threads()) if (direct_parallel(wg.d))
    {
        float* phase = slots + omp_thread() * ww.phase_slot();
        for (int64_t n0 = 0; n0 < s.batch; n0 += chunk) {  // every thread walks the chunks; the loops are shared
            const WinogradBlock b{n0, std::min(chunk, s.batch - n0), 0, tiles_h};
            const int64_t Q = (b.images * T + lanes - 1) / lanes * lanes;
            const int64_t v_points = point_stride(C, Q), dy_points = point_stride(K, Q);
            winograd_clear_phases(phase, wg, b);
#pragma omp for schedule(static) nowait
            for (int64_t plane = 0; plane < b.images * C; ++plane)
                winograd_input_tiles<2>(V, Q, wg, x, b, plane / C, plane % C, phase);
#pragma omp for schedule(static)
            for (int64_t plane = 0; plane < b.images * K; ++plane) {
                const int64_t n = plane / K, k = plane % K;
                const float* grad = dy + ((n0 + n) * K + k) * out_plane;
                float* to = DY + k * Q + n * T;
                if (n == b.images - 1)  // the chunk's last tiles: positions up to Q are summed too
                    for (int j = 0; j < 16; ++j) std::fill(to + j * dy_points + T, to + j * dy_points + Q - n * T, 0.0f);
                // each tile row's dy, its even and odd columns apart (zeros past the plane)
                float* columns = phase + 4 * (tiles_h + 1) * wg.wq() + lanes;  // [2 rows][2 parities][tiles_w + lanes]
                const int64_t pitch = tiles_w + lanes;
                for (int64_t ti = 0; ti < tiles_h; ++ti) {
                    std::fill(columns, columns + 4 * pitch, 0.0f);
                    for (int64_t i = 0; i < 2 && 2 * ti + i < s.out_h; ++i)
                        for (int64_t ow = 0; ow < s.out_w; ++ow)
                            columns[(2 * i + ow % 2) * pitch + ow / 2] = grad[(2 * ti + i) * s.out_w + ow];
                    for (int64_t tj = 0; tj < tiles_w; tj += lanes) {
                        simd::vec tile[4], m[16];
                        for (int e = 0; e < 4; ++e) tile[e] = simd::load(columns + e * pitch + tj);
                        math::winograd_output_adjoint(m, tile);
                        for (int j = 0; j < 16; ++j)
                            simd::store_first(to + j * dy_points + ti * tiles_w + tj, m[j], std::min(lanes, tiles_w - tj));
                    }
                }
            }
#pragma omp for schedule(static)
            for (int64_t j = 0; j < 16; ++j)
                gemm<float>(false, true, K, C, Q, 1.0f, DY + j * dy_points, Q, V + j * v_points, Q, n0 == 0 ? 0.0f : 1.0f,
                            S + j * K * C, C);
        }
#pragma omp for schedule(static)
        for (int64_t k = 0; k < K; ++k)
            for (int64_t c = 0; c < C; ++c) {
                float sum[16], dg[9];
                for (int j = 0; j < 16; ++j) sum[j] = S[(j * K + k) * C + c];
                math::winograd_kernel_adjoint(dg, sum);
                for (int t = 0; t < 9; ++t) dw[(k * C + c) * 9 + t] += dg[t];
            }
    }
}

int64_t winograd_workspace_size(const Conv2dShape& s, Conv2dPass pass) {
    if (pass == Conv2dPass::backward_weight) return WinogradWeight{Winograd{direct_forward_pass(s), 2}}.workspace();
    return winograd_of(s, pass).workspace();
}

}  // namespace

void set_conv_direct_policy(ConvDirectPolicy policy) { direct_policy.store(policy, std::memory_order_relaxed); }
ConvDirectPolicy conv_direct_policy() { return direct_policy.load(std::memory_order_relaxed); }
bool conv_direct_policy_named(std::string_view name, ConvDirectPolicy& policy) {
    for (const auto& [known, value] : {std::pair{"automatic", ConvDirectPolicy::automatic}, {"direct", ConvDirectPolicy::direct},
                                       {"gemm", ConvDirectPolicy::gemm}, {"winograd", ConvDirectPolicy::winograd},
                                       {"winograd4", ConvDirectPolicy::winograd4}})
        if (name == known) {
            policy = value;
            return true;
        }
    return false;
}

int conv2d_prepared_kind(const Conv2dShape& s) { return winograd_prepared_tile(s); }

int64_t conv2d_prepared_size(const Conv2dShape& s, int kind) {
    return kind ? Winograd{direct_forward_pass(s), kind}.kernels() : 0;
}

void conv2d_prepare(float* prepared, const float* w, const Conv2dShape& s, int kind) {
    const Winograd wg{direct_forward_pass(s), kind};
#pragma omp parallel num_threads(max_threads())
    {
        if (kind == 4) winograd_kernels<4>(prepared, w, wg);
        else winograd_kernels<2>(prepared, w, wg);
    }
}

int64_t conv2d_prepared_workspace_size(const Conv2dShape& s, int kind) {
    return Winograd{direct_forward_pass(s), kind}.workspace(true);
}

void conv2d_forward_prepared(float* y, const float* x, const float* prepared, int kind, const float* b,
                             const Conv2dShape& s, float* workspace, const math::BatchNormEpilogue<float>& epilogue) {
    winograd_planes(y, x, nullptr, prepared, b, Winograd{direct_forward_pass(s), kind}, false, workspace, epilogue);
}

template <typename T>
const char* conv2d_cpu_algorithm_name(const Conv2dShape& s, Conv2dPass pass) {
    if (std::is_same_v<T, float> && winograd_applies(s, pass))
        return pass != Conv2dPass::backward_weight && winograd_tile(s, pass) == 4 ? "winograd4" : "winograd";
    if (std::is_same_v<T, float> && direct_applies(s, pass)) return "direct";
    if (std::is_same_v<T, float> && pass == Conv2dPass::forward && pointwise_tiles_apply(s)) return "pointwise-tiles";
    if (std::is_same_v<T, float> && conv2d_algorithm(s) == Conv2dAlgorithm::depthwise &&
        depthwise_across_channels_applies(s, pass))
        return "depthwise-channels";
    return conv2d_algorithm_name(conv2d_algorithm(s));
}

template <typename T>
int64_t conv2d_workspace_size(const Conv2dShape& s, Conv2dPass pass) {
    if (std::is_same_v<T, float> && winograd_applies(s, pass)) return winograd_workspace_size(s, pass);
    if (std::is_same_v<T, float> && direct_applies(s, pass)) return direct_workspace_size(s, pass);
    const Conv2dAlgorithm algorithm = conv2d_algorithm(s);
    if (std::is_same_v<T, float> && pass == Conv2dPass::forward && pointwise_tiles_apply(s))
        return direct_rows * s.in_channels;
    if (std::is_same_v<T, float> && algorithm == Conv2dAlgorithm::depthwise && depthwise_across_channels_applies(s, pass))
        return max_threads() * AcrossChannels(s).slot();
    if (algorithm == Conv2dAlgorithm::depthwise) return max_threads() * depthwise_slot_size(s);
    const Sizes z = sizes_of(s);
    const Blocking k = blocking_of(s, z);
    return k.slots * slot_layout(s, z, k, algorithm == Conv2dAlgorithm::pointwise, pass).total;
}

template <typename T>
void conv2d_forward(T* y, const T* x, const T* w, const T* b, const Conv2dShape& s, T* workspace,
                    const math::BatchNormEpilogue<T>& epilogue) {
    const Conv2dAlgorithm algorithm = conv2d_algorithm(s);
    if constexpr (std::is_same_v<T, float>)
        if (algorithm == Conv2dAlgorithm::depthwise && depthwise_across_channels_applies(s, Conv2dPass::forward))
            return depthwise_across_channels_forward(y, x, w, b, s, workspace, epilogue);
    if (algorithm == Conv2dAlgorithm::depthwise) return depthwise_forward(y, x, w, b, s, workspace, epilogue);
    if constexpr (std::is_same_v<T, float>) {
        if (winograd_applies(s, Conv2dPass::forward))
            return winograd_planes(y, x, w, nullptr, b, winograd_of(s, Conv2dPass::forward), false, workspace, epilogue);
        if (direct_applies(s, Conv2dPass::forward)) return direct_forward(y, x, w, b, s, workspace, epilogue);
        if (pointwise_tiles_apply(s)) return pointwise_tiles_forward(y, x, w, b, s, workspace, epilogue);
    }
    gemm_forward(y, x, w, b, s, workspace, algorithm == Conv2dAlgorithm::pointwise, epilogue);
}

template <typename T>
void conv2d_backward_input(T* dx, const T* dy, const T* w, const Conv2dShape& s, T* workspace) {
    const Conv2dAlgorithm algorithm = conv2d_algorithm(s);
    if constexpr (std::is_same_v<T, float>)
        if (algorithm == Conv2dAlgorithm::depthwise && depthwise_across_channels_applies(s, Conv2dPass::backward_input))
            return depthwise_across_channels_backward_input(dx, dy, w, s, workspace);
    if (algorithm == Conv2dAlgorithm::depthwise) return depthwise_backward_input(dx, dy, w, s, workspace);
    if constexpr (std::is_same_v<T, float>) {
        if (winograd_applies(s, Conv2dPass::backward_input))
            return winograd_planes(dx, dy, w, nullptr, nullptr, winograd_of(s, Conv2dPass::backward_input), true,
                                   workspace, {});
        if (direct_applies(s, Conv2dPass::backward_input)) return direct_backward_input(dx, dy, w, s, workspace);
    }
    gemm_backward_input(dx, dy, w, s, workspace, algorithm == Conv2dAlgorithm::pointwise);
}

template <typename T>
void conv2d_backward_weight(T* dw, const T* dy, const T* x, const Conv2dShape& s, T* workspace) {
    const Conv2dAlgorithm algorithm = conv2d_algorithm(s);
    if constexpr (std::is_same_v<T, float>)
        if (algorithm == Conv2dAlgorithm::depthwise && depthwise_across_channels_applies(s, Conv2dPass::backward_weight))
            return depthwise_across_channels_backward_weight(dw, dy, x, s, workspace);
    if (algorithm == Conv2dAlgorithm::depthwise) return depthwise_backward_weight(dw, dy, x, s, workspace);
    if constexpr (std::is_same_v<T, float>) {
        if (winograd_applies(s, Conv2dPass::backward_weight)) return winograd_backward_weight(dw, dy, x, s, workspace);
        if (direct_applies(s, Conv2dPass::backward_weight)) return direct_backward_weight(dw, dy, x, s, workspace);
    }
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
    template const char* conv2d_cpu_algorithm_name<T>(const Conv2dShape&, Conv2dPass);                       \
    template int64_t conv2d_workspace_size<T>(const Conv2dShape&, Conv2dPass);                               \
    template void conv2d_forward<T>(T*, const T*, const T*, const T*, const Conv2dShape&, T*,                \
                                    const math::BatchNormEpilogue<T>&);                                     \
    template void conv2d_backward_input<T>(T*, const T*, const T*, const Conv2dShape&, T*);                  \
    template void conv2d_backward_weight<T>(T*, const T*, const T*, const Conv2dShape&, T*);                 \
    template void conv2d_backward_bias<T>(T*, const T*, const Conv2dShape&);
KILN_CONV(float)
KILN_CONV(double)

}  // namespace kiln::cpu
