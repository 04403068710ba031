#include "apps/teaching/backprop_trace.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <sstream>
#include <unordered_map>

#include "engine/autograd.h"
#include "engine/ops.h"

namespace kiln::teaching {

namespace {

using StepFunction = std::function<Tensor(const std::vector<Tensor>&)>;

// One op of the net: output = fn(inputs). The same list drives the forward
// pass with autograd and every finite-difference re-run.
struct Step {
    std::string output, formula;
    std::vector<std::string> inputs;
    StepFunction fn;
};

struct Leaf {
    std::string name, role;
    Shape shape;
    std::vector<double> values;
    bool trainable;
};

// The fixed numbers of the net: small and round, so a reader can redo a step by hand.
std::vector<Leaf> net_leaves() {
    return {
        {"x", "input", {1, 2}, {1.0, -2.0}, false},
        {"W1", "parameter", {2, 2}, {0.5, -0.3, 0.2, 0.8}, true},
        {"b1", "parameter", {2}, {0.1, -0.1}, true},
        {"W2", "parameter", {1, 2}, {1.5, -1.0}, true},
        {"b2", "parameter", {1}, {0.2}, true},
        {"t", "target", {1, 1}, {1.0}, false},
    };
}

std::vector<Step> net_steps(const std::string& activation) {
    StepFunction act;
    if (activation == "sigmoid") act = [](const std::vector<Tensor>& in) { return sigmoid(in[0]); };
    else if (activation == "relu") act = [](const std::vector<Tensor>& in) { return relu(in[0]); };
    else if (activation == "tanh") act = [](const std::vector<Tensor>& in) { return kiln::tanh(in[0]); };
    else fail("backprop_trace: unknown activation \"", activation, "\" (sigmoid, relu or tanh)");
    return {
        {"z1", "x W1^T + b1", {"x", "W1", "b1"}, [](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); }},
        {"h1", activation + "(z1)", {"z1"}, act},
        {"y", "h1 W2^T + b2", {"h1", "W2", "b2"}, [](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); }},
        {"d", "y - t", {"y", "t"}, [](const std::vector<Tensor>& in) { return in[0] - in[1]; }},
        {"sq", "d * d", {"d", "d"}, [](const std::vector<Tensor>& in) { return in[0] * in[1]; }},
        {"L", "mean(sq)", {"sq"}, [](const std::vector<Tensor>& in) { return mean(in[0]); }},
    };
}

using Values = std::map<std::string, Tensor>;

Values make_leaves(bool with_grad) {
    Values values;
    for (const Leaf& leaf : net_leaves()) {
        Tensor t = Tensor::from_vector(leaf.values, leaf.shape, DType::float64);
        if (with_grad && leaf.trainable) t.set_requires_grad(true);
        values[leaf.name] = t.set_name(leaf.name);
    }
    return values;
}

std::vector<Tensor> step_inputs(const Step& step, const Values& values) {
    std::vector<Tensor> inputs;
    for (const std::string& name : step.inputs) inputs.push_back(values.at(name));
    return inputs;
}

// Runs the net from `leaves`; the tensor named `replaced` (a leaf or a step's
// output) takes the value `replacement` instead of being computed.
Values run_net(const std::vector<Step>& steps, Values leaves, const std::string& replaced = "",
               const Tensor& replacement = Tensor()) {
    if (leaves.count(replaced)) leaves[replaced] = replacement;
    for (const Step& step : steps)
        leaves[step.output] = step.output == replaced ? replacement : step.fn(step_inputs(step, leaves)).set_name(step.output);
    return leaves;
}

// `t` with element k moved by delta (a new float64 tensor, no graph).
Tensor perturbed(const Tensor& t, size_t k, double delta) {
    std::vector<double> v = t.to_vector();
    v[k] += delta;
    return Tensor::from_vector(v, t.shape(), DType::float64);
}

// |analytic - numeric| in units of the tolerance: <= 1 passes.
double tolerance_ratio(const std::vector<double>& analytic, const std::vector<double>& numeric,
                       const BackpropTraceOptions& o) {
    if (analytic.size() != numeric.size()) return INFINITY;
    double worst = 0;
    for (size_t i = 0; i < analytic.size(); ++i) {
        const double ratio = std::fabs(analytic[i] - numeric[i]) / (o.atol + o.rtol * std::fabs(numeric[i]));
        if (!(ratio <= worst)) worst = ratio;  // NaN wins
    }
    return worst;
}

}  // namespace

