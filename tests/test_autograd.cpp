// Autograd: accumulation into leaves, shared subexpressions, no-grad, detach,
// retain_graph, the graph printers, and the errors of misuse.
#include <doctest/doctest.h>

#include "tests/support/tensors.h"
#include "engine/autograd.h"
#include "engine/ops.h"

using namespace kiln;
using kiln::testing::leaf;

TEST_CASE("micrograd's example: gradients of a small expression") {
    // a = -4, b = 2; c = a + b; d = a * b + b^3; e = c * d  ->  de/da, de/db by hand
    Tensor a = leaf({-4}, {}), b = leaf({2}, {});
    const Tensor c = a + b;
    const Tensor d = a * b + pow(b, 3);
    const Tensor e = c * d;
    e.backward();
    // e = (a+b)(ab+b^3):  de/da = (ab+b^3) + (a+b) b = 0 + (-2)(2) = -4
    //                     de/db = (ab+b^3) + (a+b)(a+3b^2) = 0 + (-2)(8) = -16
    CHECK(e.item() == doctest::Approx(0));
    CHECK(a.grad().item() == doctest::Approx(-4));
    CHECK(b.grad().item() == doctest::Approx(-16));
}

TEST_CASE("backward adds into existing .grad, across calls") {
    Tensor x = leaf({1, 2, 3}, {3});
    x.set_grad(Tensor::from_vector({10, 20, 30}, {3}, DType::float64));
    sum(x * x).backward();  // d/dx sum x^2 = 2x
    CHECK(x.grad().to_vector() == std::vector<double>{12, 24, 36});
    sum(x).backward();
    CHECK(x.grad().to_vector() == std::vector<double>{13, 25, 37});
}

TEST_CASE("explicit grad_output for a non-scalar output") {
    Tensor x = leaf({1, 2}, {2});
    (x * 3.0).backward(Tensor::from_vector({1, -1}, {2}, DType::float64));
    CHECK(x.grad().to_vector() == std::vector<double>{3, -3});
}

TEST_CASE("no-grad guard and detach stop recording") {
    Tensor x = leaf({1, 2}, {2});
    {
        NoGradGuard guard;
        CHECK_FALSE(grad_mode_enabled());
        const Tensor y = x * 2.0;
        CHECK_FALSE(y.requires_grad());
        CHECK(y.grad_fn() == nullptr);
    }
    CHECK(grad_mode_enabled());
    const Tensor d = x.detach();
    CHECK_FALSE(d.requires_grad());
    CHECK(d.storage() == x.storage());
    CHECK_FALSE((d * 2.0).requires_grad());
}

TEST_CASE("retain_graph allows a second backward, without it the graph is freed") {
    Tensor x = leaf({2}, {1});
    const Tensor y = sum(x * x * x);
    y.backward(Tensor(), /*retain_graph=*/true);
    CHECK(x.grad().item() == doctest::Approx(12));
    y.backward();
    CHECK(x.grad().item() == doctest::Approx(24));
    CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("was already freed by an earlier backward()"), Error);
}

TEST_CASE("saved tensors: relu and relu6 keep only their output, the input is freed after the forward") {
    // relu(a + b), a residual block's end: the sum is needed by nothing once relu has run.
    Tensor a = leaf({-2, -0.5, 0, 0.5, 3, 7}, {6}), b = leaf({1, 1, 1, 1, 1, 1}, {6});
    for (const bool six : {false, true}) {
        Tensor sum_ab = a + b;  // -1 0.5 1 1.5 4 8
        const std::weak_ptr<Storage> sum_storage = sum_ab.storage();
        const Tensor y = six ? relu6(sum_ab) : relu(sum_ab);
        sum_ab = Tensor();
        CHECK(sum_storage.expired());
        a.set_grad(Tensor());
        sum(y * Tensor::from_vector({1, 2, 3, 4, 5, 6}, {6}, DType::float64)).backward();
        // relu passes where a + b > 0; relu6 also stops where a + b >= 6
        CHECK(a.grad().to_vector() == (six ? std::vector<double>{0, 2, 3, 4, 5, 0}
                                           : std::vector<double>{0, 2, 3, 4, 5, 6}));
    }
    // An op whose derivative is written in x keeps x and frees its output (gelu),
    // one whose cuDNN backward reads both keeps both (sigmoid).
    Tensor x = a * 2.0;
    const std::weak_ptr<Storage> x_storage = x.storage();
    Tensor g = gelu(x);
    const std::weak_ptr<Storage> g_storage = g.storage();
    const Tensor g_sum = sum(g);
    g = Tensor();
    x = Tensor();
    CHECK_FALSE(x_storage.expired());
    CHECK(g_storage.expired());
    Tensor s = sigmoid(a * 2.0);
    const std::weak_ptr<Storage> s_storage = s.storage();
    const Tensor s_sum = sum(s);
    s = Tensor();
    CHECK_FALSE(s_storage.expired());
}

