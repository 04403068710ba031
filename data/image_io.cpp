// Image decoding and encoding through stb_image and stb_image_write (compiled in data/stb.cpp).
#include "data/image_io.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

namespace kiln::data {

namespace {

constexpr int jpeg_quality = 95;
// The most pixels decode_image allocates (e.g. 8192 x 8192; datasets resize to
// at most that). A header may claim any size: 30000 x 30000 RGB would be 2.7 GB
// of bytes and 10.8 GB of floats, from a file of a few bytes.
constexpr int64_t max_decode_pixels = int64_t(1) << 26;  // high enough that a written JPEG reads back within a few levels

std::string lower_extension(const std::string& path) {
    std::string ext = std::filesystem::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return ext;
}

// stb's reason for the last failure on this thread, as a phrase a user reads.
std::string stb_reason_phrase(const char* reason) {
    const std::string r = reason ? reason : "unknown";
    if (r == "unknown image type")
        return kiln::str("not a PNG/JPEG/BMP image (stb: \"", r, "\")");
    return kiln::str("cannot decode, corrupt or truncated? (stb: \"", r, "\")");
}

[[noreturn]] void too_large(const std::string& name, int64_t width, int64_t height) {
    fail("image: ", name, ": the header claims ", width, "x", height, " pixels, more than kiln decodes (",
         max_decode_pixels, " pixels, e.g. 8192x8192); a corrupt file, or downscale it first");
}

// stb_image 2.27 (Debian's libstb) writes past its Huffman tables when a JPEG
// DHT segment declares more than 256 codes (found by tests/fuzz; fixed in stb
// 2.28): walk the markers, entropy-coded data included, and refuse such files
// before stb sees them.
void check_jpeg_huffman_tables(const uint8_t* bytes, size_t size, const std::string& name) {
    // A JPEG to stb: 0xFF, any fill 0xFFs, then SOI (0xD8).
    size_t pos = 1;
    while (pos < size && bytes[pos] == 0xFF) ++pos;
    if (size < 4 || bytes[0] != 0xFF || pos >= size || bytes[pos] != 0xD8) return;  // not a JPEG
    ++pos;
    while (pos + 1 < size) {
        if (bytes[pos] != 0xFF) {  // entropy-coded data: skip to the next marker
            ++pos;
            continue;
        }
        const uint8_t marker = bytes[pos + 1];
        if (marker == 0xFF) {  // fill byte
            ++pos;
            continue;
        }
        if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {  // stuffed 0xFF, TEM, RSTn, SOI
            pos += 2;
            continue;
        }
        if (marker == 0xD9 || pos + 4 > size) return;  // EOI
        const size_t length = size_t(bytes[pos + 2]) << 8 | bytes[pos + 3];  // includes its own 2 bytes
        const size_t end = std::min(size, pos + 2 + length);  // the segment, length bytes included
        if (marker == 0xC4) {
            // As stb reads it: tables until the declared length is used up,
            // even past the segment's end, and the next marker from there.
            auto byte = [&](size_t at) { return at < size ? bytes[at] : uint8_t(0); };
            int64_t left = int64_t(length) - 2;
            size_t at = pos + 4;
            while (left > 0 && at < size) {
                if ((byte(at) >> 4) > 1 || (byte(at) & 15) > 3) return;  // stb stops: "bad DHT header"
                size_t codes = 0;
                for (size_t i = 1; i <= 16; ++i) codes += byte(at + i);
                if (codes > 256)
                    fail("image: ", name, ": corrupt JPEG (a Huffman table declares ", codes, " codes; at most 256)");
                at += 17 + codes;
                left -= int64_t(17 + codes);
            }
            pos = at;
            continue;
        }
        pos = std::max(pos + 2, end);
    }
}

// The header as stb reads it. stb reports a top-down BMP's height as the
// file stores it, negative (its decoder then flips the sign): the height here
// is the decoded image's.
ImageInfo stb_header(const uint8_t* bytes, int length, const std::string& name) {
    ImageInfo info;
    if (!stbi_info_from_memory(bytes, length, &info.width, &info.height, &info.channels))
        fail("image: ", name, ": ", stb_reason_phrase(stbi_failure_reason()));
    if (info.height < 0 && info.height != INT32_MIN) info.height = -info.height;
    if (info.height <= 0 || info.width <= 0)
        fail("image: ", name, ": the header claims ", info.width, "x", info.height, " pixels; corrupt?");
    info.bit_depth = stbi_is_16_bit_from_memory(bytes, length) ? 16 : 8;
    return info;
}

}  // namespace

ColorMode parse_color_mode(const std::string& name) {
    if (name == "gray" || name == "grayscale" || name == "grey") return ColorMode::gray;
    if (name == "rgb" || name == "color" || name == "colour") return ColorMode::rgb;
    if (name == "keep") return ColorMode::keep;
    fail("color mode: \"", name, "\" is not one of gray, rgb, keep");
}

const char* color_mode_name(ColorMode mode) {
    switch (mode) {
    case ColorMode::gray: return "gray";
    case ColorMode::rgb: return "rgb";
    case ColorMode::keep: return "keep";
    }
    return "?";
}

bool is_image_file_name(const std::string& path) {
    const std::string ext = lower_extension(path);
    return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

std::vector<uint8_t> read_file_bytes(const std::string& path) {
    std::error_code error;
    if (std::filesystem::is_directory(path, error)) fail("image: ", path, ": is a directory, not a file");
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("image: ", path, ": cannot open (missing or unreadable)");
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    in.seekg(0);
    std::vector<uint8_t> bytes(static_cast<size_t>(std::max<std::streamoff>(size, 0)));
    if (!bytes.empty() && !in.read(reinterpret_cast<char*>(bytes.data()), size))
        fail("image: ", path, ": read error after ", in.gcount(), " of ", size, " bytes");
    return bytes;
}

Image decode_image(const uint8_t* bytes, size_t size, ColorMode mode, const std::string& name, ImageInfo* info) {
    if (size == 0) fail("image: ", name, ": empty file (0 bytes)");
    if (size > size_t(INT32_MAX)) fail("image: ", name, ": ", size, " bytes, larger than stb_image reads (2 GiB)");
    const int length = int(size);
    // stb refuses a PNG over 2^30 bytes as "too large" but reports the last
    // format it tried ("unknown image type"): name the claimed size instead.
    if (size >= 24 && std::memcmp(bytes, "\x89PNG\r\n\x1a\n", 8) == 0 && std::memcmp(bytes + 12, "IHDR", 4) == 0) {
        auto be32 = [&](size_t at) {
            return uint32_t(bytes[at]) << 24 | uint32_t(bytes[at + 1]) << 16 | uint32_t(bytes[at + 2]) << 8 | bytes[at + 3];
        };
        const uint32_t claimed_width = be32(16), claimed_height = be32(20);
        if (int64_t(claimed_width) * claimed_height > max_decode_pixels) too_large(name, claimed_width, claimed_height);
    }
    check_jpeg_huffman_tables(bytes, size, name);  // stb's header scan reads them too
    const ImageInfo header = stb_header(bytes, length, name);
    if (int64_t(header.width) * header.height > max_decode_pixels) too_large(name, header.width, header.height);
    if (info) *info = header;
    const bool sixteen_bit = header.bit_depth == 16;
    const int wanted = mode == ColorMode::gray ? 1 : mode == ColorMode::rgb ? 3 : (header.channels <= 2 ? 1 : 3);
    int width = 0, height = 0;

    // The image is allocated only after a successful decode: a corrupt header
    // may claim any size.
    int got_channels = 0;
    if (sixteen_bit) {
        std::unique_ptr<uint16_t, void (*)(void*)> data(
            stbi_load_16_from_memory(bytes, length, &width, &height, &got_channels, wanted), stbi_image_free);
        if (!data) fail("image: ", name, ": ", stb_reason_phrase(stbi_failure_reason()));
        Image image(height, width, wanted);
        for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = float(data.get()[i]) * (1.0f / 65535.0f);
        return image;
    }
    std::unique_ptr<uint8_t, void (*)(void*)> data(
        stbi_load_from_memory(bytes, length, &width, &height, &got_channels, wanted), stbi_image_free);
    if (!data) fail("image: ", name, ": ", stb_reason_phrase(stbi_failure_reason()));
    Image image(height, width, wanted);
    for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = float(data.get()[i]) * (1.0f / 255.0f);
    return image;
}

Image read_image(const std::string& path, ColorMode mode, ImageInfo* info) {
    const std::vector<uint8_t> bytes = read_file_bytes(path);
    return decode_image(bytes.data(), bytes.size(), mode, path, info);
}

ImageInfo read_image_info(const std::string& path) {
    const std::vector<uint8_t> bytes = read_file_bytes(path);
    return decode_image_info(bytes.data(), bytes.size(), path);
}

ImageInfo decode_image_info(const uint8_t* bytes, size_t size, const std::string& name) {
    if (size == 0) fail("image: ", name, ": empty file (0 bytes)");
    check_jpeg_huffman_tables(bytes, size, name);
    return stb_header(bytes, int(std::min<size_t>(size, size_t(INT32_MAX))), name);
}

void write_image(const std::string& path, const ImageU8& image) {
    KILN_CHECK(!image.empty(), "image: ", path, ": cannot write an empty image");
    const std::string ext = lower_extension(path);
    int ok = 0;
    if (ext == ".png")
        ok = stbi_write_png(path.c_str(), image.width, image.height, image.channels, image.pixels.data(),
                            image.width * image.channels);
    else if (ext == ".jpg" || ext == ".jpeg")
        ok = stbi_write_jpg(path.c_str(), image.width, image.height, image.channels, image.pixels.data(), jpeg_quality);
    else if (ext == ".bmp")
        ok = stbi_write_bmp(path.c_str(), image.width, image.height, image.channels, image.pixels.data());
    else
        fail("image: ", path, ": cannot write \"", ext, "\" files (use .png, .jpg or .bmp)");
    if (!ok) fail("image: ", path, ": cannot write (missing folder or no permission?)");
}

void write_image(const std::string& path, const Image& image) { write_image(path, to_u8(image)); }

// ---- 16-bit PNG: signature, IHDR, one IDAT of stored (uncompressed) deflate
// blocks, IEND. Each row starts with filter byte 0; samples are big-endian.
namespace {

uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc = 0) {
    static const std::array<uint32_t, 256> table = [] {
        std::array<uint32_t, 256> t{};
        for (uint32_t n = 0; n < 256; ++n) {
            uint32_t c = n;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }();
    crc = ~crc;
    for (size_t i = 0; i < size; ++i) crc = table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(uint8_t(v >> shift));
}

void put_chunk(std::vector<uint8_t>& out, const char* type, const std::vector<uint8_t>& body) {
    put_u32(out, uint32_t(body.size()));
    std::vector<uint8_t> typed(type, type + 4);
    typed.insert(typed.end(), body.begin(), body.end());
    out.insert(out.end(), typed.begin(), typed.end());
    put_u32(out, crc32(typed.data(), typed.size()));
}

}  // namespace

void write_png16(const std::string& path, const Image& image) {
    KILN_CHECK(image.channels == 1 || image.channels == 3, "image: ", path, ": 16-bit PNG needs 1 or 3 channels, got ",
               image.channels);
    std::vector<uint8_t> raw;  // filtered scanlines
    const size_t row = static_cast<size_t>(image.width) * static_cast<size_t>(image.channels);
    raw.reserve(static_cast<size_t>(image.height) * (1 + 2 * row));
    for (int y = 0; y < image.height; ++y) {
        raw.push_back(0);  // filter: none
        for (size_t i = 0; i < row; ++i) {
            const float v = std::clamp(image.pixels[static_cast<size_t>(y) * row + i], 0.0f, 1.0f);
            const uint16_t s = uint16_t(std::lround(v * 65535.0f));
            raw.push_back(uint8_t(s >> 8));
            raw.push_back(uint8_t(s & 0xFF));
        }
    }
    std::vector<uint8_t> zlib = {0x78, 0x01};  // deflate, 32K window, no preset dictionary
    constexpr size_t max_stored = 65535;
    for (size_t pos = 0; pos < raw.size() || pos == 0; pos += max_stored) {
        const size_t n = std::min(max_stored, raw.size() - pos);
        const bool last = pos + n >= raw.size();
        zlib.push_back(last ? 1 : 0);
        zlib.push_back(uint8_t(n & 0xFF));
        zlib.push_back(uint8_t(n >> 8));
        zlib.push_back(uint8_t(~n & 0xFF));
        zlib.push_back(uint8_t((~n >> 8) & 0xFF));
        zlib.insert(zlib.end(), raw.begin() + std::ptrdiff_t(pos), raw.begin() + std::ptrdiff_t(pos + n));
        if (last) break;
    }
    uint32_t a = 1, b = 0;  // Adler-32 of the uncompressed data
    for (uint8_t byte : raw) a = (a + byte) % 65521, b = (b + a) % 65521;
    put_u32(zlib, (b << 16) | a);

    std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    std::vector<uint8_t> header;
    put_u32(header, uint32_t(image.width));
    put_u32(header, uint32_t(image.height));
    header.push_back(16);                               // bit depth
    header.push_back(image.channels == 1 ? 0 : 2);      // colour type: gray or RGB
    header.push_back(0), header.push_back(0), header.push_back(0);  // deflate, adaptive filters, no interlace
    put_chunk(png, "IHDR", header);
    put_chunk(png, "IDAT", zlib);
    put_chunk(png, "IEND", {});
    std::ofstream out(path, std::ios::binary);
    if (!out || !out.write(reinterpret_cast<const char*>(png.data()), std::streamsize(png.size())))
        fail("image: ", path, ": cannot write (missing folder or no permission?)");
}

}  // namespace kiln::data
