#pragma once
// Winograd F(2x2, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional
// Neural Networks", 2016): a 2x2 block of a 3x3 stride-1 correlation from the
// 4x4 input patch d that covers it and the kernel g,
//   Y = A^T [ (G g G^T) (.) (B^T d B) ] A          ((.) element-wise)
// with
//   B^T = [1  0 -1  0]    G = [ 1    0    0 ]    A^T = [1  1  1  0]
//         [0  1  1  0]        [1/2  1/2  1/2]          [0  1 -1 -1]
//         [0 -1  1  0]        [1/2 -1/2  1/2]
//         [0  1  0 -1]        [ 0    0    1 ]
// 16 multiplies per 2x2 block instead of 36. Summed over input channels the
// element-wise products become 16 matrix products, one per point of the 4x4
// transformed tile (kernels/cpu/conv.cpp, "Winograd"). Y is linear in g, so
// the kernel's gradient from a tile's output gradient dY is the adjoint,
//   dg = G^T [ (A dY A^T) (.) (B^T d B) ] G,
// summed over tiles: the same input transform, and the adjoints of the
// output and kernel transforms below.
// T is float, double or a SIMD vector (then every lane is its own tile).
// Arrays are row-major: d[4 i + j], g[3 i + j], y[2 i + j].
#include <type_traits>

#include "kernels/common/hd.h"

