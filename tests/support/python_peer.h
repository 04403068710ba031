#pragma once
// Runs a peer script in a Python that has torch, for tests that compare kiln
// with PyTorch. The interpreter is $KILN_PYTHON, else the first of python3 and
// /usr/bin/python3 (Debian's python3-torch installs there) that imports torch.
#include <optional>
#include <string>

namespace kiln::testing {

std::optional<std::string> python_with_torch();

// Runs `python script` with `input` on stdin; returns stdout, or throws
// std::runtime_error with the exit status if it fails.
std::string run_python(const std::string& python, const std::string& script, const std::string& input);

// Absolute path of a file in the source tree (KILN_SOURCE_DIR/relative).
std::string source_path(const std::string& relative);

}  // namespace kiln::testing
