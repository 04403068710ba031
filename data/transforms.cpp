#include "data/transforms.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <sstream>
#include <utility>

#include "data/dataset.h"

namespace kiln::data {

namespace {

constexpr double pi = 3.14159265358979323846;
constexpr float luma_r = 0.299f, luma_g = 0.587f, luma_b = 0.114f;  // BT.601, as in image.cpp
constexpr int erase_attempts = 10;  // torchvision's: tries to fit the rectangle, else no erasing

double radians(double degrees) { return degrees * pi / 180.0; }

Image blank_like(const Image& image, int height, int width) { return Image(height, width, image.channels); }

void clamp01(Image& image) {
    for (float& v : image.pixels) v = std::clamp(v, 0.0f, 1.0f);
}

float luma(const Image& image, size_t pixel) {
    const float* p = &image.pixels[pixel * static_cast<size_t>(image.channels)];
    return image.channels == 1 ? p[0] : luma_r * p[0] + luma_g * p[1] + luma_b * p[2];
}

// out = a * x + (1 - a) * other, clamped
Image blend(const Image& image, float factor, const std::vector<float>& other_per_pixel, bool per_pixel,
            float other_scalar) {
    Image out = image;
    const size_t c = static_cast<size_t>(image.channels);
    for (size_t i = 0; i < out.pixels.size(); ++i) {
        const float o = per_pixel ? other_per_pixel[i / c] : other_scalar;
        out.pixels[i] = std::clamp(factor * image.pixels[i] + (1.0f - factor) * o, 0.0f, 1.0f);
    }
    return out;
}

// RGB <-> HSV, all in [0, 1].
void rgb_to_hsv(float r, float g, float b, float& h, float& s, float& v) {
    const float mx = std::max({r, g, b}), mn = std::min({r, g, b}), d = mx - mn;
    v = mx;
    s = mx > 0 ? d / mx : 0;
    if (d <= 0) {
        h = 0;
        return;
    }
    if (mx == r) h = (g - b) / d;
    else if (mx == g) h = 2 + (b - r) / d;
    else h = 4 + (r - g) / d;
    h /= 6;
    if (h < 0) h += 1;
}

void hsv_to_rgb(float h, float s, float v, float& r, float& g, float& b) {
    const float h6 = h * 6;
    const int sector = int(std::floor(h6)) % 6;
    const float f = h6 - std::floor(h6);
    const float p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    switch (sector) {
    case 0: r = v, g = t, b = p; break;
    case 1: r = q, g = v, b = p; break;
    case 2: r = p, g = v, b = t; break;
    case 3: r = p, g = q, b = v; break;
    case 4: r = t, g = p, b = v; break;
    default: r = v, g = p, b = q; break;
    }
}

int reflect(int i, int n) {  // ... 2 1 | 0 1 2 ... n-1 | n-2 ...
    if (n == 1) return 0;
    const int period = 2 * (n - 1);
    i %= period;
    if (i < 0) i += period;
    return i < n ? i : period - i;
}

}  // namespace

// ---- flips and quarter turns ------------------------------------------------------

Image hflip(const Image& image) {
    Image out = blank_like(image, image.height, image.width);
    for (int y = 0; y < image.height; ++y)
        for (int x = 0; x < image.width; ++x)
            for (int c = 0; c < image.channels; ++c) out.at(y, x, c) = image.at(y, image.width - 1 - x, c);
    return out;
}

Image vflip(const Image& image) {
    Image out = blank_like(image, image.height, image.width);
    const size_t row = static_cast<size_t>(image.width) * static_cast<size_t>(image.channels);
    for (int y = 0; y < image.height; ++y) std::copy_n(&image.at(image.height - 1 - y, 0, 0), row, &out.at(y, 0, 0));
    return out;
}

Image rotate90(const Image& image, int quarter_turns) {
    const int k = ((quarter_turns % 4) + 4) % 4;
    if (k == 0) return image;
    if (k == 2) return hflip(vflip(image));
    const int H = image.height, W = image.width;
    Image out = blank_like(image, W, H);
    for (int y = 0; y < W; ++y)
        for (int x = 0; x < H; ++x)
            for (int c = 0; c < image.channels; ++c)
                // k = 1 (counter-clockwise): the top-right corner comes to the top-left.
                out.at(y, x, c) = k == 1 ? image.at(x, W - 1 - y, c) : image.at(H - 1 - x, y, c);
    return out;
}

// ---- warps -------------------------------------------------------------------------

Matrix3 multiply(const Matrix3& a, const Matrix3& b) {
    Matrix3 r;
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) {
            r.m[i][j] = 0;
            for (int k = 0; k < 3; ++k) r.m[i][j] += a.m[i][k] * b.m[k][j];
        }
    return r;
}

