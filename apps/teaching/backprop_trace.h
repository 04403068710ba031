#pragma once
// backprop_trace: backpropagation through a two-layer net, node by node.
//
// The net (float64, one sample so every number fits on a line):
//   z1 = x W1^T + b1          x [1, 2], W1 [2, 2], b1 [2]
//   h1 = act(z1)              sigmoid (default), relu or tanh
//   y  = h1 W2^T + b2         W2 [1, 2], b2 [1]
//   d  = y - t                t [1, 1], the target
//   sq = d * d                (mul with the same tensor twice: two paths meet)
//   L  = mean(sq)
//
// The trace builds kiln's real autograd graph, then walks it exactly as
// Tensor::backward does (engine/autograd.cpp): in topological order from L,
// calling each node's backward() with the gradient of its output, dL/d(out),
// and summing what arrives from several paths. For every node it records
//   - the local gradient d(out)/d(input) of each input: the Jacobian, one row
//     per output element, obtained by calling node.backward(e_i) with the unit
//     vectors e_i;
//   - the chain-rule product dL/d(input) = dL/d(out) . d(out)/d(input), both
//     as the node computes it (node.backward(dL/d(out))) and as the product
//     of the two printed factors;
// and checks each against central finite differences: the local Jacobian by
// re-running that one op on a perturbed input, dL/d(tensor) by re-running the
// rest of the net from a perturbed tensor. Finally the leaves' .grad from a
// plain loss.backward() must equal what the walk delivered to them.
#include <string>
#include <vector>

#include "apps/teaching/text.h"
#include "engine/tensor.h"

namespace kiln::teaching {

struct BackpropTraceOptions {
    std::string activation = "sigmoid";  // sigmoid, relu or tanh
    // Central differences: the step and the tolerance of engine/gradcheck.h
    // (|analytic - numeric| <= atol + rtol |numeric|).
    double eps = 1e-6;
    double atol = 1e-6;
    double rtol = 1e-5;
};

// One value of the forward pass.
struct ForwardValue {
    std::string name;     // "z1"
    std::string formula;  // "x W1^T + b1", or "input" / "parameter" / "target"
    Shape shape;
    std::vector<double> values;
};

// What one node sends to one of its inputs.
struct InputTrace {
    std::string input;                     // the input tensor's name, e.g. "W1"
    Matrix local;                          // d(out)/d(input) [out elements, input elements], from node.backward(e_i)
    Matrix local_numeric;                  // the same by central differences of the op alone
    std::vector<double> product;           // node.backward(dL/d(out)) for this input
    std::vector<double> product_by_hand;   // dL/d(out) . local, multiplied here
};

struct NodeTrace {
    int number = 0;                        // position in topological order, 1 = the root (as graph_text numbers it)
    std::string node;                      // "LinearBackward", "AccumulateGrad", ...
    std::string output;                    // the tensor the node made (for AccumulateGrad: the leaf)
    std::string formula;                   // how that tensor was computed ("leaf" for AccumulateGrad)
    std::vector<double> upstream;          // dL/d(output), summed over every path that reached it
    std::vector<double> upstream_numeric;  // the same by central differences of L
    int paths = 1;                         // how many gradients were summed into upstream
    std::vector<InputTrace> inputs;        // one per input that needs a gradient (none for AccumulateGrad)
};

struct BackpropTrace {
    BackpropTraceOptions options;
    std::vector<ForwardValue> forward;
    double loss = 0;
    std::vector<NodeTrace> nodes;          // in graph (topological) order, root first
    std::string graph_text, graph_dot;     // kiln::graph_text / graph_dot of L
    // Worst |analytic - numeric| relative to the tolerance (<= 1 passes):
    double local_error = 0;                // local Jacobians
    double chain_error = 0;                // dL/d(tensor) at every node
    double product_error = 0;              // node.backward(upstream) vs upstream . local (exact up to rounding)
    double engine_error = 0;               // loss.backward()'s leaf grads vs the walk's
    bool passed = false;
};

// Builds the net, walks its graph and checks every number. Throws kiln::Error
// for an unknown activation.
BackpropTrace backprop_trace(const BackpropTraceOptions& options = {});

// The report backprop_trace prints: forward values, the graph, then each node.
std::string backprop_trace_text(const BackpropTrace& trace);

}  // namespace kiln::teaching
