#pragma once
// UTF-8 validity. kiln's run files are JSON, whose strings are UTF-8; a file
// name of bytes (Linux allows any but '/' and NUL) must be checked before it
// goes into one (nlohmann::json refuses to write invalid UTF-8).
#include <cstdint>
#include <string_view>

namespace kiln {

// True for well-formed UTF-8: no stray continuation bytes, no overlong forms,
// no UTF-16 surrogates, nothing above U+10FFFF (RFC 3629).
inline bool is_valid_utf8(std::string_view text) {
    size_t i = 0;
    while (i < text.size()) {
        const auto lead = static_cast<unsigned char>(text[i]);
        size_t extra;
        uint32_t code;
        if (lead < 0x80) extra = 0, code = lead;
        else if ((lead & 0xE0) == 0xC0) extra = 1, code = lead & 0x1Fu;
        else if ((lead & 0xF0) == 0xE0) extra = 2, code = lead & 0x0Fu;
        else if ((lead & 0xF8) == 0xF0) extra = 3, code = lead & 0x07u;
        else return false;
        if (text.size() - i <= extra) return false;
        for (size_t k = 1; k <= extra; ++k) {
            const auto next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xC0) != 0x80) return false;
            code = (code << 6) | (next & 0x3Fu);
        }
        static constexpr uint32_t smallest[4] = {0, 0x80, 0x800, 0x10000};
        if (code < smallest[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
        i += extra + 1;
    }
    return true;
}

}  // namespace kiln