Matrix3 inverse(const Matrix3& a) {
    const auto& m = a.m;
    const double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
                       m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
                       m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    KILN_CHECK(std::fabs(det) > 1e-12, "warp: the transform is singular (determinant ", det, ")");
    Matrix3 r;
    r.m[0][0] = (m[1][1] * m[2][2] - m[1][2] * m[2][1]) / det;
    r.m[0][1] = (m[0][2] * m[2][1] - m[0][1] * m[2][2]) / det;
    r.m[0][2] = (m[0][1] * m[1][2] - m[0][2] * m[1][1]) / det;
    r.m[1][0] = (m[1][2] * m[2][0] - m[1][0] * m[2][2]) / det;
    r.m[1][1] = (m[0][0] * m[2][2] - m[0][2] * m[2][0]) / det;
    r.m[1][2] = (m[0][2] * m[1][0] - m[0][0] * m[1][2]) / det;
    r.m[2][0] = (m[1][0] * m[2][1] - m[1][1] * m[2][0]) / det;
    r.m[2][1] = (m[0][1] * m[2][0] - m[0][0] * m[2][1]) / det;
    r.m[2][2] = (m[0][0] * m[1][1] - m[0][1] * m[1][0]) / det;
    return r;
}

Matrix3 affine_matrix(double angle_degrees, double tx, double ty, double scale, double shear_x_degrees,
                      double shear_y_degrees, double center_x, double center_y) {
    // Counter-clockwise on screen (y down): x' = cos dx + sin dy, y' = -sin dx + cos dy.
    const double a = radians(angle_degrees), c = std::cos(a), s = std::sin(a);
    Matrix3 to_origin, rotation, shear, scaling, back;
    to_origin.m[0][2] = -center_x, to_origin.m[1][2] = -center_y;
    scaling.m[0][0] = scale, scaling.m[1][1] = scale;
    shear.m[0][1] = std::tan(radians(shear_x_degrees));
    shear.m[1][0] = std::tan(radians(shear_y_degrees));
    rotation.m[0][0] = c, rotation.m[0][1] = s, rotation.m[1][0] = -s, rotation.m[1][1] = c;
    back.m[0][2] = center_x + tx, back.m[1][2] = center_y + ty;
    return multiply(back, multiply(rotation, multiply(shear, multiply(scaling, to_origin))));
}

Matrix3 homography(const double from[4][2], const double to[4][2]) {
    // Solve the 8x8 system for h (h33 = 1): u = (h0 x + h1 y + h2) / (h6 x + h7 y + 1), same for v.
    double a[8][9] = {};
    for (int i = 0; i < 4; ++i) {
        const double x = from[i][0], y = from[i][1], u = to[i][0], v = to[i][1];
        double* r0 = a[2 * i];
        double* r1 = a[2 * i + 1];
        r0[0] = x, r0[1] = y, r0[2] = 1, r0[6] = -u * x, r0[7] = -u * y, r0[8] = u;
        r1[3] = x, r1[4] = y, r1[5] = 1, r1[6] = -v * x, r1[7] = -v * y, r1[8] = v;
    }
    for (int col = 0; col < 8; ++col) {  // Gaussian elimination, partial pivoting
        int pivot = col;
        for (int r = col + 1; r < 8; ++r)
            if (std::fabs(a[r][col]) > std::fabs(a[pivot][col])) pivot = r;
        KILN_CHECK(std::fabs(a[pivot][col]) > 1e-12, "homography: degenerate corner points");
        std::swap(a[col], a[pivot]);
        for (int r = 0; r < 8; ++r) {
            if (r == col) continue;
            const double f = a[r][col] / a[col][col];
            for (int k = col; k < 9; ++k) a[r][k] -= f * a[col][k];
        }
    }
    Matrix3 h;
    for (int i = 0; i < 8; ++i) h.m[i / 3][i % 3] = a[i][8] / a[i][i];
    h.m[2][2] = 1;
    return h;
}