BackpropTrace backprop_trace(const BackpropTraceOptions& options) {
    BackpropTrace trace;
    trace.options = options;
    const std::vector<Step> steps = net_steps(options.activation);
    const Values leaves = make_leaves(true);
    const Values values = run_net(steps, leaves);
    const Tensor loss = values.at("L");
    trace.loss = loss.item();

    for (const Leaf& leaf : net_leaves()) trace.forward.push_back({leaf.name, leaf.role, leaf.shape, leaf.values});
    for (const Step& step : steps) {
        const Tensor& t = values.at(step.output);
        trace.forward.push_back({step.output, step.formula, t.shape(), t.to_vector()});
    }
    trace.graph_text = graph_text(loss);
    trace.graph_dot = graph_dot(loss);

    // Which tensor each node made: a step's grad_fn, or a leaf's AccumulateGrad.
    std::unordered_map<Node*, std::string> made;
    std::map<std::string, const Step*> step_of;
    for (const Step& step : steps) {
        made[values.at(step.output).grad_fn().get()] = step.output;
        step_of[step.output] = &step;
    }
    std::vector<std::shared_ptr<Node>> accumulators;  // keeps the leaves' nodes alive while we walk
    for (const auto& [name, leaf] : leaves)
        if (leaf.requires_grad()) {
            accumulators.push_back(gradient_edge(leaf));
            made[accumulators.back().get()] = name;
        }

    // dL/d(tensor named `name`) by central differences of the whole net.
    auto numeric_loss_gradient = [&](const std::string& name) {
        const Tensor base = values.at(name).detach();
        std::vector<double> gradient(static_cast<size_t>(base.numel()));
        NoGradGuard no_grad;
        for (size_t k = 0; k < gradient.size(); ++k) {
            const double plus = run_net(steps, leaves, name, perturbed(base, k, options.eps)).at("L").item();
            const double minus = run_net(steps, leaves, name, perturbed(base, k, -options.eps)).at("L").item();
            gradient[k] = (plus - minus) / (2 * options.eps);
        }
        return gradient;
    };
    // d(step output)/d(input slot j) by central differences of that op alone.
    auto numeric_local = [&](const Step& step, size_t j) {
        NoGradGuard no_grad;
        std::vector<Tensor> inputs = step_inputs(step, values);
        for (Tensor& in : inputs) in = in.detach();
        const Tensor base = inputs[j];
        const int64_t out_count = values.at(step.output).numel(), in_count = base.numel();
        Matrix jacobian(out_count, in_count);
        for (int64_t k = 0; k < in_count; ++k) {
            inputs[j] = perturbed(base, static_cast<size_t>(k), options.eps);
            const std::vector<double> plus = step.fn(inputs).to_vector();
            inputs[j] = perturbed(base, static_cast<size_t>(k), -options.eps);
            const std::vector<double> minus = step.fn(inputs).to_vector();
            for (int64_t i = 0; i < out_count; ++i)
                jacobian.at(i, k) = (plus[size_t(i)] - minus[size_t(i)]) / (2 * options.eps);
        }
        return jacobian;
    };

    // The walk of Tensor::backward, one node at a time.
    std::shared_ptr<Node> root = gradient_edge(loss);
    const std::vector<Node*> order = topological_order(root.get());
    std::unordered_map<Node*, Tensor> pending{{root.get(), Tensor::ones(loss.shape(), DType::float64)}};
    std::unordered_map<Node*, int> paths;  // how many gradients arrived at each node
    {
        NoGradGuard no_grad;  // as in Tensor::backward: the backward pass records nothing
        for (size_t position = 0; position < order.size(); ++position) {
            Node* node = order[position];
            NodeTrace entry;
            entry.number = int(position + 1);
            entry.node = node->name();
            KILN_CHECK(made.count(node), "backprop_trace: node ", node->name(), " belongs to no traced tensor");
            entry.output = made.at(node);
            const Tensor upstream = pending.at(node);
            entry.upstream = upstream.to_vector();
            entry.paths = std::max(1, paths[node]);
            entry.upstream_numeric = numeric_loss_gradient(entry.output);
            trace.chain_error = std::max(trace.chain_error, tolerance_ratio(entry.upstream, entry.upstream_numeric, options));

            if (dynamic_cast<AccumulateGrad*>(node)) {
                entry.formula = "leaf";
                node->backward(upstream);
                trace.nodes.push_back(std::move(entry));
                continue;
            }
            const Step& step = *step_of.at(entry.output);
            entry.formula = step.formula;
            const std::vector<Tensor> products = node->backward(upstream);
            const int64_t out_count = upstream.numel();
            for (size_t j = 0; j < node->next.size(); ++j) {
                if (!node->next[j]) continue;  // this input needs no gradient (x, t)
                InputTrace input;
                input.input = step.inputs[j];
                const int64_t in_count = values.at(input.input).numel();
                input.local = Matrix(out_count, in_count);
                for (int64_t i = 0; i < out_count; ++i) {  // row i: node.backward(e_i)
                    std::vector<double> unit(static_cast<size_t>(out_count), 0.0);
                    unit[size_t(i)] = 1;
                    const std::vector<double> row =
                        node->backward(Tensor::from_vector(unit, upstream.shape(), DType::float64))[j].to_vector();
                    for (int64_t k = 0; k < in_count; ++k) input.local.at(i, k) = row[size_t(k)];
                }
                input.local_numeric = numeric_local(step, j);
                input.product = products[j].to_vector();
                input.product_by_hand.assign(static_cast<size_t>(in_count), 0.0);
                for (int64_t i = 0; i < out_count; ++i)
                    for (int64_t k = 0; k < in_count; ++k)
                        input.product_by_hand[size_t(k)] += entry.upstream[size_t(i)] * input.local.at(i, k);
                trace.local_error =
                    std::max(trace.local_error, tolerance_ratio(input.local.values, input.local_numeric.values, options));
                trace.product_error =
                    std::max(trace.product_error, tolerance_ratio(input.product, input.product_by_hand, options));
                ++paths[node->next[j].get()];
                auto [slot, inserted] = pending.try_emplace(node->next[j].get(), products[j]);
                if (!inserted) slot->second = add(slot->second, products[j]);  // two paths meet: sum
                entry.inputs.push_back(std::move(input));
            }
            trace.nodes.push_back(std::move(entry));
        }
    }

    // The engine's own backward on a fresh copy of the net must deliver the
    // same leaf gradients as the walk (the walk's own no-grad scope has ended).
    const Values fresh = run_net(steps, make_leaves(true));
    fresh.at("L").backward();
    for (const NodeTrace& entry : trace.nodes)
        if (entry.node == "AccumulateGrad")
            trace.engine_error = std::max(
                trace.engine_error, tolerance_ratio(fresh.at(entry.output).grad().to_vector(), entry.upstream, options));
    trace.passed = trace.local_error <= 1 && trace.chain_error <= 1 && trace.product_error <= 1 &&
                   trace.engine_error <= 1;
    return trace;
}

