#include "engine/autograd.h"

#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "engine/anomaly.h"
#include "engine/ops.h"

namespace kiln {

// ---------------------------------------------------------------- grad mode

namespace {
thread_local bool grad_mode = true;
}

bool grad_mode_enabled() { return grad_mode; }
NoGradGuard::NoGradGuard() : previous_(grad_mode) { grad_mode = false; }
NoGradGuard::~NoGradGuard() { grad_mode = previous_; }

bool needs_grad(std::span<const Tensor> inputs) {
    if (!grad_mode) return false;
    for (const Tensor& t : inputs)
        if (t.defined() && t.requires_grad()) return true;
    return false;
}

// ---------------------------------------------------------------- nodes

Node::~Node() {
    std::vector<std::shared_ptr<Node>> orphans = std::move(next);
    while (!orphans.empty()) {
        std::shared_ptr<Node> node = std::move(orphans.back());
        orphans.pop_back();
        if (node && node.use_count() == 1) {  // we hold the last reference: take its children first
            for (auto& child : node->next) orphans.push_back(std::move(child));
            node->next.clear();
        }
    }  // each node dies here with no children left to destroy recursively
}

// ---------------------------------------------------------------- recording

std::shared_ptr<Node> gradient_edge(const Tensor& tensor) {
    if (!tensor.defined() || !tensor.requires_grad()) return nullptr;
    if (tensor.grad_fn()) return tensor.grad_fn();
    // A leaf: reuse its AccumulateGrad so every path into it meets at one node.
    TensorImpl* impl = tensor.impl();
    if (auto existing = impl->grad_accumulator.lock()) return existing;
    auto accumulator = std::make_shared<AccumulateGrad>(tensor.impl_ptr());
    accumulator->output_shape = tensor.shape();
    accumulator->output_dtype = tensor.dtype();
    impl->grad_accumulator = accumulator;
    return accumulator;
}

void record(const Tensor& output, std::shared_ptr<Node> node, const std::vector<Tensor>& inputs) {
    node->next.clear();
    for (const Tensor& input : inputs) node->next.push_back(gradient_edge(input));
    node->output_shape = output.shape();
    node->output_dtype = output.dtype();
    output.impl()->grad_fn = std::move(node);
    output.impl()->requires_grad = true;
}

std::vector<Tensor> AccumulateGrad::backward(const Tensor& grad_output) {
    Tensor& grad = leaf->grad;
    if (!grad.defined()) {
        // The first gradient: the leaf takes the buffer over when only backward()'s
        // reference holds it and it is a whole contiguous storage (a fresh result,
        // as PyTorch steals it); anything shared (a view, the caller's seed, a
        // gradient also sent down another edge) is copied, so .grad aliases nothing.
        const bool sole_owner = grad_output.impl_ptr().use_count() == 1 &&
                                grad_output.storage().use_count() == 1 && grad_output.is_contiguous() &&
                                grad_output.offset() == 0 &&
                                grad_output.storage()->bytes == size_t(grad_output.numel()) * dtype_size(grad_output.dtype());
        grad = sole_owner ? grad_output.detach() : grad_output.clone();
    } else {
        accumulate_(grad, grad_output);  // += : gradients of several backward() calls add up
    }
    return {};
}

// ---------------------------------------------------------------- backward

std::vector<Node*> topological_order(Node* root) {
    // Depth-first post-order with an explicit stack, then reversed: every node
    // comes before the nodes it sends gradients to.
    std::vector<Node*> post_order;
    std::unordered_set<Node*> seen{root};
    std::vector<std::pair<Node*, size_t>> stack{{root, 0}};
    while (!stack.empty()) {
        auto& [node, next_child] = stack.back();
        if (next_child < node->next.size()) {
            Node* child = node->next[next_child++].get();
            if (child && seen.insert(child).second) stack.push_back({child, 0});
        } else {
            post_order.push_back(node);
            stack.pop_back();
        }
    }
    return {post_order.rbegin(), post_order.rend()};
}

void Tensor::backward(const Tensor& grad_output, bool retain_graph) const {
    KILN_CHECK(defined(), "backward: called on an undefined tensor");
    KILN_CHECK(requires_grad(), "backward: tensor ", shape_str(shape()),
               " does not require grad (no input of the ops that made it had requires_grad set)");
    Tensor seed = grad_output;
    if (!seed.defined()) {
        KILN_CHECK(numel() == 1, "backward: output has shape ", shape_str(shape()),
                   "; a non-scalar output needs an explicit grad_output of that shape");
        seed = Tensor::ones(shape(), dtype(), device());
    }
    KILN_CHECK(seed.shape() == shape() && seed.dtype() == dtype(), "backward: grad_output is ",
               shape_str(seed.shape()), " ", dtype_name(seed.dtype()), ", expected ", shape_str(shape()), " ",
               dtype_name(dtype()));

    std::shared_ptr<Node> root = gradient_edge(*this);
    const std::vector<Node*> order = topological_order(root.get());
    for (Node* node : order)
        KILN_CHECK(!node->released, "backward: the graph through ", node->name(),
                   " was already freed by an earlier backward(); pass retain_graph=true to the first "
                   "backward() to backpropagate through it twice");

    NoGradGuard no_grad;
    const bool anomaly = anomaly_detection_enabled();  // engine/anomaly.h
    if (anomaly) check_backward_root(*this);
    std::unordered_map<Node*, Tensor> pending{{root.get(), seed}};
    for (Node* node : order) {
        auto it = pending.find(node);
        if (it == pending.end()) continue;  // no gradient reached this node
        const Tensor grad = std::move(it->second);
        pending.erase(it);
        std::vector<Tensor> input_grads = node->backward(grad);
        if (anomaly) check_backward_node(*node, grad, input_grads);
        for (size_t i = 0; i < node->next.size() && i < input_grads.size(); ++i) {
            Node* next = node->next[i].get();
            if (!next || !input_grads[i].defined()) continue;
            KILN_CHECK(input_grads[i].shape() == next->output_shape, node->name(), ": gradient for input ", i,
                       " has shape ", shape_str(input_grads[i].shape()), ", expected ",
                       shape_str(next->output_shape), " (a bug in this op's backward)");
            auto [slot, inserted] = pending.try_emplace(next, input_grads[i]);
            if (!inserted) slot->second = add(slot->second, input_grads[i]);  // two paths meet: sum
        }
        if (!retain_graph && !dynamic_cast<AccumulateGrad*>(node)) {
            node->release_saved();
            node->released = true;
        }
    }
}

// ---------------------------------------------------------------- printing

namespace {
std::string node_label(const Node& node) {
    std::string label = node.name();
    if (auto* accumulate = dynamic_cast<const AccumulateGrad*>(&node))
        if (!accumulate->leaf->name.empty()) label += " (" + accumulate->leaf->name + ")";
    return label;
}
}  // namespace

std::string graph_text(const Tensor& root) {
    std::shared_ptr<Node> root_node = gradient_edge(root);
    if (!root_node) return "(no graph: tensor does not require grad)\n";
    const std::vector<Node*> order = topological_order(root_node.get());
    std::unordered_map<Node*, size_t> number;
    for (size_t i = 0; i < order.size(); ++i) number[order[i]] = i + 1;
    std::ostringstream out;
    std::unordered_set<Node*> printed;
    std::vector<std::pair<Node*, int>> stack{{root_node.get(), 0}};
    while (!stack.empty()) {
        auto [node, depth] = stack.back();
        stack.pop_back();
        out << std::string(size_t(depth) * 2, ' ') << '#' << number[node] << ' ' << node_label(*node) << "  "
            << shape_str(node->output_shape) << ' ' << dtype_name(node->output_dtype);
        if (!printed.insert(node).second) {
            out << "  (shown above)\n";
            continue;
        }
        out << '\n';
        for (size_t i = node->next.size(); i-- > 0;)
            if (node->next[i]) stack.push_back({node->next[i].get(), depth + 1});
    }
    return out.str();
}

std::string graph_dot(const Tensor& root) {
    std::ostringstream out;
    out << "digraph kiln {\n  rankdir=BT;\n  node [shape=box, fontname=\"monospace\"];\n";
    if (std::shared_ptr<Node> root_node = gradient_edge(root)) {
        const std::vector<Node*> order = topological_order(root_node.get());
        std::unordered_map<Node*, size_t> number;
        for (size_t i = 0; i < order.size(); ++i) number[order[i]] = i + 1;
        for (Node* node : order) {
            out << "  n" << number[node] << " [label=\"" << node_label(*node) << "\\n"
                << shape_str(node->output_shape) << ' ' << dtype_name(node->output_dtype) << "\"";
            if (dynamic_cast<AccumulateGrad*>(node)) out << ", style=filled, fillcolor=lightblue";
            out << "];\n";
        }
        for (Node* node : order)
            for (const auto& next : node->next)
                if (next) out << "  n" << number[next.get()] << " -> n" << number[node] << ";\n";
    }
    out << "}\n";
    return out.str();
}

}  // namespace kiln
