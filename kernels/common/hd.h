#pragma once
// KILN_HD marks math shared by the CPU kernels and the CUDA kernels (nvcc and
// the emu build): one formula, compiled for every backend.
#if defined(__CUDACC__)
#define KILN_HD __host__ __device__ __forceinline__
#else
#define KILN_HD inline
#endif
