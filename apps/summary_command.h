#pragma once
// kiln summary MODEL: the layer table of a zoo model (output shape, parameters
// and FLOPs per layer), the totals and the model size.
#include <cstdint>
#include <string>

namespace kiln::apps {

struct SummaryOptions {
    std::string model;
    std::string input = "3x224x224";  // channels x height x width
    int64_t classes = 1000;
    double width = 1.0;
};

// Prints the table on stdout; returns the exit code. Errors throw kiln::Error.
int run_summary(const SummaryOptions& options);

}  // namespace kiln::apps
