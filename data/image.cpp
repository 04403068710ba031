#include "data/image.h"

#include <algorithm>
#include <cmath>

namespace kiln::data {

namespace {
constexpr float luma_r = 0.299f, luma_g = 0.587f, luma_b = 0.114f;  // BT.601
}

ImageU8 to_u8(const Image& image) {
    ImageU8 out;
    out.height = image.height, out.width = image.width, out.channels = image.channels;
    out.pixels.resize(image.pixels.size());
    for (size_t i = 0; i < image.pixels.size(); ++i)
        out.pixels[i] = static_cast<uint8_t>(std::lround(std::clamp(image.pixels[i], 0.0f, 1.0f) * 255.0f));
    return out;
}

Image to_float(const ImageU8& image) {
    Image out;
    out.height = image.height, out.width = image.width, out.channels = image.channels;
    out.pixels.resize(image.pixels.size());
    for (size_t i = 0; i < image.pixels.size(); ++i) out.pixels[i] = float(image.pixels[i]) * (1.0f / 255.0f);
    return out;
}

Image to_gray(const Image& image) {
    if (image.channels == 1) return image;
    Image out(image.height, image.width, 1);
    const size_t n = static_cast<size_t>(image.height) * static_cast<size_t>(image.width);
    const size_t c = static_cast<size_t>(image.channels);
    for (size_t i = 0; i < n; ++i) {
        const float* p = &image.pixels[i * c];
        out.pixels[i] = luma_r * p[0] + luma_g * p[1] + luma_b * p[2];
    }
    return out;
}

Image to_rgb(const Image& image) {
    if (image.channels == 3) return image;
    Image out(image.height, image.width, 3);
    const size_t n = static_cast<size_t>(image.height) * static_cast<size_t>(image.width);
    const size_t c = static_cast<size_t>(image.channels);
    for (size_t i = 0; i < n; ++i) {
        for (size_t k = 0; k < 3; ++k) out.pixels[i * 3 + k] = image.pixels[i * c + (c == 1 ? 0 : k)];
    }
    return out;
}

Image with_channels(const Image& image, int channels) {
    KILN_CHECK(channels == 1 || channels == 3, "image: asked for ", channels, " channels (1 or 3)");
    return channels == 1 ? to_gray(image) : to_rgb(image);
}

void write_chw(const Image& image, float* out, const std::vector<float>& mean, const std::vector<float>& std) {
    const size_t channels = static_cast<size_t>(image.channels);
    KILN_CHECK(mean.empty() || mean.size() == channels, "normalize: ", mean.size(), " means for an image of ",
               channels, " channels");
    KILN_CHECK(std.size() == mean.size(), "normalize: ", mean.size(), " means but ", std.size(), " stds");
    const size_t plane = static_cast<size_t>(image.height) * static_cast<size_t>(image.width);
    for (size_t c = 0; c < channels; ++c) {
        const float shift = mean.empty() ? 0.0f : mean[c];
        const float scale = std.empty() ? 1.0f : 1.0f / std[c];
        float* dst = out + c * plane;
        const float* src = image.pixels.data() + c;
        for (size_t i = 0; i < plane; ++i) dst[i] = (src[i * channels] - shift) * scale;
    }
}

Tensor to_tensor(const Image& image, const std::vector<float>& mean, const std::vector<float>& std) {
    Tensor out = Tensor::empty({image.channels, image.height, image.width});
    write_chw(image, out.data<float>(), mean, std);
    return out;
}

}  // namespace kiln::data
