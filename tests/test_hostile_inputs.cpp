// Input hostility: files and folders a factory's data set really contains.
// Each is handled with a clear kiln::Error (or a skip with that message, as
// DatasetOptions::on_bad_image says) and nothing crashes.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>

#include "data/dataset.h"
#include "data/image_io.h"
#include "data/split.h"
#include "engine/utf8.h"
#include "train/config.h"
#include "train/trainer.h"
#include "data_util.h"

using namespace kiln;
using namespace kiln::data;
using kiln::test::TempDir;
using kiln::test::write_bytes;

namespace {

namespace fs = std::filesystem;

std::string be32(uint32_t v) {
    return {char(v >> 24), char((v >> 16) & 0xff), char((v >> 8) & 0xff), char(v & 0xff)};
}

// A PNG whose IHDR claims width x height (8-bit RGB), with one tiny IDAT.
std::string png_claiming(uint32_t width, uint32_t height) {
    std::string png("\x89PNG\r\n\x1a\n", 8);
    png += be32(13) + "IHDR" + be32(width) + be32(height) + std::string("\x08\x02\x00\x00\x00", 5) + be32(0);
    const std::string idat("\x78\x01\x01\x00\x00\xff\xff\x00\x00\x00\x01", 11);  // an empty stored zlib stream
    png += be32(uint32_t(idat.size())) + "IDAT" + idat + be32(0);
    png += be32(0) + "IEND" + be32(0);
    return png;
}

// A two-frame animated GIF89a, 1x1.
std::string animated_gif() {
    std::string gif("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff", 19);
    const std::string netscape("\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00", 19);
    const std::string frame("\x21\xf9\x04\x00\x0a\x00\x00\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00",
                            23);
    return gif + netscape + frame + frame + ";";
}

// A baseline 8x8 CMYK JPEG (4 components, Adobe APP14 transform 0, as
// Photoshop writes them): every block DC-only, so one Huffman code each.
std::string cmyk_jpeg() {
    std::string j("\xff\xd8", 2);
    j += std::string("\xff\xee\x00\x0e" "Adobe\x00\x64\x00\x00\x00\x00\x00", 16);  // APP14, transform 0
    j += std::string("\xff\xdb\x00\x43\x00", 5) + std::string(64, '\x01');          // DQT: all ones
    j += std::string("\xff\xc0\x00\x14\x08\x00\x08\x00\x08\x04", 10);              // SOF0 8x8, 4 components
    for (char id = 1; id <= 4; ++id) j += std::string{id, '\x11', '\x00'};
    // DHT: DC table 0 and AC table 0, each one symbol (0) of code length 1.
    const std::string one_code = std::string("\x01", 1) + std::string(15, '\x00') + std::string("\x00", 1);
    j += std::string("\xff\xc4\x00\x14\x00", 5) + one_code;
    j += std::string("\xff\xc4\x00\x14\x10", 5) + one_code;
    j += std::string("\xff\xda\x00\x0e\x04", 5);  // SOS, 4 components
    for (char id = 1; id <= 4; ++id) j += std::string{id, '\x00'};
    j += std::string("\x00\x3f\x00", 3);
    j += std::string("\x00\xff\xd9", 3);  // 4 blocks x (DC 0, EOB) = 8 zero bits; EOI
    return j;
}

std::string decode_error(const std::string& bytes) {
    try {
        decode_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), ColorMode::rgb, "x");
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

// write_image into a folder that may not exist yet.
void put_image(const std::string& path, const Image& image) {
    fs::create_directories(fs::path(path).parent_path());
    write_image(path, image);
}

DatasetOptions small(BadImagePolicy policy = BadImagePolicy::skip) {
    DatasetOptions options;
    options.height = options.width = 16;
    options.threads = 1;
    options.quiet = true;
    options.on_bad_image = policy;
    return options;
}

}  // namespace

TEST_CASE("hostile: a 1x1 image decodes and resizes to any input size") {
    TempDir dir;
    put_image(dir / "good/one.png", kiln::test::pattern_image(1, 1, 3));
    const ImageDataset d = ImageDataset::image_folder(dir.path.string(), small());
    REQUIRE(d.size() == 1);
    const Image image = d.load(0);
    CHECK(image.height == 16);
    CHECK(image.width == 16);
}

TEST_CASE("hostile: a PNG header claiming 30000x30000 is refused before any allocation") {
    CHECK(decode_error(png_claiming(30000, 30000)) ==
          "kiln::Error: image: x: the header claims 30000x30000 pixels, more than kiln decodes (67108864 pixels, e.g. "
          "8192x8192); a corrupt file, or downscale it first");
    // A plausible size with the pixels missing: stb's own complaint, named.
    CHECK(decode_error(png_claiming(64, 64)).find("image: x: cannot decode, corrupt or truncated?") != std::string::npos);
}