Image warp(const Image& image, const Matrix3& source_of_output, float fill) {
    Image out = blank_like(image, image.height, image.width);
    const auto& m = source_of_output.m;
    const int C = image.channels;
    for (int y = 0; y < image.height; ++y) {
        for (int x = 0; x < image.width; ++x) {
            const double px = x + 0.5, py = y + 0.5;
            const double w = m[2][0] * px + m[2][1] * py + m[2][2];
            const double sx = (m[0][0] * px + m[0][1] * py + m[0][2]) / w - 0.5;
            const double sy = (m[1][0] * px + m[1][1] * py + m[1][2]) / w - 0.5;
            const int x0 = int(std::floor(sx)), y0 = int(std::floor(sy));
            const float fx = float(sx - x0), fy = float(sy - y0);
            for (int c = 0; c < C; ++c) {
                auto tap = [&](int yy, int xx) {
                    return (yy < 0 || xx < 0 || yy >= image.height || xx >= image.width) ? fill : image.at(yy, xx, c);
                };
                const float top = tap(y0, x0) * (1 - fx) + tap(y0, x0 + 1) * fx;
                const float bottom = tap(y0 + 1, x0) * (1 - fx) + tap(y0 + 1, x0 + 1) * fx;
                out.at(y, x, c) = top * (1 - fy) + bottom * fy;
            }
        }
    }
    return out;
}

Image rotate(const Image& image, double angle_degrees, float fill) {
    const double turns = angle_degrees / 90.0;
    if (turns == std::round(turns) && (image.height == image.width || int64_t(std::round(turns)) % 2 == 0))
        return rotate90(image, int(int64_t(std::round(turns)) % 4));
    return affine(image, angle_degrees, 0, 0, 1, 0, 0, fill);
}

Image affine(const Image& image, double angle_degrees, double translate_x, double translate_y, double scale,
             double shear_x_degrees, double shear_y_degrees, float fill) {
    KILN_CHECK(scale > 0, "affine: scale must be positive, got ", scale);
    const Matrix3 forward = affine_matrix(angle_degrees, translate_x, translate_y, scale, shear_x_degrees,
                                          shear_y_degrees, image.width / 2.0, image.height / 2.0);
    return warp(image, inverse(forward), fill);
}

// ---- colour ------------------------------------------------------------------------

Image adjust_brightness(const Image& image, float factor) {
    Image out = image;
    for (float& v : out.pixels) v = std::clamp(v * factor, 0.0f, 1.0f);
    return out;
}

Image adjust_contrast(const Image& image, float factor) {
    const size_t n = static_cast<size_t>(image.height) * static_cast<size_t>(image.width);
    double mean = 0;
    for (size_t i = 0; i < n; ++i) mean += luma(image, i);
    return blend(image, factor, {}, false, float(mean / double(n)));
}

Image adjust_saturation(const Image& image, float factor) {
    if (image.channels == 1) return image;
    const size_t n = static_cast<size_t>(image.height) * static_cast<size_t>(image.width);
    std::vector<float> gray(n);
    for (size_t i = 0; i < n; ++i) gray[i] = luma(image, i);
    return blend(image, factor, gray, true, 0);
}

Image adjust_hue(const Image& image, float shift) {
    if (image.channels == 1 || shift == 0) return image;
    Image out = image;
    const size_t n = static_cast<size_t>(image.height) * static_cast<size_t>(image.width);
    const size_t c = static_cast<size_t>(image.channels);
    for (size_t i = 0; i < n; ++i) {
        float* p = &out.pixels[i * c];
        float h, s, v;
        rgb_to_hsv(p[0], p[1], p[2], h, s, v);
        h += shift;
        h -= std::floor(h);
        hsv_to_rgb(h, s, v, p[0], p[1], p[2]);
    }
    return out;
}

