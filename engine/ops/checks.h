#pragma once
// Argument checks shared by the ops. Each throws kiln::Error naming the op and
// the argument, e.g. "exp: argument x is int64, expected float32 or float64".
#include "engine/tensor.h"

namespace kiln {

// Defined, on a device with a backend in this build (cpu for now).
void check_tensor(const char* op, const char* arg, const Tensor& t);
// check_tensor, and float32/float64.
void check_floating(const char* op, const char* arg, const Tensor& t);
// Same dtype and device as `reference`.
void check_same_kind(const char* op, const char* arg, const Tensor& t, const char* reference_arg,
                     const Tensor& reference);

}  // namespace kiln
