#pragma once
// Every backend's kernel API, for the engine's dispatch (engine/backend.h):
// kiln::cpu (kernels/cpu/*.h), kiln::emu (kernels/cuda/*.cu built by the host
// compiler) and, when nvcc was found, kiln::cuda (the same sources by nvcc).
#include "kernels/cpu/copy.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/optim.h"
#include "kernels/cpu/reduce.h"
#include "kernels/cpu/pool.h"
#include "kernels/cpu/batch_norm.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/softmax.h"
#include "kernels/cpu/dropout.h"
#include "kernels/cpu/pad.h"
#include "kernels/cpu/loss.h"

#define KILN_CUDA_NS emu
#include "kernels/cuda/kernels.h"
#undef KILN_CUDA_NS

#if KILN_HAVE_CUDA
#define KILN_CUDA_NS cuda
#include "kernels/cuda/kernels.h"
#undef KILN_CUDA_NS
#endif
