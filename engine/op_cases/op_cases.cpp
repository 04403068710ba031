#include "engine/op_cases/op_cases.h"

namespace kiln {

namespace {
struct Tables {
    std::vector<OpCase> cases;
    std::vector<ErrorCase> errors;
    Tables() {
        case_tables::add_elementwise(cases, errors);
        case_tables::add_reduce(cases, errors);
        case_tables::add_matmul(cases, errors);
        case_tables::add_shape(cases, errors);
    }
};
const Tables& tables() {
    static const Tables instance;
    return instance;
}
}  // namespace

const std::vector<OpCase>& op_cases() { return tables().cases; }
const std::vector<ErrorCase>& error_cases() { return tables().errors; }

}  // namespace kiln
