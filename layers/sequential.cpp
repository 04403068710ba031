#include "layers/sequential.h"

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
    Tensor out = x;
    for (const auto& entry : named_children()) out = (*entry.second)(out);
    return out;
}

}  // namespace kiln
