// libFuzzer target: kiln train's config file (--config, JSON or TOML/INI;
// apps/train_options.cpp, train/config.h). See targets.h.
#include <cstdlib>
#include <string>

#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const std::string path = [] {
        char folder[] = "/tmp/kiln-fuzz-config-XXXXXX";
        if (!mkdtemp(folder)) std::abort();
        return std::string(folder) + "/config";
    }();
    kiln::fuzz::config_input(data, size, path);
    return 0;
}
