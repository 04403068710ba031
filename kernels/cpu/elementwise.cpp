#include "kernels/cpu/elementwise.h"

#include "kernels/cpu/strided.h"

namespace kiln::cpu {

template <typename T>
void unary_forward(math::UnaryOp op, const math::UnaryParams& params, T* y, const T* x, int64_t count) {
#pragma omp parallel for if (count >= parallel_grain)
    for (int64_t i = 0; i < count; ++i) y[i] = math::unary_forward(op, x[i], params);
}

template <typename T>
void unary_backward(math::UnaryOp op, const math::UnaryParams& params, T* dx, const T* dy, const T* x, const T* y,
                    int64_t count) {
#pragma omp parallel for if (count >= parallel_grain)
    for (int64_t i = 0; i < count; ++i) dx[i] += dy[i] * math::unary_derivative(op, x[i], y[i], params);
}

template <typename T>
void binary_forward(math::BinaryOp op, T* out, const T* a, const std::vector<int64_t>& a_strides, const T* b,
                    const std::vector<int64_t>& b_strides, const std::vector<int64_t>& shape) {
    for_each_strided<2>(shape, {a_strides.data(), b_strides.data()},
                        [=](int64_t i, const std::array<int64_t, 2>& offset) {
                            out[i] = math::binary_forward(op, a[offset[0]], b[offset[1]]);
                        });
}

template <typename T>
void binary_backward(math::BinaryOp op, T* da, T* db, const T* dy, const T* a, const std::vector<int64_t>& a_strides,
                     const T* b, const std::vector<int64_t>& b_strides, const std::vector<int64_t>& shape) {
    // Serial: with broadcasting, many output elements add into one da/db element.
    for_each_strided<2>(
        shape, {a_strides.data(), b_strides.data()},
        [=](int64_t i, const std::array<int64_t, 2>& offset) {
            const T av = a[offset[0]], bv = b[offset[1]];
            if (da) da[offset[0]] += dy[i] * math::binary_derivative_a(op, av, bv);
            if (db) db[offset[1]] += dy[i] * math::binary_derivative_b(op, av, bv);
        },
        /*parallel=*/false);
}

#define KILN_ELEMENTWISE(T)                                                                                       \
    template void unary_forward<T>(math::UnaryOp, const math::UnaryParams&, T*, const T*, int64_t);              \
    template void unary_backward<T>(math::UnaryOp, const math::UnaryParams&, T*, const T*, const T*, const T*,   \
                                    int64_t);                                                                    \
    template void binary_forward<T>(math::BinaryOp, T*, const T*, const std::vector<int64_t>&, const T*,         \
                                    const std::vector<int64_t>&, const std::vector<int64_t>&);                   \
    template void binary_backward<T>(math::BinaryOp, T*, T*, const T*, const T*, const std::vector<int64_t>&,    \
                                     const T*, const std::vector<int64_t>&, const std::vector<int64_t>&);
KILN_ELEMENTWISE(float)
KILN_ELEMENTWISE(double)

}  // namespace kiln::cpu
