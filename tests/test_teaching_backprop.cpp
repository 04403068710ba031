// backprop_trace (apps/teaching/backprop_trace.h): the numbers it prints,
// against finite differences and against a hand derivation.
#include <doctest/doctest.h>

#include <cmath>

#include "apps/teaching/backprop_trace.h"

using namespace kiln::teaching;

namespace {
const NodeTrace& node_for(const BackpropTrace& trace, const std::string& output) {
    for (const NodeTrace& node : trace.nodes)
        if (node.output == output) return node;
    FAIL("no node made ", output);
    return trace.nodes.front();
}
double sigmoid(double z) { return 1 / (1 + std::exp(-z)); }
}  // namespace

TEST_CASE("backprop_trace: every local gradient and chain-rule product agrees with finite differences") {
    for (const char* activation : {"sigmoid", "relu", "tanh"}) {
        BackpropTraceOptions options;
        options.activation = activation;
        const BackpropTrace trace = backprop_trace(options);
        INFO(activation);
        CHECK(trace.passed);
        CHECK(trace.local_error <= 1);
        CHECK(trace.chain_error <= 1);
        CHECK(trace.product_error <= 1);
        CHECK(trace.engine_error <= 1);
        for (const NodeTrace& node : trace.nodes) {
            REQUIRE(node.upstream.size() == node.upstream_numeric.size());
            for (size_t i = 0; i < node.upstream.size(); ++i)
                CHECK(node.upstream[i] == doctest::Approx(node.upstream_numeric[i]).epsilon(1e-5));
        }
    }
}

TEST_CASE("backprop_trace: graph order, the two paths of d * d, and the gradients derived by hand") {
    const BackpropTrace trace = backprop_trace();
    // Topological order, root first: L, sq, d, y, then the parameters of layer 2 before layer 1's.
    REQUIRE(trace.nodes.size() == 10);
    CHECK(trace.nodes[0].node == "MeanBackward");
    CHECK(trace.nodes[1].node == "MulBackward");
    CHECK(trace.nodes[2].node == "SubBackward");
    CHECK(trace.nodes[2].paths == 2);  // sq = d * d sends d two gradients
    CHECK(trace.nodes[3].node == "LinearBackward");
    CHECK(trace.nodes[3].inputs.size() == 3);  // h1, W2, b2
    CHECK(trace.nodes[7].node == "LinearBackward");
    CHECK(trace.nodes[7].inputs.size() == 2);  // x needs no gradient: W1, b1
    CHECK(trace.graph_dot.find("digraph") != std::string::npos);

    // By hand: z1 = x W1^T + b1 = [1.2, -1.5]; h = sigmoid(z1); y = 1.5 h0 - h1 + 0.2; L = (y - 1)^2.
    const double h0 = sigmoid(1.2), h1 = sigmoid(-1.5), y = 1.5 * h0 - h1 + 0.2;
    CHECK(trace.loss == doctest::Approx((y - 1) * (y - 1)).epsilon(1e-12));
    const double dy = 2 * (y - 1);
    const NodeTrace& w2 = node_for(trace, "W2");
    CHECK(w2.upstream[0] == doctest::Approx(dy * h0).epsilon(1e-12));
    CHECK(w2.upstream[1] == doctest::Approx(dy * h1).epsilon(1e-12));
    const double dz0 = dy * 1.5 * h0 * (1 - h0), dz1 = dy * -1.0 * h1 * (1 - h1);
    const NodeTrace& w1 = node_for(trace, "W1");  // dL/dW1[i, j] = dz_i x_j, x = [1, -2]
    CHECK(w1.upstream[0] == doctest::Approx(dz0).epsilon(1e-12));
    CHECK(w1.upstream[1] == doctest::Approx(-2 * dz0).epsilon(1e-12));
    CHECK(w1.upstream[2] == doctest::Approx(dz1).epsilon(1e-12));
    CHECK(w1.upstream[3] == doctest::Approx(-2 * dz1).epsilon(1e-12));
    // Sigmoid's local gradient is diagonal, h (1 - h).
    const InputTrace& local = node_for(trace, "h1").inputs.at(0);
    CHECK(local.local.at(0, 0) == doctest::Approx(h0 * (1 - h0)).epsilon(1e-12));
    CHECK(local.local.at(0, 1) == 0);
    CHECK(local.local.at(1, 1) == doctest::Approx(h1 * (1 - h1)).epsilon(1e-12));

    const std::string text = backprop_trace_text(trace);
    CHECK(text.find("all checks passed") != std::string::npos);
    CHECK(text.find("MISMATCH") == std::string::npos);
}

TEST_CASE("backprop_trace: an unknown activation is an error") {
    BackpropTraceOptions options;
    options.activation = "softsign";
    CHECK_THROWS_WITH_AS(backprop_trace(options), doctest::Contains("unknown activation"), kiln::Error);
}
