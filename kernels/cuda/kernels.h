// The kernel API of kernels/cuda/*.cu: the same functions, with the same
// signatures, as kernels/cpu/ declares in namespace kiln::cpu, here in
// namespace kiln::KILN_CUDA_NS. No include guard on purpose: kernels/backends.h
// includes this file once for each build (emu, and cuda when nvcc exists).
#include <cstdint>
#include <vector>

#include "kernels/common/elementwise.h"

namespace kiln::KILN_CUDA_NS {

// ---- elementwise.cu ----
template <typename T>
void unary_forward(math::UnaryOp op, const math::UnaryParams& params, T* y, const T* x, int64_t count);
template <typename T>
void unary_backward(math::UnaryOp op, const math::UnaryParams& params, T* dx, const T* dy, const T* x, const T* y,
                    int64_t count);
template <typename T>
void binary_forward(math::BinaryOp op, T* out, const T* a, const std::vector<int64_t>& a_strides, const T* b,
                    const std::vector<int64_t>& b_strides, const std::vector<int64_t>& shape);
template <typename T>
void binary_backward(math::BinaryOp op, T* da, T* db, const T* dy, const T* a, const std::vector<int64_t>& a_strides,
                     const T* b, const std::vector<int64_t>& b_strides, const std::vector<int64_t>& shape);

// ---- copy.cu ----
template <typename Dst, typename Src>
void copy_strided(Dst* dst, const std::vector<int64_t>& dst_strides, const Src* src,
                  const std::vector<int64_t>& src_strides, const std::vector<int64_t>& shape);
template <typename T>
void fill(T* dst, int64_t count, T value);

// ---- reduce.cu ----
template <typename T>
void sum_forward(T* out, const T* in, int64_t outer, int64_t reduce, int64_t inner);
template <typename T>
void max_forward(T* values, int64_t* indices, const T* in, int64_t outer, int64_t reduce, int64_t inner);
template <typename T>
void max_backward(T* dx, const T* dy, const int64_t* indices, int64_t outer, int64_t reduce, int64_t inner);

// ---- gemm.cu ----
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
