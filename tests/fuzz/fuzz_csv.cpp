// libFuzzer target: the CSV dataset list (ImageDataset::csv, data/dataset.h). See targets.h.
#include <cstdlib>
#include <string>

#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const std::string path = [] {
        char folder[] = "/tmp/kiln-fuzz-csv-XXXXXX";
        if (!mkdtemp(folder)) std::abort();
        return std::string(folder) + "/list.csv";
    }();
    kiln::fuzz::csv_input(data, size, path);
    return 0;
}
