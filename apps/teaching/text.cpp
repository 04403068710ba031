#include "apps/teaching/text.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace kiln::teaching {

Matrix::Matrix(int64_t rows, int64_t cols) : rows(rows), cols(cols), values(static_cast<size_t>(rows * cols), 0.0) {}
Matrix::Matrix(int64_t rows, int64_t cols, std::vector<double> values)
    : rows(rows), cols(cols), values(std::move(values)) {}

double max_abs_difference(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
    double worst = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        const double d = std::fabs(a[i] - b[i]);
        if (std::isnan(d)) return std::numeric_limits<double>::infinity();
        worst = std::max(worst, d);
    }
    return worst;
}

std::string number_text(double value, int digits) {
    if (value == 0) value = 0;  // no "-0"
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*g", digits, value);
    return buffer;
}

std::string vector_text(const std::vector<double>& values, int digits) {
    std::string text = "[";
    for (size_t i = 0; i < values.size(); ++i) {
        if (i) text += ", ";
        text += number_text(values[i], digits);
    }
    return text + "]";
}

namespace {
// The lines of one matrix, every cell padded to the widest.
std::vector<std::string> matrix_lines(const Matrix& matrix, int digits) {
    size_t width = 1;
    for (double v : matrix.values) width = std::max(width, number_text(v, digits).size());
    std::vector<std::string> lines;
    for (int64_t r = 0; r < matrix.rows; ++r) {
        std::string line = "[";
        for (int64_t c = 0; c < matrix.cols; ++c) {
            const std::string cell = number_text(matrix.at(r, c), digits);
            line += ' ' + std::string(width - cell.size(), ' ') + cell;
        }
        lines.push_back(line + " ]");
    }
    return lines;
}
}  // namespace

std::string matrix_text(const Matrix& matrix, const std::string& indent, int digits) {
    std::string text;
    for (const std::string& line : matrix_lines(matrix, digits)) text += indent + line + '\n';
    return text;
}

std::string side_by_side(const std::vector<std::pair<std::string, Matrix>>& matrices, const std::string& indent,
                         int digits) {
    std::vector<std::vector<std::string>> columns;
    std::vector<size_t> widths;
    size_t height = 0;
    for (const auto& [title, matrix] : matrices) {
        std::vector<std::string> lines{title};
        for (std::string& line : matrix_lines(matrix, digits)) lines.push_back(std::move(line));
        size_t width = 0;
        for (const std::string& line : lines) width = std::max(width, line.size());
        widths.push_back(width);
        height = std::max(height, lines.size());
        columns.push_back(std::move(lines));
    }
    std::string text;
    for (size_t row = 0; row < height; ++row) {
        std::string line = indent;
        for (size_t k = 0; k < columns.size(); ++k) {
            const std::string cell = row < columns[k].size() ? columns[k][row] : "";
            line += cell + std::string(widths[k] - cell.size() + 4, ' ');
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        text += line + '\n';
    }
    return text;
}

}  // namespace kiln::teaching
