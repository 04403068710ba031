#pragma once
#include <cstdint>

namespace kiln::apps {

struct DemoOptions {
    int epochs = 40;
    int batch_size = 32;
    double learning_rate = 0.05;
    uint64_t seed = 7;
};

// Trains a two-layer net on generated 8x8 "part" images (clean vs scratched)
// with plain SGD, printing the loss each epoch. Returns 0 when the loss fell
// and the held-out accuracy beats chance.
int run_demo(const DemoOptions& options);

}  // namespace kiln::apps
