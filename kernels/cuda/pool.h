// 2-D pooling over NCHW planes (pool.cu).
// The same signatures as kernels/cpu/pool.h, in namespace kiln::KILN_CUDA_NS.
// No include guard on purpose: kernels/backends.h includes this file once for
// each build (namespace kiln::emu, and kiln::cuda when nvcc exists), with
// KILN_CUDA_NS naming it.
#include <cstdint>

#include "kernels/common/pool.h"

namespace kiln::KILN_CUDA_NS {

using math::Pool2dGeometry;

// argmax may be null (inference): only y is written.
template <typename T>
void max_pool2d_forward(T* y, int64_t* argmax, const T* x, const Pool2dGeometry& g);
template <typename T>
void max_pool2d_backward(T* dx, const T* dy, const int64_t* argmax, const Pool2dGeometry& g);

template <typename T>
void avg_pool2d_forward(T* y, const T* x, const Pool2dGeometry& g, bool count_include_pad);
template <typename T>
void avg_pool2d_backward(T* dx, const T* dy, const Pool2dGeometry& g, bool count_include_pad);

template <typename T>
void adaptive_avg_pool2d_forward(T* y, const T* x, const Pool2dGeometry& g);
template <typename T>
void adaptive_avg_pool2d_backward(T* dx, const T* dy, const Pool2dGeometry& g);

}  // namespace kiln::KILN_CUDA_NS
