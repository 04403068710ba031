#pragma once
// Captures what the code under test writes to std::cerr (the vendor switch's
// notice) for the life of the object.
#include <iostream>
#include <sstream>
#include <string>

namespace kiln::testing {

class CaptureStderr {
public:
    CaptureStderr() : previous_(std::cerr.rdbuf(captured_.rdbuf())) {}
    ~CaptureStderr() { std::cerr.rdbuf(previous_); }
    CaptureStderr(const CaptureStderr&) = delete;
    CaptureStderr& operator=(const CaptureStderr&) = delete;
    std::string text() const { return captured_.str(); }
    // Number of lines that contain `needle`.
    int lines_with(const std::string& needle) const {
        std::istringstream in(captured_.str());
        int count = 0;
        for (std::string line; std::getline(in, line);) count += line.find(needle) != std::string::npos;
        return count;
    }

private:
    std::ostringstream captured_;
    std::streambuf* previous_;
};

}  // namespace kiln::testing
