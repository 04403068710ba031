// 2-D convolution, NCHW, forward and backward (conv.cu).
// The same signatures as kernels/cpu/conv.h, in namespace kiln::KILN_CUDA_NS.
// No include guard on purpose: kernels/backends.h includes this file once for
// each build (namespace kiln::emu, and kiln::cuda when nvcc exists), with
// KILN_CUDA_NS naming it.
#include <cstdint>

#include "kernels/common/batch_norm.h"  // math::BatchNormEpilogue
#include "kernels/common/conv.h"

namespace kiln::KILN_CUDA_NS {

using math::Conv2dPass;
using math::Conv2dShape;

// Elements of T the device workspace of `pass` needs (0 when none): one
// image-group's im2col columns [Cg kH kW, H_out W_out] on the im2col path.
int64_t conv2d_workspace_size(const Conv2dShape& s, Conv2dPass pass);

template <typename T>
void conv2d_forward(T* y, const T* x, const T* w, const T* b, const Conv2dShape& s, T* workspace,
                    const math::BatchNormEpilogue<T>& epilogue = {});
template <typename T>
void conv2d_backward_input(T* dx, const T* dy, const T* w, const Conv2dShape& s, T* workspace);
template <typename T>
void conv2d_backward_weight(T* dw, const T* dy, const T* x, const Conv2dShape& s, T* workspace);
template <typename T>
void conv2d_backward_bias(T* db, const T* dy, const Conv2dShape& s);

}  // namespace kiln::KILN_CUDA_NS
