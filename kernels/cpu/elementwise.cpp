#include "kernels/cpu/elementwise.h"

#include <type_traits>

#include "kernels/cpu/strided.h"

namespace kiln::cpu {

namespace {
// Calls fn(std::integral_constant<UnaryOp, op>) for the run-time op, so each
// unary loop is compiled once per op with its formula inlined (and
// vectorised where the formula allows) instead of switching on op for every
// element. -Wswitch flags an op missing here.
template <typename Fn>
void with_constant_op(math::UnaryOp op, Fn&& fn) {
    using math::UnaryOp;
#define KILN_UNARY_CASE(name) \
    case UnaryOp::name: return fn(std::integral_constant<UnaryOp, UnaryOp::name>{});
    switch (op) {
        KILN_UNARY_CASE(neg) KILN_UNARY_CASE(exp) KILN_UNARY_CASE(log) KILN_UNARY_CASE(sqrt) KILN_UNARY_CASE(abs)
        KILN_UNARY_CASE(pow) KILN_UNARY_CASE(clamp) KILN_UNARY_CASE(relu) KILN_UNARY_CASE(leaky_relu)
        KILN_UNARY_CASE(sigmoid) KILN_UNARY_CASE(tanh) KILN_UNARY_CASE(silu) KILN_UNARY_CASE(hardswish)
        KILN_UNARY_CASE(hardsigmoid) KILN_UNARY_CASE(gelu)
    }
#undef KILN_UNARY_CASE
}
}  // namespace

template <typename T>
void unary_forward(math::UnaryOp op, const math::UnaryParams& params, T* y, const T* x, int64_t count) {
    with_constant_op(op, [&](auto constant) {
        constexpr math::UnaryOp k = decltype(constant)::value;
#pragma omp parallel for if (count >= parallel_grain)
        for (int64_t i = 0; i < count; ++i) y[i] = math::unary_forward(k, x[i], params);
    });
}

template <typename T>
void unary_backward(math::UnaryOp op, const math::UnaryParams& params, T* dx, const T* dy, const T* x, const T* y,
                    int64_t count) {
    with_constant_op(op, [&](auto constant) {
        constexpr math::UnaryOp k = decltype(constant)::value;
#pragma omp parallel for if (count >= parallel_grain)
        for (int64_t i = 0; i < count; ++i) dx[i] += dy[i] * math::unary_derivative(k, x[i], y[i], params);
    });
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
