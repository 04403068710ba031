#pragma once
// Where a tensor's memory lives and which backend runs its ops:
//   cpu     host memory, kernels/cpu (the reference and the fast CPU path)
//   cuda:N  a real NVIDIA GPU, kernels/cuda (hand-written) or kernels/cuda/vendor
//   emu     host memory, the same kernels/cuda sources run by the SIMT emulator
#include <string>

#include "engine/error.h"

namespace kiln {

struct Device {
    enum class Kind : uint8_t { cpu, cuda, emu };
    Kind kind = Kind::cpu;
    int index = 0;

    static Device cpu() { return {Kind::cpu, 0}; }
    static Device cuda(int index = 0) { return {Kind::cuda, index}; }
    static Device emu() { return {Kind::emu, 0}; }

    // "cpu", "emu", "cuda", "cuda:1"
    static Device parse(const std::string& text);

    bool is_cpu() const { return kind == Kind::cpu; }
    std::string str() const;
    bool operator==(const Device&) const = default;
};

}  // namespace kiln
