// safetensors and kiln checkpoints: round trips, conversions, atomic writes, and a fuzz-style
// battery of corrupt files, each of which must be a clear kiln::Error naming
// the file (and the tensor), never a crash (the suite also runs under ASan).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "engine/random.h"
#include "engine/safetensors.h"
#include "layers/checkpoint.h"

using namespace kiln;

namespace {

// 8-byte little-endian length + header + data.
std::string file_with(const std::string& header, const std::string& data = "") {
    std::string out(8, '\0');
    const uint64_t length = header.size();
    std::memcpy(out.data(), &length, 8);
    return out + header + data;
}

std::string expect_error(const std::string& bytes) {
    try {
        parse_safetensors(bytes, "bad.safetensors");
    } catch (const Error& error) {
        return error.what();
    }
    return "(no error)";
}

std::filesystem::path scratch_dir() {
    const auto dir = std::filesystem::temp_directory_path() / ("kiln-safetensors-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    return dir;
}

}  // namespace

TEST_CASE("safetensors: tensors and metadata round trip through a file") {
    const std::map<std::string, Tensor> tensors = {
        {"conv.weight", Tensor::randn({4, 3, 3, 3})},
        {"double", Tensor::from_vector({1.5, -2.25}, {2}, DType::float64)},
        {"bn.num_batches_tracked", Tensor::from_int64({7}, {})},
        {"empty", Tensor::zeros({0, 3})},
        {"transposed", Tensor::randn({2, 3}).transpose(0, 1)},
    };
    const auto path = (scratch_dir() / "round_trip.safetensors").string();
    write_safetensors(path, tensors, {{"model", "resnet18"}, {"classes", "[\"good\", \"crack\"]"}});
    const SafetensorsContents back = read_safetensors(path);
    CHECK(back.metadata.at("model") == "resnet18");
    CHECK(back.metadata.at("classes") == "[\"good\", \"crack\"]");
    REQUIRE(back.tensors.size() == tensors.size());
    for (const auto& [name, tensor] : tensors) {
        CAPTURE(name);
        CHECK(back.tensors.at(name).shape() == tensor.shape());
        CHECK(back.tensors.at(name).dtype() == tensor.dtype());
        CHECK(back.tensors.at(name).to_vector() == tensor.to_vector());
    }
    // the header is padded to 8 bytes, as the reference writer does
    std::ifstream file(path, std::ios::binary);
    uint64_t length = 0;
    file.read(reinterpret_cast<char*>(&length), 8);
    CHECK(length % 8 == 0);
    std::filesystem::remove(path);
}

TEST_CASE("safetensors: writing is atomic: it replaces the file and leaves no temporary behind") {
    const auto dir = scratch_dir() / "atomic";
    std::filesystem::create_directories(dir);
    const auto path = (dir / "model.safetensors").string();
    write_safetensors(path, {{"a", Tensor::ones({3})}});
    write_safetensors(path, {{"b", Tensor::zeros({2})}});
    CHECK(read_safetensors(path).tensors.count("b") == 1);
    int files = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) ++files;
    CHECK(files == 1);
    CHECK_THROWS_WITH_AS(write_safetensors((dir / "missing" / "x.safetensors").string(), {{"a", Tensor::ones({1})}}),
                         doctest::Contains("cannot create a temporary file"), Error);
    CHECK_THROWS_WITH_AS(read_safetensors((dir / "nope.safetensors").string()),
                         doctest::Contains("nope.safetensors: cannot open the file"), Error);
    CHECK_THROWS_WITH_AS(write_safetensors(path, {{"__metadata__", Tensor::ones({1})}}),
                         doctest::Contains("cannot write a tensor named \"__metadata__\""), Error);
    std::filesystem::remove_all(dir);
}

TEST_CASE("safetensors: F16 and BF16 load as float32, I32 as int64") {
    // F16: 1, -2, 0.5, 2^-24 (smallest subnormal), inf; BF16: 1, -3
    const uint16_t half[] = {0x3c00, 0xc000, 0x3800, 0x0001, 0x7c00};
    const uint16_t bf16[] = {0x3f80, 0xc040};
    const int32_t i32[] = {-5, 70000};
    std::string data(reinterpret_cast<const char*>(half), sizeof half);
    data.append(reinterpret_cast<const char*>(bf16), sizeof bf16);
    data.append(reinterpret_cast<const char*>(i32), sizeof i32);
    const std::string header = R"({"h": {"dtype": "F16", "shape": [5], "data_offsets": [0, 10]},
        "b": {"dtype": "BF16", "shape": [2], "data_offsets": [10, 14]},
        "i": {"dtype": "I32", "shape": [2], "data_offsets": [14, 22]}})";
    const SafetensorsContents c = parse_safetensors(file_with(header, data), "half.safetensors");
    CHECK(c.tensors.at("h").dtype() == DType::float32);
    const std::vector<double> h = c.tensors.at("h").to_vector();
    CHECK(h[0] == 1);
    CHECK(h[1] == -2);
    CHECK(h[2] == 0.5);
    CHECK(h[3] == std::ldexp(1.0, -24));
    CHECK(std::isinf(h[4]));
    CHECK(c.tensors.at("b").to_vector() == std::vector<double>{1, -3});
    CHECK(c.tensors.at("i").dtype() == DType::int64);
    CHECK(c.tensors.at("i").to_vector() == std::vector<double>{-5, 70000});
}

