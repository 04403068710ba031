// Cases for max_pool2d, avg_pool2d, adaptive_avg_pool2d. Random inputs make
// max-pool ties (a kink) improbable; sizes are odd and channels not a multiple of 8.
#include "engine/op_cases/common.h"
#include "engine/op_cases/op_cases.h"
#include "engine/ops.h"

namespace kiln::case_tables {

namespace {

Pool2dOptions pool(std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride, std::array<int64_t, 2> padding = {0, 0},
                   bool ceil_mode = false, bool count_include_pad = true) {
    Pool2dOptions options;
    options.kernel = kernel;
    options.stride = stride;
    options.padding = padding;
    options.ceil_mode = ceil_mode;
    options.count_include_pad = count_include_pad;
    return options;
}

}  // namespace

void add_pool(std::vector<OpCase>& cases, std::vector<ErrorCase>& errors) {
    for (const char* op : {"max_pool2d", "avg_pool2d"}) {
        const bool is_max = std::string(op) == "max_pool2d";
        auto run = [is_max](const Tensor& x, const Pool2dOptions& options) {
            return is_max ? max_pool2d(x, options) : avg_pool2d(x, options);
        };
        cases.push_back({op, "2x2, default stride, batch 1, odd 7x5", {{1, 3, 7, 5}}, [run](const Inputs& x) {
                             Pool2dOptions options;  // kernel {2, 2}, stride = kernel
                             return run(x[0], options);
                         }});
        cases.push_back({op, "3x3 stride 2 padding 1 (overlapping)", {{2, 2, 7, 5}},
                         [run](const Inputs& x) { return run(x[0], pool({3, 3}, {2, 2}, {1, 1})); }});
        cases.push_back({op, "ceil_mode adds a partial window", {{1, 3, 6, 8}},
                         [run](const Inputs& x) { return run(x[0], pool({3, 3}, {2, 2}, {0, 0}, true)); }});
        cases.push_back({op, "ceil_mode drops a window in right pad", {{1, 2, 5, 5}},
                         [run](const Inputs& x) { return run(x[0], pool({2, 2}, {2, 2}, {1, 1}, true)); }});
        cases.push_back({op, "non-square 3x2 kernel, stride 2x1", {{1, 5, 6, 5}},
                         [run](const Inputs& x) { return run(x[0], pool({3, 2}, {2, 1})); }});
        cases.push_back({op, "non-square padding 1x0, stride 1", {{2, 3, 4, 3}},
                         [run](const Inputs& x) { return run(x[0], pool({2, 3}, {1, 1}, {1, 0})); }});
        cases.push_back({op, "more elements than one 256-thread block (432), overlapping", {{2, 3, 9, 8}},
                         [run](const Inputs& x) { return run(x[0], pool({3, 3}, {2, 2}, {1, 1})); }});
        errors.push_back({op, "kernel larger than padded input", [run] { run(f32({1, 1, 2, 2}), pool({4, 4}, {1, 1}, {0, 0})); },
                          std::string(op) + ": kernel [4, 4] is larger than the padded input (x [1, 1, 2, 2], padding [0, 0])"});
        errors.push_back({op, "padding more than half the kernel", [run] { run(f32({1, 1, 8, 8}), pool({3, 3}, {1, 1}, {2, 1})); },
                          std::string(op) + ": padding [2, 1] must be between 0 and half the kernel [3, 3]"});
        errors.push_back({op, "3-D input", [run] { run(f32({3, 8, 8}), Pool2dOptions{}); },
                          std::string(op) + ": x must be 4-D [N, C, H, W], got [3, 8, 8]"});
        errors.push_back({op, "zero stride", [run] { run(f32({1, 1, 8, 8}), pool({2, 2}, {0, 2})); },
                          std::string(op) + ": stride must be positive, got [0, 2]"});
        errors.push_back({op, "zero kernel", [run] { run(f32({1, 1, 8, 8}), pool({2, 0}, {1, 1})); },
                          std::string(op) + ": kernel must be positive, got [2, 0]"});
        errors.push_back({op, "int64 input", [run] { run(i64({1, 1, 4, 4}), Pool2dOptions{}); }, "argument x is int64"});
    }
    cases.push_back({"avg_pool2d", "padding 1, count_include_pad false", {{2, 3, 5, 5}},
                     [](const Inputs& x) { return avg_pool2d(x[0], pool({3, 3}, {2, 2}, {1, 1}, false, false)); }});
    cases.push_back({"avg_pool2d", "ceil_mode, padding, no count_include_pad", {{1, 3, 6, 7}},
                     [](const Inputs& x) { return avg_pool2d(x[0], pool({3, 2}, {2, 2}, {1, 1}, true, false)); }});

    const char* adaptive = "adaptive_avg_pool2d";
    cases.push_back({adaptive, "global: to {1, 1}", {{2, 3, 5, 5}},
                     [](const Inputs& x) { return adaptive_avg_pool2d(x[0], {1, 1}); }});
    cases.push_back({adaptive, "to {2, 3}, batch 1, odd 7x5", {{1, 3, 7, 5}},
                     [](const Inputs& x) { return adaptive_avg_pool2d(x[0], {2, 3}); }});
    cases.push_back({adaptive, "to {3, 4}: bins overlap (7 / 3, 5 / 4)", {{2, 2, 7, 5}},
                     [](const Inputs& x) { return adaptive_avg_pool2d(x[0], {3, 4}); }});
    cases.push_back({adaptive, "to a size larger than the input", {{1, 2, 3, 2}},
                     [](const Inputs& x) { return adaptive_avg_pool2d(x[0], {4, 3}); }});
    cases.push_back({adaptive, "to {4, 3} from 9x8, more elements than one 256-thread block", {{2, 3, 9, 8}},
                     [](const Inputs& x) { return adaptive_avg_pool2d(x[0], {4, 3}); }});
    errors.push_back({adaptive, "output size 0", [] { adaptive_avg_pool2d(f32({1, 1, 4, 4}), {0, 2}); },
                      "adaptive_avg_pool2d: output size must be positive, got [0, 2]"});
    errors.push_back({adaptive, "3-D input", [] { adaptive_avg_pool2d(f32({3, 4, 4}), {1, 1}); },
                      "adaptive_avg_pool2d: x must be 4-D [N, C, H, W], got [3, 4, 4]"});
    errors.push_back({adaptive, "empty spatial dim", [] { adaptive_avg_pool2d(f32({1, 1, 0, 4}), {1, 1}); },
                      "adaptive_avg_pool2d: x [1, 1, 0, 4] has an empty spatial dim"});
}

KILN_REGISTER_CASES(add_pool);

}  // namespace kiln::case_tables
