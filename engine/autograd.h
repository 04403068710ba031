#pragma once
// Define-by-run autograd, as in PyTorch and micrograd.
//
// An op whose output needs a gradient records a Node: the node keeps what its
// backward needs (saved tensors, shapes) and an edge to the node of each
// input, never its own output (that would be a reference cycle).
// backward() orders the graph with an explicit stack (deep nets cannot
// overflow it), walks it from the output back, and leaves' AccumulateGrad
// nodes *add* into .grad.
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace kiln {

class Node {
public:
    // Destroys the chain of nodes only this one keeps alive iteratively:
    // recursive destruction of a 20 000-op chain would overflow the stack.
    virtual ~Node();
    // Gradients of the loss w.r.t. each input, given the gradient w.r.t. this
    // node's output. An undefined Tensor means "no gradient for this input".
    virtual std::vector<Tensor> backward(const Tensor& grad_output) = 0;
    // e.g. "MulBackward"
    virtual std::string name() const = 0;
    // Frees saved tensors after a backward without retain_graph.
    virtual void release_saved() {}

    // One entry per input, in order: the node that produced it (or the leaf's
    // AccumulateGrad), or null when that input needs no gradient.
    std::vector<std::shared_ptr<Node>> next;
    Shape output_shape;  // for the graph printer
    DType output_dtype = DType::float32;
    bool released = false;
};

// The node that ends a path at a leaf: adds the incoming gradient into leaf.grad.
class AccumulateGrad : public Node {
public:
    explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf) : leaf(std::move(leaf)) {}
    std::vector<Tensor> backward(const Tensor& grad_output) override;
    std::string name() const override { return "AccumulateGrad"; }
    std::shared_ptr<TensorImpl> leaf;
};

// Whether ops record graph nodes on this thread.
bool grad_mode_enabled();

// Turns recording off for its lifetime (e.g. for optimizer updates and evaluation).
class NoGradGuard {
public:
    NoGradGuard();
    ~NoGradGuard();
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
    bool previous_;
};

// True when grad mode is on and any input requires grad: the op must record a node.
bool needs_grad(std::span<const Tensor> inputs);
inline bool needs_grad(std::initializer_list<Tensor> inputs) { return needs_grad(std::span(inputs.begin(), inputs.size())); }

// Records `node` as the creator of `output`: links the node to the inputs'
// nodes and marks output as requiring grad. Called by every differentiable op
// after needs_grad() said yes.
void record(const Tensor& output, std::shared_ptr<Node> node, const std::vector<Tensor>& inputs);

// The node a gradient for `tensor` flows into (its grad_fn, or for a leaf
// requiring grad its AccumulateGrad), or null.
std::shared_ptr<Node> gradient_edge(const Tensor& tensor);

// The graph behind `root` in topological order, root first.
std::vector<Node*> topological_order(Node* root);

// Text rendering of the graph behind `root`: one line per node with its
// output shape, indented by depth. graph_dot gives Graphviz DOT.
std::string graph_text(const Tensor& root);
std::string graph_dot(const Tensor& root);

}  // namespace kiln
