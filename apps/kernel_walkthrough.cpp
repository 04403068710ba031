// kernel_walkthrough: which emulated CUDA thread computed which element of C
// in each SGEMM kernel version, each checked against the cpu; GPU timings when
// there is a GPU (apps/teaching/kernel_walkthrough.h).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "apps/teaching/kernel_walkthrough.h"

int main(int argc, char** argv) {
    CLI::App app{"kernel_walkthrough: the SGEMM kernel versions on emu, thread by thread, checked against the cpu"};
    kiln::teaching::WalkthroughOptions options;
    app.add_option("--m", options.m, "rows of A and C")->capture_default_str()->check(CLI::Range(1, 256));
    app.add_option("--n", options.n, "columns of B and C")->capture_default_str()->check(CLI::Range(1, 256));
    app.add_option("--k", options.k, "columns of A, rows of B")->capture_default_str()->check(CLI::Range(1, 256));
    app.add_option("--seed", options.seed, "seed of A and B")->capture_default_str();
    app.add_option("--gpu-size", options.gpu_size, "square size of the GPU timings (with a GPU only)")
        ->capture_default_str()->check(CLI::Range(16, 16384));
    CLI11_PARSE(app, argc, argv);
    try {
        const kiln::teaching::WalkthroughResult result = kiln::teaching::kernel_walkthrough(options);
        std::cout << kiln::teaching::kernel_walkthrough_text(result);
        return result.passed ? 0 : 1;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "%s\n", error.what());
        return 1;
    }
}
