// Every input a fuzz target (tests/fuzz/) ever failed on, kept in
// tests/fuzz/regressions/<target>/ and replayed through the same target body
// (tests/fuzz/targets.h) in the normal suite, so a fixed crash stays fixed.
#include <doctest/doctest.h>

#include <filesystem>
#include <vector>

#include "data_util.h"
#include "fuzz/targets.h"

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> regressions(const std::string& target) {
    std::vector<fs::path> files;
    const fs::path folder = fs::path(KILN_SOURCE_DIR) / "tests/fuzz/regressions" / target;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(folder, error))
        if (entry.is_regular_file(error)) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    return files;
}

template <typename Body>
void replay(const std::string& target, Body body) {
    const std::vector<fs::path> files = regressions(target);
    REQUIRE_FALSE(files.empty());
    for (const fs::path& file : files) {
        CAPTURE(file.string());
        const std::string bytes = kiln::test::read_bytes(file.string());
        CHECK_NOTHROW(body(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
    }
}

}  // namespace

TEST_CASE("fuzz regressions: image decode + resize") { replay("image", kiln::fuzz::image_input); }

TEST_CASE("fuzz regressions: CSV dataset list") {
    kiln::test::TempDir dir;
    replay("csv", [&](const uint8_t* data, size_t size) { kiln::fuzz::csv_input(data, size, dir / "list.csv"); });
}

TEST_CASE("fuzz regressions: kiln train config file") {
    kiln::test::TempDir dir;
    replay("config", [&](const uint8_t* data, size_t size) { kiln::fuzz::config_input(data, size, dir / "config"); });
}
