// Cases for softmax and log_softmax.
#include "engine/op_cases/common.h"
#include "engine/op_cases/op_cases.h"
#include "engine/ops.h"

namespace kiln::case_tables {

void add_softmax(std::vector<OpCase>& cases, std::vector<ErrorCase>& errors) {
    for (const char* op : {"softmax", "log_softmax"}) {
        const bool log = std::string(op) == "log_softmax";
        auto f = [log](const Tensor& x, int64_t dim) { return log ? log_softmax(x, dim) : softmax(x, dim); };
        cases.push_back({op, "last dim, odd sizes", {{3, 5}}, [f](const Inputs& x) { return f(x[0], 1); }});
        cases.push_back({op, "first dim", {{4, 3}}, [f](const Inputs& x) { return f(x[0], 0); }});
        cases.push_back({op, "middle dim of 3-D (inner > 1)", {{2, 5, 3}}, [f](const Inputs& x) { return f(x[0], 1); }});
        cases.push_back({op, "channels of batch-1 NCHW", {{1, 3, 4, 5}}, [f](const Inputs& x) { return f(x[0], 1); }});
        cases.push_back({op, "negative dim, large logits", {{2, 7}}, [f](const Inputs& x) { return f(x[0], -1); },
                         {{-20, 20}}});
        cases.push_back({op, "0-d", {{}}, [f](const Inputs& x) { return f(x[0], 0); }});
        cases.push_back({op, "size-1 dim", {{3, 1}}, [f](const Inputs& x) { return f(x[0], 1); }});
        // The CUDA kernels pick a team per row: a warp up to 256 elements, a block
        // above (300: more than a block's 256 threads); a thread per row when
        // inner > 1 (300 rows: two blocks of such threads).
        cases.push_back({op, "rows of 300 (a block per row on CUDA)", {{2, 300}},
                         [f](const Inputs& x) { return f(x[0], -1); }});
        cases.push_back({op, "dim 1 of [1, 2, 10, 30] (300 rows, inner > 1)", {{1, 2, 10, 30}},
                         [f](const Inputs& x) { return f(x[0], 1); }});
        errors.push_back({op, "dim out of range", [f] { f(f32({2, 3}), 2); },
                          str(op, ": dim 2 is out of range for a tensor with 2 dims")});
        errors.push_back({op, "int64 input", [f] { f(i64({2, 3}), 1); }, str(op, ": argument x is int64")});
    }
}

KILN_REGISTER_CASES(add_softmax);

}  // namespace kiln::case_tables