Image grayscale_keep_channels(const Image& image) {
    Image out = image;
    const size_t n = static_cast<size_t>(image.height) * static_cast<size_t>(image.width);
    const size_t c = static_cast<size_t>(image.channels);
    for (size_t i = 0; i < n; ++i) {
        const float g = luma(image, i);
        for (size_t k = 0; k < c; ++k) out.pixels[i * c + k] = g;
    }
    return out;
}

Image gaussian_blur(const Image& image, float sigma) {
    KILN_CHECK(sigma > 0, "gaussian_blur: sigma must be positive, got ", sigma);
    const int radius = std::max(1, int(std::ceil(3 * sigma)));
    std::vector<float> kernel(static_cast<size_t>(2 * radius + 1));
    float total = 0;
    for (int i = -radius; i <= radius; ++i)
        total += kernel[static_cast<size_t>(i + radius)] = std::exp(-0.5f * float(i * i) / (sigma * sigma));
    for (float& k : kernel) k /= total;
    const int C = image.channels;
    Image rows = blank_like(image, image.height, image.width), out = blank_like(image, image.height, image.width);
    for (int y = 0; y < image.height; ++y)
        for (int x = 0; x < image.width; ++x)
            for (int c = 0; c < C; ++c) {
                float sum = 0;
                for (int i = -radius; i <= radius; ++i)
                    sum += kernel[static_cast<size_t>(i + radius)] * image.at(y, reflect(x + i, image.width), c);
                rows.at(y, x, c) = sum;
            }
    for (int y = 0; y < image.height; ++y)
        for (int x = 0; x < image.width; ++x)
            for (int c = 0; c < C; ++c) {
                float sum = 0;
                for (int i = -radius; i <= radius; ++i)
                    sum += kernel[static_cast<size_t>(i + radius)] * rows.at(reflect(y + i, image.height), x, c);
                out.at(y, x, c) = sum;
            }
    return out;
}

void erase(Image& image, int top, int left, int height, int width, float value, SampleRng* rng) {
    KILN_CHECK(top >= 0 && left >= 0 && height >= 0 && width >= 0 && top + height <= image.height &&
                   left + width <= image.width,
               "erase: rectangle at (", top, ", ", left, ") of ", height, "x", width, " is outside the ", image.height,
               "x", image.width, " image");
    KILN_CHECK(value >= 0 || rng, "erase: noise fill needs a random stream");
    for (int y = top; y < top + height; ++y)
        for (int x = left; x < left + width; ++x)
            for (int c = 0; c < image.channels; ++c) image.at(y, x, c) = value >= 0 ? value : rng->uniform();
}

void add_gaussian_noise(Image& image, float std, SampleRng& rng) {
    for (float& v : image.pixels) v = std::clamp(v + std * rng.normal(), 0.0f, 1.0f);
}

void normalize(Image& image, const std::vector<float>& mean, const std::vector<float>& std) {
    const size_t c = static_cast<size_t>(image.channels);
    KILN_CHECK(mean.size() == c && std.size() == c, "normalize: ", mean.size(), " means and ", std.size(),
               " stds for an image of ", c, " channels");
    for (size_t k = 0; k < c; ++k) KILN_CHECK(std[k] > 0, "normalize: std[", k, "] = ", std[k], " must be positive");
    for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = (image.pixels[i] - mean[i % c]) / std[i % c];
}

// ---- augmentation -----------------------------------------------------------------------

bool AugmentConfig::geometric() const {
    return rotate_degrees > 0 || translate > 0 || scale_min != 1 || scale_max != 1 || shear_degrees > 0 ||
           (perspective_p > 0 && perspective_distortion > 0);
}

