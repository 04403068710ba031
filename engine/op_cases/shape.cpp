// Cases for the views (reshape, view, permute, transpose, narrow, squeeze,
// unsqueeze, expand), the copies (contiguous, clone, to) and cat/stack.
#include "engine/autograd.h"
#include "engine/op_cases/common.h"
#include "engine/op_cases/op_cases.h"
#include "engine/ops.h"

namespace kiln::case_tables {

void add_shape(std::vector<OpCase>& cases, std::vector<ErrorCase>& errors) {
    cases.push_back({"reshape", "with -1", {{2, 3, 4}}, [](const Inputs& x) { return x[0].reshape({6, -1}); }});
    cases.push_back({"reshape", "non-contiguous input (copies)", {{3, 4}},
                     [](const Inputs& x) { return x[0].transpose(0, 1).reshape({12}); }});
    errors.push_back({"reshape", "wrong element count", [] { f32({2, 3}).reshape({4}); },
                      "reshape: shape [4] has 4 elements, input [2, 3] has 6"});
    cases.push_back({"view", "2-D to 2-D", {{2, 6}}, [](const Inputs& x) { return x[0].view({3, 4}); }});
    errors.push_back({"view", "non-contiguous input", [] { f32({3, 4}).transpose(0, 1).view({12}); },
                      "cannot be viewed as [12] without a copy"});
    cases.push_back({"permute", "3-D rotation", {{2, 3, 4}}, [](const Inputs& x) { return x[0].permute({2, 0, 1}); }});
    errors.push_back({"permute", "dim repeated", [] { f32({2, 3}).permute({0, 0}); }, "permute: dim 0 appears twice"});
    errors.push_back({"permute", "wrong number of dims", [] { f32({2, 3}).permute({0}); }, "permute: got 1 dims"});
    cases.push_back({"transpose", "then a broadcasting op", {{3, 4}, {3}},
                     [](const Inputs& x) { return mul(x[0].transpose(0, 1), x[1]); }});
    errors.push_back({"transpose", "dim out of range", [] { f32({2, 3}).transpose(0, 2); }, "transpose: dim 2 is out of range"});
    cases.push_back({"narrow", "middle rows", {{5, 4}}, [](const Inputs& x) { return x[0].narrow(0, 1, 3); }});
    cases.push_back({"narrow", "last dim, length 1", {{2, 3, 5}}, [](const Inputs& x) { return x[0].narrow(-1, 4, 1); }});
    errors.push_back({"narrow", "past the end", [] { f32({5, 4}).narrow(0, 3, 3); },
                      "narrow: start 3 length 3 is outside dim 0 of size 5"});
    cases.push_back({"squeeze", "all size-1 dims", {{3, 1, 4, 1}}, [](const Inputs& x) { return x[0].squeeze(); }});
    cases.push_back({"squeeze", "one dim", {{1, 3, 1}}, [](const Inputs& x) { return x[0].squeeze(0); }});
    errors.push_back({"squeeze", "dim out of range", [] { f32({2, 1}).squeeze(3); }, "squeeze: dim 3 is out of range"});
    cases.push_back({"unsqueeze", "middle", {{3, 4}}, [](const Inputs& x) { return x[0].unsqueeze(1); }});
    cases.push_back({"unsqueeze", "end", {{3, 4}}, [](const Inputs& x) { return x[0].unsqueeze(-1); }});
    errors.push_back({"unsqueeze", "dim out of range", [] { f32({2, 3}).unsqueeze(4); }, "unsqueeze: dim 4 is out of range"});
    cases.push_back({"expand", "size-1 and new leading dims", {{3, 1}}, [](const Inputs& x) { return x[0].expand({2, 3, 4}); }});
    errors.push_back({"expand", "non-1 dim", [] { f32({3}).expand({4}); }, "expand: cannot expand [3] to [4]"});

    cases.push_back({"flatten", "NCHW to [N, CHW]", {{2, 3, 2, 2}}, [](const Inputs& x) { return flatten(x[0]); }});
    cases.push_back({"flatten", "middle dims of a transpose", {{2, 3, 4}},
                     [](const Inputs& x) { return flatten(x[0].transpose(0, 2), 0, 1); }});
    errors.push_back({"flatten", "start after end", [] { flatten(f32({2, 3, 4}), 2, 1); },
                      "flatten: start_dim 2 is after end_dim 1"});

    cases.push_back({"contiguous", "of a transpose", {{3, 4}},
                     [](const Inputs& x) { return x[0].transpose(0, 1).contiguous(); }});
    errors.push_back({"contiguous", "undefined tensor", [] { Tensor().contiguous(); },
                      "contiguous: argument x is an undefined tensor"});
    cases.push_back({"clone", "3-D", {{2, 3, 2}}, [](const Inputs& x) { return x[0].clone(); }});
    errors.push_back({"clone", "undefined tensor", [] { Tensor().clone(); }, "clone: argument x is an undefined tensor"});
    // Through float32 and back: float32 rounding (~6e-8) over a step of 1e-3
    // is ~6e-5 of numeric noise, so this case takes a larger step and atol;
    // to() is linear, so the larger step adds no truncation error.
    OpCase to_case{"to", "float64 -> float32 -> float64", {{3, 4}},
                   [](const Inputs& x) { return x[0].to(DType::float32).to(DType::float64); }};
    to_case.eps = 1e-3;
    to_case.atol = 1e-3;
    cases.push_back(to_case);
    errors.push_back({"to", "a tensor requiring grad to int64",
                      [] { f32({2}).set_requires_grad(true).to(DType::int64); },
                      "to: cannot convert a tensor that requires grad to int64"});

    cases.push_back({"to_device", "cpu -> emu -> cpu, through an emu op", {{3, 4}},
                     [](const Inputs& x) { return (x[0].to(Device::emu()) * 2.0).to(Device::cpu()); }});
    // Without a GPU (or without nvcc) moving to cuda is one clear line.
    errors.push_back({"to_device", "cuda without a GPU", [] { f32({2}).to(Device::cuda(0)); }, "kiln::Error: cuda: "});

    cases.push_back({"cat", "dim 0, different sizes", {{2, 3}, {4, 3}},
                     [](const Inputs& x) { return cat({x[0], x[1]}, 0); }});
    cases.push_back({"cat", "last dim, three tensors", {{2, 3}, {2, 1}, {2, 2}},
                     [](const Inputs& x) { return cat({x[0], x[1], x[2]}, -1); }});
    errors.push_back({"cat", "sizes differ outside dim", [] { cat({f32({2, 3}), f32({3, 3})}, 1); },
                      "cat: tensors[1] [3, 3] does not match tensors[0] [2, 3] outside dim 1"});
    errors.push_back({"cat", "no tensors", [] { cat({}, 0); }, "cat: no tensors given"});
    cases.push_back({"stack", "new first dim", {{3, 4}, {3, 4}}, [](const Inputs& x) { return stack({x[0], x[1]}, 0); }});
    cases.push_back({"stack", "new last dim", {{2, 3}, {2, 3}, {2, 3}},
                     [](const Inputs& x) { return stack({x[0], x[1], x[2]}, -1); }});
    errors.push_back({"stack", "shapes differ", [] { stack({f32({2, 3}), f32({3, 2})}, 0); },
                      "stack: tensors[1] [3, 2] differs from tensors[0] [2, 3]"});
}

KILN_REGISTER_CASES(add_shape);

}  // namespace kiln::case_tables