TEST_CASE("hostile: 16-bit PNG keeps its precision") {
    TempDir dir;
    Image image(2, 3, 1);
    for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = float(i * 1001 + 1) / 65535.0f;
    write_png16(dir / "deep.png", image);
    ImageInfo info;
    const Image back = read_image(dir / "deep.png", ColorMode::keep, &info);
    CHECK(info.bit_depth == 16);
    for (size_t i = 0; i < image.pixels.size(); ++i) CHECK(back.pixels[i] == doctest::Approx(image.pixels[i]).epsilon(1e-6));
}

TEST_CASE("hostile: a CMYK JPEG (Adobe APP14) decodes to RGB") {
    const std::string bytes = cmyk_jpeg();
    ImageInfo info;
    const Image image = decode_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), ColorMode::keep,
                                     "cmyk.jpg", &info);
    CHECK(info.channels == 3);  // stb converts CMYK to RGB (C, M, Y scaled by K)
    CHECK(image.channels == 3);
    for (const float v : image.pixels) CHECK((v >= 0 && v <= 1));
    CHECK(image.height == 8);
}

TEST_CASE("hostile: an animated GIF is not read as an image, and a dataset ignores .gif files") {
    CHECK(decode_error(animated_gif()) == "kiln::Error: image: x: not a PNG/JPEG/BMP image (stb: \"unknown image type\")");
    TempDir dir;
    write_bytes(dir / "good/anim.gif", animated_gif());
    put_image(dir / "good/a.png", kiln::test::pattern_image(4, 4, 3));
    const ImageDataset d = ImageDataset::image_folder(dir.path.string(), small());
    CHECK(d.size() == 1);
    CHECK(d.report().ignored_files == 1);
    // Renamed to .png it is read, and skipped with the reason.
    write_bytes(dir / "good/anim.png", animated_gif());
    const ImageDataset renamed = ImageDataset::image_folder(dir.path.string(), small());
    CHECK(renamed.size() == 1);
    REQUIRE(renamed.report().skipped.size() == 1);
    CHECK(renamed.report().skipped[0].find("anim.png: not a PNG/JPEG/BMP image") != std::string::npos);
}

TEST_CASE("hostile: a truncated PNG is skipped with its name, or fails the open under on_bad_image = fail") {
    TempDir dir;
    put_image(dir / "good/whole.png", kiln::test::pattern_image(8, 8, 3));
    const std::string bytes = kiln::test::read_bytes(dir / "good/whole.png");
    write_bytes(dir / "good/cut.png", bytes.substr(0, bytes.size() / 2));
    const ImageDataset d = ImageDataset::image_folder(dir.path.string(), small());
    CHECK(d.size() == 1);
    REQUIRE(d.report().skipped.size() == 1);
    CHECK(d.report().skipped[0].find("cut.png: cannot decode, corrupt or truncated?") != std::string::npos);
    CHECK_THROWS_WITH_AS(ImageDataset::image_folder(dir.path.string(), small(BadImagePolicy::fail)),
                         doctest::Contains("1 of 2 images cannot be decoded (on_bad_image = fail)"), Error);
}

TEST_CASE("hostile: a directory named like an image is not a file") {
    TempDir dir;
    put_image(dir / "good/a.png", kiln::test::pattern_image(4, 4, 3));
    fs::create_directories(dir / "good/folder.png");
    const ImageDataset d = ImageDataset::image_folder(dir.path.string(), small());
    CHECK(d.size() == 1);
    CHECK_THROWS_WITH_AS(read_image(dir / "good/folder.png"), doctest::Contains("is a directory, not a file"), Error);
}

TEST_CASE("hostile: symlink loops (a file link to itself, a folder link to its parent) do not hang or crash") {
    TempDir dir;
    put_image(dir / "good/a.png", kiln::test::pattern_image(4, 4, 3));
    fs::create_symlink("loop.png", dir / "good/loop.png");  // ELOOP on open
    fs::create_directory_symlink("..", dir / "good/up");    // a cycle for anything that recurses
    const ImageDataset d = ImageDataset::image_folder(dir.path.string(), small());
    CHECK(d.size() == 1);
    REQUIRE(d.report().skipped.size() == 1);
    CHECK(d.report().skipped[0].find("loop.png: cannot open") != std::string::npos);
}