namespace {

// Every field by name, for parse_augment and describe.
const std::vector<std::pair<const char*, float AugmentConfig::*>>& fields() {
    static const std::vector<std::pair<const char*, float AugmentConfig::*>> table = {
        {"hflip_p", &AugmentConfig::hflip_p},
        {"vflip_p", &AugmentConfig::vflip_p},
        {"rotate90_p", &AugmentConfig::rotate90_p},
        {"rotate_degrees", &AugmentConfig::rotate_degrees},
        {"translate", &AugmentConfig::translate},
        {"scale_min", &AugmentConfig::scale_min},
        {"scale_max", &AugmentConfig::scale_max},
        {"shear_degrees", &AugmentConfig::shear_degrees},
        {"perspective_p", &AugmentConfig::perspective_p},
        {"perspective_distortion", &AugmentConfig::perspective_distortion},
        {"brightness", &AugmentConfig::brightness},
        {"contrast", &AugmentConfig::contrast},
        {"saturation", &AugmentConfig::saturation},
        {"hue", &AugmentConfig::hue},
        {"grayscale_p", &AugmentConfig::grayscale_p},
        {"blur_p", &AugmentConfig::blur_p},
        {"blur_sigma_min", &AugmentConfig::blur_sigma_min},
        {"blur_sigma_max", &AugmentConfig::blur_sigma_max},
        {"noise_p", &AugmentConfig::noise_p},
        {"noise_std", &AugmentConfig::noise_std},
        {"erase_p", &AugmentConfig::erase_p},
        {"erase_area_min", &AugmentConfig::erase_area_min},
        {"erase_area_max", &AugmentConfig::erase_area_max},
        {"erase_aspect_min", &AugmentConfig::erase_aspect_min},
        {"erase_value", &AugmentConfig::erase_value},
        {"fill", &AugmentConfig::fill},
    };
    return table;
}

void validate(const AugmentConfig& c) {
    auto probability = [](const char* name, float p) {
        KILN_CHECK(p >= 0 && p <= 1, "augment: ", name, " = ", p, " is not a probability in [0, 1]");
    };
    probability("hflip_p", c.hflip_p), probability("vflip_p", c.vflip_p), probability("rotate90_p", c.rotate90_p);
    probability("perspective_p", c.perspective_p), probability("grayscale_p", c.grayscale_p);
    probability("blur_p", c.blur_p), probability("noise_p", c.noise_p), probability("erase_p", c.erase_p);
    KILN_CHECK(c.rotate_degrees >= 0 && c.translate >= 0 && c.translate <= 1 && c.shear_degrees >= 0 &&
                   c.shear_degrees < 90,
               "augment: rotate_degrees, translate (<= 1) and shear_degrees (< 90) must be >= 0");
    KILN_CHECK(c.scale_min > 0 && c.scale_min <= c.scale_max, "augment: need 0 < scale_min <= scale_max, got ",
               c.scale_min, " and ", c.scale_max);
    KILN_CHECK(c.perspective_distortion >= 0 && c.perspective_distortion <= 1,
               "augment: perspective_distortion must be in [0, 1], got ", c.perspective_distortion);
    KILN_CHECK(c.brightness >= 0 && c.contrast >= 0 && c.saturation >= 0 && c.hue >= 0 && c.hue <= 0.5f,
               "augment: colour jitter strengths must be >= 0 (hue <= 0.5)");
    KILN_CHECK(c.blur_sigma_min > 0 && c.blur_sigma_min <= c.blur_sigma_max,
               "augment: need 0 < blur_sigma_min <= blur_sigma_max");
    KILN_CHECK(c.noise_std >= 0, "augment: noise_std must be >= 0");
    KILN_CHECK(c.erase_area_min > 0 && c.erase_area_min <= c.erase_area_max && c.erase_area_max < 1,
               "augment: need 0 < erase_area_min <= erase_area_max < 1, got ", c.erase_area_min, " and ",
               c.erase_area_max);
    KILN_CHECK(c.erase_aspect_min > 0 && c.erase_aspect_min <= 1, "augment: erase_aspect_min must be in (0, 1]");
    KILN_CHECK(c.erase_value <= 1, "augment: erase_value must be <= 1 (negative: noise)");
}

}  // namespace

