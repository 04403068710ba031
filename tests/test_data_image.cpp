// Image decode/encode, resize and crop, and the tensor layout.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include "data/image_io.h"
#include "data/resize.h"
#include "tests/data_util.h"

using namespace kiln;
using namespace kiln::data;
using kiln::test::TempDir;

namespace {

float max_abs_difference(const Image& a, const Image& b) {
    REQUIRE(a.pixels.size() == b.pixels.size());
    float worst = 0;
    for (size_t i = 0; i < a.pixels.size(); ++i) worst = std::max(worst, std::fabs(a.pixels[i] - b.pixels[i]));
    return worst;
}

Image quantised(const Image& image) { return to_float(to_u8(image)); }

std::string error_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("image io: PNG and BMP round-trip 8-bit gray and RGB exactly") {
    TempDir dir;
    for (int channels : {1, 3}) {
        const Image image = quantised(kiln::test::pattern_image(5, 7, channels));
        for (const char* ext : {".png", ".bmp"}) {
            const std::string path = dir / (std::string("a") + std::to_string(channels) + ext);
            write_image(path, image);
            ImageInfo info;
            // stb writes a gray BMP as 24-bit: ask for the channels rather than keep the file's.
            const Image back = read_image(path, channels == 1 ? ColorMode::gray : ColorMode::keep, &info);
            CHECK(back.channels == channels);
            CHECK(back.height == 5);
            CHECK(back.width == 7);
            CHECK(info.bit_depth == 8);
            CHECK(max_abs_difference(back, image) == 0);
        }
    }
}

TEST_CASE("image io: a top-down BMP (negative height in the header) reads upright with its height positive") {
    TempDir dir;
    const Image image = quantised(kiln::test::pattern_image(5, 7, 3));
    write_image(dir / "up.bmp", image);
    std::vector<uint8_t> bytes = read_file_bytes(dir / "up.bmp");
    REQUIRE(bytes.size() > 26);
    // BITMAPINFOHEADER height at byte 22, little-endian: 5 -> -5 keeps the
    // pixel rows, which now run top to bottom.
    const uint32_t minus_five = uint32_t(-5);
    for (int i = 0; i < 4; ++i) bytes[22 + i] = uint8_t(minus_five >> (8 * i));
    ImageInfo info;
    const Image back = decode_image(bytes.data(), bytes.size(), ColorMode::keep, "down.bmp", &info);
    CHECK(info.height == 5);
    CHECK(info.width == 7);
    CHECK(decode_image_info(bytes.data(), bytes.size(), "down.bmp").height == 5);
    REQUIRE(back.height == 5);
    for (int y = 0; y < 5; ++y)
        for (int x = 0; x < 7; ++x)
            for (int c = 0; c < 3; ++c) CHECK(back.at(y, x, c) == image.at(4 - y, x, c));

    // A height of 0, or -2^31 (no positive counterpart), is refused by name, decoded or not.
    for (const uint32_t height : {uint32_t(0), uint32_t(0x80000000u)}) {
        for (int i = 0; i < 4; ++i) bytes[22 + i] = uint8_t(height >> (8 * i));
        const std::string claims = "image: bad.bmp: the header claims 7x" + std::to_string(int32_t(height)) + " pixels";
        CHECK(error_of([&] { decode_image_info(bytes.data(), bytes.size(), "bad.bmp"); }).find(claims) != std::string::npos);
        CHECK(error_of([&] { decode_image(bytes.data(), bytes.size(), ColorMode::keep, "bad.bmp"); }).find(claims) !=
              std::string::npos);
    }
}

TEST_CASE("image io: 16-bit PNG keeps 16-bit precision") {
    TempDir dir;
    Image image(3, 4, 1);
    for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = float(1000 + 37 * i) / 65535.0f;
    write_png16(dir / "deep.png", image);
    const ImageInfo info = read_image_info(dir / "deep.png");
    CHECK(info.bit_depth == 16);
    const Image back = read_image(dir / "deep.png");
    // Finer than one 8-bit step (1/255): the values are 37/65535 apart.
    CHECK(max_abs_difference(back, image) < 1e-6f);
    CHECK(back.pixels[1] - back.pixels[0] == doctest::Approx(37.0 / 65535.0).epsilon(1e-3));

    Image rgb = kiln::test::pattern_image(20, 300, 3);  // > 65535 bytes of scanlines: several stored blocks
    write_png16(dir / "rgb16.png", rgb);
    CHECK(max_abs_difference(read_image(dir / "rgb16.png"), rgb) < 1e-5f);
}

TEST_CASE("image io: JPEG round-trip is close, color modes convert") {
    TempDir dir;
    Image flat(16, 16, 3);
    for (int y = 0; y < 16; ++y)
        for (int x = 0; x < 16; ++x) flat.at(y, x, 0) = 0.8f, flat.at(y, x, 1) = 0.4f, flat.at(y, x, 2) = 0.2f;
    write_image(dir / "f.jpg", flat);
    const Image back = read_image(dir / "f.jpg", ColorMode::rgb);
    CHECK(back.channels == 3);
    CHECK(max_abs_difference(back, flat) < 0.03f);
    const Image gray = read_image(dir / "f.jpg", ColorMode::gray);
    CHECK(gray.channels == 1);
    CHECK(gray.at(8, 8) == doctest::Approx(0.299 * 0.8 + 0.587 * 0.4 + 0.114 * 0.2).epsilon(0.05));
    write_image(dir / "g.png", to_gray(flat));
    const Image rgb = read_image(dir / "g.png", ColorMode::rgb);  // gray file asked as RGB: replicated
    CHECK(rgb.channels == 3);
    CHECK(rgb.at(3, 3, 0) == rgb.at(3, 3, 2));
}

TEST_CASE("image io: bad files are reported by name and reason, never a crash") {
    TempDir dir;
    write_image(dir / "good.png", kiln::test::pattern_image(32, 32, 3));
    write_image(dir / "good.jpg", kiln::test::pattern_image(32, 32, 3));
    const std::string png = kiln::test::read_bytes(dir / "good.png");
    const std::string jpg = kiln::test::read_bytes(dir / "good.jpg");
    kiln::test::write_bytes(dir / "empty.png", "");
    kiln::test::write_bytes(dir / "text.png", "this is not an image at all\n");
    kiln::test::write_bytes(dir / "truncated.png", png.substr(0, png.size() / 2));
    kiln::test::write_bytes(dir / "header_only.jpg", jpg.substr(0, 40));
    std::string corrupt = png;
    for (size_t i = 40; i < corrupt.size() - 20; ++i) corrupt[i] = char(0x5A);  // IDAT data garbled
    kiln::test::write_bytes(dir / "corrupt.png", corrupt);

    const std::string empty = error_of([&] { read_image(dir / "empty.png"); });
    CHECK(empty.find("empty.png: empty file (0 bytes)") != std::string::npos);
    const std::string text = error_of([&] { read_image(dir / "text.png"); });
    CHECK(text.find("kiln::Error: image: ") == 0);
    CHECK(text.find("text.png: not a PNG/JPEG/BMP image (stb: \"unknown image type\")") != std::string::npos);
    for (const char* name : {"truncated.png", "header_only.jpg", "corrupt.png"}) {
        const std::string message = error_of([&] { read_image(dir / name); });
        CAPTURE(name);
        CAPTURE(message);
        CHECK(message.find(name) != std::string::npos);
        CHECK(message.find("stb: ") != std::string::npos);
    }
    const std::string missing = error_of([&] { read_image(dir / "nope.png"); });
    CHECK(missing.find("nope.png: cannot open") != std::string::npos);
    const std::string folder = error_of([&] { read_image(dir.path.string()); });
    CHECK(folder.find("is a directory") != std::string::npos);
    const std::string bad_ext = error_of([&] { write_image(dir / "x.gif", kiln::test::pattern_image(2, 2, 1)); });
    CHECK(bad_ext.find("x.gif") != std::string::npos);
}

TEST_CASE("resize: a constant image stays constant, area shrink averages blocks exactly") {
    Image constant(9, 13, 3, 0.25f);
    for (Interpolation mode : {Interpolation::bilinear, Interpolation::area, Interpolation::nearest}) {
        for (auto [h, w] : {std::pair{4, 5}, std::pair{20, 31}}) {
            const Image r = resize(constant, h, w, mode);
            CHECK(r.height == h);
            CHECK(r.width == w);
            for (float v : r.pixels) CHECK(v == doctest::Approx(0.25f).epsilon(1e-6));
        }
    }
    // 4x4 -> 2x2 by area: each output is the mean of a 2x2 block.
    Image small(4, 4, 1);
    for (int i = 0; i < 16; ++i) small.pixels[static_cast<size_t>(i)] = float(i);
    const Image half = resize(small, 2, 2, Interpolation::area);
    CHECK(half.at(0, 0) == doctest::Approx((0 + 1 + 4 + 5) / 4.0));
    CHECK(half.at(1, 1) == doctest::Approx((10 + 11 + 14 + 15) / 4.0));
    // Bilinear shrink by an integer factor antialiases: it also averages (a
    // triangle of width 2 x factor), so a one-pixel line is not lost.
    Image line(64, 64, 1);
    for (int x = 0; x < 64; ++x) line.at(33, x) = 1;
    const Image shrunk = resize(line, 8, 8);
    float total = 0, brightest = 0;
    for (float v : shrunk.pixels) total += v, brightest = std::max(brightest, v);
    CHECK(total == doctest::Approx(1.0).epsilon(0.1));  // 64 lit of 4096 pixels -> mass 1 over 64 outputs
    CHECK(brightest < 0.2f);                            // spread, not sampled: nearest would give a row of 1s or 0s
    const Image sampled = resize(line, 8, 8, Interpolation::nearest);
    float sampled_total = 0;
    for (float v : sampled.pixels) sampled_total += v;
    CHECK((sampled_total == 0 || sampled_total == 8));
}

TEST_CASE("resize: bilinear enlarge interpolates a ramp linearly") {
    Image ramp(1, 4, 1);
    for (int x = 0; x < 4; ++x) ramp.at(0, x) = float(x);
    const Image wide = resize(ramp, 1, 8);
    // Output centres at (o + 0.5) / 2 - 0.5 in input pixels: -0.25, 0.25, 0.75, ... 3.25 (clamped at the ends).
    CHECK(wide.at(0, 0) == doctest::Approx(0.0));
    CHECK(wide.at(0, 1) == doctest::Approx(0.25));
    CHECK(wide.at(0, 2) == doctest::Approx(0.75));
    CHECK(wide.at(0, 6) == doctest::Approx(2.75));
    CHECK(wide.at(0, 7) == doctest::Approx(3.0));
}

TEST_CASE("center crop, pad and fit") {
    const Image image = kiln::test::pattern_image(10, 8, 1);
    const Image crop = center_crop(image, 4, 4);
    CHECK(crop.at(0, 0) == image.at(3, 2));
    CHECK(crop.at(3, 3) == image.at(6, 5));
    CHECK_THROWS_AS(center_crop(image, 11, 4), Error);
    const Image padded = pad_to(image, 12, 12);
    CHECK(padded.at(0, 0) == 0);
    CHECK(padded.at(1, 2) == image.at(0, 0));
    CHECK(resize_to_fit(image, 5, 5, Fit::stretch).width == 5);
    const Image cropped = resize_to_fit(image, 4, 4, Fit::crop);
    CHECK((cropped.height == 4 && cropped.width == 4));
    const Image fitted = resize_to_fit(Image(10, 20, 1, 1.0f), 10, 10, Fit::pad);
    CHECK(fitted.at(0, 5) == 0);   // padding above the 5-high image
    CHECK(fitted.at(5, 5) == doctest::Approx(1.0f));
}

TEST_CASE("to_tensor: CHW layout and per-channel normalisation") {
    const Image image = kiln::test::pattern_image(3, 4, 3);
    const Tensor t = to_tensor(image);
    CHECK(t.shape() == Shape{3, 3, 4});
    const std::vector<double> v = t.to_vector();
    CHECK(v[static_cast<size_t>(2 * 12 + 1 * 4 + 3)] == doctest::Approx(image.at(1, 3, 2)));
    const Tensor n = to_tensor(image, {0.5f, 0.5f, 0.5f}, {0.25f, 0.5f, 1.0f});
    CHECK(n.to_vector()[static_cast<size_t>(12 + 5)] == doctest::Approx((image.at(1, 1, 1) - 0.5) / 0.5));
    CHECK_THROWS_AS(to_tensor(image, {0.5f}, {1.0f}), Error);
}
