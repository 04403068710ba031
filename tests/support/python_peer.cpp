#include "tests/support/python_peer.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <vector>

#include <unistd.h>

namespace kiln::testing {

std::optional<std::string> python_with_torch() {
    static const std::optional<std::string> found = []() -> std::optional<std::string> {
        std::vector<std::string> candidates;
        if (const char* configured = std::getenv("KILN_PYTHON")) candidates.push_back(configured);
        candidates.insert(candidates.end(), {"python3", "/usr/bin/python3"});
        for (const std::string& python : candidates)
            if (std::system((python + " -c 'import torch' >/dev/null 2>&1").c_str()) == 0) return python;
        return std::nullopt;
    }();
    return found;
}

std::string run_python(const std::string& python, const std::string& script, const std::string& input) {
    char input_path[] = "/tmp/kiln-peer-XXXXXX";
    const int fd = mkstemp(input_path);
    if (fd < 0) throw std::runtime_error("run_python: cannot create a temporary file");
    close(fd);
    std::ofstream(input_path) << input;
    const std::string command = python + " " + script + " < " + input_path;
    FILE* pipe = popen(command.c_str(), "r");
    std::string output;
    char chunk[4096];
    size_t read = 0;
    while (pipe && (read = std::fread(chunk, 1, sizeof chunk, pipe)) > 0) output.append(chunk, read);
    const int status = pipe ? pclose(pipe) : -1;
    std::remove(input_path);
    if (status != 0) throw std::runtime_error("run_python: `" + command + "` failed with status " + std::to_string(status));
    return output;
}

std::string source_path(const std::string& relative) { return std::string(KILN_SOURCE_DIR) + "/" + relative; }

}  // namespace kiln::testing
