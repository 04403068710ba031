#include "kernels/cpu/gemm.h"

#include <cblas.h>

namespace kiln::cpu {

namespace {
CBLAS_TRANSPOSE transpose_flag(bool transpose) { return transpose ? CblasTrans : CblasNoTrans; }
}  // namespace

template <>
void gemm<float>(bool transpose_a, bool transpose_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                 int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
    cblas_sgemm(CblasRowMajor, transpose_flag(transpose_a), transpose_flag(transpose_b), int(M), int(N), int(K), alpha,
                A, int(lda), B, int(ldb), beta, C, int(ldc));
}

template <>
void gemm<double>(bool transpose_a, bool transpose_b, int64_t M, int64_t N, int64_t K, double alpha, const double* A,
                  int64_t lda, const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
    cblas_dgemm(CblasRowMajor, transpose_flag(transpose_a), transpose_flag(transpose_b), int(M), int(N), int(K), alpha,
                A, int(lda), B, int(ldb), beta, C, int(ldc));
}

void set_blas_threads(int threads) { openblas_set_num_threads(threads); }

}  // namespace kiln::cpu
