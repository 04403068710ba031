#pragma once
// What the vendor routines keep per stream: each stream that ran one has its
// own cuDNN workspace and cuBLAS workspace (kernels/cuda/vendor/handles.h).
// kiln::Stream (engine/stream.h) calls release_stream when it destroys a
// stream, after the stream's work has finished. A plain declaration: compiles
// anywhere, defined only in builds with nvcc.
namespace kiln::vendor {

// Frees what was kept for `stream` (a cudaStream_t).
void release_stream(void* stream);

}  // namespace kiln::vendor
