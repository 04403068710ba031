#include "layers/sequential.h"

#include "layers/fusion.h"

namespace kiln {

Sequential::Sequential(std::vector<std::shared_ptr<Module>> modules) : Module("Sequential") {
    for (auto& module : modules) push_back(std::move(module));
}

Sequential& Sequential::push_back(std::shared_ptr<Module> module) {
    add_child(std::to_string(size()), std::move(module));
    return *this;
}

Sequential& Sequential::add(const std::string& name, std::shared_ptr<Module> module) {
    add_child(name, std::move(module));
    return *this;
}

Module& Sequential::operator[](size_t index) const {
    KILN_CHECK(index < size(), display_name(), ": index ", index, " is out of range for ", size(), " modules");
    return *named_children()[index].second;
}

Tensor Sequential::forward(const Tensor& x) {
    const auto& children = named_children();
    Tensor out = x;
    for (size_t i = 0; i < children.size(); ++i) {
        // Conv2d, BatchNorm2d [, ReLU / ReLU6]: one op at inference (layers/fusion.h)
        auto* conv = dynamic_cast<Conv2d*>(children[i].second.get());
        auto* conv_bn = i + 1 < children.size() ? dynamic_cast<BatchNorm2d*>(children[i + 1].second.get()) : nullptr;
        if (conv && conv_bn) {
            Module* next = i + 2 < children.size() && fuses_after_batch_norm(*children[i + 2].second)
                               ? children[i + 2].second.get()
                               : nullptr;
            out = conv_batch_norm_then(*conv, *conv_bn, next, out);
            i += next ? 2 : 1;
            continue;
        }
        auto* bn = dynamic_cast<BatchNorm2d*>(children[i].second.get());
        if (bn && i + 1 < children.size() && fuses_after_batch_norm(*children[i + 1].second)) {
            out = batch_norm_then(*bn, *children[i + 1].second, out);
            ++i;
        } else {
            out = (*children[i].second)(out);
        }
    }
    return out;
}

}  // namespace kiln
