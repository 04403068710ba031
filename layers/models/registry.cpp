#include <functional>

#include "layers/models/models.h"

namespace kiln::models {

namespace {

struct Entry {
    ModelInfo info;
    std::function<std::shared_ptr<Module>(const ModelConfig&)> build;
};

const std::vector<Entry>& entries() {
    static const std::vector<Entry> table = {
        {{"resnet18", "torchvision ResNet-18 (basic blocks 2-2-2-2)", 0}, resnet18},
        {{"resnet34", "torchvision ResNet-34 (basic blocks 3-4-6-3)", 0}, resnet34},
        {{"resnet50", "torchvision ResNet-50 (bottlenecks 3-4-6-3)", 0}, resnet50},
        {{"mobilenet_v2", "torchvision MobileNetV2 (inverted residuals, ReLU6)", 0.2}, mobilenet_v2},
        {{"mobilenet_v3_small", "torchvision MobileNetV3-Small (hardswish, SE)", 0.2}, mobilenet_v3_small},
        {{"mobilenet_v3_large", "torchvision MobileNetV3-Large (hardswish, SE)", 0.2}, mobilenet_v3_large},
        {{"squeezenet1_1", "torchvision SqueezeNet 1.1 (fire modules)", 0.5}, squeezenet1_1},
        {{"mobilenet_inspired", "seed 003: depthwise-separable stack, 32-512 channels", 0.4}, mobilenet_inspired},
        {{"squeezenet_inspired", "seed 003: four fire modules, conv head", 0.5}, squeezenet_inspired},
        {{"resnet_inspired", "seed 003: one basic block per stage, 32-256 channels", 0.5}, resnet_inspired},
        {{"tiny_cnn", "teaching: three convs and a linear layer", 0}, tiny_cnn},
    };
    return table;
}

}  // namespace

const std::vector<ModelInfo>& model_infos() {
    static const std::vector<ModelInfo> infos = [] {
        std::vector<ModelInfo> out;
        for (const Entry& entry : entries()) out.push_back(entry.info);
        return out;
    }();
    return infos;
}

std::vector<std::string> model_names() {
    std::vector<std::string> names;
    for (const Entry& entry : entries()) names.push_back(entry.info.name);
    return names;
}

std::shared_ptr<Module> make_model(const std::string& name, const ModelConfig& config) {
    for (const Entry& entry : entries())
        if (entry.info.name == name) return entry.build(config);
    std::string known;
    for (const Entry& entry : entries()) known += (known.empty() ? "" : ", ") + entry.info.name;
    fail("make_model: unknown model \"", name, "\" (known: ", known, ")");
}

}  // namespace kiln::models
