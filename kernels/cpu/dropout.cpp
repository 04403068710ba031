#include "kernels/cpu/dropout.h"

#include <algorithm>

#include "kernels/common/dropout.h"
#include "kernels/cpu/strided.h"

namespace kiln::cpu {

namespace {

// Calls apply(begin, end, keep) for the elements [begin, end) of every draw,
// four draws per Philox call (a call per element would cost four times as
// much; dropout2d has one draw per channel). Threads split blocks of draws,
// so every element is written by one thread.
template <typename Apply>
void for_each_draw(int64_t count, int64_t group, double p, uint64_t seed, uint64_t offset, Apply apply) {
    const int64_t draws = (count + group - 1) / group, blocks = (draws + 3) / 4;
#pragma omp parallel for if (count >= parallel_grain)
    for (int64_t block = 0; block < blocks; ++block) {
        const math::DropoutKeep4 mask = math::dropout_keep4(seed, offset, uint64_t(block), float(p));
        for (int64_t lane = 0; lane < 4; ++lane) {
            const int64_t draw = block * 4 + lane;
            if (draw >= draws) break;
            apply(draw * group, std::min(count, (draw + 1) * group), mask.keep[lane]);
        }
    }
}

}  // namespace

template <typename T>
void dropout_forward(T* y, const T* x, int64_t count, int64_t group, double p, uint64_t seed, uint64_t offset) {
    const T scale = T(math::dropout_scale(p));
    for_each_draw(count, group, p, seed, offset, [&](int64_t begin, int64_t end, bool keep) {
        for (int64_t i = begin; i < end; ++i) y[i] = keep ? x[i] * scale : T(0);
    });
}

template <typename T>
void dropout_backward(T* dx, const T* dy, int64_t count, int64_t group, double p, uint64_t seed, uint64_t offset) {
    const T scale = T(math::dropout_scale(p));
    for_each_draw(count, group, p, seed, offset, [&](int64_t begin, int64_t end, bool keep) {
        if (keep)
            for (int64_t i = begin; i < end; ++i) dx[i] += dy[i] * scale;
    });
}

template void dropout_forward<float>(float*, const float*, int64_t, int64_t, double, uint64_t, uint64_t);
template void dropout_forward<double>(double*, const double*, int64_t, int64_t, double, uint64_t, uint64_t);
template void dropout_backward<float>(float*, const float*, int64_t, int64_t, double, uint64_t, uint64_t);
template void dropout_backward<double>(double*, const double*, int64_t, int64_t, double, uint64_t, uint64_t);

}  // namespace kiln::cpu
