#pragma once
// cuBLAS GEMM (gemm.cpp), row-major like kernels/cpu/gemm.h:
//   C = alpha * op(A) @ op(B) + beta * C,  op(A) [M, K], op(B) [K, N]
// cuBLAS is column-major: a row-major C is a column-major C^T, so each call
// computes C^T = op(B)^T op(A)^T with the operands swapped. FP32 math, no
// TF32 (the handle's default math mode), so it is comparable with the
// hand-written SGEMM; beta = 0 never reads C.
#include <cstdint>

namespace kiln::vendor {

// The same signature as kiln::cpu::gemm and kiln::cuda::gemm.
template <typename T>
void gemm(bool transpose_a, bool transpose_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

// `batch` GEMMs; matrix i of each operand starts stride_* elements after
// matrix i - 1 (a stride of 0 broadcasts one matrix to every GEMM).
template <typename T>
void gemm_strided_batched(bool transpose_a, bool transpose_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                          int64_t lda, int64_t stride_a, const T* B, int64_t ldb, int64_t stride_b, T beta, T* C,
                          int64_t ldc, int64_t stride_c, int64_t batch);

}  // namespace kiln::vendor
