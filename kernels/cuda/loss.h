// Loss kernels (loss.cu): the weighted, label-smoothed NLL over
// log-probabilities and the element-wise binary cross-entropy on logits.
// The same signatures as kernels/cpu/loss.h, in namespace kiln::KILN_CUDA_NS,
// except for nll_weight_total and find_outside: those return a value to the
// host (a mean's divisor, the first bad value of a check), so the engine runs
// the cpu versions on cpu copies of the (small) tensors.
// No include guard on purpose: kernels/backends.h includes this file once for
// each build (namespace kiln::emu, and kiln::cuda when nvcc exists), with
// KILN_CUDA_NS naming it.
#include <cstdint>

namespace kiln::KILN_CUDA_NS {

template <typename T>
void nll_forward(T* loss, const T* log_probs, const int64_t* target, const T* class_weights, const T* sample_weights,
                 double label_smoothing, int64_t N, int64_t C);
template <typename T>
void nll_backward(T* dlog_probs, const T* dloss, const int64_t* target, const T* class_weights,
                  const T* sample_weights, double label_smoothing, int64_t N, int64_t C);
template <typename T>
void bce_with_logits_forward(T* loss, const T* x, const T* t, const T* pos_weight, int64_t P, int64_t count);
template <typename T>
void bce_with_logits_backward(T* dx, T* dt, const T* dloss, const T* x, const T* t, const T* pos_weight, int64_t P,
                              int64_t count);

}  // namespace kiln::KILN_CUDA_NS
