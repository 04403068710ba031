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

}  // namespace kiln::math