TEST_CASE("safetensors fuzz: every truncation of a valid file is a clear error") {
    const std::string valid = serialize_safetensors({{"w", Tensor::randn({3, 2})}, {"b", Tensor::ones({2})}}, {{"k", "v"}});
    CHECK_NOTHROW(parse_safetensors(valid, "ok"));
    for (size_t length = 0; length < valid.size(); ++length) {
        CAPTURE(length);
        const std::string what = expect_error(valid.substr(0, length));
        CHECK(what.find("kiln::Error: safetensors: bad.safetensors: ") == 0);
    }
    CHECK(expect_error(valid.substr(0, 5)).find("fewer than the 8-byte header length") != std::string::npos);
    CHECK(expect_error(valid.substr(0, valid.size() - 1)).find("(truncated?)") != std::string::npos);
}

TEST_CASE("safetensors fuzz: header length, JSON shape and types") {
    std::string huge(8, '\xff');
    CHECK(expect_error(huge + "{}").find("header length 18446744073709551615 exceeds the limit") != std::string::npos);
    std::string past = file_with("{}");
    past[0] = 100;
    CHECK(expect_error(past).find("header length 100 runs past the end of the file (10 bytes; truncated?)") !=
          std::string::npos);
    CHECK(expect_error(file_with("{\"a\": ")).find("the header is not valid JSON") != std::string::npos);
    CHECK(expect_error(file_with("not json")).find("not valid JSON") != std::string::npos);
    CHECK(expect_error(file_with("\xff\xfe")).find("not valid JSON") != std::string::npos);
    CHECK(expect_error(file_with("[1, 2]")).find("the header must be a JSON object, got array") != std::string::npos);
    CHECK(expect_error(file_with("null")).find("must be a JSON object, got null") != std::string::npos);
    CHECK(expect_error(file_with(std::string(100000, '[') + std::string(100000, ']'))).find("nests deeper than 64") !=
          std::string::npos);
    CHECK(expect_error(file_with(R"({"w": 3})")).find("tensor \"w\": expected an object") != std::string::npos);
    CHECK(expect_error(file_with(R"({"w": {"dtype": "F32", "shape": [1]}})")).find("tensor \"w\": missing \"data_offsets\"") !=
          std::string::npos);
    CHECK(expect_error(file_with(R"({"__metadata__": {"a": 1}})")).find("__metadata__ must map strings to strings; \"a\" is number") !=
          std::string::npos);
    CHECK(expect_error(file_with(R"({"__metadata__": []})")).find("__metadata__ must be an object") != std::string::npos);
    CHECK(expect_error(file_with(R"({"": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}})", "abcd"))
              .find("empty name") != std::string::npos);
}

TEST_CASE("safetensors fuzz: dtypes, shapes and byte counts") {
    auto one = [](const std::string& dtype, const std::string& shape, const std::string& offsets, size_t data) {
        return expect_error(file_with(R"({"t": {"dtype": )" + dtype + R"(, "shape": )" + shape +
                                          R"(, "data_offsets": )" + offsets + "}}",
                                      std::string(data, '\0')));
    };
    CHECK(one("\"F33\"", "[1]", "[0, 4]", 4).find("tensor \"t\": unknown dtype \"F33\"") != std::string::npos);
    CHECK(one("\"U8\"", "[1]", "[0, 1]", 1).find("tensor \"t\": unsupported dtype \"U8\"") != std::string::npos);
    CHECK(one("32", "[1]", "[0, 4]", 4).find("dtype must be a string, got number") != std::string::npos);
    CHECK(one("\"F32\"", "[-1]", "[0, 4]", 4).find("shape must hold non-negative integers, got -1") != std::string::npos);
    CHECK(one("\"F32\"", "[1.5]", "[0, 4]", 4).find("non-negative integers") != std::string::npos);
    CHECK(one("\"F32\"", "\"2x2\"", "[0, 4]", 4).find("shape must be an array") != std::string::npos);
    CHECK(one("\"F32\"", "[4294967296, 4294967296]", "[0, 4]", 4).find("is too large") != std::string::npos);
    CHECK(one("\"F32\"", "[2]", "[0, 4]", 4).find("dtype F32 and shape [2] need 8 bytes, but data_offsets [0, 4] hold 4") !=
          std::string::npos);
    CHECK(one("\"F32\"", "[1]", "[4, 0]", 4).find("end before they begin") != std::string::npos);
    CHECK(one("\"F32\"", "[1]", "[0, 4, 8]", 8).find("data_offsets must be two non-negative integers") != std::string::npos);
    CHECK(one("\"F32\"", "[1]", "[-4, 0]", 4).find("data_offsets must be two") != std::string::npos);
    CHECK(one("\"F32\"", "[1]", "[0, 4]", 2).find("tensor \"t\" ends at byte 4 of the data section, which has 2 bytes (truncated?)") !=
          std::string::npos);
    CHECK(one("\"F32\"", "[1]", "[18446744073709551612, 18446744073709551616]", 4).find("tensor \"t\"") !=
          std::string::npos);
    CHECK(one("\"F32\"", "[1]", "[0, 4]", 8).find("4 unexplained bytes at the end") != std::string::npos);
}

