// cuBLAS GEMM and strided batched GEMM behind kiln's row-major GEMM signature
// (gemm.h). Row-major C [M, N] is column-major C^T [N, M]; so is every
// operand, hence C^T = op(B)^T op(A)^T: cuBLAS gets B first, then A, and the
// sizes N, M, K. The _64 entry points take int64 sizes and strides.
#include "kernels/cuda/vendor/gemm.h"

#include <type_traits>

#include "kernels/cuda/vendor/handles.h"

namespace kiln::vendor {

namespace {

cublasOperation_t operation(bool transpose) { return transpose ? CUBLAS_OP_T : CUBLAS_OP_N; }

}  // namespace

template <typename T>
void gemm(bool transpose_a, bool transpose_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
    if (M == 0 || N == 0) return;
    cublasHandle_t handle = cublas_handle();
    if constexpr (std::is_same_v<T, float>)
        check(cublasSgemm_64(handle, operation(transpose_b), operation(transpose_a), N, M, K, &alpha, B, ldb, A, lda,
                             &beta, C, ldc),
              "cublasSgemm");
    else
        check(cublasDgemm_64(handle, operation(transpose_b), operation(transpose_a), N, M, K, &alpha, B, ldb, A, lda,
                             &beta, C, ldc),
              "cublasDgemm");
}

template <typename T>
void gemm_strided_batched(bool transpose_a, bool transpose_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                          int64_t lda, int64_t stride_a, const T* B, int64_t ldb, int64_t stride_b, T beta, T* C,
                          int64_t ldc, int64_t stride_c, int64_t batch) {
    if (M == 0 || N == 0 || batch == 0) return;
    cublasHandle_t handle = cublas_handle();
    if constexpr (std::is_same_v<T, float>)
        check(cublasSgemmStridedBatched_64(handle, operation(transpose_b), operation(transpose_a), N, M, K, &alpha, B,
                                           ldb, stride_b, A, lda, stride_a, &beta, C, ldc, stride_c, batch),
              "cublasSgemmStridedBatched");
    else
        check(cublasDgemmStridedBatched_64(handle, operation(transpose_b), operation(transpose_a), N, M, K, &alpha, B,
                                           ldb, stride_b, A, lda, stride_a, &beta, C, ldc, stride_c, batch),
              "cublasDgemmStridedBatched");
}

#define KILN_INSTANTIATE(T)                                                                                          \
    template void gemm<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*, int64_t, T, T*,     \
                          int64_t);                                                                                  \
    template void gemm_strided_batched<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, int64_t,      \
                                          const T*, int64_t, int64_t, T, T*, int64_t, int64_t, int64_t);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

}  // namespace kiln::vendor
