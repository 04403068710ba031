#pragma once
// Argument checks shared by the ops. Each throws kiln::Error naming the op and
// the argument, e.g. "exp: argument x is int64, expected float32 or float64".
#include "engine/tensor.h"

namespace kiln {

// Which devices an op has kernels for. Ops whose kernels exist only in
// kernels/cpu so far say cpu_only, and a tensor on emu or cuda is then an
// error naming the op, never a silent run of the wrong backend.
enum class Devices { cpu_only, all };

// Defined, and on a device the op has kernels for.
void check_tensor(const char* op, const char* arg, const Tensor& t, Devices devices = Devices::cpu_only);
// check_tensor, and float32/float64.
void check_floating(const char* op, const char* arg, const Tensor& t, Devices devices = Devices::cpu_only);
// Same dtype and device as `reference`.
void check_same_kind(const char* op, const char* arg, const Tensor& t, const char* reference_arg,
                     const Tensor& reference);

}  // namespace kiln
