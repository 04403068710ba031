// libFuzzer target: the safetensors reader (engine/safetensors.h). See targets.h.
#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    kiln::fuzz::safetensors_input(data, size);
    return 0;
}
