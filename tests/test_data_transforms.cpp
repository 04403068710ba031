// Each transform on small synthetic images, and augment()'s determinism.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "data/transforms.h"
#include "tests/data_util.h"

using namespace kiln;
using namespace kiln::data;

namespace {

Image single_pixel(int height, int width, int y, int x, int channels = 1) {
    Image image(height, width, channels);
    for (int c = 0; c < channels; ++c) image.at(y, x, c) = 1;
    return image;
}

// Position of the brightest pixel.
std::pair<int, int> brightest(const Image& image) {
    std::pair<int, int> best{0, 0};
    for (int y = 0; y < image.height; ++y)
        for (int x = 0; x < image.width; ++x)
            if (image.at(y, x) > image.at(best.first, best.second)) best = {y, x};
    return best;
}

bool identical(const Image& a, const Image& b) {
    return a.height == b.height && a.width == b.width && a.channels == b.channels && a.pixels == b.pixels;
}

}  // namespace

TEST_CASE("flips move a known pixel") {
    const Image image = single_pixel(5, 7, 1, 2);
    CHECK(brightest(hflip(image)) == std::pair{1, 4});
    CHECK(brightest(vflip(image)) == std::pair{3, 2});
    CHECK(identical(hflip(hflip(image)), image));
}

TEST_CASE("rotation by 90 degrees is exact, counter-clockwise, and four make the identity") {
    const Image image = kiln::test::pattern_image(6, 6, 3);
    const Image turned = rotate(image, 90);
    // Counter-clockwise: the top-right corner comes to the top-left.
    for (int c = 0; c < 3; ++c) CHECK(turned.at(0, 0, c) == image.at(0, 5, c));
    CHECK(turned.at(5, 0, 1) == image.at(0, 0, 1));
    CHECK(identical(rotate(rotate(rotate(turned, 90), 90), 90), image));
    CHECK(identical(rotate(image, -90), rotate(image, 270)));
    CHECK(identical(rotate(image, 180), hflip(vflip(image))));
    // Non-square: quarter turns swap the sides.
    const Image tall = rotate90(kiln::test::pattern_image(4, 7, 1), 1);
    CHECK((tall.height == 7 && tall.width == 4));
    // The general (resampling) path agrees with the exact one in direction:
    // a pixel right of centre goes above it.
    const Image dot = single_pixel(21, 21, 10, 16);
    CHECK(brightest(rotate(dot, 89.999)) == std::pair{4, 10});
    CHECK(brightest(rotate(dot, 90)) == std::pair{4, 10});
}

TEST_CASE("affine: translation by whole pixels shifts exactly, scale about the centre") {
    const Image dot = single_pixel(15, 15, 7, 7);
    const Image moved = affine(dot, 0, 3, -2, 1, 0);
    CHECK(brightest(moved) == std::pair{5, 10});
    CHECK(moved.at(5, 10) == doctest::Approx(1.0f));
    const Image grown = affine(single_pixel(15, 15, 7, 9), 0, 0, 0, 2, 0);  // 2 right of the centre -> 4 right
    CHECK(brightest(grown).second == 11);
    // Shear x by 45 degrees: a point 3 rows below the centre moves 3 to the right.
    const Image sheared = affine(single_pixel(15, 15, 10, 7), 0, 0, 0, 1, 45);
    CHECK(brightest(sheared) == std::pair{10, 10});
}

TEST_CASE("homography maps the four corners, and the identity warp changes nothing") {
    const double from[4][2] = {{0, 0}, {10, 0}, {10, 10}, {0, 10}};
    const double to[4][2] = {{1, 2}, {9, 1}, {8, 9}, {2, 8}};
    const Matrix3 h = homography(from, to);
    for (int i = 0; i < 4; ++i) {
        const double w = h.m[2][0] * from[i][0] + h.m[2][1] * from[i][1] + h.m[2][2];
        CHECK((h.m[0][0] * from[i][0] + h.m[0][1] * from[i][1] + h.m[0][2]) / w == doctest::Approx(to[i][0]));
        CHECK((h.m[1][0] * from[i][0] + h.m[1][1] * from[i][1] + h.m[1][2]) / w == doctest::Approx(to[i][1]));
    }
    const Image image = kiln::test::pattern_image(9, 11, 3);
    const Image same = warp(image, Matrix3{});
    for (size_t i = 0; i < image.pixels.size(); ++i) CHECK(same.pixels[i] == doctest::Approx(image.pixels[i]));
}

