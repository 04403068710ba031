// backprop_trace: prints a two-layer net's forward values, then every node of
// its autograd graph in order with its local gradient and the chain-rule
// product, each checked against finite differences (apps/teaching/backprop_trace.h).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "apps/teaching/backprop_trace.h"

int main(int argc, char** argv) {
    CLI::App app{"backprop_trace: backpropagation through a two-layer net, node by node, checked numerically"};
    kiln::teaching::BackpropTraceOptions options;
    std::string dot_path;
    app.add_option("--activation", options.activation, "hidden activation: sigmoid, relu or tanh")
        ->capture_default_str()->check(CLI::IsMember({"sigmoid", "relu", "tanh"}));
    app.add_option("--dot", dot_path, "write the autograd graph as Graphviz DOT to this file (dot -Tsvg FILE)");
    CLI11_PARSE(app, argc, argv);
    try {
        const kiln::teaching::BackpropTrace trace = kiln::teaching::backprop_trace(options);
        std::cout << kiln::teaching::backprop_trace_text(trace);
        if (!dot_path.empty()) {
            std::ofstream dot(dot_path);
            if (!(dot << trace.graph_dot)) {
                std::fprintf(stderr, "backprop_trace: cannot write %s\n", dot_path.c_str());
                return 1;
            }
            std::cout << "graph written to " << dot_path << " (render: dot -Tsvg " << dot_path << " -o graph.svg)\n";
        }
        return trace.passed ? 0 : 1;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "%s\n", error.what());
        return 1;
    }
}
