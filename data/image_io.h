#pragma once
// Image files: decode PNG (8- and 16-bit), JPEG and BMP with stb_image, encode
// PNG, JPEG and BMP with stb_image_write (and 16-bit PNG with a small stored-
// deflate writer of our own: stb_image_write has none).
//
// Every failure is a kiln::Error naming the file and the reason, e.g.
//   kiln::Error: image: data/x/broken.png: not a PNG/JPEG/BMP image (stb: "unknown image type")
#include <cstdint>
#include <string>
#include <vector>

#include "data/image.h"

namespace kiln::data {

// What channels to decode to. `keep` keeps the file's own count (gray, gray
// + alpha becomes gray, RGBA becomes RGB).
enum class ColorMode { gray, rgb, keep };
ColorMode parse_color_mode(const std::string& name);  // "gray"/"grayscale", "rgb", "keep"
const char* color_mode_name(ColorMode mode);

struct ImageInfo {
    int height = 0, width = 0, channels = 0;
    int bit_depth = 8;  // 16 for 16-bit PNG
};

// Decodes an encoded file held in memory; `name` is used in error messages.
// `info`, when given, receives the file's own size, channels and bit depth.
Image decode_image(const uint8_t* bytes, size_t size, ColorMode mode, const std::string& name,
                   ImageInfo* info = nullptr);
// Reads and decodes a file (values in [0, 1]).
Image read_image(const std::string& path, ColorMode mode = ColorMode::keep, ImageInfo* info = nullptr);
// Header only (no pixel decode): size, channels, bit depth.
ImageInfo read_image_info(const std::string& path);
ImageInfo decode_image_info(const uint8_t* bytes, size_t size, const std::string& name);
// The whole file as bytes; kiln::Error if it cannot be opened.
std::vector<uint8_t> read_file_bytes(const std::string& path);

// Writes by the extension of `path`: .png, .jpg/.jpeg (quality 95), .bmp.
// Values are clamped to [0, 1] and rounded to 8 bits.
void write_image(const std::string& path, const Image& image);
void write_image(const std::string& path, const ImageU8& image);
// 16-bit PNG (1 or 3 channels), e.g. for sensor data; rounded to 0..65535.
void write_png16(const std::string& path, const Image& image);

// True for the extensions datasets pick up: png, jpg, jpeg, bmp (any case).
bool is_image_file_name(const std::string& path);

}  // namespace kiln::data