AugmentConfig augment_preset(const std::string& name) {
    AugmentConfig c;
    if (name == "none") return c;
    if (name == "light") {
        c.hflip_p = 0.5f, c.vflip_p = 0.5f;
        return c;
    }
    if (name == "standard") {
        c.hflip_p = 0.5f;
        c.rotate_degrees = 20;
        c.translate = 0.15f;
        c.scale_min = 0.85f, c.scale_max = 1.15f;
        c.perspective_p = 0.3f, c.perspective_distortion = 0.2f;
        c.brightness = 0.4f, c.contrast = 0.4f, c.saturation = 0.3f, c.hue = 0.15f;
        c.grayscale_p = 0.1f;
        c.erase_p = 0.3f, c.erase_area_min = 0.02f, c.erase_area_max = 0.15f;
        return c;
    }
    if (name == "round") {
        c.hflip_p = 0.5f, c.vflip_p = 0.5f;
        c.rotate90_p = 0.75f;  // with the flips: all 8 symmetries of the square, exact
        c.rotate_degrees = 45;  // ... and any angle in between
        c.brightness = 0.2f, c.contrast = 0.2f;
        return c;
    }
    fail("augment: unknown preset \"", name, "\" (none, light, standard, round)");
}

std::vector<std::string> augment_field_names() {
    std::vector<std::string> names;
    for (const auto& [name, member] : fields()) names.emplace_back(name);
    return names;
}