TEST_CASE("hostile: a file name that is not UTF-8 is listed, loaded and named byte for byte") {
    TempDir dir;
    const std::string name = "good/\xff\xfe caf\xe9.png";  // Latin-1 bytes, invalid UTF-8
    put_image(dir / name, kiln::test::pattern_image(4, 4, 3));
    put_image(dir / "good/b.png", kiln::test::pattern_image(4, 4, 3));
    const ImageDataset d = ImageDataset::image_folder(dir.path.string(), small());
    REQUIRE(d.size() == 2);
    CHECK(d.sample(1).id == "good/\xff\xfe caf\xe9.png");  // sorted by bytes: 0xff after 'b'
    CHECK(d.load(1).height == 16);
    // kiln train's split.json holds it (as hex: JSON strings are UTF-8) and
    // reads it back. **Fixed:** nlohmann::json threw "invalid UTF-8 byte" out
    // of save_split, so kiln train stopped on any such file name.
    const Split split = stratified_split(d, SplitRatios{1.0, 0.0, 0.0}, 1);
    save_split(dir / "split.json", split, d);
    CHECK(kiln::test::read_bytes(dir / "split.json").find("\"hex\": \"676f6f642f") != std::string::npos);
    const Split back = load_split(dir / "split.json", d, true);
    CHECK(back.train == split.train);
}

TEST_CASE("hostile: text that is not UTF-8 where kiln writes JSON is refused by name") {
    CHECK(is_valid_utf8("caf\xc3\xa9 \xf0\x9f\x94\xa5 plain"));
    for (const char* bad : {"\xff", "caf\xe9", "\xc0\xaf" /* overlong '/' */, "\xed\xa0\x80" /* surrogate */,
                            "\xe2\x82" /* cut */, "\xf4\x90\x80\x80" /* above U+10FFFF */, "\x80"})
        CHECK_MESSAGE(!is_valid_utf8(bad), bad);
    train::TrainConfig config;
    config.out = "runs/caf\xe9";
    CHECK_THROWS_WITH_AS(train::check_config(config), doctest::Contains("--out: \"runs/caf\xe9\" is not valid UTF-8"), Error);
    // A class folder's name goes into every checkpoint: refused before training.
    TempDir dir;
    for (int i = 0; i < 4; ++i) {
        put_image(dir / ("data/good/" + std::to_string(i) + ".png"), kiln::test::pattern_image(8, 8, 3));
        put_image(dir / ("data/caf\xe9/" + std::to_string(i) + ".png"), kiln::test::pattern_image(8, 8, 3));
    }
    config.data = dir / "data";
    config.out = dir / "run";
    config.size = 8;
    config.model = "tiny_cnn";
    CHECK_THROWS_WITH_AS(train::train(config), doctest::Contains("the class name \"caf\xe9\" is not valid UTF-8"), Error);
}

TEST_CASE("hostile: empty data sets say what is missing") {
    TempDir dir;
    fs::create_directories(dir.path / "root");
    CHECK_THROWS_WITH_AS(ImageDataset::image_folder(dir / "root", small()), doctest::Contains("no class subfolders"), Error);
    fs::create_directories(dir.path / "root/good");
    write_bytes(dir / "root/good/notes.txt", "x");
    CHECK_THROWS_WITH_AS(ImageDataset::image_folder(dir / "root", small()),
                         doctest::Contains("class folder has no PNG/JPEG/BMP images"), Error);
    write_bytes(dir / "list.csv", "path,label\n");
    CHECK_THROWS_WITH_AS(ImageDataset::csv(dir / "list.csv", small()), doctest::Contains("no rows"), Error);
    // Every image bad: nothing left to train on.
    write_bytes(dir / "root/good/bad.png", "not a png");
    CHECK_THROWS_WITH_AS(ImageDataset::image_folder(dir / "root", small()),
                         doctest::Contains("class \"good\" has no decodable images left"), Error);
}

TEST_CASE("hostile: a class with one image opens, a 3-way split says why it cannot, a train/val split works") {
    TempDir dir;
    for (int i = 0; i < 6; ++i) put_image(dir / ("good/" + std::to_string(i) + ".png"), kiln::test::pattern_image(4, 4, 3));
    put_image(dir / "scratch/only.png", kiln::test::pattern_image(4, 4, 3));
    const ImageDataset d = ImageDataset::image_folder(dir.path.string(), small());
    CHECK(d.class_counts() == std::vector<int64_t>{6, 1});
    CHECK_THROWS_WITH_AS(stratified_split(d, SplitRatios{}, 1),
                         doctest::Contains("split: class \"scratch\" has 1 image, too few for 3 splits"), Error);
    const Split split = stratified_split(d, SplitRatios{1.0, 0.0, 0.0}, 1);
    CHECK(split.train.size() == 7);
}

TEST_CASE("hostile: a CSV with a huge numeric label is refused instead of making a billion classes") {
    TempDir dir;
    write_bytes(dir / "list.csv", "a.png,0\nb.png,999999999\n");
    CHECK_THROWS_WITH_AS(ImageDataset::csv(dir / "list.csv", small()),
                         doctest::Contains("label 999999999 means 1000000000 classes"), Error);
}
