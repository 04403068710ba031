#pragma once
// Image: pixels in memory, height x width x channels (HWC, row-major, the
// channels of one pixel adjacent), as stb_image decodes them. Float images
// hold values in [0, 1] (0 black, 1 white), whatever the file's bit depth;
// uint8 images hold 0..255 and are what the dataset cache keeps (a quarter
// of the memory). Transforms work on float images; to_tensor() turns one into
// the float32 CHW Tensor that the loader stacks into NCHW batches.
#include <cstdint>
#include <vector>

#include "engine/error.h"
#include "engine/tensor.h"

namespace kiln::data {

template <typename T>
struct ImageOf {
    int height = 0, width = 0, channels = 0;
    std::vector<T> pixels;  // height * width * channels values

    ImageOf() = default;
    ImageOf(int height_, int width_, int channels_, T fill = T(0))
        : height(height_), width(width_), channels(channels_),
          pixels(static_cast<size_t>(height_) * static_cast<size_t>(width_) * static_cast<size_t>(channels_), fill) {
        KILN_CHECK(height_ > 0 && width_ > 0 && (channels_ == 1 || channels_ == 3 || channels_ == 4),
                   "image: bad size ", height_, "x", width_, "x", channels_, " (height, width > 0; 1, 3 or 4 channels)");
    }
    bool empty() const { return pixels.empty(); }
    size_t index(int y, int x, int c) const {
        return (static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)) *
                   static_cast<size_t>(channels) + static_cast<size_t>(c);
    }
    T& at(int y, int x, int c = 0) { return pixels[index(y, x, c)]; }
    const T& at(int y, int x, int c = 0) const { return pixels[index(y, x, c)]; }
};

using Image = ImageOf<float>;
using ImageU8 = ImageOf<uint8_t>;

// [0, 1] float <-> 0..255 (rounded, clamped).
ImageU8 to_u8(const Image& image);
Image to_float(const ImageU8& image);

// Colour conversions. Luma uses ITU-R BT.601 weights (0.299, 0.587, 0.114),
// as PIL and torchvision do; an alpha channel is dropped.
Image to_gray(const Image& image);  // 1 channel
Image to_rgb(const Image& image);   // 3 channels (gray is replicated)
Image with_channels(const Image& image, int channels);  // 1 or 3

// float32 CHW Tensor [C, H, W] of the values, optionally (x - mean[c]) / std[c].
Tensor to_tensor(const Image& image, const std::vector<float>& mean = {}, const std::vector<float>& std = {});
// Writes the same into `out` (C*H*W floats): the loader fills a batch in place.
void write_chw(const Image& image, float* out, const std::vector<float>& mean = {}, const std::vector<float>& std = {});

}  // namespace kiln::data
