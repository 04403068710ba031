// vanishing_gradients: the gradient norm per layer of a deep sigmoid, ReLU,
// ReLU+skip and ReLU+batch-norm net, at initialisation and after some SGD
// steps, as a table and an SVG plot (apps/teaching/vanishing_gradients.h).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "apps/teaching/vanishing_gradients.h"

int main(int argc, char** argv) {
    CLI::App app{"vanishing_gradients: gradient norm per layer of deep sigmoid / ReLU / ReLU+skip / ReLU+BN nets"};
    kiln::teaching::VanishingOptions options;
    std::string svg_path;
    app.add_option("--depth", options.depth, "hidden layers")->capture_default_str()->check(CLI::Range(2, 200));
    app.add_option("--width", options.width, "units per layer")->capture_default_str()->check(CLI::Range(2, 1024));
    app.add_option("--batch", options.batch, "samples")->capture_default_str()->check(CLI::Range(2, 65536));
    app.add_option("--steps", options.steps, "SGD steps before the second measurement")->capture_default_str()
        ->check(CLI::Range(0, 100000));
    app.add_option("--lr", options.lr, "SGD learning rate")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--init", options.init, "default (PyTorch's nn.Linear) or he")->capture_default_str()
        ->check(CLI::IsMember({"default", "he"}));
    app.add_option("--seed", options.seed, "seed of the data and the weights")->capture_default_str();
    app.add_option("--svg", svg_path, "write the plot here");
    CLI11_PARSE(app, argc, argv);
    try {
        const kiln::teaching::VanishingResult result = kiln::teaching::vanishing_gradients(options);
        std::cout << kiln::teaching::vanishing_gradients_text(result);
        if (!svg_path.empty()) {
            std::ofstream svg(svg_path);
            if (!(svg << kiln::teaching::vanishing_gradients_svg(result))) {
                std::fprintf(stderr, "vanishing_gradients: cannot write %s\n", svg_path.c_str());
                return 1;
            }
            std::cout << "plot written to " << svg_path << '\n';
        }
        return 0;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "%s\n", error.what());
        return 1;
    }
}
