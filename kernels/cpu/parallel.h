#pragma once
// OpenMP helpers that also compile without OpenMP.
#include <cstdint>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace kiln::cpu {

// Multiply-adds below which an op runs on one thread: starting a parallel
// region wakes the sleeping OpenMP threads, which cost 15-70 us each time on
// the 2-vCPU machine of docs/benchmarks.md with OMP_WAIT_POLICY=passive (1 us
// when they spin), more than a second thread saves on a convolution of a
// single small image (measured: resnet18 batch-1 latency 4.1 ms with its
// convolutions on one thread, 5.7 ms with those over 4M multiply-adds on two).
constexpr int64_t parallel_macs = int64_t(1) << 26;
// The same for depthwise convolutions, which do 10-20x less arithmetic per
// byte and per call overhead than a dense one: a MobileNetV2 depthwise layer
// at training batch 32 (28M+ multiply-adds) splits, a batch-1 one (under 2M)
// does not.
constexpr int64_t parallel_depthwise_macs = int64_t(1) << 22;

inline int64_t omp_threads() {
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

inline int64_t omp_thread() {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

}  // namespace kiln::cpu
