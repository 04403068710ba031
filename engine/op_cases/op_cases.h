#pragma once
// The op case table is assembled from one file per op family. Each file
// defines a function that appends its gradcheck cases and bad-input cases,
// and registers it with KILN_REGISTER_CASES(function).
#include "engine/gradcheck.h"

namespace kiln::case_tables {

using Inputs = std::vector<Tensor>;
using AddCases = void (*)(std::vector<OpCase>& cases, std::vector<ErrorCase>& errors);

struct CaseFamily {
    explicit CaseFamily(AddCases add);
};

}  // namespace kiln::case_tables

#define KILN_REGISTER_CASES(function) \
    static const ::kiln::case_tables::CaseFamily kiln_case_family_##function{function}
