#pragma once
// The vendor switch: per op family, run NVIDIA's libraries (cuDNN, cuBLAS:
// kernels/cuda/vendor/) instead of kiln's hand-written CUDA kernels on a cuda
// device, so the same net can be trained and timed both ways (docs/vendor.md).
//
//   KILN_VENDOR=on | off | conv,gemm,...      in the environment (read once, at the first op)
//   kiln::set_vendor("conv,batch_norm");       in code (replaces the environment's setting)
//
// Names: conv, gemm (matmul, linear), batch_norm, pool (max_pool2d, avg_pool2d),
// activation (relu, sigmoid, tanh, silu). "on" (or "all") is every family,
// "off" (or "none", or an empty value) none; the default is off.
//
// The vendor paths exist only on cuda devices. On cpu and emu the switch is
// ignored with a one-line notice on stderr (once per device kind until the
// setting changes); a cuda build without cuDNN ignores it for the cuDNN
// families the same way.
#include <cstdint>
#include <string>

#include "engine/backend.h"
#include "engine/device.h"
#include "kernels/cuda/vendor/vendor.h"  // declarations only: compiles in every build

namespace kiln {

enum class VendorOp : uint8_t { conv, gemm, batch_norm, pool, activation };
constexpr int vendor_op_count = 5;

const char* vendor_op_name(VendorOp op);  // "conv", "gemm", ...

// A set of op families: what the switch enables.
class VendorSelection {
public:
    static VendorSelection none() { return VendorSelection(0); }
    static VendorSelection all() { return VendorSelection((1u << vendor_op_count) - 1); }
    // "on", "all", "1", "true" / "off", "none", "0", "false", "" / a comma-separated list of
    // family names (case and spaces ignored; matmul and linear mean gemm, bn batch_norm).
    // Throws kiln::Error naming `source` (e.g. "KILN_VENDOR") and the word it did not know.
    static VendorSelection parse(const std::string& text, const std::string& source);

    bool has(VendorOp op) const { return bits_ & bit(op); }
    VendorSelection with(VendorOp op, bool enabled) const {
        return VendorSelection(enabled ? bits_ | bit(op) : bits_ & ~bit(op));
    }
    bool empty() const { return bits_ == 0; }
    // "off", "on", or the families in declaration order: "conv,gemm"
    std::string str() const;
    bool operator==(const VendorSelection&) const = default;

private:
    explicit VendorSelection(uint32_t bits) : bits_(bits) {}
    static uint32_t bit(VendorOp op) { return 1u << unsigned(op); }
    uint32_t bits_;
};

// Replaces the setting (and the environment's); each call re-arms the notices.
void set_vendor(const std::string& text);
void set_vendor(VendorSelection selection);
void set_vendor(VendorOp op, bool enabled);
// The current setting (KILN_VENDOR until set_vendor is called). An invalid
// KILN_VENDOR is a kiln::Error at the first op that asks.
VendorSelection vendor_selection();
bool vendor_enabled(VendorOp op);
// Reads KILN_VENDOR again, as at start-up (for tests and long-lived programs).
void reload_vendor_from_environment();

// Whether this build has the library behind `op` (cuBLAS with CUDA, cuDNN when
// CMake found it).
bool vendor_built(VendorOp op);

// The engine's question: run the vendor routine for `op` on `device`? True
// only on a cuda device with the family enabled and its library built. When
// the family is enabled but the device is cpu or emu (or cuDNN is missing),
// prints the one-line notice, once, and returns false.
bool use_vendor(VendorOp op, Device device);

// Sets the switch for a scope and restores the previous setting after it.
class VendorGuard {
public:
    explicit VendorGuard(const std::string& text) : previous_(vendor_selection()) { set_vendor(text); }
    explicit VendorGuard(VendorSelection selection) : previous_(vendor_selection()) { set_vendor(selection); }
    ~VendorGuard() { set_vendor(previous_); }
    VendorGuard(const VendorGuard&) = delete;
    VendorGuard& operator=(const VendorGuard&) = delete;

private:
    VendorSelection previous_;
};

}  // namespace kiln

// The vendor routine `function` (kernels/cuda/vendor/), like KILN_ON_CUDA in
// engine/backend.h. A build without the library compiles a call that fails;
// use_vendor() never lets it run.
#if KILN_HAVE_CUDNN
#define KILN_ON_CUDNN(function, ...) ::kiln::vendor::function(__VA_ARGS__)
#else
#define KILN_ON_CUDNN(function, ...) ::kiln::fail("vendor: this build of kiln has no cuDNN")
#endif
#if KILN_HAVE_CUDA
#define KILN_ON_CUBLAS(function, ...) ::kiln::vendor::function(__VA_ARGS__)
#else
#define KILN_ON_CUBLAS(function, ...) ::kiln::fail("vendor: this build of kiln has no CUDA (no cuBLAS)")
#endif

// For kernels whose vendor routine has the backends' signature: the vendor
// routine when use_vendor(op, device), else KILN_ON_BACKEND. `library` is
// CUDNN or CUBLAS.
#define KILN_ON_VENDOR_OR_BACKEND(op, library, device, function, ...) \
    do {                                                              \
        if (::kiln::use_vendor(op, device))                           \
            KILN_ON_##library(function, __VA_ARGS__);                 \
        else                                                          \
            KILN_ON_BACKEND(device, function, __VA_ARGS__);           \
    } while (0)
