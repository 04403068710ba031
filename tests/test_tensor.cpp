// Tensor basics: factories, views sharing storage, contiguous, dtype
// conversion, item, printing.
#include <doctest/doctest.h>

#include "engine/ops.h"
#include "engine/ops/checks.h"
#include "engine/random.h"

using namespace kiln;

TEST_CASE("factories fill shape, dtype and values") {
    const Tensor z = Tensor::zeros({2, 3}, DType::float64);
    CHECK(z.shape() == Shape{2, 3});
    CHECK(z.strides() == Shape{3, 1});
    CHECK(z.dtype() == DType::float64);
    CHECK(z.to_vector() == std::vector<double>(6, 0.0));
    CHECK(Tensor::ones({4}).to_vector() == std::vector<double>(4, 1.0));
    CHECK(Tensor::full({2}, 2.5).to_vector() == std::vector<double>{2.5, 2.5});
    CHECK(Tensor::arange(0, 5).to_vector() == std::vector<double>{0, 1, 2, 3, 4});
    CHECK(Tensor::arange(1, 0, -0.25, DType::float64).to_vector() == std::vector<double>{1, 0.75, 0.5, 0.25});
    CHECK(Tensor::scalar(3).dim() == 0);
    CHECK(Tensor::scalar(3).item() == 3);
    CHECK(Tensor::zeros({0, 3}).numel() == 0);
}

TEST_CASE("rand and randn: seeded, in range, roughly the right moments") {
    manual_seed(42);
    const Tensor a = Tensor::rand({1000}, DType::float64);
    manual_seed(42);
    const Tensor b = Tensor::rand({1000}, DType::float64);
    CHECK(a.to_vector() == b.to_vector());
    for (double v : a.to_vector()) CHECK((v >= 0 && v < 1));
    CHECK(mean(a).item() == doctest::Approx(0.5).epsilon(0.05));
    const Tensor n = Tensor::randn({20000}, DType::float64);
    const double m = mean(n).item();
    CHECK(std::abs(m) < 0.03);
    CHECK(mean(pow(n - m, 2)).item() == doctest::Approx(1.0).epsilon(0.03));
    // a second draw continues the stream instead of repeating it
    CHECK(Tensor::rand({4}).to_vector() != Tensor::rand({4}).to_vector());
}

TEST_CASE("views share storage with their base") {
    Tensor base = Tensor::arange(0, 24, 1, DType::float64).reshape({2, 3, 4});
    const Tensor t = base.transpose(0, 2);
    CHECK(t.shape() == Shape{4, 3, 2});
    CHECK(t.strides() == Shape{1, 4, 12});
    CHECK_FALSE(t.is_contiguous());
    CHECK(t.storage() == base.storage());
    const Tensor row = base.narrow(1, 1, 1);
    CHECK(row.shape() == Shape{2, 1, 4});
    CHECK(row.offset() == 4);
    CHECK(row.to_vector() == std::vector<double>{4, 5, 6, 7, 16, 17, 18, 19});
    // a write through the base is seen by the view
    base.data<double>()[5] = 100;
    CHECK(row.to_vector()[1] == 100);
    CHECK(base.unsqueeze(0).shape() == Shape{1, 2, 3, 4});
    CHECK(base.unsqueeze(0).squeeze().shape() == Shape{2, 3, 4});
    CHECK(Tensor::ones({3, 1}).expand({2, 3, 4}).strides() == Shape{0, 1, 0});
    CHECK(base.view({6, 4}).storage() == base.storage());
}

TEST_CASE("contiguous copies only when needed, in row-major order") {
    const Tensor base = Tensor::arange(0, 6, 1, DType::float64).reshape({2, 3});
    CHECK(base.contiguous().impl() == base.impl());
    const Tensor t = base.transpose(0, 1).contiguous();
    CHECK(t.is_contiguous());
    CHECK(t.storage() != base.storage());
    CHECK(t.to_vector() == std::vector<double>{0, 3, 1, 4, 2, 5});
    // reshape of a non-contiguous tensor copies; of a contiguous one it views
    CHECK(base.transpose(0, 1).reshape({6}).to_vector() == std::vector<double>{0, 3, 1, 4, 2, 5});
    CHECK(base.reshape({3, 2}).storage() == base.storage());
}

