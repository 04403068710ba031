#include "engine/ops/checks.h"

namespace kiln {

void check_tensor(const char* op, const char* arg, const Tensor& t, Devices devices) {
    KILN_CHECK(t.defined(), op, ": argument ", arg, " is an undefined tensor");
    KILN_CHECK(devices == Devices::all || t.device().is_cpu(), op, ": argument ", arg, " is on ", t.device().str(),
               ", but ", op, " has no ", t.device().str(), " kernels yet (cpu only)");
}

void check_floating(const char* op, const char* arg, const Tensor& t, Devices devices) {
    check_tensor(op, arg, t, devices);
    KILN_CHECK(is_floating(t.dtype()), op, ": argument ", arg, " is ", dtype_name(t.dtype()),
               ", expected float32 or float64");
}

void check_same_kind(const char* op, const char* arg, const Tensor& t, const char* reference_arg,
                     const Tensor& reference) {
    KILN_CHECK(t.dtype() == reference.dtype(), op, ": ", arg, " is ", dtype_name(t.dtype()), " but ", reference_arg,
               " is ", dtype_name(reference.dtype()), " (", arg, " ", shape_str(t.shape()), ", ", reference_arg, " ",
               shape_str(reference.shape()), "); convert one with .to(dtype)");
    KILN_CHECK(t.device() == reference.device(), op, ": ", arg, " is on ", t.device().str(), " but ", reference_arg,
               " is on ", reference.device().str());
}

}  // namespace kiln
