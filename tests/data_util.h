#pragma once
// Helpers shared by the tests/test_data_*.cpp suites: a temporary folder that
// removes itself, small synthetic images, and byte comparison of tensors.
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "data/image.h"
#include "engine/tensor.h"

namespace kiln::test {

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "kiln_data_XXXXXX").string();
        if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        path = pattern;
    }
    ~TempDir() {
        std::error_code error;
        std::filesystem::remove_all(path, error);
    }
    std::string operator/(const std::string& name) const { return (path / name).string(); }
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << bytes;
}

inline std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// value(y, x, c) = (y * 7 + x * 3 + c * 50) mod 256 / 255: every pixel distinct enough to track.
inline data::Image pattern_image(int height, int width, int channels) {
    data::Image image(height, width, channels);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x)
            for (int c = 0; c < channels; ++c) image.at(y, x, c) = float((y * 7 + x * 3 + c * 50) % 256) / 255.0f;
    return image;
}

inline bool same_bytes(const Tensor& a, const Tensor& b) {
    return a.shape() == b.shape() && a.dtype() == b.dtype() &&
           std::memcmp(a.contiguous().raw_data(), b.contiguous().raw_data(),
                       static_cast<size_t>(a.numel()) * dtype_size(a.dtype())) == 0;
}

}  // namespace kiln::test

#include "data/image_io.h"

namespace kiln::test {
// write_image, creating the folders on the way.
inline void put_image(const std::string& path, const data::Image& image) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    data::write_image(path, image);
}
}  // namespace kiln::test
