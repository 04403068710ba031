#include "data/resize.h"

#include <algorithm>
#include <cmath>

namespace kiln::data {

namespace {

// The source taps of one output coordinate: first index and normalised weights.
struct Taps {
    int first = 0;
    std::vector<float> weights;
};

float triangle(float x) {
    x = std::fabs(x);
    return x < 1.0f ? 1.0f - x : 0.0f;
}

// Output pixel o covers source interval [o * scale, (o + 1) * scale), centre (o + 0.5) * scale.
std::vector<Taps> make_taps(int in, int out, Interpolation interpolation) {
    const double scale = double(in) / double(out);
    std::vector<Taps> taps(static_cast<size_t>(out));
    for (int o = 0; o < out; ++o) {
        Taps& t = taps[static_cast<size_t>(o)];
        const double center = (o + 0.5) * scale;
        if (interpolation == Interpolation::nearest) {
            t.first = std::clamp(int(std::floor(center)), 0, in - 1);
            t.weights = {1.0f};
            continue;
        }
        double lo, hi;
        if (interpolation == Interpolation::area) {
            lo = o * scale, hi = (o + 1) * scale;
        } else {
            const double support = std::max(scale, 1.0);  // the triangle's half-width in source pixels
            lo = center - support, hi = center + support;
        }
        const int first = std::max(0, int(std::floor(lo))), last = std::min(in - 1, int(std::ceil(hi)));
        t.first = first;
        double total = 0;
        for (int i = first; i <= last; ++i) {
            double w;
            if (interpolation == Interpolation::area) {
                w = std::max(0.0, std::min(hi, i + 1.0) - std::max(lo, double(i)));  // overlap length
            } else {
                w = triangle(float((i + 0.5 - center) / std::max(scale, 1.0)));
            }
            t.weights.push_back(float(w));
            total += w;
        }
        if (total <= 0) {  // cannot happen for valid sizes; keep the nearest pixel
            t.first = std::clamp(int(center), 0, in - 1);
            t.weights = {1.0f};
            continue;
        }
        for (float& w : t.weights) w = float(w / total);
        while (!t.weights.empty() && t.weights.back() == 0.0f) t.weights.pop_back();  // trim zero tails
        size_t lead = 0;
        while (lead + 1 < t.weights.size() && t.weights[lead] == 0.0f) ++lead;
        t.first += int(lead);
        t.weights.erase(t.weights.begin(), t.weights.begin() + std::ptrdiff_t(lead));
    }
    return taps;
}

}  // namespace

Fit parse_fit(const std::string& name) {
    if (name == "stretch") return Fit::stretch;
    if (name == "crop") return Fit::crop;
    if (name == "pad") return Fit::pad;
    fail("fit: \"", name, "\" is not one of stretch, crop, pad");
}

const char* fit_name(Fit fit) {
    switch (fit) {
    case Fit::stretch: return "stretch";
    case Fit::crop: return "crop";
    case Fit::pad: return "pad";
    }
    return "?";
}

Image resize(const Image& image, int height, int width, Interpolation interpolation) {
    KILN_CHECK(!image.empty(), "resize: empty image");
    KILN_CHECK(height > 0 && width > 0, "resize: target size ", height, "x", width, " must be positive");
    if (height == image.height && width == image.width) return image;
    const int channels = image.channels;
    const std::vector<Taps> along_x = make_taps(image.width, width, interpolation);
    const std::vector<Taps> along_y = make_taps(image.height, height, interpolation);

    // Pass 1, rows: [in_h, in_w, C] -> [in_h, width, C].
    Image rows(image.height, width, channels);
    for (int y = 0; y < image.height; ++y) {
        for (int x = 0; x < width; ++x) {
            const Taps& t = along_x[static_cast<size_t>(x)];
            for (int c = 0; c < channels; ++c) {
                float sum = 0;
                for (size_t k = 0; k < t.weights.size(); ++k) sum += t.weights[k] * image.at(y, t.first + int(k), c);
                rows.at(y, x, c) = sum;
            }
        }
    }
    // Pass 2, columns: [in_h, width, C] -> [height, width, C].
    Image out(height, width, channels);
    const size_t row_values = static_cast<size_t>(width) * static_cast<size_t>(channels);
    for (int y = 0; y < height; ++y) {
        const Taps& t = along_y[static_cast<size_t>(y)];
        float* dst = &out.pixels[static_cast<size_t>(y) * row_values];
        for (size_t k = 0; k < t.weights.size(); ++k) {
            const float w = t.weights[k];
            const float* src = &rows.pixels[static_cast<size_t>(t.first + int(k)) * row_values];
            for (size_t i = 0; i < row_values; ++i) dst[i] += w * src[i];
        }
    }
    return out;
}

Image center_crop(const Image& image, int height, int width) {
    KILN_CHECK(height > 0 && width > 0 && height <= image.height && width <= image.width, "center_crop: ", height,
               "x", width, " does not fit in a ", image.height, "x", image.width, " image");
    const int top = (image.height - height) / 2, left = (image.width - width) / 2;
    Image out(height, width, image.channels);
    for (int y = 0; y < height; ++y)
        std::copy_n(&image.at(top + y, left, 0), static_cast<size_t>(width) * static_cast<size_t>(image.channels),
                    &out.at(y, 0, 0));
    return out;
}

Image pad_to(const Image& image, int height, int width, float fill) {
    KILN_CHECK(height >= image.height && width >= image.width, "pad_to: ", height, "x", width,
               " is smaller than the ", image.height, "x", image.width, " image");
    Image out(height, width, image.channels, fill);
    const int top = (height - image.height) / 2, left = (width - image.width) / 2;
    for (int y = 0; y < image.height; ++y)
        std::copy_n(&image.at(y, 0, 0), static_cast<size_t>(image.width) * static_cast<size_t>(image.channels),
                    &out.at(top + y, left, 0));
    return out;
}

Image resize_to_fit(const Image& image, int height, int width, Fit fit, Interpolation interpolation) {
    if (fit == Fit::stretch || (image.height == height && image.width == width))
        return resize(image, height, width, interpolation);
    const double scale_y = double(height) / image.height, scale_x = double(width) / image.width;
    const double scale = fit == Fit::crop ? std::max(scale_y, scale_x) : std::min(scale_y, scale_x);
    const int h = std::max(1, int(std::lround(image.height * scale))), w = std::max(1, int(std::lround(image.width * scale)));
    const Image scaled = resize(image, fit == Fit::crop ? std::max(h, height) : std::min(h, height),
                                fit == Fit::crop ? std::max(w, width) : std::min(w, width), interpolation);
    return fit == Fit::crop ? center_crop(scaled, height, width) : pad_to(scaled, height, width);
}

}  // namespace kiln::data
