#pragma once
// The model zoo. Every net is built from a ModelConfig (classes, input
// channels, width multiplier, classifier-head dropout, seed) and returned as a
// Module whose parameter names are torchvision's where the net exists there,
// so torchvision weights exported to safetensors load with load_state_dict.
//
//   resnet18, resnet34, resnet50      torchvision ResNet (50: bottleneck v1.5)
//   mobilenet_v2                      torchvision MobileNetV2
//   mobilenet_v3_small, _large        torchvision MobileNetV3
//   squeezenet1_1                     torchvision SqueezeNet 1.1
//   mobilenet_inspired                seed 003: depthwise-separable stack, dropout 0.4
//   squeezenet_inspired               seed 003: fire modules, dropout 0.5
//   resnet_inspired                   seed 003: four basic blocks, dropout 0.5
//   tiny_cnn                          three convs and a linear head, for teaching
//
// docs/models.md lists each structure and every choice made beyond torchvision.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/random.h"
#include "layers/module.h"

namespace kiln::models {

struct ModelConfig {
    int64_t num_classes = 1000;   // torchvision's default, so parameter counts compare directly
    int64_t in_channels = 3;      // 1 for grayscale, 3 for RGB (any positive count works)
    double width = 1.0;           // channel multiplier; 1 is the published net
    std::optional<double> dropout;  // classifier-head dropout; unset: the model's default
    uint64_t seed = Generator::default_seed;  // of the initial weights
};

struct ModelInfo {
    std::string name;
    std::string description;
    double default_dropout;
};

// Every zoo model, in the order `kiln summary --help` lists them.
const std::vector<ModelInfo>& model_infos();
std::vector<std::string> model_names();

// The net `name` built for `config`; an unknown name or an invalid config is a
// kiln::Error that names the model and the field (and lists known models).
std::shared_ptr<Module> make_model(const std::string& name, const ModelConfig& config = {});

std::shared_ptr<Module> resnet18(const ModelConfig& config = {});
std::shared_ptr<Module> resnet34(const ModelConfig& config = {});
std::shared_ptr<Module> resnet50(const ModelConfig& config = {});
std::shared_ptr<Module> mobilenet_v2(const ModelConfig& config = {});
std::shared_ptr<Module> mobilenet_v3_small(const ModelConfig& config = {});
std::shared_ptr<Module> mobilenet_v3_large(const ModelConfig& config = {});
std::shared_ptr<Module> squeezenet1_1(const ModelConfig& config = {});
std::shared_ptr<Module> mobilenet_inspired(const ModelConfig& config = {});
std::shared_ptr<Module> squeezenet_inspired(const ModelConfig& config = {});
std::shared_ptr<Module> resnet_inspired(const ModelConfig& config = {});
std::shared_ptr<Module> tiny_cnn(const ModelConfig& config = {});

}  // namespace kiln::models
