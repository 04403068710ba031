#include "kernels/cpu/optim.h"

#include <type_traits>

#include "kernels/cpu/strided.h"

namespace kiln::cpu {

// State arrays an optimizer does not use are null; the element rules still take
// a reference, so they get a local dummy.
template <typename T>
void sgd_step(T* w, const T* g, T* momentum_buffer, int64_t count, const math::SgdHyper& hyper) {
#pragma omp parallel for if (count >= parallel_grain)
    for (int64_t i = 0; i < count; ++i) {
        T unused = 0;
        math::sgd_update(w[i], g[i], momentum_buffer ? momentum_buffer[i] : unused, hyper);
    }
}

template <typename T>
void adagrad_step(T* w, const T* g, T* sum_of_squares, int64_t count, const math::AdagradHyper& hyper) {
#pragma omp parallel for if (count >= parallel_grain)
    for (int64_t i = 0; i < count; ++i) math::adagrad_update(w[i], g[i], sum_of_squares[i], hyper);
}

template <typename T>
void rmsprop_step(T* w, const T* g, T* square_avg, T* grad_avg, T* momentum_buffer, int64_t count,
                  const math::RmspropHyper& hyper) {
#pragma omp parallel for if (count >= parallel_grain)
    for (int64_t i = 0; i < count; ++i) {
        T unused_avg = 0, unused_buffer = 0;
        math::rmsprop_update(w[i], g[i], square_avg[i], grad_avg ? grad_avg[i] : unused_avg,
                             momentum_buffer ? momentum_buffer[i] : unused_buffer, hyper);
    }
}

template <typename T>
void adam_step(T* w, const T* g, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t count,
               const math::AdamHyper& hyper) {
    const math::AdamStep<T> step = math::adam_step_constants<T>(hyper);
    // one vector loop per case (the flags are constants of the step)
    auto run = [&](auto decoupled, auto amsgrad) {
        math::AdamStep<T> c = step;
        c.decoupled_weight_decay = decoupled, c.amsgrad = amsgrad;
#pragma omp parallel for simd if (count >= parallel_grain)
        for (int64_t i = 0; i < count; ++i) {
            T unused = 0;
            math::adam_update(w[i], g[i], exp_avg[i], exp_avg_sq[i], amsgrad ? max_exp_avg_sq[i] : unused, c);
        }
    };
    if (step.decoupled_weight_decay) {
        if (step.amsgrad) run(std::true_type{}, std::true_type{});
        else run(std::true_type{}, std::false_type{});
    } else {
        if (step.amsgrad) run(std::false_type{}, std::true_type{});
        else run(std::false_type{}, std::false_type{});
    }
}

template <typename T>
void lion_step(T* w, const T* g, T* exp_avg, int64_t count, const math::LionHyper& hyper) {
#pragma omp parallel for if (count >= parallel_grain)
    for (int64_t i = 0; i < count; ++i) math::lion_update(w[i], g[i], exp_avg[i], hyper);
}

#define KILN_OPTIM(T)                                                                                       \
    template void sgd_step<T>(T*, const T*, T*, int64_t, const math::SgdHyper&);                            \
    template void adagrad_step<T>(T*, const T*, T*, int64_t, const math::AdagradHyper&);                    \
    template void rmsprop_step<T>(T*, const T*, T*, T*, T*, int64_t, const math::RmspropHyper&);             \
    template void adam_step<T>(T*, const T*, T*, T*, T*, int64_t, const math::AdamHyper&);                  \
    template void lion_step<T>(T*, const T*, T*, int64_t, const math::LionHyper&);
KILN_OPTIM(float)
KILN_OPTIM(double)

}  // namespace kiln::cpu
