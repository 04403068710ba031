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
        KILN_UNARY_CASE(pow) KILN_UNARY_CASE(clamp) KILN_UNARY_CASE(relu) KILN_UNARY_CASE(relu6)
        KILN_UNARY_CASE(leaky_relu)
        KILN_UNARY_CASE(sigmoid) KILN_UNARY_CASE(tanh) KILN_UNARY_CASE(silu) KILN_UNARY_CASE(hardswish)
        KILN_UNARY_CASE(hardsigmoid) KILN_UNARY_CASE(gelu)
    }
#undef KILN_UNARY_CASE
}

// clamp, the same formula as kernels/common's
//   y = x < lo ? lo : (x > hi ? hi : x)     (NaN passes through),  dy/dx = 1 on [lo, hi], else 0
// with the bounds converted to T once, outside the loop. Written through the
// common formula, GCC kept the loop scalar: the double-to-float conversion of
// hi sits in a branch, it may raise a floating-point flag, so the branch could
// not become a vector select, and it was mispredicted on about half of the
// elements. ReLU6 forward and backward were a third of MobileNetV2's training
// step (docs/benchmarks.md, the training-step profile); as selects it is a
// memory-bound vector loop with bit-identical results.
template <typename T>
struct ClampBounds {
    T lo, hi;
};
template <typename T>
ClampBounds<T> clamp_bounds(const math::UnaryParams& p) {
    return {T(p.lo), T(p.hi)};
}
}  // namespace

template <typename T>
void unary_forward(math::UnaryOp op, const math::UnaryParams& params, T* y, const T* x, int64_t count) {
    with_constant_op(op, [&](auto constant) {
        constexpr math::UnaryOp k = decltype(constant)::value;
        if constexpr (k == math::UnaryOp::clamp) {
            // kernels/common/elementwise.h's clamp with its bounds converted to T once (see clamp_bounds)
            const ClampBounds<T> c = clamp_bounds<T>(params);
#pragma omp parallel for simd if (count >= parallel_grain)
            for (int64_t i = 0; i < count; ++i) {
                const T v = x[i] < c.lo ? c.lo : x[i];
                y[i] = v > c.hi ? c.hi : v;
            }
        } else {
#pragma omp parallel for if (count >= parallel_grain)
            for (int64_t i = 0; i < count; ++i) y[i] = math::unary_forward(k, x[i], params);
        }
    });
}

template <typename T>
void unary_backward(math::UnaryOp op, const math::UnaryParams& params, T* dx, const T* dy, const T* x, const T* y,
                    int64_t count) {
    with_constant_op(op, [&](auto constant) {
        constexpr math::UnaryOp k = decltype(constant)::value;
        if constexpr (k == math::UnaryOp::clamp) {
            const ClampBounds<T> c = clamp_bounds<T>(params);  // derivative 1 inside [lo, hi], else 0
#pragma omp parallel for simd if (count >= parallel_grain)
            for (int64_t i = 0; i < count; ++i) dx[i] += dy[i] * ((x[i] >= c.lo && x[i] <= c.hi) ? T(1) : T(0));
        } else {
#pragma omp parallel for if (count >= parallel_grain)
            for (int64_t i = 0; i < count; ++i) dx[i] += dy[i] * math::unary_derivative(k, x[i], y[i], params);
        }
    });
}

namespace {
// As with_constant_op, for the binary ops.
template <typename Fn>
void with_constant_binary_op(math::BinaryOp op, Fn&& fn) {
    using math::BinaryOp;
    switch (op) {
        case BinaryOp::add: return fn(std::integral_constant<BinaryOp, BinaryOp::add>{});
        case BinaryOp::sub: return fn(std::integral_constant<BinaryOp, BinaryOp::sub>{});
        case BinaryOp::mul: return fn(std::integral_constant<BinaryOp, BinaryOp::mul>{});
        case BinaryOp::div: return fn(std::integral_constant<BinaryOp, BinaryOp::div>{});
    }
}

// Both operands contiguous with the output's shape (no broadcasting): the
// common case (a residual sum), which runs as one flat vector loop.
bool dense(const std::vector<int64_t>& strides, const std::vector<int64_t>& shape) {
    int64_t expected = 1;
    for (size_t d = shape.size(); d-- > 0;) {
        if (shape[d] != 1 && strides[d] != expected) return false;
        expected *= shape[d];
    }
    return true;
}

int64_t element_count(const std::vector<int64_t>& shape) {
    int64_t count = 1;
    for (int64_t size : shape) count *= size;
    return count;
}
}  // namespace

template <typename T>
void binary_forward(math::BinaryOp op, T* out, const T* a, const std::vector<int64_t>& a_strides, const T* b,
                    const std::vector<int64_t>& b_strides, const std::vector<int64_t>& shape) {
    if (dense(a_strides, shape) && dense(b_strides, shape)) {
        const int64_t count = element_count(shape);
        with_constant_binary_op(op, [&](auto constant) {
            constexpr math::BinaryOp k = decltype(constant)::value;
#pragma omp parallel for simd if (count >= parallel_grain)
            for (int64_t i = 0; i < count; ++i) out[i] = math::binary_forward(k, a[i], b[i]);
        });
        return;
    }
    for_each_strided<2>(shape, {a_strides.data(), b_strides.data()},
                        [=](int64_t i, const std::array<int64_t, 2>& offset) {
                            out[i] = math::binary_forward(op, a[offset[0]], b[offset[1]]);
                        });
}

template <typename T>
void binary_backward(math::BinaryOp op, T* da, T* db, const T* dy, const T* a, const std::vector<int64_t>& a_strides,
                     const T* b, const std::vector<int64_t>& b_strides, const std::vector<int64_t>& shape) {
    if (dense(a_strides, shape) && dense(b_strides, shape)) {  // one output element per da/db element
        const int64_t count = element_count(shape);
        with_constant_binary_op(op, [&](auto constant) {
            constexpr math::BinaryOp k = decltype(constant)::value;
#pragma omp parallel for simd if (count >= parallel_grain)
            for (int64_t i = 0; i < count; ++i) {
                if (da) da[i] += dy[i] * math::binary_derivative_a(k, a[i], b[i]);
                if (db) db[i] += dy[i] * math::binary_derivative_b(k, a[i], b[i]);
            }
        });
        return;
    }
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
