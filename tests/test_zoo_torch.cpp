// Weight interop with PyTorch (when /usr/bin/python3 or $KILN_PYTHON has torch
// and torchvision; skipped by name otherwise). tests/peers/zoo_torch.py:
//  1. torchvision -> kiln: a torchvision model with non-trivial BatchNorm
//     statistics is exported to safetensors; kiln loads it strictly into the
//     zoo model of the same name and its eval-mode logits match PyTorch's;
//  2. kiln -> torchvision: a kiln checkpoint loads strictly into torchvision
//     and PyTorch's logits match kiln's.
// Agreement is max |kiln - torch| / max |torch| over the logits, float32 on
// both sides; the figures are printed.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/safetensors.h"
#include "layers/batch_norm.h"
#include "layers/init.h"
#include "layers/models/models.h"
#include "tests/support/python_peer.h"
#include "tests/support/skip.h"

using namespace kiln;

namespace {

// Logits agree within this fraction of their largest magnitude: float32 sums
// in a different order over ~50 layers stay near 1e-6; 1e-4 is the bound.
constexpr double logit_tolerance = 1e-4;
constexpr int64_t interop_classes = 10;

double relative_difference(const Tensor& kiln_logits, const Tensor& torch_logits) {
    const std::vector<double> a = kiln_logits.to_vector(), b = torch_logits.to_vector();
    REQUIRE(a.size() == b.size());
    double worst = 0, scale = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        worst = std::max(worst, std::abs(a[i] - b[i]));
        scale = std::max(scale, std::abs(b[i]));
    }
    return worst / std::max(scale, 1e-12);
}

std::optional<std::string> python_with_torchvision() {
    const auto python = kiln::testing::python_with_torch();
    if (!python) return std::nullopt;
    static const bool has_torchvision =
        std::system((*python + " -c 'import torchvision' >/dev/null 2>&1").c_str()) == 0;
    return has_torchvision ? python : std::nullopt;
}

void check_interop(const std::string& name) {
    const auto python = python_with_torchvision();
    if (!python)
        KILN_SKIP("Python torch and torchvision are not installed (set KILN_PYTHON or apt-get install python3-torchvision)");
    const auto dir = std::filesystem::temp_directory_path() / ("kiln-zoo-torch-" + name + "-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string weights = (dir / "torchvision.safetensors").string(), data = (dir / "data.safetensors").string(),
                      checkpoint = (dir / "kiln.safetensors").string();
    const std::string script = kiln::testing::source_path("tests/peers/zoo_torch.py");
    nlohmann::json spec = {{"mode", "export"}, {"model", name}, {"num_classes", interop_classes},
                           {"weights", weights}, {"data", data}, {"seed", 1}};
    kiln::testing::run_python(*python, script, spec.dump());

    // 1. torchvision -> kiln
    models::ModelConfig config;
    config.num_classes = interop_classes;
    const auto model = models::make_model(name, config);
    model->load_state_dict(read_safetensors(weights).tensors);
    model->eval();
    const SafetensorsContents reference = read_safetensors(data);
    const Tensor x = reference.tensors.at("input");
    NoGradGuard no_grad;
    const double from_torch = relative_difference((*model)(x), reference.tensors.at("logits"));
    std::printf("%s: torchvision weights in kiln: max |kiln - torch| / max |torch| = %.3g\n", name.c_str(), from_torch);
    CHECK(from_torch <= logit_tolerance);

    // 2. kiln -> torchvision: kiln's own init, with non-trivial BatchNorm statistics
    config.seed = 5;
    const auto own = models::make_model(name, config);
    Generator generator(8);
    for (const auto& [path, module] : own->named_modules()) {
        if (auto* bn = dynamic_cast<BatchNorm2d*>(module)) {
            init::uniform_(bn->running_mean, -0.5, 0.5, generator);
            init::uniform_(bn->running_var, 0.5, 2.0, generator);
            init::uniform_(bn->weight, 0.5, 1.5, generator);
            init::uniform_(bn->bias, -0.5, 0.5, generator);
        }
    }
    own->eval();
    const Tensor own_logits = (*own)(x);
    write_safetensors(checkpoint, own->state_dict(), {{"model", name}});
    spec["mode"] = "import";
    spec["weights"] = checkpoint;
    kiln::testing::run_python(*python, script, spec.dump());
    const double to_torch = relative_difference(own_logits, read_safetensors(data).tensors.at("torch_logits"));
    std::printf("%s: kiln checkpoint in torchvision: max |kiln - torch| / max |torch| = %.3g\n", name.c_str(), to_torch);
    CHECK(to_torch <= logit_tolerance);
    std::filesystem::remove_all(dir);
}

}  // namespace

TEST_CASE("zoo vs torchvision: resnet18 weights load both ways and eval logits agree within 1e-4") {
    check_interop("resnet18");
}
TEST_CASE("zoo vs torchvision: mobilenet_v2 weights load both ways and eval logits agree within 1e-4") {
    check_interop("mobilenet_v2");
}
TEST_CASE("zoo vs torchvision: mobilenet_v3_small weights load both ways and eval logits agree within 1e-4") {
    check_interop("mobilenet_v3_small");
}
