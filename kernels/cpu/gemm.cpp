#include "kernels/cpu/gemm.h"

#include <cblas.h>

#include <algorithm>

#include "kernels/cpu/parallel.h"

namespace kiln::cpu {

namespace {
CBLAS_TRANSPOSE transpose_flag(bool transpose) { return transpose ? CblasTrans : CblasNoTrans; }

// OpenBLAS (OpenMP build) starts its threads for every product over 262144
// multiply-adds; below a quarter of parallel_macs the wake-up costs more than
// the second thread saves (kernels/cpu/parallel.h), so those run on one
// thread: OpenBLAS follows omp_get_max_threads() of the calling thread.
template <typename Call>
void run_blas(int64_t M, int64_t N, int64_t K, Call call) {
#ifdef _OPENMP
    if (M * N * K < parallel_macs / 4 && !omp_in_parallel() && omp_get_max_threads() > 1) {
        const int threads = omp_get_max_threads();
        omp_set_num_threads(1);
        call();
        omp_set_num_threads(threads);
        return;
    }
#endif
    (void)M, (void)N, (void)K;
    call();
}

// beta = 0 as zeros written here and beta = 1: OpenBLAS (0.3.21, Zen
// kernels) clears C one scalar store at a time before the product, which
// took 9 % of MobileNetV2's batch-1 inference; std::fill is a vector memset.
template <typename T>
T clear_for_beta(T beta, T* C, int64_t M, int64_t N, int64_t ldc) {
    if (beta != T(0)) return beta;
    for (int64_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, T(0));
    return T(1);
}

}  // namespace

template <>
void gemm<float>(bool transpose_a, bool transpose_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                 int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
    beta = clear_for_beta(beta, C, M, N, ldc);
    run_blas(M, N, K, [&] {
        cblas_sgemm(CblasRowMajor, transpose_flag(transpose_a), transpose_flag(transpose_b), int(M), int(N), int(K),
                    alpha, A, int(lda), B, int(ldb), beta, C, int(ldc));
    });
}

template <>
void gemm<double>(bool transpose_a, bool transpose_b, int64_t M, int64_t N, int64_t K, double alpha, const double* A,
                  int64_t lda, const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
    beta = clear_for_beta(beta, C, M, N, ldc);
    run_blas(M, N, K, [&] {
        cblas_dgemm(CblasRowMajor, transpose_flag(transpose_a), transpose_flag(transpose_b), int(M), int(N), int(K),
                    alpha, A, int(lda), B, int(ldb), beta, C, int(ldc));
    });
}

void set_blas_threads(int threads) { openblas_set_num_threads(threads); }

}  // namespace kiln::cpu
