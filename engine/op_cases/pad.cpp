// Cases for pad: constant (with crops and a fill value), reflect and replicate
// over the last 1 or 2 dims (replicate pads wider than the dim).
#include "engine/op_cases/common.h"
#include "engine/op_cases/op_cases.h"
#include "engine/ops.h"

namespace kiln::case_tables {

void add_pad(std::vector<OpCase>& cases, std::vector<ErrorCase>& errors) {
    using M = PadMode;
    auto add = [&](const char* label, Shape shape, std::vector<int64_t> pads, PadMode mode, double value = 0) {
        cases.push_back({"pad", label, {shape}, [pads, mode, value](const Inputs& x) { return pad(x[0], pads, mode, value); }});
    };
    add("constant, last dim", {3, 5}, {1, 2}, M::constant);
    add("constant 0.5, last two dims of NCHW", {2, 3, 4, 5}, {1, 1, 2, 0}, M::constant, 0.5);
    add("constant, three dims, pads and crops", {3, 4, 5}, {-1, 2, 1, -2, 1, 0}, M::constant);
    add("constant, crop only", {4, 6}, {-1, -2, -1, 0}, M::constant);
    add("no pads: a copy", {3, 2}, {}, M::constant);
    add("reflect, last dim, pad size - 1", {2, 3, 5}, {2, 4}, M::reflect);
    add("reflect, last two dims", {1, 2, 4, 5}, {1, 2, 3, 1}, M::reflect);
    add("replicate, last dim", {2, 4}, {3, 1}, M::replicate);
    add("replicate, two dims, pad wider than dim", {2, 2, 3, 4}, {2, 1, 0, 4}, M::replicate);
    add("reflect, 1-d", {6}, {2, 5}, M::reflect);
    add("replicate, 1-d of one element", {1}, {3, 2}, M::replicate);
    add("constant, 0-d", {}, {}, M::constant);
    add("reflect, both mirrors read one input (n 3, pads 2)", {2, 3, 3}, {2, 2, 2, 2}, M::reflect);
    add("reflect, 540 inputs, 1260 outputs (several CUDA blocks)", {2, 3, 9, 10}, {3, 2, 4, 1}, M::reflect);
    add("constant, crops on a leading dim", {4, 3, 5}, {1, 1, 0, 0, -1, -2}, M::constant, -1);

    errors.push_back({"pad", "odd number of pads", [] { pad(f32({2, 3}), {1, 1, 1}); },
                      "pad: pads must be (before, after) pairs, last dim first; got 3 values [1, 1, 1]"});
    errors.push_back({"pad", "more pairs than dims", [] { pad(f32({2, 3}), {1, 1, 1, 1, 1, 1}); },
                      "pad: pads [1, 1, 1, 1, 1, 1] has 3 pairs but x [2, 3] has only 2 dims"});
    errors.push_back({"pad", "reflect pad >= the dim size", [] { pad(f32({1, 2, 3, 4}), {1, 1, 3, 0}, PadMode::reflect); },
                      "pad: reflect pads (3, 0) of dim 2 must be less than its size 3 (x [1, 2, 3, 4])"});
    errors.push_back({"pad", "reflect over three dims", [] { pad(f32({2, 3, 4}), {1, 1, 1, 1, 1, 1}, PadMode::reflect); },
                      "pad: reflect pads the last 1 or 2 dims, got 3 pairs"});
    errors.push_back({"pad", "replicate with a negative pad", [] { pad(f32({2, 3}), {-1, 1}, PadMode::replicate); },
                      "pad: replicate pads must be non-negative"});
    errors.push_back({"pad", "crop below zero", [] { pad(f32({2, 3}), {-2, -2}); },
                      "pad: dim 1 of x [2, 3] has size 3; pads (-2, -2) would make it -1"});
    errors.push_back({"pad", "replicate an empty dim", [] { pad(f32({2, 0}), {1, 1}, PadMode::replicate); },
                      "pad: replicate needs a non-empty dim 1"});
}

KILN_REGISTER_CASES(add_pad);

}  // namespace kiln::case_tables
