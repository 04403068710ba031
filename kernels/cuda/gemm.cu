// GEMM, row-major: C = alpha * op(A) @ op(B) + beta * C, op(A) [M, K], op(B) [K, N].
// (beta = 0 never reads C, which may hold garbage.)
//
// The progression, each version a step a learner can read and time
// (bench/kernels, apps/kernel_walkthrough):
//   v1 naive:             one thread per C element, K-loop over global memory.
//                         Block 16x16 threads, grid covers C.
//   v2 shared tiles:      a block loads a 16x16 tile of A and of B into shared
//                         memory per K-step, then every thread reuses them 16
//                         times: global traffic / 16. Two barriers per step: after
//                         loading (tiles complete) and after using (before the
//                         next load overwrites them).
//   v3 register blocking: a block computes a 64x64 tile of C with 16x16 threads,
//                         each thread a 4x4 micro-tile kept in registers; per
//                         K-step of 16 the block stages a 64x16 tile of A and a
//                         16x64 tile of B in shared memory. Each loaded A value
//                         feeds 4 FMAs, each B value 4: fewer shared loads per FMA.
#include "kernels/cuda/cuda_common.h"
#include "kernels/cuda/gemm.h"

namespace kiln::KILN_CUDA_NS {

namespace {

// op(A)[row, k] and op(B)[k, col] for the stored (possibly transposed) matrices.
template <typename T>
__device__ __forceinline__ T load_a(const T* A, int64_t lda, bool transpose, int64_t row, int64_t k) {
    return transpose ? A[k * lda + row] : A[row * lda + k];
}
template <typename T>
__device__ __forceinline__ T load_b(const T* B, int64_t ldb, bool transpose, int64_t k, int64_t col) {
    return transpose ? B[col * ldb + k] : B[k * ldb + col];
}
template <typename T>
__device__ __forceinline__ void store_c(T* C, int64_t ldc, int64_t row, int64_t col, T alpha, T beta, T accumulator) {
    T& c = C[row * ldc + col];
    c = beta == T(0) ? alpha * accumulator : alpha * accumulator + beta * c;
}

// ---- v1: naive ----
template <typename T>
__global__ void gemm_naive_kernel(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
                                  const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
    const int64_t row = int64_t(blockIdx.y) * blockDim.y + threadIdx.y, col = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (row >= M || col >= N) return;
    T accumulator = 0;
    for (int64_t k = 0; k < K; ++k) accumulator += load_a(A, lda, ta, row, k) * load_b(B, ldb, tb, k, col);
    store_c(C, ldc, row, col, alpha, beta, accumulator);
}

// ---- v2: shared-memory tiles ----
constexpr int tile = 16;

template <typename T>
__global__ void gemm_shared_tiles_kernel(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                                         int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
    __shared__ T a_tile[tile][tile];
    __shared__ T b_tile[tile][tile];
    const unsigned tx = threadIdx.x, ty = threadIdx.y;
    const int64_t row = int64_t(blockIdx.y) * tile + ty, col = int64_t(blockIdx.x) * tile + tx;
    T accumulator = 0;
    for (int64_t k0 = 0; k0 < K; k0 += tile) {
        // each thread loads one element of each tile (zero outside the matrices)
        a_tile[ty][tx] = (row < M && k0 + tx < K) ? load_a(A, lda, ta, row, k0 + tx) : T(0);
        b_tile[ty][tx] = (k0 + ty < K && col < N) ? load_b(B, ldb, tb, k0 + ty, col) : T(0);
        __syncthreads();  // tiles complete
        for (int k = 0; k < tile; ++k) accumulator += a_tile[ty][k] * b_tile[k][tx];
        __syncthreads();  // everyone is done reading before the next load
    }
    if (row < M && col < N) store_c(C, ldc, row, col, alpha, beta, accumulator);
}

// ---- v3: register blocking ----
constexpr int block_tile = 64, k_tile = 16, micro = 4;  // 64x64 C tile, 16x16 threads, 4x4 per thread

template <typename T>
__global__ void gemm_register_blocking_kernel(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                                              int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
    __shared__ T a_tile[block_tile][k_tile];
    __shared__ T b_tile[k_tile][block_tile];
    const unsigned tx = threadIdx.x, ty = threadIdx.y, thread = ty * 16 + tx;
    const int64_t row0 = int64_t(blockIdx.y) * block_tile, col0 = int64_t(blockIdx.x) * block_tile;
    T accumulator[micro][micro] = {};
    for (int64_t k0 = 0; k0 < K; k0 += k_tile) {
        // 256 threads load 64x16 + 16x64 = 2048 values: 4 of each tile per thread
        for (unsigned e = thread; e < block_tile * k_tile; e += 256) {
            const unsigned r = e / k_tile, k = e % k_tile;
            a_tile[r][k] = (row0 + r < M && k0 + k < K) ? load_a(A, lda, ta, row0 + r, k0 + k) : T(0);
            const unsigned kb = e / block_tile, c = e % block_tile;
            b_tile[kb][c] = (k0 + kb < K && col0 + c < N) ? load_b(B, ldb, tb, k0 + kb, col0 + c) : T(0);
        }
        __syncthreads();
        for (int k = 0; k < k_tile; ++k) {
            T a_column[micro], b_row[micro];
            for (int i = 0; i < micro; ++i) a_column[i] = a_tile[ty * micro + i][k];
            for (int j = 0; j < micro; ++j) b_row[j] = b_tile[k][tx * micro + j];
            for (int i = 0; i < micro; ++i)
                for (int j = 0; j < micro; ++j) accumulator[i][j] += a_column[i] * b_row[j];
        }
        __syncthreads();
    }
    for (int i = 0; i < micro; ++i)
        for (int j = 0; j < micro; ++j) {
            const int64_t row = row0 + ty * micro + i, col = col0 + tx * micro + j;
            if (row < M && col < N) store_c(C, ldc, row, col, alpha, beta, accumulator[i][j]);
        }
}

}  // namespace

template <typename T>
void gemm_with(GemmKernel kernel, bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
               const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
    if (M == 0 || N == 0) return;
    switch (kernel) {
        case GemmKernel::naive:
            KILN_LAUNCH(gemm_naive_kernel<T>, dim3(unsigned((N + 15) / 16), unsigned((M + 15) / 16), 1), dim3(16, 16, 1),
                        0, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
            break;
        case GemmKernel::shared_tiles:
            KILN_LAUNCH(gemm_shared_tiles_kernel<T>, dim3(unsigned((N + tile - 1) / tile), unsigned((M + tile - 1) / tile), 1),
                        dim3(tile, tile, 1), 0, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
            break;
        case GemmKernel::register_blocking:
            KILN_LAUNCH(gemm_register_blocking_kernel<T>,
                        dim3(unsigned((N + block_tile - 1) / block_tile), unsigned((M + block_tile - 1) / block_tile), 1),
                        dim3(16, 16, 1), 0, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
            break;
    }
}

template <typename T>
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B, int64_t ldb,
          T beta, T* C, int64_t ldc) {
    gemm_with(default_gemm_kernel, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

#define KILN_GEMM(T)                                                                                              \
    template void gemm_with<T>(GemmKernel, bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*, \
                               int64_t, T, T*, int64_t);                                                          \
    template void gemm<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*, int64_t, T, T*,  \
                          int64_t);
KILN_GEMM(float)
KILN_GEMM(double)
#undef KILN_GEMM

}  // namespace kiln::KILN_CUDA_NS
