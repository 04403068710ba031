#pragma once
// kiln::vendor: NVIDIA's libraries behind the same kernel API as the
// hand-written kernels (kernels/cuda/*.h), for the vendor switch
// (engine/vendor.h) and bench/kernels. Functions over raw device pointers of
// the current CUDA device, on its current stream, like the hand-written
// kernels; arguments were checked by the engine. Every backward ADDS into its
// outputs (beta = 1), as the hand-written ones do.
//
//   gemm.h        cuBLAS: GEMM, strided batched GEMM     (every CUDA build)
//   conv.h        cuDNN: convolution forward, backward data, backward filter, bias
//   batch_norm.h  cuDNN: batch norm training / inference forward, training backward
//   pool.h        cuDNN: max and average pooling
//   activation.h  cuDNN: relu, sigmoid, tanh, silu (swish)
//
// The cuDNN ones are built only when CMake found cuDNN (KILN_HAVE_CUDNN);
// these headers are plain declarations and compile anywhere. How handles,
// workspaces and algorithms are managed: kernels/cuda/vendor/handles.h and
// docs/vendor.md.
#include "kernels/cuda/vendor/activation.h"
#include "kernels/cuda/vendor/batch_norm.h"
#include "kernels/cuda/vendor/conv.h"
#include "kernels/cuda/vendor/gemm.h"
#include "kernels/cuda/vendor/pool.h"