AugmentConfig parse_augment(const std::string& spec) {
    const size_t colon = spec.find(':');
    AugmentConfig config = augment_preset(spec.substr(0, colon));
    if (colon == std::string::npos) return config;
    std::stringstream items(spec.substr(colon + 1));
    std::string item;
    while (std::getline(items, item, ',')) {
        const size_t eq = item.find('=');
        KILN_CHECK(eq != std::string::npos, "augment: \"", item, "\" in \"", spec, "\" is not key=value");
        const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
        auto field = std::find_if(fields().begin(), fields().end(), [&](const auto& f) { return key == f.first; });
        KILN_CHECK(field != fields().end(), "augment: unknown setting \"", key, "\" (known: ", [] {
            std::string all;
            for (const auto& f : fields()) all += (all.empty() ? "" : ", ") + std::string(f.first);
            return all;
        }(), ")");
        size_t used = 0;
        float number = 0;
        try {
            number = std::stof(value, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        KILN_CHECK(used == value.size() && used > 0, "augment: ", key, " = \"", value, "\" is not a number");
        config.*(field->second) = number;
    }
    validate(config);
    return config;
}

std::string describe(const AugmentConfig& config) {
    const AugmentConfig defaults;
    std::string out;
    for (const auto& [name, member] : fields()) {
        if (config.*member == defaults.*member) continue;
        out += kiln::str(out.empty() ? "" : ", ", name, "=", config.*member);
    }
    return out.empty() ? "none" : out;
}

Image augment(const Image& input, const AugmentConfig& c, SampleRng& rng) {
    validate(c);
    Image image = input;
    // 1. Exact steps: flips and quarter turns (no resampling).
    if (rng.bernoulli(c.hflip_p)) image = hflip(image);
    if (rng.bernoulli(c.vflip_p)) image = vflip(image);
    if (rng.bernoulli(c.rotate90_p)) {
        const int turns = 1 + int(rng.below(3));
        image = rotate90(image, image.height == image.width ? turns : 2);
    }
    // 2. One warp: affine (rotation, translation, scale, shear) then perspective,
    //    composed so the image is resampled once.
    if (c.geometric()) {
        const double W = image.width, H = image.height;
        const double angle = c.rotate_degrees > 0 ? rng.uniform(-c.rotate_degrees, c.rotate_degrees) : 0.0;
        const double tx = c.translate > 0 ? rng.uniform(-c.translate, c.translate) * W : 0.0;
        const double ty = c.translate > 0 ? rng.uniform(-c.translate, c.translate) * H : 0.0;
        const double scale = c.scale_max > c.scale_min ? rng.uniform(c.scale_min, c.scale_max) : c.scale_min;
        const double shear = c.shear_degrees > 0 ? rng.uniform(-c.shear_degrees, c.shear_degrees) : 0.0;
        Matrix3 source_of_output = inverse(affine_matrix(angle, tx, ty, scale, shear, 0, W / 2, H / 2));
        if (c.perspective_distortion > 0 && rng.bernoulli(c.perspective_p)) {
            // torchvision's RandomPerspective: each corner moves inward by up to d * half the size.
            const double dx = c.perspective_distortion * W / 2, dy = c.perspective_distortion * H / 2;
            const double corners[4][2] = {{0, 0}, {W, 0}, {W, H}, {0, H}};
            const double sign[4][2] = {{1, 1}, {-1, 1}, {-1, -1}, {1, -1}};
            double moved[4][2];
            for (int i = 0; i < 4; ++i) {
                moved[i][0] = corners[i][0] + sign[i][0] * rng.uniform(0, 1) * dx;
                moved[i][1] = corners[i][1] + sign[i][1] * rng.uniform(0, 1) * dy;
            }
            // output point -> before perspective -> before affine
            source_of_output = multiply(source_of_output, homography(moved, corners));
        }
        image = warp(image, source_of_output, c.fill);
    }
    // 3. Colour jitter in a random order (as torchvision's ColorJitter).
    std::array<int, 4> order = {0, 1, 2, 3};
    for (int i = 3; i > 0; --i) std::swap(order[static_cast<size_t>(i)], order[rng.below(uint32_t(i + 1))]);
    for (int step : order) {
        auto factor = [&](float strength) { return rng.uniform(std::max(0.0f, 1 - strength), 1 + strength); };
        if (step == 0 && c.brightness > 0) image = adjust_brightness(image, factor(c.brightness));
        if (step == 1 && c.contrast > 0) image = adjust_contrast(image, factor(c.contrast));
        if (step == 2 && c.saturation > 0) image = adjust_saturation(image, factor(c.saturation));
        if (step == 3 && c.hue > 0) image = adjust_hue(image, rng.uniform(-c.hue, c.hue));
    }
    if (rng.bernoulli(c.grayscale_p)) image = grayscale_keep_channels(image);
    // 4. Blur and sensor noise.
    if (rng.bernoulli(c.blur_p)) image = gaussian_blur(image, rng.uniform(c.blur_sigma_min, c.blur_sigma_max));
    if (c.noise_std > 0 && rng.bernoulli(c.noise_p)) add_gaussian_noise(image, c.noise_std, rng);
    // 5. Random erasing (torchvision's RandomErasing: area fraction and log-uniform aspect).
    if (rng.bernoulli(c.erase_p)) {
        const double area = double(image.height) * image.width;
        for (int attempt = 0; attempt < erase_attempts; ++attempt) {
            const double target = area * rng.uniform(c.erase_area_min, c.erase_area_max);
            const double log_lo = std::log(c.erase_aspect_min), log_hi = -log_lo;
            const double aspect = std::exp(rng.uniform(float(log_lo), float(log_hi)));
            const int h = int(std::lround(std::sqrt(target * aspect))), w = int(std::lround(std::sqrt(target / aspect)));
            if (h < 1 || w < 1 || h > image.height || w > image.width) continue;
            const int top = int(rng.below(uint32_t(image.height - h + 1)));
            const int left = int(rng.below(uint32_t(image.width - w + 1)));
            erase(image, top, left, h, w, c.erase_value, &rng);
            break;
        }
    }
    clamp01(image);
    return image;
}

const AugmentConfig& AugmentPolicy::for_class(int64_t label) const {
    const auto found = per_class.find(label);
    return found == per_class.end() ? config : found->second;
}

AugmentPolicy good_and_defect_policy(const std::vector<std::string>& class_names, const AugmentConfig& good,
                                     const AugmentConfig& defect) {
    AugmentPolicy policy;
    policy.config = good;
    for (size_t i = 0; i < class_names.size(); ++i)
        if (!is_good_class_name(class_names[i])) policy.per_class[int64_t(i)] = defect;
    return policy;
}

}  // namespace kiln::data
