#include "engine/op_cases/op_cases.h"

#include <algorithm>

namespace kiln {

namespace {

std::vector<case_tables::AddCases>& families() {
    static std::vector<case_tables::AddCases> list;
    return list;
}

struct Tables {
    std::vector<OpCase> cases;
    std::vector<ErrorCase> errors;
    Tables() {
        for (case_tables::AddCases add : families()) add(cases, errors);
        // Registration order follows link order; sort so every listing is stable.
        std::stable_sort(cases.begin(), cases.end(), [](const OpCase& a, const OpCase& b) { return a.op < b.op; });
        std::stable_sort(errors.begin(), errors.end(),
                         [](const ErrorCase& a, const ErrorCase& b) { return a.op < b.op; });
    }
};

const Tables& tables() {
    static const Tables instance;
    return instance;
}

}  // namespace

case_tables::CaseFamily::CaseFamily(AddCases add) { families().push_back(add); }

const std::vector<OpCase>& op_cases() { return tables().cases; }
const std::vector<ErrorCase>& error_cases() { return tables().errors; }

}  // namespace kiln
