#include "engine/ops/registry.h"

#include <algorithm>
#include <mutex>

namespace kiln {

namespace {
std::vector<std::string>& op_names() {
    static std::vector<std::string> names;
    return names;
}
}  // namespace

OpRegistrar::OpRegistrar(const char* name) { op_names().push_back(name); }

std::vector<std::string> registered_ops() {
    std::vector<std::string> names = op_names();
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
}

}  // namespace kiln