TEST_CASE("safetensors fuzz: offsets past the end, overlapping tensors, gaps") {
    const std::string two = R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                               "b": {"dtype": "F32", "shape": [2], "data_offsets": [)";
    CHECK(expect_error(file_with(two + "4, 12]}}", std::string(12, '\0')))
              .find("tensor \"b\" [4, 12) overlaps tensor \"a\" [0, 8)") != std::string::npos);
    CHECK(expect_error(file_with(two + "12, 20]}}", std::string(20, '\0')))
              .find("tensor \"b\" starts at byte 12 of the data section, leaving a gap after byte 8") != std::string::npos);
    CHECK(expect_error(file_with(two + "8, 16]}}", std::string(12, '\0'))).find("tensor \"b\" ends at byte 16") !=
          std::string::npos);
    CHECK_NOTHROW(parse_safetensors(file_with(two + "8, 16]}}", std::string(16, '\0')), "ok"));
}

TEST_CASE("safetensors fuzz: random byte corruption is an error or a valid parse, never a crash") {
    const std::string valid = serialize_safetensors(
        {{"layer.weight", Tensor::randn({4, 3})}, {"layer.bias", Tensor::ones({4})}, {"steps", Tensor::from_int64({3}, {})}},
        {{"model", "tiny_cnn"}});
    Generator generator(99);
    const std::vector<double> draws = Tensor::rand({3000, 3}, DType::float64, generator).to_vector();
    int errors = 0;
    for (size_t trial = 0; trial < 1000; ++trial) {
        std::string bytes = valid;
        // corrupt 1..3 bytes, mostly in the length and header
        const size_t count = 1 + size_t(draws[trial * 3] * 3);
        for (size_t k = 0; k < count; ++k) {
            const double where = draws[(trial * 3 + k + 1) % draws.size()];
            const size_t position = size_t(where * double(std::min<size_t>(bytes.size(), 8 + 200)));
            bytes[position] = char(int(draws[(trial * 3 + k + 2) % draws.size()] * 256));
        }
        try {
            parse_safetensors(bytes, "fuzz");
        } catch (const Error& error) {
            CHECK(std::string(error.what()).find("safetensors: fuzz: ") != std::string::npos);
            ++errors;
        }
    }
    CHECK(errors > 500);
}

TEST_CASE("checkpoint: a zoo model and its metadata round trip, bad metadata names the file and key") {
    models::ModelConfig config;
    config.num_classes = 2;
    config.in_channels = 1;
    config.width = 0.25;
    config.seed = 9;
    const auto model = models::make_model("resnet_inspired", config);
    CheckpointInfo info;
    info.model = "resnet_inspired";
    info.config = config;
    info.class_names = {"good", "crack"};
    info.input_size = {128, 96};
    info.mean = {0.5};
    info.std = {0.25};
    info.threshold = 0.3;
    info.extra = {{"note", "run 1"}};
    const auto path = (scratch_dir() / "checkpoint.safetensors").string();
    save_checkpoint(path, *model, info);
    CheckpointInfo back;
    const auto loaded = load_model(path, &back);
    CHECK(back.model == "resnet_inspired");
    CHECK(back.config.num_classes == 2);
    CHECK(back.config.in_channels == 1);
    CHECK(back.config.width == 0.25);
    CHECK(back.class_names == info.class_names);
    CHECK(back.input_size == info.input_size);
    CHECK(back.mean == info.mean);
    CHECK(*back.threshold == 0.3);
    CHECK(back.extra.at("note") == "run 1");
    CHECK(loaded->state_dict().at("fc.weight").to_vector() == model->state_dict().at("fc.weight").to_vector());

    write_safetensors(path, model->state_dict(), {{"model", "\"resnet_inspired\""}});
    CHECK_THROWS_WITH_AS(read_checkpoint(path), doctest::Contains("checkpoint.safetensors: metadata has no \"kiln_version\""),
                         Error);
    write_safetensors(path, model->state_dict(), {{"kiln_version", "\"0.1.0\""}, {"model", "resnet_inspired"}});
    CHECK_THROWS_WITH_AS(read_checkpoint(path), doctest::Contains("metadata \"model\" has a malformed value"), Error);
    std::filesystem::remove(path);
}
