// GEMM and its kernel versions (gemm.cu).
// The same signatures as kernels/cpu/gemm.h, in namespace kiln::KILN_CUDA_NS.
// No include guard on purpose: kernels/backends.h includes this file once for
// each build (namespace kiln::emu, and kiln::cuda when nvcc exists), with
// KILN_CUDA_NS naming it.
#include <cstdint>
#include <vector>

namespace kiln::KILN_CUDA_NS {

// The SGEMM progression, every version kept (see gemm.cu); gemm() uses the default.
enum class GemmKernel { naive, shared_tiles, register_blocking };
constexpr GemmKernel default_gemm_kernel = GemmKernel::register_blocking;
template <typename T>
void gemm_with(GemmKernel kernel, bool transpose_a, bool transpose_b, int64_t M, int64_t N, int64_t K, T alpha,
               const T* A, int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);
template <typename T>
void gemm(bool transpose_a, bool transpose_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

}  // namespace kiln::KILN_CUDA_NS
