// libFuzzer target: image decode (data/image_io.h, stb_image) + resize (data/resize.h). See targets.h.
#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    kiln::fuzz::image_input(data, size);
    return 0;
}
