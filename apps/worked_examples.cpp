// worked_examples: seed 004's batch norm, SGD, RMSProp and Adam examples,
// computed by kiln's ops and optimizers (apps/teaching/worked_examples.h).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "apps/teaching/worked_examples.h"

int main(int argc, char** argv) {
    CLI::App app{"worked_examples: seed 004's batch norm, RMSProp and Adam examples, computed by kiln"};
    CLI11_PARSE(app, argc, argv);
    try {
        std::cout << kiln::teaching::worked_examples_text(kiln::teaching::worked_examples());
        return 0;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "%s\n", error.what());
        return 1;
    }
}
