#pragma once
// Small matrices and their printing, shared by the teaching programs
// (apps/backprop_trace.cpp, apps/conv_by_hand.cpp, ...). Nothing here
// computes a gradient: it only lays numbers out so a reader can follow them.
#include <cstdint>
#include <string>
#include <vector>

namespace kiln::teaching {

// A row-major matrix of doubles, the unit every teaching program prints.
struct Matrix {
    int64_t rows = 0, cols = 0;
    std::vector<double> values;  // rows * cols, row-major

    Matrix() = default;
    Matrix(int64_t rows, int64_t cols);
    Matrix(int64_t rows, int64_t cols, std::vector<double> values);
    double& at(int64_t r, int64_t c) { return values[static_cast<size_t>(r * cols + c)]; }
    double at(int64_t r, int64_t c) const { return values[static_cast<size_t>(r * cols + c)]; }
};

// max |a - b| over equal-sized value lists (infinity when the sizes differ).
double max_abs_difference(const std::vector<double>& a, const std::vector<double>& b);

// "1.5", "-0.25", "1.234e-07": %g with `digits` significant digits.
std::string number_text(double value, int digits = 6);
// "[0.5, -0.25]"
std::string vector_text(const std::vector<double>& values, int digits = 6);
// A matrix as aligned rows, each line starting with `indent`, e.g.
//   [  1   0  -1 ]
//   [  2   0  -2 ]
std::string matrix_text(const Matrix& matrix, const std::string& indent = "  ", int digits = 6);
// Two or more matrices side by side under their titles (same row count not required).
std::string side_by_side(const std::vector<std::pair<std::string, Matrix>>& matrices, const std::string& indent = "  ",
                         int digits = 6);

}  // namespace kiln::teaching
