#pragma once
// Each family file adds its cases; op_cases.cpp gathers them.
#include "engine/gradcheck.h"

namespace kiln::case_tables {

using Inputs = std::vector<Tensor>;

void add_elementwise(std::vector<OpCase>& cases, std::vector<ErrorCase>& errors);
void add_reduce(std::vector<OpCase>& cases, std::vector<ErrorCase>& errors);
void add_matmul(std::vector<OpCase>& cases, std::vector<ErrorCase>& errors);
void add_shape(std::vector<OpCase>& cases, std::vector<ErrorCase>& errors);

}  // namespace kiln::case_tables