namespace {
// dy -> (2 dy) as a fresh tensor; remembers its storage, and with `keep` holds on to the tensor too.
class DoubleBackward : public Node {
public:
    explicit DoubleBackward(bool keep) : keep_(keep) {}
    std::vector<Tensor> backward(const Tensor& dy) override {
        Tensor dx = dy * 2.0;
        storage = dx.storage();
        if (keep_) kept = dx;
        return {dx};
    }
    std::string name() const override { return "DoubleBackward"; }
    std::weak_ptr<Storage> storage;
    Tensor kept;

private:
    bool keep_;
};
}  // namespace

TEST_CASE("a leaf's first .grad takes over a gradient buffer nothing else holds, and copies a shared one") {
    for (const bool keep : {false, true}) {
        CAPTURE(keep);
        Tensor x = leaf({1, 2, 3}, {3});
        const Tensor y = x.detach() * 1.0;
        auto node = std::make_shared<DoubleBackward>(keep);
        record(y, node, {x});
        y.backward(Tensor::from_vector({1, -1, 4}, {3}, DType::float64));
        CHECK(x.grad().to_vector() == std::vector<double>{2, -2, 8});
        // Taken over: the node's buffer is .grad. Held by the node too: .grad is a copy of it.
        CHECK((x.grad().storage() == node->storage.lock()) == !keep);
        if (keep) CHECK(node->kept.to_vector() == std::vector<double>{2, -2, 8});
    }
    // A seed the caller holds is copied, never aliased.
    Tensor x = leaf({1, 2}, {2});
    const Tensor seed = Tensor::from_vector({5, 6}, {2}, DType::float64);
    x.backward(seed);
    CHECK(x.grad().storage() != seed.storage());
    CHECK(x.grad().to_vector() == std::vector<double>{5, 6});
}

TEST_CASE("misuse of backward is a clear kiln::Error") {
    Tensor x = leaf({1, 2}, {2});
    CHECK_THROWS_WITH_AS((x * 2.0).backward(),
                         doctest::Contains("a non-scalar output needs an explicit grad_output"), Error);
    CHECK_THROWS_WITH_AS((x * 2.0).backward(Tensor::ones({3}, DType::float64)),
                         doctest::Contains("grad_output is [3] float64, expected [2] float64"), Error);
    CHECK_THROWS_WITH_AS(Tensor::ones({1}).backward(), doctest::Contains("does not require grad"), Error);
    CHECK_THROWS_WITH_AS((x * 2.0).set_requires_grad(false), doctest::Contains("only leaf tensors"), Error);
}

TEST_CASE("a deep chain does not overflow the stack") {
    Tensor x = leaf({1}, {1});
    Tensor y = x;
    for (int i = 0; i < 20000; ++i) y = y * 1.0;
    sum(y).backward();
    CHECK(x.grad().item() == 1);
}

TEST_CASE("the graph is freed when the output goes away (no reference cycles)") {
    Tensor x = leaf({1, 2}, {2});
    std::weak_ptr<Node> node;
    {
        const Tensor y = exp(x);  // saves its output: must not keep itself alive
        node = y.grad_fn();
        CHECK_FALSE(node.expired());
    }
    CHECK(node.expired());
}

TEST_CASE("graph printers show every node with its shape") {
    Tensor w = leaf({1, 2, 3, 4, 5, 6}, {3, 2});
    w.set_name("w");
    Tensor x = leaf({1, 1}, {2});
    const Tensor loss = sum(matmul(w, x) * matmul(w, x));
    const std::string text = graph_text(loss);
    CHECK(text.find("SumBackward  [] float64") != std::string::npos);
    CHECK(text.find("MulBackward  [3] float64") != std::string::npos);
    CHECK(text.find("AccumulateGrad (w)  [3, 2] float64") != std::string::npos);
    CHECK(text.find("(shown above)") != std::string::npos);  // w feeds two matmuls
    const std::string dot = graph_dot(loss);
    CHECK(dot.rfind("digraph kiln {", 0) == 0);
    CHECK(dot.find("->") != std::string::npos);
    CHECK(dot.find("AccumulateGrad (w)\\n[3, 2] float64") != std::string::npos);
}
