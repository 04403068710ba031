// The one translation unit that compiles stb_image and stb_image_write
// (data/image_io.cpp uses them). Its own file so that the sanitizer builds
// can skip one check in it alone: stb_image memcpy's zero bytes to a null
// buffer when a PNG's first IDAT chunk is empty (a valid PNG): harmless, but
// UB by the letter, and Debian's header is not ours to patch (CMakeLists.txt,
// docs/reliability.md).
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#include <stb/stb_image.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
