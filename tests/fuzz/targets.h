#pragma once
// The body of each fuzz target, shared by the libFuzzer programs
// (tests/fuzz/fuzz_*.cpp) and the regression suite (tests/test_fuzz_regressions.cpp,
// which replays tests/fuzz/regressions/<target>/*). An input may be rejected
// with a kiln::Error (caught here: that is the reader doing its job); anything
// else escapes: a broken invariant throws std::logic_error, and a crash,
// hang or sanitizer report is what the fuzzer looks for.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "apps/train_commands.h"
#include "data/dataset.h"
#include "data/image_io.h"
#include "data/resize.h"
#include "engine/error.h"
#include "engine/safetensors.h"
#include "train/config.h"

namespace kiln::fuzz {

inline void expect(bool ok, const char* what) {
    if (!ok) throw std::logic_error(std::string("fuzz invariant broken: ") + what);
}

// safetensors: tensors or a kiln::Error; whatever parses survives kiln's
// writer and reads back with the same names, shapes, dtypes and metadata.
inline void safetensors_input(const uint8_t* data, size_t size) {
    SafetensorsContents contents;
    try {
        contents = parse_safetensors(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
    } catch (const Error&) {
        return;
    }
    const SafetensorsContents back = parse_safetensors(serialize_safetensors(contents.tensors, contents.metadata), "again");
    expect(back.tensors.size() == contents.tensors.size() && back.metadata == contents.metadata, "round trip: names");
    for (const auto& [name, tensor] : contents.tensors) {
        const Tensor& other = back.tensors.at(name);
        expect(other.shape() == tensor.shape() && other.dtype() == tensor.dtype(), "round trip: shape and dtype");
    }
}

// Image decode + resize: the file's bytes stay whole (seeds are plain
// images); the decode options come from the size. A decoded image matches its
// header, and every resize gives the asked size with values in [0, 1].
inline void image_input(const uint8_t* data, size_t size) {
    using namespace kiln::data;
    const ColorMode mode = ColorMode(size % 3);
    const Fit fit = Fit((size / 3) % 3);
    const Interpolation interpolation = Interpolation((size / 9) % 3);
    Image image;
    ImageInfo info;
    try {
        // A header may claim up to 2^26 pixels (decode_image's cap): correct,
        // but seconds per input under the sanitizers, so the pixels of the
        // larger claims are not decoded (the decoder's code is the same at
        // any size); their headers still are.
        const ImageInfo header = decode_image_info(data, size, "fuzz");
        if (int64_t(header.height) * header.width > (int64_t(1) << 20)) return;
        image = decode_image(data, size, mode, "fuzz", &info);
    } catch (const Error&) {
        return;
    }
    expect(image.height == info.height && image.width == info.width && image.height >= 1 && image.width >= 1,
           "decoded size matches the header");
    for (const auto& [h, w] : {std::pair{17, 23}, std::pair{1, 1}, std::pair{std::min(image.height * 2 + 1, 65), 3}}) {
        const Image out = resize_to_fit(image, h, w, fit, interpolation);
        expect(out.height == h && out.width == w && out.channels == image.channels, "resized size");
        for (const float v : out.pixels) expect(v >= -1e-4f && v <= 1.0001f, "resized values in [0, 1]");
    }
}

// CSV list: written to `csv_path` and opened without decoding the images it
// names; a dataset whose labels index its classes, or a kiln::Error.
inline void csv_input(const uint8_t* data, size_t size, const std::string& csv_path) {
    using namespace kiln::data;
    FILE* f = std::fopen(csv_path.c_str(), "wb");
    expect(f != nullptr, "temporary CSV file opens");
    const bool written = size == 0 || std::fwrite(data, 1, size, f) == size;
    std::fclose(f);
    expect(written, "temporary CSV file written");
    DatasetOptions options;
    options.verify = false, options.cache = false, options.quiet = true, options.threads = 1;
    options.height = options.width = 8;
    try {
        const ImageDataset d = ImageDataset::csv(csv_path, options);
        expect(d.size() > 0 && d.num_classes() >= 1, "a dataset has samples and classes");
        for (const int64_t label : d.labels()) expect(label >= 0 && label < d.num_classes(), "labels index classes");
        int64_t total = 0;
        for (const int64_t c : d.class_counts()) total += c;
        expect(total == int64_t(d.size()), "class counts add up");
    } catch (const Error&) {
    }
}

// kiln train's config file: written to `path` and read as `kiln train
// --config PATH` reads it (apps/train_options.cpp: JSON, else TOML/INI through
// CLI11), then checked as a run checks it (train::check_config). A rejection
// is a CLI11 parse error or a kiln::Error. A config that passes survives the
// run's config.json: `kiln train --config RUN_DIR/config.json` and
// config_from_json (what --resume reads) give it back exactly. Text that is a
// JSON object also goes to config_from_json directly: a config or a kiln::Error.
namespace detail {
inline bool read_train_config(const std::string& path, train::TrainConfig& config) {
    CLI::App app{"kiln"};
    apps::TrainCommand command;
    command.app = app.add_subcommand("train");
    apps::add_train_options(*command.app, command, "(zoo)");
    const char* argv[] = {"kiln", "train", "--config", path.c_str()};
    try {
        app.parse(4, argv);
        train::check_config(command.config);
    } catch (const CLI::ParseError&) {
        return false;
    } catch (const Error&) {
        return false;
    }
    config = command.config;
    return true;
}
inline void write_file(const std::string& path, const char* data, size_t size) {
    FILE* f = std::fopen(path.c_str(), "wb");
    expect(f != nullptr, "temporary file opens");
    const bool written = size == 0 || std::fwrite(data, 1, size, f) == size;
    std::fclose(f);
    expect(written, "temporary file written");
}
}  // namespace detail

inline void config_input(const uint8_t* data, size_t size, const std::string& path) {
    const char* text = reinterpret_cast<const char*>(data);
    detail::write_file(path, text, size);
    train::TrainConfig config;
    if (detail::read_train_config(path, config)) {
        // What a run writes as config.json (nlohmann throws on text that is
        // not UTF-8: the config must refuse such values first).
        const std::string saved = train::to_json(config).dump(2);
        const std::string again = train::to_json(train::config_from_json(nlohmann::json::parse(saved))).dump(2);
        expect(again == saved, "config.json read by --resume gives the same config");
        detail::write_file(path, saved.data(), saved.size());
        train::TrainConfig reread;
        expect(detail::read_train_config(path, reread), "config.json is accepted by --config");
        expect(train::to_json(reread).dump(2) == saved, "config.json read by --config gives the same config");
    }
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text, text + size);
    } catch (const nlohmann::json::exception&) {
        return;
    }
    try {
        train::check_config(train::config_from_json(j));
    } catch (const Error&) {
    }
}

}  // namespace kiln::fuzz
