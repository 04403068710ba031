// cuDNN convolution behind kiln's conv2d passes (conv.h).
//
// Each call builds the four descriptors of its shape (x, w, y, convolution:
// cheap host-side structs), takes the algorithm cuDNN's heuristics rank first
// among those that qualify (cached per device, shape, pass and dtype: the
// heuristics query costs more than the descriptors), and runs it with the
// per-device workspace (handles.h). Backward passes use beta = 1: they add
// into dx, dw, db like the hand-written kernels.
#include "kernels/cuda/vendor/conv.h"

#include <array>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "kernels/common/error.h"
#include "kernels/cuda/vendor/handles.h"

namespace kiln::vendor {

namespace {

// FMA math only: the Tensor Core algorithms round float inputs to TF32
// (10-bit mantissa), which is a different computation from kiln's FP32
// kernels, not a faster version of the same one.
constexpr cudnnMathType_t math_type = CUDNN_FMA_MATH;

const char* const forward_names[] = {"IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT",
                                     "FFT",           "FFT_TILING",            "WINOGRAD", "WINOGRAD_NONFUSED"};
const char* const backward_data_names[] = {"ALGO_0", "ALGO_1", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
const char* const backward_filter_names[] = {"ALGO_0",   "ALGO_1",           "FFT",       "ALGO_3",
                                             "WINOGRAD", "WINOGRAD_NONFUSED", "FFT_TILING"};

// The descriptors of one convolution shape.
template <typename T>
struct ConvDescriptors {
    TensorDescriptor x, y;
    FilterDescriptor w;
    ConvolutionDescriptor conv;
    explicit ConvDescriptors(const Conv2dShape& s) {
        set_tensor<T>(x, s.batch, s.in_channels, s.height, s.width);
        set_tensor<T>(y, s.batch, s.out_channels, s.out_h, s.out_w);
        check(cudnnSetFilter4dDescriptor(w, cudnn_type<T>(), CUDNN_TENSOR_NCHW, int(s.out_channels),
                                         int(s.in_channels / s.groups), int(s.kernel_h), int(s.kernel_w)),
              "cudnnSetFilter4dDescriptor");
        check(cudnnSetConvolution2dDescriptor(conv, int(s.pad_h), int(s.pad_w), int(s.stride_h), int(s.stride_w),
                                              int(s.dilation_h), int(s.dilation_w), CUDNN_CROSS_CORRELATION,
                                              cudnn_type<T>()),
              "cudnnSetConvolution2dDescriptor");
        check(cudnnSetConvolutionGroupCount(conv, int(s.groups)), "cudnnSetConvolutionGroupCount");
        check(cudnnSetConvolutionMathType(conv, math_type), "cudnnSetConvolutionMathType");
    }
};

struct Choice {
    int algorithm;
    size_t workspace_bytes;
    std::string name;
};

// The first of cuDNN's ranked results that ran, needs no Tensor Cores and
// fits the workspace limit.
template <typename Perf>
Choice first_qualifying(const std::vector<Perf>& results, int returned, const char* const* names, const char* pass) {
    for (int i = 0; i < returned; ++i) {
        const Perf& r = results[size_t(i)];
        if (r.status != CUDNN_STATUS_SUCCESS || r.memory > max_workspace_bytes) continue;
        if (r.mathType == CUDNN_TENSOR_OP_MATH || r.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) continue;
        return {int(r.algo), r.memory, names[int(r.algo)]};
    }
    fail("vendor: cuDNN's heuristics offer no FP32 ", pass, " algorithm within ", max_workspace_bytes >> 20,
         " MiB of workspace for this convolution");
}

template <typename T>
Choice query(Conv2dPass pass, const ConvDescriptors<T>& d) {
    cudnnHandle_t handle = cudnn_handle();
    int count = 0, returned = 0;
    switch (pass) {
        case Conv2dPass::forward: {
            check(cudnnGetConvolutionForwardAlgorithmMaxCount(handle, &count), "cudnnGetConvolutionForwardAlgorithmMaxCount");
            std::vector<cudnnConvolutionFwdAlgoPerf_t> results(static_cast<size_t>(count));
            check(cudnnGetConvolutionForwardAlgorithm_v7(handle, d.x, d.w, d.conv, d.y, count, &returned, results.data()),
                  "cudnnGetConvolutionForwardAlgorithm_v7");
            return first_qualifying(results, returned, forward_names, "forward");
        }
        case Conv2dPass::backward_input: {
            check(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(handle, &count),
                  "cudnnGetConvolutionBackwardDataAlgorithmMaxCount");
            std::vector<cudnnConvolutionBwdDataAlgoPerf_t> results(static_cast<size_t>(count));
            check(cudnnGetConvolutionBackwardDataAlgorithm_v7(handle, d.w, d.y, d.conv, d.x, count, &returned,
                                                              results.data()),
                  "cudnnGetConvolutionBackwardDataAlgorithm_v7");
            return first_qualifying(results, returned, backward_data_names, "backward-data");
        }
        case Conv2dPass::backward_weight: {
            check(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(handle, &count),
                  "cudnnGetConvolutionBackwardFilterAlgorithmMaxCount");
            std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> results(static_cast<size_t>(count));
            check(cudnnGetConvolutionBackwardFilterAlgorithm_v7(handle, d.x, d.y, d.conv, d.w, count, &returned,
                                                                results.data()),
                  "cudnnGetConvolutionBackwardFilterAlgorithm_v7");
            return first_qualifying(results, returned, backward_filter_names, "backward-filter");
        }
    }
    fail("vendor: unknown convolution pass");
}

// The cached choice for (device, shape, pass, dtype).
template <typename T>
const Choice& choose(const Conv2dShape& s, Conv2dPass pass, const ConvDescriptors<T>& d) {
    using Key = std::tuple<int, std::array<int64_t, 16>, int, bool>;
    static std::mutex mutex;
    static auto* cache = new std::map<Key, Choice>();  // never destroyed, like the handles
    int device = 0;
    check(cudaGetDevice(&device), "cudaGetDevice");
    const Key key{device,
                  {s.batch, s.in_channels, s.height, s.width, s.out_channels, s.kernel_h, s.kernel_w, s.groups,
                   s.stride_h, s.stride_w, s.pad_h, s.pad_w, s.dilation_h, s.dilation_w, s.out_h, s.out_w},
                  int(pass),
                  std::is_same_v<T, double>};
    {
        std::lock_guard lock(mutex);
        auto found = cache->find(key);
        if (found != cache->end()) return found->second;
    }
    Choice choice = query(pass, d);
    std::lock_guard lock(mutex);
    return cache->emplace(key, std::move(choice)).first->second;
}

}  // namespace

template <typename T>
void conv2d_forward(T* y, const T* x, const T* w, const T* b, const Conv2dShape& s) {
    if (s.batch == 0) return;
    const ConvDescriptors<T> d(s);
    const Choice& choice = choose(s, Conv2dPass::forward, d);
    const T one = 1, zero = 0;
    check(cudnnConvolutionForward(cudnn_handle(), &one, d.x, x, d.w, w, d.conv,
                                  cudnnConvolutionFwdAlgo_t(choice.algorithm), workspace(choice.workspace_bytes),
                                  choice.workspace_bytes, &zero, d.y, y),
          "cudnnConvolutionForward");
    if (b) {  // y += b broadcast over [N, C_out, H_out, W_out]
        TensorDescriptor bias;
        set_tensor<T>(bias, 1, s.out_channels, 1, 1);
        check(cudnnAddTensor(cudnn_handle(), &one, bias, b, &one, d.y, y), "cudnnAddTensor (conv2d bias)");
    }
}

template <typename T>
void conv2d_backward_input(T* dx, const T* dy, const T* w, const Conv2dShape& s) {
    if (s.batch == 0) return;
    const ConvDescriptors<T> d(s);
    const Choice& choice = choose(s, Conv2dPass::backward_input, d);
    const T one = 1;
    check(cudnnConvolutionBackwardData(cudnn_handle(), &one, d.w, w, d.y, dy, d.conv,
                                       cudnnConvolutionBwdDataAlgo_t(choice.algorithm),
                                       workspace(choice.workspace_bytes), choice.workspace_bytes, &one, d.x, dx),
          "cudnnConvolutionBackwardData");
}

template <typename T>
void conv2d_backward_weight(T* dw, const T* dy, const T* x, const Conv2dShape& s) {
    if (s.batch == 0) return;
    const ConvDescriptors<T> d(s);
    const Choice& choice = choose(s, Conv2dPass::backward_weight, d);
    const T one = 1;
    check(cudnnConvolutionBackwardFilter(cudnn_handle(), &one, d.x, x, d.y, dy, d.conv,
                                         cudnnConvolutionBwdFilterAlgo_t(choice.algorithm),
                                         workspace(choice.workspace_bytes), choice.workspace_bytes, &one, d.w, dw),
          "cudnnConvolutionBackwardFilter");
}

template <typename T>
void conv2d_backward_bias(T* db, const T* dy, const Conv2dShape& s) {
    if (s.batch == 0) return;
    TensorDescriptor dy_descriptor, bias;
    set_tensor<T>(dy_descriptor, s.batch, s.out_channels, s.out_h, s.out_w);
    set_tensor<T>(bias, 1, s.out_channels, 1, 1);
    const T one = 1;
    check(cudnnConvolutionBackwardBias(cudnn_handle(), &one, dy_descriptor, dy, &one, bias, db),
          "cudnnConvolutionBackwardBias");
}

template <typename T>
Conv2dChoice conv2d_choice(const Conv2dShape& s, Conv2dPass pass) {
    const ConvDescriptors<T> d(s);
    const Choice& choice = choose(s, pass, d);
    return {choice.name, choice.workspace_bytes};
}

#define KILN_INSTANTIATE(T)                                                                              \
    template void conv2d_forward<T>(T*, const T*, const T*, const T*, const Conv2dShape&);               \
    template void conv2d_backward_input<T>(T*, const T*, const T*, const Conv2dShape&);                  \
    template void conv2d_backward_weight<T>(T*, const T*, const T*, const Conv2dShape&);                 \
    template void conv2d_backward_bias<T>(T*, const T*, const Conv2dShape&);                             \
    template Conv2dChoice conv2d_choice<T>(const Conv2dShape&, Conv2dPass);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

}  // namespace kiln::vendor
