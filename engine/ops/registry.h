#pragma once
// The list of differentiable ops. Each op's file registers its name once
// (KILN_REGISTER_OP); the tests fail when a registered op has no gradcheck
// case or no bad-input case, so an op cannot be added without them.
#include <string>
#include <vector>

namespace kiln {

struct OpRegistrar {
    explicit OpRegistrar(const char* name);
};

// Sorted names of every registered op.
std::vector<std::string> registered_ops();

}  // namespace kiln

#define KILN_REGISTER_OP(name) static const ::kiln::OpRegistrar kiln_registered_op_##name{#name}
