#pragma once
// Runs the op case table on another device and compares with cpu float64:
// forward output and every input gradient, float64 within 1e-10 (only the
// summation order may differ) and float32 within float32_tolerance.
// Cases whose ops have no kernels on that device yet are collected, not failed.
#include <set>
#include <string>

#include "engine/device.h"

namespace kiln::testing {

struct DeviceCaseReport {
    std::set<std::string> ported;   // ops whose every case ran and was checked
    std::set<std::string> missing;  // ops without kernels on the device yet
};

// Checks (doctest CHECKs) every case; `context` is added to failure messages.
DeviceCaseReport check_op_cases_on(Device device, const std::string& context);

// The foundation's ops, which every backend must run.
const std::set<std::string>& foundation_ops();

}  // namespace kiln::testing
