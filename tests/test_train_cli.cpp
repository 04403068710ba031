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

TEST_CASE("kiln train --config: JSON and TOML files set the flags, flags on the command line win") {
    const fs::path dir = fs::temp_directory_path() / ("kiln_test_cli_config_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    auto read_config = [](const fs::path& run) {
        std::ifstream in(run / "config.json");
        return nlohmann::json::parse(in);
    };
    const std::string common = "\"data\": \"synth:casting:count=24,size=16\", \"grayscale\": true, \"size\": 16, "
                               "\"model\": \"tiny_cnn\", \"batch-size\": \"8\", \"report\": false, \"workers\": 1";
    std::ofstream((dir / "a.json").string()) << "{" << common << ", \"epochs\": 1, \"lr\": 0.01, \"out\": \""
                                             << (dir / "a").string() << "\"}";
    REQUIRE(run_kiln("train --config " + (dir / "a.json").string()).status == 0);
    const nlohmann::json a = read_config(dir / "a");
    CHECK(a["model"] == "tiny_cnn");
    CHECK(a["epochs"] == 1);
    CHECK(a["lr"] == 0.01);
    CHECK(a["batch-size"] == "8");
    // A run's own config.json repeats it; a flag overrides the file.
    REQUIRE(run_kiln("train --config " + (dir / "a" / "config.json").string() + " --epochs 2 --out " + (dir / "b").string()).status == 0);
    const nlohmann::json b = read_config(dir / "b");
    CHECK(b["epochs"] == 2);
    CHECK(b["lr"] == 0.01);
    CHECK(b["model"] == "tiny_cnn");
    // TOML: values take the type of their field.
    std::ofstream((dir / "c.toml").string()) << "data = \"synth:casting:count=24,size=16\"\ngrayscale = true\nsize = 16\n"
                                                "model = \"tiny_cnn\"\nbatch-size = 8\nepochs = 1\nlr = 0.02\nreport = false\n"
                                                "out = \"" << (dir / "c").string() << "\"\n";
    REQUIRE(run_kiln("train --config " + (dir / "c.toml").string()).status == 0);
    const nlohmann::json c = read_config(dir / "c");
    CHECK(c["lr"] == 0.02);
    CHECK(c["batch-size"] == "8");
    CHECK(c["grayscale"] == true);
    // Bad files: one line naming the file and the key.
    std::ofstream((dir / "unknown.json").string()) << "{\"epochz\": 3}";
    check_one_line_error(run_kiln("train --config " + (dir / "unknown.json").string()), "unknown key \"epochz\"");
    std::ofstream((dir / "broken.json").string()) << "{\"epochs\": ";
    check_one_line_error(run_kiln("train --config " + (dir / "broken.json").string()), "not valid JSON");
    std::ofstream((dir / "type.toml").string()) << "epochs = \"many\"\n";
    check_one_line_error(run_kiln("train --config " + (dir / "type.toml").string()), "\"epochs\" must be a number");
    check_one_line_error(run_kiln("train --config " + (dir / "missing.json").string()), "cannot open");
    fs::remove_all(dir);
}
