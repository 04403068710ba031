#pragma once
// OpenMP helpers that also compile without OpenMP.
#include <cstdint>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace kiln::cpu {

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