namespace {
std::string verdict(double ratio) { return ratio <= 1 ? "ok" : "MISMATCH"; }
}  // namespace

std::string backprop_trace_text(const BackpropTrace& trace) {
    const BackpropTraceOptions& o = trace.options;
    std::ostringstream out;
    out << "backprop_trace: backpropagation through a two-layer net, node by node (float64, one sample)\n"
        << "  z1 = x W1^T + b1,  h1 = " << o.activation << "(z1),  y = h1 W2^T + b2,  L = mean((y - t)^2)\n\n";

    out << "Forward pass\n";
    size_t name_width = 0, formula_width = 0;
    for (const ForwardValue& v : trace.forward) {
        name_width = std::max(name_width, v.name.size());
        formula_width = std::max(formula_width, v.formula.size());
    }
    for (const ForwardValue& v : trace.forward)
        out << "  " << v.name << std::string(name_width - v.name.size(), ' ') << " = " << v.formula
            << std::string(formula_width - v.formula.size(), ' ') << "  " << shape_str(v.shape) << "  "
            << vector_text(v.values) << '\n';

    out << "\nThe graph behind L (kiln::graph_text; #n is the node's place in topological order):\n"
        << trace.graph_text;

    out << "\nBackward pass, in that order. Each node receives dL/d(out), the gradient of its output\n"
           "(summed over every path that reaches it), multiplies it by its local gradient\n"
           "d(out)/d(in) (one row per output element) and sends the product dL/d(in) on.\n"
           "numeric = central differences with step "
        << number_text(o.eps) << "; ok = within " << number_text(o.atol) << " + " << number_text(o.rtol)
        << " |numeric|.\n";
    for (const NodeTrace& node : trace.nodes) {
        out << "\n#" << node.number << ' ' << node.node << "  ->  " << node.output;
        if (node.formula == "leaf") out << " (a leaf): " << node.output << ".grad += dL/d" << node.output << '\n';
        else out << " = " << node.formula << '\n';
        out << "   dL/d" << node.output << " = " << vector_text(node.upstream) << "   numeric "
            << vector_text(node.upstream_numeric) << "   "
            << verdict(tolerance_ratio(node.upstream, node.upstream_numeric, o));
        if (node.paths > 1) out << "   (the sum of " << node.paths << " paths)";
        out << '\n';
        for (size_t k = 0; k < node.inputs.size(); ++k) {
            const InputTrace& input = node.inputs[k];
            const bool repeated = std::count_if(node.inputs.begin(), node.inputs.end(),
                                                [&](const InputTrace& other) { return other.input == input.input; }) > 1;
            out << "   to " << input.input << (repeated ? (k == 0 ? " (as a)" : " (as b)") : "") << ": local d"
                << node.output << "/d" << input.input << "   "
                << verdict(tolerance_ratio(input.local.values, input.local_numeric.values, o)) << '\n';
            out << side_by_side({{"node.backward(e_i)", input.local}, {"numeric", input.local_numeric}}, "      ");
            out << "      chain: dL/d" << input.input << " += dL/d" << node.output << " . local = "
                << vector_text(input.product_by_hand) << "   (node.backward(dL/d" << node.output
                << ") = " << vector_text(input.product) << ")\n";
        }
    }
    out << "\nsummary (worst error in units of the tolerance, <= 1 passes):\n"
        << "  local gradients vs numeric       " << number_text(trace.local_error, 3) << '\n'
        << "  dL/d(tensor) vs numeric          " << number_text(trace.chain_error, 3) << '\n'
        << "  node.backward vs upstream.local  " << number_text(trace.product_error, 3) << '\n'
        << "  loss.backward() leaf grads       " << number_text(trace.engine_error, 3) << '\n'
        << (trace.passed ? "all checks passed\n" : "SOME CHECKS FAILED\n");
    return out.str();
}

}  // namespace kiln::teaching
