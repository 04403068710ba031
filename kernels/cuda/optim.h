// Fused optimizer steps (optim.cu): one kernel per optimizer, each thread
// applying the element rule of kernels/common/optim.h to one weight.
// The same signatures as kernels/cpu/optim.h, in namespace kiln::KILN_CUDA_NS.
// No include guard on purpose: kernels/backends.h includes this file once for
// each build (namespace kiln::emu, and kiln::cuda when nvcc exists).
#include <cstdint>

#include "kernels/common/optim.h"

namespace kiln::KILN_CUDA_NS {

template <typename T>
void sgd_step(T* w, const T* g, T* momentum_buffer, int64_t count, const math::SgdHyper& hyper);
template <typename T>
void adagrad_step(T* w, const T* g, T* sum_of_squares, int64_t count, const math::AdagradHyper& hyper);
template <typename T>
void rmsprop_step(T* w, const T* g, T* square_avg, T* grad_avg, T* momentum_buffer, int64_t count,
                  const math::RmspropHyper& hyper);
template <typename T>
void adam_step(T* w, const T* g, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t count,
               const math::AdamHyper& hyper);
template <typename T>
void lion_step(T* w, const T* g, T* exp_avg, int64_t count, const math::LionHyper& hyper);

}  // namespace kiln::KILN_CUDA_NS
