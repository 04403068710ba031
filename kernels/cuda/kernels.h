// The kernel API of kernels/cuda/*.cu: for each family, the same functions
// with the same signatures as kernels/cpu/ declares in namespace kiln::cpu,
// here in namespace kiln::KILN_CUDA_NS. No include guard on purpose:
// kernels/backends.h includes this file once for each build (emu, and cuda
// when nvcc exists). A new family adds its header to this list.
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/copy.h"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/optim.h"
#include "kernels/cuda/pool.h"
#include "kernels/cuda/batch_norm.h"
#include "kernels/cuda/conv.h"
#include "kernels/cuda/softmax.h"
#include "kernels/cuda/dropout.h"
#include "kernels/cuda/pad.h"
#include "kernels/cuda/loss.h"
