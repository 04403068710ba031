// Bad input to kiln train / eval gives one clear error line on stderr and a
// non-zero exit: a bad flag value, a missing data folder, an empty class
// folder, a checkpoint of another model. Runs the built `kiln` binary.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "data/image.h"
#include "data/image_io.h"
#include "layers/checkpoint.h"
#include "layers/models/models.h"

using namespace kiln;
namespace fs = std::filesystem;

namespace {

struct Outcome {
    int status = 0;
    std::string err;
};

Outcome run_kiln(const std::string& args) {
    // One file per process and call: CTest runs the test cases in parallel.
    static int calls = 0;
    const fs::path err_file = fs::temp_directory_path() / ("kiln_test_cli_stderr_" + std::to_string(::getpid()) + "_" +
                                                           std::to_string(++calls) + ".txt");
    const std::string command = std::string(KILN_CLI_PATH) + " " + args + " >/dev/null 2>" + err_file.string();
    const int raw = std::system(command.c_str());
    Outcome o;
    o.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    std::ifstream in(err_file);
    o.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    fs::remove(err_file);
    return o;
}

void check_one_line_error(const Outcome& o, const std::string& expected) {
    MESSAGE("stderr: " << o.err);
    CHECK(o.status != 0);
    CHECK(std::count(o.err.begin(), o.err.end(), '\n') == 1);
    CHECK(o.err.find(expected) != std::string::npos);
}

}  // namespace

TEST_CASE("kiln train: a bad flag value is one error line") {
    const fs::path out = fs::temp_directory_path() / "kiln_test_cli_bad";
    check_one_line_error(run_kiln("train synth:casting --epochs abc --out " + out.string()), "--epochs");
    check_one_line_error(run_kiln("train synth:casting --schedule sometimes --out " + out.string()), "--schedule");
    check_one_line_error(run_kiln("train synth:casting --no-such-flag"), "no-such-flag");
    fs::remove_all(out);
}

TEST_CASE("kiln train: a missing data folder is one error line") {
    const fs::path out = fs::temp_directory_path() / "kiln_test_cli_missing";
    check_one_line_error(run_kiln("train /nonexistent/kiln/data --out " + out.string()), "/nonexistent/kiln/data");
    fs::remove_all(out);
}

TEST_CASE("kiln train: an empty class folder is one error line") {
    const fs::path root = fs::temp_directory_path() / "kiln_test_cli_empty_class";
    fs::remove_all(root);
    fs::create_directories(root / "good");
    fs::create_directories(root / "scratch");
    data::write_image((root / "good" / "a.png").string(), data::Image(16, 16, 1, 0.5f));
    data::write_image((root / "good" / "b.png").string(), data::Image(16, 16, 1, 0.4f));
    check_one_line_error(run_kiln("train " + root.string() + " --out " + (fs::temp_directory_path() / "kiln_test_cli_empty_run").string()), "scratch");
    fs::remove_all(root);
}

TEST_CASE("kiln: a checkpoint of another model is one error line") {
    const fs::path dir = fs::temp_directory_path() / "kiln_test_cli_other_model";
    fs::remove_all(dir);
    fs::create_directories(dir);
    models::ModelConfig mc;
    mc.num_classes = 2;
    mc.in_channels = 1;
    mc.width = 0.25;
    auto model = models::make_model("squeezenet_inspired", mc);
    CheckpointInfo info;
    info.model = "squeezenet_inspired";
    info.config = mc;
    info.class_names = {"good", "defect"};
    info.input_size = {32, 32};
    save_checkpoint((dir / "other.safetensors").string(), *model, info);
    check_one_line_error(run_kiln("train synth:casting:count=40,size=32 --grayscale --size 32 --model tiny_cnn --pretrained " +
                                  (dir / "other.safetensors").string() + " --out " + (dir / "run").string()),
                         "squeezenet_inspired");
    // A file whose tensors do not fit the model it names.
    auto tiny = models::make_model("tiny_cnn", mc);
    info.model = "tiny_cnn";
    save_checkpoint((dir / "mismatch.safetensors").string(), *model, info);
    check_one_line_error(run_kiln("predict " + (dir / "mismatch.safetensors").string() + " x.png"), "does not fit");
    fs::remove_all(dir);
}

TEST_CASE("kiln train --config: a JSON or TOML file sets the flags, the command line wins, an unknown key is one error line") {
    // **Fixed:** CLI11 2.1 reads a config file only for the top-level app, so
    // kiln train ignored its --config file altogether (apps/train_options.cpp).
    const fs::path dir = fs::temp_directory_path() / ("kiln_test_cli_config_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::ofstream(dir / "run.toml") << "# a quick look\ndata = \"synth:casting:count=24,size=16\"\ngrayscale = true\n"
                                       "size = 16\nmodel = 'tiny_cnn'\nepochs = 1\nbatch-size = 4\nreport = false\nseed = 9\n";
    REQUIRE(run_kiln("train --config " + (dir / "run.toml").string() + " --seed 11 --threads 1 --out " + (dir / "a").string())
                .status == 0);
    const nlohmann::json a = nlohmann::json::parse(std::ifstream(dir / "a" / "config.json"));
    CHECK(a["model"] == "tiny_cnn");
    CHECK(a["grayscale"] == true);
    CHECK(a["batch-size"] == "4");
    CHECK(a["seed"] == 11);  // the flag wins over the file
    // A run's config.json repeats it.
    REQUIRE(run_kiln("train --config " + (dir / "a" / "config.json").string() + " --out " + (dir / "b").string()).status == 0);
    nlohmann::json b = nlohmann::json::parse(std::ifstream(dir / "b" / "config.json"));
    b["out"] = a["out"];
    CHECK(b == a);
    std::ofstream(dir / "typo.json") << R"({"epochs": 1, "lrr": 0.1})";
    check_one_line_error(run_kiln("train --config " + (dir / "typo.json").string()), "unknown key \"lrr\"");
    check_one_line_error(run_kiln("train --config " + (dir / "missing.toml").string()), "cannot open the file");
    std::ofstream(dir / "big.json") << R"({"batch-size": "99999999999999999999"})";
    check_one_line_error(run_kiln("train --config " + (dir / "big.json").string() + " --out " + (dir / "c").string()),
                         "--batch-size must be a number in [1, 999999] or auto");
    fs::remove_all(dir);
}