namespace kiln::math {

// v = B^T d B
template <typename T>
KILN_HD void winograd_input(T* v, const T* d) {
    T r[16];  // B^T d: rows combined
    for (int j = 0; j < 4; ++j) {
        r[j] = d[j] - d[8 + j];
        r[4 + j] = d[4 + j] + d[8 + j];
        r[8 + j] = d[8 + j] - d[4 + j];
        r[12 + j] = d[4 + j] - d[12 + j];
    }
    for (int i = 0; i < 4; ++i) {  // (B^T d) B: columns combined
        const T* row = r + 4 * i;
        v[4 * i] = row[0] - row[2];
        v[4 * i + 1] = row[1] + row[2];
        v[4 * i + 2] = row[2] - row[1];
        v[4 * i + 3] = row[1] - row[3];
    }
}

// u = G g G^T
template <typename T>
KILN_HD void winograd_kernel(T* u, const T* g) {
    T r[12];  // G g [4, 3]
    for (int j = 0; j < 3; ++j) {
        r[j] = g[j];
        r[3 + j] = (g[j] + g[3 + j] + g[6 + j]) * 0.5f;
        r[6 + j] = (g[j] - g[3 + j] + g[6 + j]) * 0.5f;
        r[9 + j] = g[6 + j];
    }
    for (int i = 0; i < 4; ++i) {
        const T* row = r + 3 * i;
        u[4 * i] = row[0];
        u[4 * i + 1] = (row[0] + row[1] + row[2]) * 0.5f;
        u[4 * i + 2] = (row[0] - row[1] + row[2]) * 0.5f;
        u[4 * i + 3] = row[2];
    }
}

// y = A^T m A
template <typename T>
KILN_HD void winograd_output(T* y, const T* m) {
    T r[8];  // A^T m [2, 4]
    for (int j = 0; j < 4; ++j) {
        r[j] = m[j] + m[4 + j] + m[8 + j];
        r[4 + j] = m[4 + j] - m[8 + j] - m[12 + j];
    }
    for (int i = 0; i < 2; ++i) {
        const T* row = r + 4 * i;
        y[2 * i] = row[0] + row[1] + row[2];
        y[2 * i + 1] = row[1] - row[2] - row[3];
    }
}

// m = A dy A^T (dy [2, 2] -> m [4, 4]): winograd_output's adjoint
template <typename T>
KILN_HD void winograd_output_adjoint(T* m, const T* dy) {
    T r[8];  // A dy [4, 2]
    for (int j = 0; j < 2; ++j) {
        r[j] = dy[j];
        r[2 + j] = dy[j] + dy[2 + j];
        r[4 + j] = dy[j] - dy[2 + j];
        r[6 + j] = -dy[2 + j];
    }
    for (int i = 0; i < 4; ++i) {
        const T* row = r + 2 * i;
        m[4 * i] = row[0];
        m[4 * i + 1] = row[0] + row[1];
        m[4 * i + 2] = row[0] - row[1];
        m[4 * i + 3] = -row[1];
    }
}

// dg = G^T s G (s [4, 4] -> dg [3, 3]): winograd_kernel's adjoint
template <typename T>
KILN_HD void winograd_kernel_adjoint(T* dg, const T* s) {
    T r[12];  // G^T s [3, 4]
    for (int j = 0; j < 4; ++j) {
        r[j] = s[j] + (s[4 + j] + s[8 + j]) * 0.5f;
        r[4 + j] = (s[4 + j] - s[8 + j]) * 0.5f;
        r[8 + j] = (s[4 + j] + s[8 + j]) * 0.5f + s[12 + j];
    }
    for (int i = 0; i < 3; ++i) {
        const T* row = r + 4 * i;
        dg[3 * i] = row[0] + (row[1] + row[2]) * 0.5f;
        dg[3 * i + 1] = (row[1] - row[2]) * 0.5f;
        dg[3 * i + 2] = (row[1] + row[2]) * 0.5f + row[3];
    }
}

// ---- F(4x4, 3x3): a 4x4 block from the 6x6 patch (points 0, 1, -1, 2, -2, infinity) ----
//   B^T = [4  0 -5  0  1  0]    G = [ 1/4     0     0 ]    A^T = [1  1  1  1  1  0]
//         [0 -4 -4  1  1  0]        [-1/6  -1/6  -1/6 ]          [0  1 -1  2 -2  0]
//         [0  4 -4 -1  1  0]        [-1/6   1/6  -1/6 ]          [0  1  1  4  4  0]
//         [0 -2 -1  2  1  0]        [1/24  1/12   1/6 ]          [0  1 -1  8 -8  1]
//         [0  2 -1 -2  1  0]        [1/24 -1/12   1/6 ]
//         [0  4  0 -5  0  1]        [  0     0     1  ]
// 36 multiplies per 4x4 block instead of 144 (F(2x2, 3x3): 64), for larger
// transforms and about ten times F(2x2, 3x3)'s rounding error (the points'
// powers reach 8). Each 2-D transform is its 1-D one down the columns, then
// along the rows. Arrays row-major: d[6 i + j], g[3 i + j], y[4 i + j].

// o = B^T a for six values a (a[k stride], o[k out_stride])
template <typename T>
KILN_HD void winograd4_input_1d(T* o, int out_stride, const T* a, int stride) {
    const T a0 = a[0], a1 = a[stride], a2 = a[2 * stride], a3 = a[3 * stride], a4 = a[4 * stride], a5 = a[5 * stride];
    o[0] = a0 * 4.0f - a2 * 5.0f + a4;
    o[out_stride] = (a3 + a4) - (a1 + a2) * 4.0f;
    o[2 * out_stride] = (a4 - a3) + (a1 - a2) * 4.0f;
    o[3 * out_stride] = (a4 - a2) + (a3 - a1) * 2.0f;
    o[4 * out_stride] = (a4 - a2) - (a3 - a1) * 2.0f;
    o[5 * out_stride] = a1 * 4.0f - a3 * 5.0f + a5;
}

// o = G a for three values a; 1/6, 1/12 and 1/24 rounded to T's precision
// (float for a SIMD vector of floats)
template <typename T>
KILN_HD void winograd4_kernel_1d(T* o, int out_stride, const T* a, int stride) {
    using Scalar = std::conditional_t<std::is_same_v<T, double>, double, float>;
    const Scalar sixth = Scalar(1.0 / 6.0), twelfth = Scalar(1.0 / 12.0), twenty_fourth = Scalar(1.0 / 24.0);
    const T a0 = a[0], a1 = a[stride], a2 = a[2 * stride];
    o[0] = a0 * Scalar(0.25);
    o[out_stride] = (a0 + a1 + a2) * -sixth;
    o[2 * out_stride] = (a0 - a1 + a2) * -sixth;
    o[3 * out_stride] = a0 * twenty_fourth + a1 * twelfth + a2 * sixth;
    o[4 * out_stride] = a0 * twenty_fourth - a1 * twelfth + a2 * sixth;
    o[5 * out_stride] = a2;
}

// o = A^T a for six values a
template <typename T>
KILN_HD void winograd4_output_1d(T* o, int out_stride, const T* a, int stride) {
    const T a0 = a[0], a1 = a[stride], a2 = a[2 * stride], a3 = a[3 * stride], a4 = a[4 * stride], a5 = a[5 * stride];
    const T sum12 = a1 + a2, difference12 = a1 - a2, sum34 = a3 + a4, difference34 = a3 - a4;
    o[0] = a0 + sum12 + sum34;
    o[out_stride] = difference12 + difference34 * 2.0f;
    o[2 * out_stride] = sum12 + sum34 * 4.0f;
    o[3 * out_stride] = difference12 + difference34 * 8.0f + a5;
}

// v = B^T d B (d, v [6, 6])
template <typename T>
KILN_HD void winograd4_input(T* v, const T* d) {
    T t[36];  // B^T d
    for (int j = 0; j < 6; ++j) winograd4_input_1d(t + j, 6, d + j, 6);
    for (int i = 0; i < 6; ++i) winograd4_input_1d(v + 6 * i, 1, t + 6 * i, 1);
}

// u = G g G^T (g [3, 3] -> u [6, 6])
template <typename T>
KILN_HD void winograd4_kernel(T* u, const T* g) {
    T t[18];  // G g [6, 3]
    for (int j = 0; j < 3; ++j) winograd4_kernel_1d(t + j, 3, g + j, 3);
    for (int i = 0; i < 6; ++i) winograd4_kernel_1d(u + 6 * i, 1, t + 3 * i, 1);
}

// y = A^T m A (m [6, 6] -> y [4, 4])
template <typename T>
KILN_HD void winograd4_output(T* y, const T* m) {
    T t[24];  // A^T m [4, 6]
    for (int j = 0; j < 6; ++j) winograd4_output_1d(t + j, 6, m + j, 6);
    for (int i = 0; i < 4; ++i) winograd4_output_1d(y + 4 * i, 1, t + 6 * i, 1);
}

// The two as one type for code written over the tile size: F(Tile x Tile,
// 3x3) from Side x Side patches, Side^2 points.
template <int Tile>
struct WinogradTransforms {
    static_assert(Tile == 2 || Tile == 4);
    static constexpr int tile = Tile, side = Tile + 2, points = side * side;
    template <typename T>
    static KILN_HD void input(T* v, const T* d) {
        if constexpr (Tile == 2) winograd_input(v, d);
        else winograd4_input(v, d);
    }
    template <typename T>
    static KILN_HD void kernel(T* u, const T* g) {
        if constexpr (Tile == 2) winograd_kernel(u, g);
        else winograd4_kernel(u, g);
    }
    template <typename T>
    static KILN_HD void output(T* y, const T* m) {
        if constexpr (Tile == 2) winograd_output(y, m);
        else winograd4_output(y, m);
    }
};

}  // namespace kiln::math
