#include "kernels/cpu/pad.h"

#include "kernels/cpu/strided.h"

namespace kiln::cpu {

namespace {

using math::pad_source_index;

// Walks y as rows of its last dim: row r of y reads row source_row(r) of x
// (an offset into x), or is all fill (-1).
struct RowMap {
    const std::vector<int64_t>& in_shape;
    const std::vector<int64_t>& before;
    const std::vector<int64_t>& out_shape;
    PadKind kind;

    int64_t rows() const {
        int64_t count = 1;
        for (size_t d = 0; d + 1 < out_shape.size(); ++d) count *= out_shape[d];
        return count;
    }
    int64_t source_row(int64_t r) const {
        int64_t offset = 0, stride = in_shape.back();
        for (size_t d = out_shape.size() - 1; d-- > 0;) {
            const int64_t i = pad_source_index(r % out_shape[d], before[d], in_shape[d], kind);
            if (i < 0) return -1;
            r /= out_shape[d];
            offset += i * stride;
            stride *= in_shape[d];
        }
        return offset;
    }
};

}  // namespace

template <typename T>
void pad_forward(T* y, const T* x, const std::vector<int64_t>& in_shape, const std::vector<int64_t>& before,
                 const std::vector<int64_t>& out_shape, PadKind kind, double value) {
    const RowMap map{in_shape, before, out_shape, kind};
    const int64_t rows = map.rows(), width = out_shape.back(), in_width = in_shape.back(), left = before.back();
#pragma omp parallel for if (rows * width >= parallel_grain)
    for (int64_t r = 0; r < rows; ++r) {
        const int64_t source = map.source_row(r);
        T* out = y + r * width;
        for (int64_t o = 0; o < width; ++o) {
            const int64_t i = source < 0 ? -1 : pad_source_index(o, left, in_width, kind);
            out[o] = i < 0 ? T(value) : x[source + i];
        }
    }
}

template <typename T>
void pad_backward(T* dx, const T* dy, const std::vector<int64_t>& in_shape, const std::vector<int64_t>& before,
                  const std::vector<int64_t>& out_shape, PadKind kind) {
    const RowMap map{in_shape, before, out_shape, kind};
    const int64_t rows = map.rows(), width = out_shape.back(), in_width = in_shape.back(), left = before.back();
    // constant: each input element is read at most once, so rows are independent.
    // reflect, replicate: rows of one plane (the last two dims) may read the same
    // input row, so threads split planes.
    const int64_t rows_per_task = kind == PadKind::constant || out_shape.size() < 2 ? 1 : out_shape[out_shape.size() - 2];
    const int64_t tasks = rows_per_task == 0 ? 0 : rows / rows_per_task;
#pragma omp parallel for if (rows * width >= parallel_grain)
    for (int64_t task = 0; task < tasks; ++task)
        for (int64_t r = task * rows_per_task; r < (task + 1) * rows_per_task; ++r) {
            const int64_t source = map.source_row(r);
            if (source < 0) continue;
            const T* grad = dy + r * width;
            for (int64_t o = 0; o < width; ++o) {
                const int64_t i = pad_source_index(o, left, in_width, kind);
                if (i >= 0) dx[source + i] += grad[o];
            }
        }
}

#define KILN_PAD(T)                                                                                            \
    template void pad_forward<T>(T*, const T*, const std::vector<int64_t>&, const std::vector<int64_t>&,       \
                                 const std::vector<int64_t>&, PadKind, double);                                \
    template void pad_backward<T>(T*, const T*, const std::vector<int64_t>&, const std::vector<int64_t>&,      \
                                  const std::vector<int64_t>&, PadKind);
KILN_PAD(float)
KILN_PAD(double)

}  // namespace kiln::cpu