TEST_CASE("colour: brightness scales, zero saturation is gray, hue turns red into green") {
    Image red(2, 2, 3);
    for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 2; ++x) red.at(y, x, 0) = 0.8f, red.at(y, x, 1) = 0.1f, red.at(y, x, 2) = 0.1f;
    CHECK(adjust_brightness(red, 0.5f).at(0, 0, 0) == doctest::Approx(0.4f));
    CHECK(adjust_brightness(red, 2.0f).at(0, 0, 0) == doctest::Approx(1.0f));  // clamped
    const Image gray = adjust_saturation(red, 0);
    CHECK(gray.at(1, 1, 0) == doctest::Approx(gray.at(1, 1, 2)));
    CHECK(gray.at(1, 1, 0) == doctest::Approx(0.299 * 0.8 + 0.587 * 0.1 + 0.114 * 0.1));
    const Image green = adjust_hue(red, 1.0f / 3.0f);
    CHECK(green.at(0, 0, 1) == doctest::Approx(0.8f));
    CHECK(green.at(0, 0, 0) == doctest::Approx(0.1f));
    // Contrast 0 flattens to the mean luma; 1 changes nothing.
    const Image pattern = kiln::test::pattern_image(4, 4, 1);
    const Image flat = adjust_contrast(pattern, 0);
    CHECK(flat.at(0, 0) == doctest::Approx(flat.at(3, 3)));
    CHECK(identical(adjust_contrast(pattern, 1), pattern));
    const Image g = grayscale_keep_channels(red);
    CHECK(g.channels == 3);
    CHECK(g.at(0, 0, 0) == doctest::Approx(g.at(0, 0, 1)));
}

TEST_CASE("blur keeps a constant image and spreads a dot, noise has the asked std") {
    const Image constant(8, 8, 1, 0.3f);
    for (float v : gaussian_blur(constant, 1.5f).pixels) CHECK(v == doctest::Approx(0.3f));
    const Image spread = gaussian_blur(single_pixel(11, 11, 5, 5), 1.0f);
    CHECK(spread.at(5, 5) < 0.2f);
    CHECK(spread.at(5, 6) > 0.05f);
    float total = 0;
    for (float v : spread.pixels) total += v;
    CHECK(total == doctest::Approx(1.0f).epsilon(1e-4));

    Image noisy(64, 64, 1, 0.5f);
    SampleRng rng(42, 0);
    add_gaussian_noise(noisy, 0.05f, rng);
    double sum = 0, square = 0;
    for (float v : noisy.pixels) sum += v, square += double(v) * v;
    const double mean = sum / 4096, std = std::sqrt(square / 4096 - mean * mean);
    CHECK(mean == doctest::Approx(0.5).epsilon(0.01));
    CHECK(std == doctest::Approx(0.05).epsilon(0.1));
}

TEST_CASE("random erasing: one rectangle of 2-15 % of the area, inside the image") {
    AugmentConfig config;
    config.erase_p = 1;
    config.erase_value = 1;  // on a black image the erased pixels are exactly the white ones
    const Image black(40, 50, 1);
    int erased_images = 0;
    for (uint64_t position = 0; position < 200; ++position) {
        SampleRng rng(7, position);
        const Image out = augment(black, config, rng);
        int top = 1 << 30, bottom = -1, left = 1 << 30, right = -1, count = 0;
        for (int y = 0; y < out.height; ++y)
            for (int x = 0; x < out.width; ++x)
                if (out.at(y, x) == 1.0f) {
                    ++count;
                    top = std::min(top, y), bottom = std::max(bottom, y);
                    left = std::min(left, x), right = std::max(right, x);
                }
        if (count == 0) continue;  // no rectangle fitted in 10 attempts (allowed, as in torchvision)
        ++erased_images;
        CHECK(count == (bottom - top + 1) * (right - left + 1));  // a filled rectangle
        const double fraction = double(count) / (40 * 50);
        CHECK(fraction >= 0.02 * 0.8);   // rounding the sides of a small rectangle
        CHECK(fraction <= 0.15 * 1.2);
    }
    CHECK(erased_images > 180);
    config.erase_p = 0.3f;
    int hits = 0;
    for (uint64_t position = 0; position < 1000; ++position) {
        SampleRng rng(8, position);
        const Image out = augment(black, config, rng);
        hits += std::any_of(out.pixels.begin(), out.pixels.end(), [](float v) { return v > 0; });
    }
    CHECK(hits == doctest::Approx(300).epsilon(0.2));
    Image image(4, 4, 1);
    CHECK_THROWS_AS(erase(image, 2, 2, 3, 1, 0), Error);
}