TEST_CASE("to(dtype), item and copy_") {
    const Tensor d = Tensor::from_vector({1.5, -2.25}, {2}, DType::float64);
    CHECK(d.to(DType::float32).dtype() == DType::float32);
    CHECK(d.to(DType::float32).to_vector() == std::vector<double>{1.5, -2.25});
    CHECK(d.to(DType::int64).to_vector() == std::vector<double>{1, -2});
    CHECK(d.to(DType::float64).impl() == d.impl());
    CHECK_THROWS_WITH_AS(d.item(), doctest::Contains("item: tensor has 2 elements"), Error);
    Tensor target = Tensor::zeros({2}, DType::float32);
    target.copy_(d);
    CHECK(target.to_vector() == std::vector<double>{1.5, -2.25});
    CHECK_THROWS_AS(target.copy_(Tensor::zeros({3})), Error);
}

TEST_CASE("printing is readable and summarises large tensors") {
    const Tensor t = Tensor::from_vector(std::vector<double>{1, 2, 3, 4}, {2, 2});
    CHECK(to_string(t) == "tensor([[1.0000, 2.0000],\n        [3.0000, 4.0000]], dtype=float32, shape=[2, 2])");
    CHECK(to_string(Tensor::from_int64({3, 1}, {2})) == "tensor([3, 1], dtype=int64, shape=[2])");
    CHECK(to_string(Tensor::scalar(2)) == "tensor(2.0000, dtype=float32, shape=[])");
    const std::string big = to_string(Tensor::zeros({2000}));
    CHECK(big.find("...") != std::string::npos);
    CHECK(big.size() < 200);
    Tensor leaf = Tensor::ones({1});
    leaf.set_requires_grad(true);
    CHECK(to_string(leaf).find("requires_grad") != std::string::npos);
    CHECK(to_string(leaf * 2.0).find("grad_fn=MulBackward") != std::string::npos);
}

TEST_CASE("devices parse and print, and devices without a backend say so") {
    CHECK(Device::parse("cuda:1") == Device::cuda(1));
    CHECK(Device::parse("emu").str() == "emu");
    CHECK(Device::parse("cpu").is_cpu());
    CHECK_THROWS_WITH_AS(Device::parse("tpu"), doctest::Contains("unknown device \"tpu\""), Error);
    CHECK_THROWS_WITH_AS(Device::parse("cuda:x"), doctest::Contains("no valid index"), Error);
    // emu memory is host memory: values round-trip, ops without CUDA kernels yet say so by name
    const Tensor on_emu = Tensor::from_vector({1.5, 2.5}, {2}).to(Device::emu());
    CHECK(on_emu.device() == Device::emu());
    CHECK(on_emu.to_vector() == std::vector<double>{1.5, 2.5});
    CHECK(Tensor::zeros({3}, DType::float32, Device::emu()).to_vector() == std::vector<double>{0, 0, 0});
    // (through the check itself: which ops still lack kernels changes as they are ported)
    CHECK_THROWS_WITH_AS(check_floating("some_op", "x", on_emu, Devices::cpu_only),
                         doctest::Contains("some_op has no emu kernels yet"), Error);
    // without a GPU, cuda is one clear line
    CHECK_THROWS_WITH_AS(Tensor::zeros({2}, DType::float32, Device::cuda(0)), doctest::Contains("kiln::Error: cuda: "),
                         Error);
}

TEST_CASE("bad factory and metadata calls are kiln::Errors") {
    CHECK_THROWS_WITH_AS(Tensor::zeros({2, -1}), doctest::Contains("negative size"), Error);
    CHECK_THROWS_WITH_AS(Tensor::arange(0, 1, 0), doctest::Contains("arange: step is 0"), Error);
    CHECK_THROWS_WITH_AS(Tensor::from_vector({1.0, 2.0}, {3}), doctest::Contains("2 values do not fill shape [3]"), Error);
    CHECK_THROWS_WITH_AS(Tensor().shape(), doctest::Contains("undefined tensor"), Error);
    CHECK_THROWS_WITH_AS(Tensor::zeros({2}).size(3), doctest::Contains("dim 3 is out of range"), Error);
    CHECK_THROWS_WITH_AS(Tensor::zeros({2}).data<double>(), doctest::Contains("tensor is float32, asked for float64"),
                         Error);
    CHECK_THROWS_WITH_AS(Tensor::zeros({2}, DType::int64).set_requires_grad(true),
                         doctest::Contains("int64 tensor cannot require a gradient"), Error);
}
