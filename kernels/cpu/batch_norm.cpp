#include "kernels/cpu/batch_norm.h"

#include "kernels/common/batch_norm.h"
#include "kernels/cpu/plane_sum.h"
#include "kernels/cpu/strided.h"

namespace kiln::cpu {

// Sums over a channel accumulate in double: a channel of a 64 x 112 x 112 batch has 800 000 values.
// Each sum over a plane keeps 8 partial sums (add_plane_sums, in an order
// fixed by the source): written as one running double, the sum waits for the
// previous add on every element (4 cycles each), which made the statistics
// and the backward sums about a fifth of MobileNetV2's training step.

template <typename T>
void batch_norm_batch_statistics(T* mean, T* rstd, T* running_mean, T* running_var, const T* x, int64_t N, int64_t C,
                                 int64_t S, double momentum, double eps) {
    const int64_t m = N * S;
#pragma omp parallel for if (N * C * S >= parallel_grain)
    for (int64_t c = 0; c < C; ++c) {
        double total[1] = {0};
        for (int64_t n = 0; n < N; ++n) {
            const T* plane = x + (n * C + c) * S;
            add_plane_sums(total, S, [&](int64_t s) { return double(plane[s]); });
        }
        const double channel_mean = total[0] / double(m);
        double squares[1] = {0};  // two passes: sum (x - mean)^2 does not cancel like sum x^2 - m mean^2
        for (int64_t n = 0; n < N; ++n) {
            const T* plane = x + (n * C + c) * S;
            add_plane_sums(squares, S, [&](int64_t s) {
                const double d = plane[s] - channel_mean;
                return d * d;
            });
        }
        const double variance = squares[0] / double(m);  // biased: what the batch is normalised with
        math::store_batch_statistics(c, channel_mean, variance, m, momentum, eps, mean, rstd, running_mean, running_var);
    }
}

template <typename T>
void batch_norm_running_statistics(T* mean, T* rstd, const T* running_mean, const T* running_var, int64_t C,
                                   double eps) {
    for (int64_t c = 0; c < C; ++c) {
        mean[c] = running_mean[c];
        rstd[c] = T(math::batch_norm_rstd(double(running_var[c]), eps));
    }
}

// The forward and backward loops, compiled once per activation A (a template
// argument, not a run-time flag or a lambda: batch_norm's loops stay the plain
// vector loops they were, batch_norm_relu's carry one select, batch_norm_relu6's two; the loops take
// their pointers by value, so GCC sees that a store into y or dx cannot move
// them and vectorises as before).
namespace {

template <math::BatchNormActivation A, typename T>
void forward_planes(T* y, const T* x, const T* mean, const T* rstd, const T* weight, const T* bias, int64_t N,
                    int64_t C, int64_t S) {
#pragma omp parallel for if (N * C * S >= parallel_grain)
    for (int64_t plane = 0; plane < N * C; ++plane) {
        const math::BatchNormAffine<T> affine = math::batch_norm_affine(mean, rstd, weight, bias, plane % C);
        for (int64_t s = 0; s < S; ++s)
            y[plane * S + s] = math::batch_norm_output(A, x[plane * S + s], affine.scale, affine.shift);
    }
}

// dz at element i: dy taken back through the activation (dy itself without one; y is not read then).
template <math::BatchNormActivation A, typename T>
inline T activation_gradient(const T* dy, const T* y, int64_t i) {
    return math::batch_norm_activation_gradient(A, dy[i], A == math::BatchNormActivation::none ? T(0) : y[i]);
}

template <math::BatchNormActivation A, typename T>
void backward_channels(T* dx, T* dweight, T* dbias, const T* dy, const T* x, const T* y, const T* mean,
                       const T* rstd, const T* weight, int64_t N, int64_t C, int64_t S, bool training) {
    const int64_t m = N * S;
#pragma omp parallel for if (N * C * S >= parallel_grain)
    for (int64_t c = 0; c < C; ++c) {
        const double gamma = weight ? double(weight[c]) : 1.0, r = double(rstd[c]), mu = double(mean[c]);
        // sum dz and sum dz * xhat: the parameter gradients, and (times gamma) the training terms
        double sums[2] = {0, 0};  // sum dz, sum dz xhat
        for (int64_t n = 0; n < N; ++n) {
            const int64_t plane = (n * C + c) * S;
            const auto dz = [&](int64_t s) { return double(activation_gradient<A>(dy, y, plane + s)); };
            add_plane_sums(sums, S, dz, [&](int64_t s) { return dz(s) * (x[plane + s] - mu) * r; });
        }
        const double sum_dz = sums[0], sum_dz_xhat = sums[1];
        if (dweight) dweight[c] += T(sum_dz_xhat);
        if (dbias) dbias[c] += T(sum_dz);
        if (!dx) continue;
        // term 1: mean(dxhat), term 2: mean(dxhat * xhat); both vanish in eval mode
        const math::BatchNormGradientMeans means = math::batch_norm_gradient_means(gamma, sum_dz, sum_dz_xhat, m, training);
        for (int64_t n = 0; n < N; ++n)
            for (int64_t s = 0; s < S; ++s) {
                const int64_t i = (n * C + c) * S + s;
                const double xhat = (x[i] - mu) * r;
                dx[i] = T(math::batch_norm_input_gradient(r, gamma, activation_gradient<A>(dy, y, i), xhat, means));
            }
    }
}

}  // namespace

template <typename T>
void batch_norm_forward(T* y, const T* x, const T* mean, const T* rstd, const T* weight, const T* bias, int64_t N,
                        int64_t C, int64_t S, math::BatchNormActivation activation) {
    switch (activation) {
        case math::BatchNormActivation::none:
            return forward_planes<math::BatchNormActivation::none>(y, x, mean, rstd, weight, bias, N, C, S);
        case math::BatchNormActivation::relu:
            return forward_planes<math::BatchNormActivation::relu>(y, x, mean, rstd, weight, bias, N, C, S);
        case math::BatchNormActivation::relu6:
            return forward_planes<math::BatchNormActivation::relu6>(y, x, mean, rstd, weight, bias, N, C, S);
    }
}

template <typename T>
void batch_norm_backward(T* dx, T* dweight, T* dbias, const T* dy, const T* x, const T* y, const T* mean,
                         const T* rstd, const T* weight, int64_t N, int64_t C, int64_t S, bool training,
                         math::BatchNormActivation activation) {
    switch (activation) {
        case math::BatchNormActivation::none:
            return backward_channels<math::BatchNormActivation::none>(dx, dweight, dbias, dy, x, y, mean, rstd, weight,
                                                                      N, C, S, training);
        case math::BatchNormActivation::relu:
            return backward_channels<math::BatchNormActivation::relu>(dx, dweight, dbias, dy, x, y, mean, rstd, weight,
                                                                      N, C, S, training);
        case math::BatchNormActivation::relu6:
            return backward_channels<math::BatchNormActivation::relu6>(dx, dweight, dbias, dy, x, y, mean, rstd,
                                                                       weight, N, C, S, training);
    }
}

#define KILN_BATCH_NORM(T)                                                                                        \
    template void batch_norm_batch_statistics<T>(T*, T*, T*, T*, const T*, int64_t, int64_t, int64_t, double,     \
                                                 double);                                                         \
    template void batch_norm_running_statistics<T>(T*, T*, const T*, const T*, int64_t, double);                  \
    template void batch_norm_forward<T>(T*, const T*, const T*, const T*, const T*, const T*, int64_t, int64_t,   \
                                        int64_t, math::BatchNormActivation);                                      \
    template void batch_norm_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*, const T*,  \
                                         int64_t, int64_t, int64_t, bool, math::BatchNormActivation);
KILN_BATCH_NORM(float)
KILN_BATCH_NORM(double)

}  // namespace kiln::cpu