TEST_CASE("normalisation: channel statistics give mean 0 and std 1") {
    Image image = kiln::test::pattern_image(16, 16, 3);
    std::vector<float> mean(3, 0), std(3, 0);
    for (size_t i = 0; i < image.pixels.size(); ++i) mean[i % 3] += image.pixels[i] / 256;
    for (size_t i = 0; i < image.pixels.size(); ++i)
        std[i % 3] += (image.pixels[i] - mean[i % 3]) * (image.pixels[i] - mean[i % 3]) / 256;
    for (float& s : std) s = std::sqrt(s);
    normalize(image, mean, std);
    for (int c = 0; c < 3; ++c) {
        double m = 0, v = 0;
        for (int y = 0; y < 16; ++y)
            for (int x = 0; x < 16; ++x) m += image.at(y, x, c) / 256.0;
        for (int y = 0; y < 16; ++y)
            for (int x = 0; x < 16; ++x) v += (image.at(y, x, c) - m) * (image.at(y, x, c) - m) / 256.0;
        CHECK(m == doctest::Approx(0).scale(1));
        CHECK(std::sqrt(v) == doctest::Approx(1).epsilon(1e-4));
    }
    CHECK_THROWS_AS(normalize(image, {0.5f}, {0.2f}), Error);
    CHECK_THROWS_AS(normalize(image, {0, 0, 0}, {1, 0, 1}), Error);
}

TEST_CASE("augment: same stream, same image, another position, another image, all presets parse") {
    const Image image = kiln::test::pattern_image(32, 32, 3);
    const AugmentConfig standard = augment_preset("standard");
    SampleRng a(123, 5), b(123, 5), c(123, 6);
    const Image first = augment(image, standard, a);
    CHECK(identical(first, augment(image, standard, b)));
    CHECK(!identical(first, augment(image, standard, c)));
    for (float v : first.pixels) CHECK((v >= 0 && v <= 1));
    SampleRng none_rng(1, 1);
    CHECK(identical(augment(image, AugmentConfig{}, none_rng), image));
    for (const char* name : {"none", "light", "standard", "round"}) CHECK_NOTHROW(augment_preset(name));
    const AugmentConfig custom = parse_augment("standard:rotate_degrees=45,erase_p=0");
    CHECK(custom.rotate_degrees == 45);
    CHECK(custom.erase_p == 0);
    CHECK(custom.brightness == doctest::Approx(0.4f));
    CHECK_THROWS_WITH_AS(parse_augment("standard:rotate=45"), doctest::Contains("unknown setting \"rotate\""), Error);
    CHECK_THROWS_WITH_AS(parse_augment("standard:erase_p=2"), doctest::Contains("erase_p"), Error);
    CHECK_THROWS_WITH_AS(parse_augment("fancy"), doctest::Contains("unknown preset"), Error);
    // The perspective step alone moves pixels but keeps the size.
    AugmentConfig perspective;
    perspective.perspective_p = 1, perspective.perspective_distortion = 0.2f;
    SampleRng p(3, 3);
    const Image warped = augment(image, perspective, p);
    CHECK((warped.height == 32 && warped.width == 32));
    CHECK(!identical(warped, image));
}

TEST_CASE("per-class policy: defect classes get the milder recipe") {
    const AugmentPolicy policy = good_and_defect_policy({"broken", "good", "scratch"}, augment_preset("standard"),
                                                        augment_preset("light"));
    CHECK(policy.for_class(1).rotate_degrees == 20);   // good: standard
    CHECK(policy.for_class(0).rotate_degrees == 0);    // defects: flips only
    CHECK(policy.for_class(2).vflip_p == doctest::Approx(0.5f));
}
