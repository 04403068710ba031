#pragma once
// KILN_ON_BACKEND(device, function, args...) calls the kernel `function` of
// the device's backend: kiln::cpu::function, kiln::emu::function (the CUDA
// sources run by the SIMT emulator) or kiln::cuda::function. Every backend
// declares the same signature (kernels/backends.h), so an op's dispatch is
// one line. Let template arguments be deduced: a comma inside
// `function<A, B>` would split the macro argument.
#include "engine/device.h"
#include "kernels/backends.h"

#if KILN_HAVE_CUDA
#define KILN_ON_CUDA(function, ...) ::kiln::cuda::function(__VA_ARGS__)
#else
#define KILN_ON_CUDA(function, ...) ::kiln::fail("cuda: this build of kiln has no CUDA backend (nvcc was not found)")
#endif

#define KILN_ON_BACKEND(device, function, ...)                                               \
    do {                                                                                     \
        switch ((device).kind) {                                                             \
            case ::kiln::Device::Kind::cpu: ::kiln::cpu::function(__VA_ARGS__); break;       \
            case ::kiln::Device::Kind::emu: ::kiln::emu::function(__VA_ARGS__); break;       \
            case ::kiln::Device::Kind::cuda: KILN_ON_CUDA(function, __VA_ARGS__); break;     \
        }                                                                                    \
    } while (0)
