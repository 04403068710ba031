#include "engine/vendor.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>

namespace kiln {

namespace {

constexpr std::array<VendorOp, vendor_op_count> every_op{VendorOp::conv, VendorOp::gemm, VendorOp::batch_norm,
                                                         VendorOp::pool, VendorOp::activation};

std::string lowercase_trimmed(const std::string& text) {
    std::string out;
    for (char c : text)
        if (!std::isspace(static_cast<unsigned char>(c))) out += char(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::optional<VendorOp> op_named(const std::string& name) {
    for (VendorOp op : every_op)
        if (name == vendor_op_name(op)) return op;
    if (name == "matmul" || name == "linear") return VendorOp::gemm;
    if (name == "bn") return VendorOp::batch_norm;
    return std::nullopt;
}

// The switch's state: the setting (read from KILN_VENDOR at the first
// question unless set_vendor came first) and which notices were printed.
struct State {
    std::mutex mutex;
    std::optional<VendorSelection> selection;
    bool notice_printed[3] = {false, false, false};  // by Device::Kind: cpu, cuda (no cuDNN), emu
};

State& state() {
    static State* instance = new State();  // never destroyed: ops may run from static destructors
    return *instance;
}

VendorSelection from_environment() {
    const char* value = std::getenv("KILN_VENDOR");
    return value ? VendorSelection::parse(value, "KILN_VENDOR") : VendorSelection::none();
}

void replace(VendorSelection selection) {
    State& s = state();
    std::lock_guard lock(s.mutex);
    s.selection = selection;
    std::fill(std::begin(s.notice_printed), std::end(s.notice_printed), false);
}

}  // namespace

const char* vendor_op_name(VendorOp op) {
    switch (op) {
        case VendorOp::conv: return "conv";
        case VendorOp::gemm: return "gemm";
        case VendorOp::batch_norm: return "batch_norm";
        case VendorOp::pool: return "pool";
        case VendorOp::activation: return "activation";
    }
    return "?";
}

VendorSelection VendorSelection::parse(const std::string& text, const std::string& source) {
    const std::string value = lowercase_trimmed(text);
    if (value == "on" || value == "all" || value == "1" || value == "true") return all();
    if (value.empty() || value == "off" || value == "none" || value == "0" || value == "false") return none();
    VendorSelection selection = none();
    size_t begin = 0;
    while (begin <= value.size()) {
        const size_t end = std::min(value.find(',', begin), value.size());
        const std::string name = value.substr(begin, end - begin);
        begin = end + 1;
        if (name.empty()) continue;  // "conv,,gemm" and a trailing comma are harmless
        const std::optional<VendorOp> op = op_named(name);
        KILN_CHECK(op, source, ": unknown op family \"", name, "\" in \"", text,
                   "\"; expected on, off, or a comma-separated list of conv, gemm, batch_norm, pool, activation");
        selection = selection.with(*op, true);
    }
    return selection;
}

std::string VendorSelection::str() const {
    if (*this == none()) return "off";
    if (*this == all()) return "on";
    std::string out;
    for (VendorOp op : every_op)
        if (has(op)) out += (out.empty() ? "" : ",") + std::string(vendor_op_name(op));
    return out;
}

void set_vendor(const std::string& text) { replace(VendorSelection::parse(text, "set_vendor")); }
void set_vendor(VendorSelection selection) { replace(selection); }
void set_vendor(VendorOp op, bool enabled) { replace(vendor_selection().with(op, enabled)); }

VendorSelection vendor_selection() {
    State& s = state();
    std::lock_guard lock(s.mutex);
    if (!s.selection) s.selection = from_environment();  // throws (and stays unset) on a bad value
    return *s.selection;
}

bool vendor_enabled(VendorOp op) { return vendor_selection().has(op); }

void reload_vendor_from_environment() { replace(from_environment()); }

bool vendor_built(VendorOp op) {
#if KILN_HAVE_CUDNN
    (void)op;
    return true;
#elif KILN_HAVE_CUDA
    return op == VendorOp::gemm;  // cuBLAS comes with the toolkit; cuDNN was not found
#else
    (void)op;
    return false;
#endif
}

bool use_vendor(VendorOp op, Device device) {
    const VendorSelection selection = vendor_selection();
    if (!selection.has(op)) return false;
    if (device.kind == Device::Kind::cuda && vendor_built(op)) return true;
    State& s = state();
    std::lock_guard lock(s.mutex);
    bool& printed = s.notice_printed[unsigned(device.kind)];
    if (!printed) {
        printed = true;
        // One line, on stderr (a program's results go to stdout).
        if (device.kind == Device::Kind::cuda)
            std::cerr << "kiln: vendor switch (" << selection.str()
                      << ") partly ignored: this build has no cuDNN; conv, batch_norm, pool and activation run the "
                         "hand-written kernels"
                      << std::endl;
        else
            std::cerr << "kiln: vendor switch (" << selection.str() << ") ignored on " << device.str()
                      << ": cuDNN and cuBLAS run only on cuda devices; " << device.str()
                      << (device.kind == Device::Kind::emu ? " runs the hand-written CUDA kernels"
                                                           : " runs kiln's cpu kernels")
                      << std::endl;
    }
    return false;
}

}  // namespace kiln
