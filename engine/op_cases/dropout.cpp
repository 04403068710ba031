// Cases for dropout and dropout2d. Each case function draws its mask from a
// Generator it creates with a fixed seed, so every call (gradcheck calls it
// twice per input element) drops the same elements.
#include "engine/op_cases/common.h"
#include "engine/op_cases/op_cases.h"
#include "engine/ops.h"

namespace kiln::case_tables {

namespace {
constexpr uint64_t case_seed = 4;  // any fixed value: the mask must not change between calls
}

void add_dropout(std::vector<OpCase>& cases, std::vector<ErrorCase>& errors) {
    for (const char* op : {"dropout", "dropout2d"}) {
        const bool channels = std::string(op) == "dropout2d";
        auto run = [channels](const Tensor& x, double p, bool training) {
            Generator generator(case_seed);
            return channels ? dropout2d(x, p, training, generator) : dropout(x, p, training, generator);
        };
        cases.push_back({op, "p 0.5, training, NCHW", {{2, 4, 3, 3}}, [run](const Inputs& x) { return run(x[0], 0.5, true); }});
        cases.push_back({op, "p 0.2, training, batch 1, odd sizes", {{1, 5, 3, 5}}, [run](const Inputs& x) { return run(x[0], 0.2, true); }});
        cases.push_back({op, "eval: identity", {{2, 3, 2, 2}}, [run](const Inputs& x) { return run(x[0], 0.5, false); }});
        cases.push_back({op, "p 1: zeros, zero gradient", {{1, 3, 2, 2}}, [run](const Inputs& x) { return run(x[0], 1, true); }});
        errors.push_back({op, "negative p", [run] { run(f32({1, 2, 3, 3}), -0.1, true); }, std::string(op) + ": p must be in [0, 1], got -0.1"});
        errors.push_back({op, "p above 1", [run] { run(f32({1, 2, 3, 3}), 1.5, false); }, std::string(op) + ": p must be in [0, 1], got 1.5"});
        errors.push_back({op, "int64 input", [run] { run(i64({1, 2, 3, 3}), 0.5, true); }, "argument x is int64"});
    }
    cases.push_back({"dropout", "p 0.3, training, [5, 7]", {{5, 7}}, [](const Inputs& x) {
                         Generator generator(case_seed);
                         return dropout(x[0], 0.3, true, generator);
                     }});
    // More than one CUDA block: 1201 elements are 301 threads of four draws
    // (dropout); 30 planes of 41 for dropout2d.
    cases.push_back({"dropout", "p 0.5, 1201 elements (not a multiple of 4)", {{1201}}, [](const Inputs& x) {
                         Generator generator(case_seed);
                         return dropout(x[0], 0.5, true, generator);
                     }});
    cases.push_back({"dropout2d", "p 0.4, [3, 10, 1, 41]", {{3, 10, 1, 41}}, [](const Inputs& x) {
                         Generator generator(case_seed);
                         return dropout2d(x[0], 0.4, true, generator);
                     }});
    errors.push_back({"dropout2d", "3-D input", [] { dropout2d(f32({3, 4, 4}), 0.5, true); },
                      "dropout2d: x must be 4-D [N, C, H, W], got [3, 4, 4]"});
}

KILN_REGISTER_CASES(add_dropout);

}  // namespace kiln::case_tables
