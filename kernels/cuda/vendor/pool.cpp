// cuDNN pooling behind kiln's max_pool2d and avg_pool2d (pool.h). The
// [planes, H, W] planes are one NCHW image of `planes` channels: pooling
// never mixes channels, so the batch split does not matter to cuDNN.
#include "kernels/cuda/vendor/pool.h"

#include "kernels/cuda/vendor/handles.h"

namespace kiln::vendor {

namespace {

template <typename T>
struct PoolDescriptors {
    TensorDescriptor x, y;
    PoolingDescriptor pool;
    PoolDescriptors(const Pool2dGeometry& g, cudnnPoolingMode_t mode) {
        set_tensor<T>(x, 1, g.planes, g.height, g.width);
        set_tensor<T>(y, 1, g.planes, g.out_height, g.out_width);
        check(cudnnSetPooling2dDescriptor(pool, mode, CUDNN_PROPAGATE_NAN, int(g.kernel_h), int(g.kernel_w),
                                          int(g.pad_h), int(g.pad_w), int(g.stride_h), int(g.stride_w)),
              "cudnnSetPooling2dDescriptor");
    }
};

cudnnPoolingMode_t average_mode(bool count_include_pad) {
    return count_include_pad ? CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING
                             : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
}

template <typename T>
void forward(T* y, const T* x, const Pool2dGeometry& g, cudnnPoolingMode_t mode) {
    if (g.planes == 0) return;
    const PoolDescriptors<T> d(g, mode);
    const T one = 1, zero = 0;
    check(cudnnPoolingForward(cudnn_handle(), d.pool, &one, d.x, x, &zero, d.y, y), "cudnnPoolingForward");
}

template <typename T>
void backward(T* dx, const T* dy, const T* x, const T* y, const Pool2dGeometry& g, cudnnPoolingMode_t mode) {
    if (g.planes == 0) return;
    const PoolDescriptors<T> d(g, mode);
    const T one = 1;  // beta = 1: add into dx
    check(cudnnPoolingBackward(cudnn_handle(), d.pool, &one, d.y, y, d.y, dy, d.x, x, &one, d.x, dx),
          "cudnnPoolingBackward");
}

}  // namespace

// Deterministic max pooling: the backward sends each gradient to one element.
template <typename T>
void max_pool2d_forward(T* y, const T* x, const Pool2dGeometry& g) {
    forward(y, x, g, CUDNN_POOLING_MAX_DETERMINISTIC);
}
template <typename T>
void max_pool2d_backward(T* dx, const T* dy, const T* x, const T* y, const Pool2dGeometry& g) {
    backward(dx, dy, x, y, g, CUDNN_POOLING_MAX_DETERMINISTIC);
}
template <typename T>
void avg_pool2d_forward(T* y, const T* x, const Pool2dGeometry& g, bool count_include_pad) {
    forward(y, x, g, average_mode(count_include_pad));
}
template <typename T>
void avg_pool2d_backward(T* dx, const T* dy, const T* x, const T* y, const Pool2dGeometry& g,
                         bool count_include_pad) {
    backward(dx, dy, x, y, g, average_mode(count_include_pad));
}

#define KILN_INSTANTIATE(T)                                                                                 \
    template void max_pool2d_forward<T>(T*, const T*, const Pool2dGeometry&);                               \
    template void max_pool2d_backward<T>(T*, const T*, const T*, const T*, const Pool2dGeometry&);          \
    template void avg_pool2d_forward<T>(T*, const T*, const Pool2dGeometry&, bool);                         \
    template void avg_pool2d_backward<T>(T*, const T*, const T*, const T*, const Pool2dGeometry&, bool);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

}  // namespace kiln::vendor
