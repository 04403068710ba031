#pragma once
// kiln::Error: the one exception kiln throws for bad input (and for kernels the
// emulator catches misbehaving). Its message names
// the op (or file), the argument, and what was received, e.g.
//   kiln::Error: mul: cannot broadcast a [2, 3] with b [4, 3]
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace kiln {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& what) : std::runtime_error("kiln::Error: " + what) {}
};

// Concatenates any streamable values: str("conv2d: got ", 3, " channels").
template <typename... Args>
std::string str(const Args&... args) {
    std::ostringstream out;
    (out << ... << args);
    return out.str();
}

// "[8, 4, 32, 32]"
inline std::string shape_str(const std::vector<int64_t>& shape) {
    std::ostringstream out;
    out << '[';
    for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
    out << ']';
    return out.str();
}

template <typename... Args>
[[noreturn]] void fail(const Args&... args) {
    throw Error(str(args...));
}

}  // namespace kiln

// KILN_CHECK(cond, "op: ", "message parts", ...) throws kiln::Error when cond is false.
#define KILN_CHECK(cond, ...)                 \
    do {                                      \
        if (!(cond)) ::kiln::fail(__VA_ARGS__); \
    } while (0)
