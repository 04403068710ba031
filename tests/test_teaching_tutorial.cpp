// docs/tutorial.md cannot go stale: every command in its ```bash blocks that
// starts with build/ is run, from the build folder's parent (with build/
// replaced by this build's folder name, e.g. build-asan/), and must succeed.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::vector<std::string> tutorial_commands(const std::string& path) {
    std::ifstream file(path);
    REQUIRE_MESSAGE(file, "cannot read ", path);
    std::vector<std::string> commands;
    bool in_bash = false;
    for (std::string line; std::getline(file, line);) {
        if (line.rfind("```", 0) == 0) {
            in_bash = !in_bash && line == "```bash";
            continue;
        }
        if (in_bash && line.rfind("build/", 0) == 0) commands.push_back(line);
    }
    return commands;
}

}  // namespace

TEST_CASE("tutorial: every build/ command in docs/tutorial.md runs and succeeds") {
    const std::filesystem::path binary_dir = std::filesystem::path(KILN_APPS_DIR).parent_path();
    const std::filesystem::path parent = binary_dir.parent_path();
    const std::vector<std::string> commands = tutorial_commands(std::string(KILN_SOURCE_DIR) + "/docs/tutorial.md");
    REQUIRE(commands.size() >= 6);
    // Each teaching program appears in the tutorial at least once.
    for (const char* program : {"backprop_trace", "vanishing_gradients", "conv_by_hand", "kernel_walkthrough",
                                "worked_examples", "kiln demo"}) {
        bool found = false;
        for (const std::string& c : commands) found = found || c.find(program) != std::string::npos;
        CHECK_MESSAGE(found, "docs/tutorial.md runs no ", program);
    }
    const std::regex build_prefix(R"((^|\s)build/)");
    const std::string replacement = "$1" + binary_dir.filename().string() + "/";
    for (const std::string& command : commands) {
        const std::string local = std::regex_replace(command, build_prefix, replacement);
        const std::string shell = "cd '" + parent.string() + "' && " + local + " > /dev/null";
        INFO("command: ", local);
        CHECK(std::system(shell.c_str()) == 0);
    }
}
