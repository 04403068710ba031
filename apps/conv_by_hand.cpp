// conv_by_hand: a 5x5 convolution, its gradients, the same by im2col + GEMM,
// and the cost of a depthwise-separable MobileNet block (apps/teaching/conv_by_hand.h).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "apps/teaching/conv_by_hand.h"

int main(int argc, char** argv) {
    CLI::App app{"conv_by_hand: a 5x5 convolution and its gradients, by conv2d and by im2col + GEMM; MobileNet costs"};
    kiln::teaching::ConvByHandOptions options;
    app.add_option("--stride", options.stride, "stride of the 5x5 example")->capture_default_str()
        ->check(CLI::Range(1, 3));
    app.add_option("--padding", options.padding, "zero padding of the 5x5 example")->capture_default_str()
        ->check(CLI::Range(0, 2));
    app.add_option("--block-in", options.block_in, "MobileNet block: input channels")->capture_default_str()
        ->check(CLI::Range(1, 4096));
    app.add_option("--block-out", options.block_out, "MobileNet block: output channels")->capture_default_str()
        ->check(CLI::Range(1, 4096));
    app.add_option("--block-size", options.block_size, "MobileNet block: input height and width")
        ->capture_default_str()->check(CLI::Range(1, 1024));
    app.add_option("--block-kernel", options.block_kernel, "MobileNet block: kernel size (odd)")
        ->capture_default_str()->check(CLI::Range(1, 11));
    CLI11_PARSE(app, argc, argv);
    try {
        const kiln::teaching::ConvByHandResult result = kiln::teaching::conv_by_hand(options);
        std::cout << kiln::teaching::conv_by_hand_text(result);
        return result.passed ? 0 : 1;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "%s\n", error.what());
        return 1;
    }
}
