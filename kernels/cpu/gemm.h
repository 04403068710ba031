#pragma once
// General matrix multiply through OpenBLAS (cblas_sgemm / cblas_dgemm):
//   C = alpha * op(A) @ op(B) + beta * C,   op(X) = X or X^T
// Row-major; op(A) is [M, K], op(B) is [K, N], C is [M, N]; lda/ldb/ldc are
// the row strides of A, B, C as stored.
#include <cstdint>

namespace kiln::cpu {

template <typename T>
void gemm(bool transpose_a, bool transpose_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

// Caps OpenBLAS's own threads (it uses the OpenMP runtime in the build kiln
// links, so this is also the OpenMP team size it asks for).
void set_blas_threads(int threads);

}  // namespace kiln::cpu
