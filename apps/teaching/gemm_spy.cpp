// The spy run of the SGEMM kernels: kernels/cuda/gemm.cu, unchanged, compiled
// here once more by the host compiler (as the emu backend compiles it), inside
// a namespace of its own so no symbol clashes with the library's kiln::emu,
// and instantiated for a number type `Spy` instead of float. Spy computes in
// double, and its assignment operator notes which emulated CUDA thread
// (kiln::simt::block_index / thread_index, what blockIdx and threadIdx read)
// is running when a value is stored. Every element of C is written by
// store_c's `c = ...`, so after the launch each element of C knows its writer.
// (Assignments into the shared-memory tiles are noted too and ignored.)
#include "apps/teaching/gemm_spy.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/cuda/cuda_common.h"  // at global scope first: its #pragma once keeps it there

namespace kiln::teaching {
namespace {

struct Spy {
    double value;
    unsigned block_x, block_y, thread_x, thread_y;
    int stores;

    Spy() = default;  // trivial, so `__shared__ Spy tile[..]` (a static in the emulator) needs no constructor
    Spy(double v) : value(v), block_x(0), block_y(0), thread_x(0), thread_y(0), stores(0) {}  // NOLINT: T(0), T x = 0
    Spy(const Spy&) = default;
    // A store inside a kernel: keep the value, note the thread that stores it.
    Spy& operator=(const Spy& other) {
        value = other.value;
        block_x = ::kiln::simt::block_index().x;
        block_y = ::kiln::simt::block_index().y;
        thread_x = ::kiln::simt::thread_index().x;
        thread_y = ::kiln::simt::thread_index().y;
        ++stores;
        return *this;
    }
    Spy& operator+=(const Spy& other) {
        value += other.value;
        return *this;
    }
    friend Spy operator+(const Spy& a, const Spy& b) { return Spy(a.value + b.value); }
    friend Spy operator*(const Spy& a, const Spy& b) { return Spy(a.value * b.value); }
    friend bool operator==(const Spy& a, const Spy& b) { return a.value == b.value; }
};

}  // namespace
}  // namespace kiln::teaching

namespace kiln_teaching_spy {
using kiln::teaching::Spy;
#include "kernels/cuda/gemm.cu"
}  // namespace kiln_teaching_spy

namespace kiln::teaching {

std::vector<GemmStore> gemm_recording_stores(int version, int64_t M, int64_t N, int64_t K, const std::vector<double>& A,
                                             const std::vector<double>& B) {
    namespace spy = kiln_teaching_spy::kiln::emu;
    std::vector<Spy> a(A.begin(), A.end()), b(B.begin(), B.end());
    std::vector<Spy> c(static_cast<size_t>(M * N), Spy(std::nan("")));  // NaN: an element nobody stores stays NaN
    spy::gemm_with<Spy>(static_cast<spy::GemmKernel>(version), false, false, M, N, K, Spy(1), a.data(), K, b.data(), N,
                        Spy(0), c.data(), N);
    std::vector<GemmStore> stores;
    for (const Spy& s : c) stores.push_back({s.block_x, s.block_y, s.thread_x, s.thread_y, s.stores, s.value});
    return stores;
}

}  // namespace kiln::teaching
