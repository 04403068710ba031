#include "engine/safetensors.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "engine/file.h"

namespace kiln {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian; kiln assumes such a host");

namespace {

using json = nlohmann::json;

constexpr int max_json_depth = 64;  // a real header nests 3 deep; deeper is corrupt or hostile

// How a file dtype is stored and what kiln makes of it.
struct FileDType {
    const char* name;
    size_t bytes;
    DType loads_as;
};
constexpr FileDType known_dtypes[] = {
    {"F32", 4, DType::float32}, {"F64", 8, DType::float64}, {"I64", 8, DType::int64},
    {"F16", 2, DType::float32}, {"BF16", 2, DType::float32}, {"I32", 4, DType::int64},
};
constexpr const char* unsupported_dtypes[] = {"BOOL", "U8", "I8", "I16", "U16", "U32", "U64", "F8_E4M3", "F8_E5M2"};

const char* file_dtype_name(DType dtype) {
    switch (dtype) {
        case DType::float32: return "F32";
        case DType::float64: return "F64";
        case DType::int64: return "I64";
    }
    return "?";
}

// IEEE half and bfloat16 bit patterns to float.
float half_to_float(uint16_t h) {
    const uint32_t sign = uint32_t(h >> 15) << 31, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
    uint32_t bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else {  // subnormal: renormalise
            int shift = 0;
            uint32_t m = mantissa;
            while (!(m & 0x400)) {
                m <<= 1;
                ++shift;
            }
            bits = sign | uint32_t(127 - 15 + 1 - shift) << 23 | (m & 0x3ff) << 13;
        }
    } else if (exponent == 0x1f) {
        bits = sign | 0x7f800000u | mantissa << 13;  // inf, NaN
    } else {
        bits = sign | (exponent + 127 - 15) << 23 | mantissa << 13;
    }
    return std::bit_cast<float>(bits);
}
float bfloat16_to_float(uint16_t b) { return std::bit_cast<float>(uint32_t(b) << 16); }

// Nesting depth of a JSON text (brackets outside strings), stopping early.
int json_depth(std::string_view text) {
    int depth = 0, deepest = 0;
    bool in_string = false, escaped = false;
    for (const char c : text) {
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            deepest = std::max(deepest, ++depth);
            if (deepest > max_json_depth) break;
        } else if (c == '}' || c == ']') {
            --depth;
        }
    }
    return deepest;
}

struct Entry {
    std::string name;
    const FileDType* dtype;
    Shape shape;
    uint64_t begin, end;
};

std::string describe(const json& value) { return std::string(value.type_name()); }

Entry parse_entry(const std::string& prefix, const std::string& name, const json& value) {
    const std::string where = prefix + "tensor \"" + name + "\"";
    KILN_CHECK(value.is_object(), where, ": expected an object with dtype, shape and data_offsets, got ", describe(value));
    for (const char* field : {"dtype", "shape", "data_offsets"})
        KILN_CHECK(value.contains(field), where, ": missing \"", field, "\"");
    Entry entry{name, nullptr, {}, 0, 0};

    const json& dtype = value["dtype"];
    KILN_CHECK(dtype.is_string(), where, ": dtype must be a string, got ", describe(dtype));
    const std::string dtype_text = dtype.get<std::string>();
    for (const FileDType& known : known_dtypes)
        if (dtype_text == known.name) entry.dtype = &known;
    if (!entry.dtype) {
        const bool unsupported = std::any_of(std::begin(unsupported_dtypes), std::end(unsupported_dtypes),
                                             [&](const char* d) { return dtype_text == d; });
        fail(where, ": ", unsupported ? "unsupported" : "unknown", " dtype \"", dtype_text,
             "\" (kiln reads F32, F64, I64, and converts F16, BF16 to float32 and I32 to int64)");
    }

    const json& shape = value["shape"];
    KILN_CHECK(shape.is_array(), where, ": shape must be an array, got ", describe(shape));
    KILN_CHECK(shape.size() <= 16, where, ": shape has ", shape.size(), " dims, more than kiln's limit of 16");
    uint64_t numel = 1;
    for (const json& dim : shape) {
        KILN_CHECK(dim.is_number_unsigned() || (dim.is_number_integer() && dim.get<int64_t>() >= 0), where,
                   ": shape must hold non-negative integers, got ", dim.dump());
        const uint64_t size = dim.get<uint64_t>();
        KILN_CHECK(size <= (uint64_t(1) << 40) && !__builtin_mul_overflow(numel, size, &numel) &&
                       numel <= (uint64_t(1) << 40),
                   where, ": shape ", shape.dump(), " is too large");
        entry.shape.push_back(int64_t(size));
    }

    const json& offsets = value["data_offsets"];
    KILN_CHECK(offsets.is_array() && offsets.size() == 2 && offsets[0].is_number_unsigned() &&
                   offsets[1].is_number_unsigned(),
               where, ": data_offsets must be two non-negative integers [begin, end], got ", offsets.dump());
    entry.begin = offsets[0].get<uint64_t>();
    entry.end = offsets[1].get<uint64_t>();
    KILN_CHECK(entry.begin <= entry.end, where, ": data_offsets [", entry.begin, ", ", entry.end,
               "] end before they begin");
    const uint64_t expected = numel * entry.dtype->bytes;
    KILN_CHECK(entry.end - entry.begin == expected, where, ": dtype ", dtype_text, " and shape ", shape_str(entry.shape),
               " need ", expected, " bytes, but data_offsets [", entry.begin, ", ", entry.end, "] hold ",
               entry.end - entry.begin);
    return entry;
}

Tensor load_entry(const Entry& entry, const char* data) {
    Tensor tensor = Tensor::empty(entry.shape, entry.dtype->loads_as);
    const int64_t count = tensor.numel();
    const char* source = data + entry.begin;
    const std::string name = entry.dtype->name;
    if (name == "F16" || name == "BF16") {
        float* out = tensor.data<float>();
        for (int64_t i = 0; i < count; ++i) {
            uint16_t bits;
            std::memcpy(&bits, source + 2 * i, 2);
            out[i] = name == "F16" ? half_to_float(bits) : bfloat16_to_float(bits);
        }
    } else if (name == "I32") {
        int64_t* out = tensor.data<int64_t>();
        for (int64_t i = 0; i < count; ++i) {
            int32_t value;
            std::memcpy(&value, source + 4 * i, 4);
            out[i] = value;
        }
    } else if (count > 0) {
        std::memcpy(tensor.raw_data(), source, entry.end - entry.begin);
    }
    return tensor;
}

}  // namespace

SafetensorsContents parse_safetensors(std::string_view bytes, const std::string& source) {
    const std::string prefix = "safetensors: " + source + ": ";
    KILN_CHECK(bytes.size() >= 8, prefix, "the file has ", bytes.size(),
               " bytes, fewer than the 8-byte header length (truncated, or not a safetensors file)");
    uint64_t header_length;
    std::memcpy(&header_length, bytes.data(), 8);
    KILN_CHECK(header_length <= safetensors_max_header_bytes, prefix, "header length ", header_length,
               " exceeds the limit of ", safetensors_max_header_bytes, " bytes (corrupt, or not a safetensors file)");
    KILN_CHECK(header_length <= bytes.size() - 8, prefix, "header length ", header_length,
               " runs past the end of the file (", bytes.size(), " bytes; truncated?)");
    const std::string_view header = bytes.substr(8, header_length);
    const std::string_view data = bytes.substr(8 + header_length);

    KILN_CHECK(json_depth(header) <= max_json_depth, prefix, "the header nests deeper than ", max_json_depth,
               " levels (corrupt)");
    json root;
    try {
        root = json::parse(header);
    } catch (const json::exception& error) {
        fail(prefix, "the header is not valid JSON (", error.what(), ")");
    }
    KILN_CHECK(root.is_object(), prefix, "the header must be a JSON object, got ", describe(root));

    SafetensorsContents contents;
    std::vector<Entry> entries;
    for (const auto& [key, value] : root.items()) {
        if (key == "__metadata__") {
            KILN_CHECK(value.is_object(), prefix, "__metadata__ must be an object of strings, got ", describe(value));
            for (const auto& [meta_key, meta_value] : value.items()) {
                KILN_CHECK(meta_value.is_string(), prefix, "__metadata__ must map strings to strings; \"", meta_key,
                           "\" is ", describe(meta_value));
                contents.metadata[meta_key] = meta_value.get<std::string>();
            }
            continue;
        }
        KILN_CHECK(!key.empty(), prefix, "a tensor has an empty name");
        entries.push_back(parse_entry(prefix, key, value));
    }

    // Offsets: inside the data section, in order, no overlaps and no gaps.
    std::sort(entries.begin(), entries.end(),
              [](const Entry& a, const Entry& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
    uint64_t covered = 0;
    const Entry* previous = nullptr;
    for (const Entry& entry : entries) {
        KILN_CHECK(entry.end <= data.size(), prefix, "tensor \"", entry.name, "\" ends at byte ", entry.end,
                   " of the data section, which has ", data.size(), " bytes (truncated?)");
        KILN_CHECK(entry.begin >= covered, prefix, "tensor \"", entry.name, "\" [", entry.begin, ", ", entry.end,
                   ") overlaps tensor \"", previous ? previous->name : "", "\" [", previous ? previous->begin : 0, ", ",
                   covered, ")");
        KILN_CHECK(entry.begin == covered, prefix, "tensor \"", entry.name, "\" starts at byte ", entry.begin,
                   " of the data section, leaving a gap after byte ", covered, " (corrupt)");
        covered = entry.end;
        previous = &entry;
    }
    KILN_CHECK(covered == data.size(), prefix, "the data section has ", data.size(), " bytes, but the tensors use ",
               covered, " (", data.size() - covered, " unexplained bytes at the end)");

    for (const Entry& entry : entries) contents.tensors[entry.name] = load_entry(entry, data.data());
    return contents;
}

SafetensorsContents read_safetensors(const std::string& path) {
    std::ifstream file(path, std::ios::binary | std::ios::ate);
    KILN_CHECK(file, "safetensors: ", path, ": cannot open the file (", std::strerror(errno), ")");
    const std::streamoff size = file.tellg();
    KILN_CHECK(size >= 0, "safetensors: ", path, ": cannot read the file size");
    std::string bytes(static_cast<size_t>(size), '\0');
    file.seekg(0);
    file.read(bytes.data(), size);
    KILN_CHECK(file.gcount() == size, "safetensors: ", path, ": read ", file.gcount(), " of ", size, " bytes");
    return parse_safetensors(bytes, path);
}

namespace {

// The header (padded to a multiple of 8 with spaces) and the tensors in name order.
struct Layout {
    std::string header;
    std::vector<std::pair<std::string, Tensor>> tensors;  // contiguous cpu
};

Layout layout(const std::map<std::string, Tensor>& tensors, const std::map<std::string, std::string>& metadata,
              const std::string& source) {
    const std::string prefix = "safetensors: " + source + ": ";
    Layout out;
    json root = json::object();
    uint64_t offset = 0;
    for (const auto& [name, tensor] : tensors) {
        KILN_CHECK(!name.empty() && name != "__metadata__", prefix, "cannot write a tensor named \"", name, "\"");
        KILN_CHECK(tensor.defined(), prefix, "tensor \"", name, "\" is undefined");
        const Tensor host = tensor.detach().to(Device::cpu()).contiguous();
        const uint64_t bytes = uint64_t(host.numel()) * dtype_size(host.dtype());
        root[name] = {{"dtype", file_dtype_name(host.dtype())}, {"shape", host.shape()}, {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
        out.tensors.emplace_back(name, host);
    }
    if (!metadata.empty()) root["__metadata__"] = metadata;
    try {
        out.header = root.dump();
    } catch (const json::exception& error) {
        fail(prefix, "cannot encode the header (", error.what(), "); names and metadata must be UTF-8");
    }
    out.header.append((8 - out.header.size() % 8) % 8, ' ');
    return out;
}

std::string length_prefix(uint64_t length) {
    std::string out(8, '\0');
    std::memcpy(out.data(), &length, 8);
    return out;
}

}  // namespace

std::string serialize_safetensors(const std::map<std::string, Tensor>& tensors,
                                  const std::map<std::string, std::string>& metadata) {
    const Layout l = layout(tensors, metadata, "(memory)");
    std::string out = length_prefix(l.header.size()) + l.header;
    for (const auto& [name, tensor] : l.tensors)
        out.append(static_cast<const char*>(tensor.raw_data()), size_t(tensor.numel()) * dtype_size(tensor.dtype()));
    return out;
}

void write_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
    const Layout l = layout(tensors, metadata, path);
    const std::string head = length_prefix(l.header.size()) + l.header;
    std::vector<std::string_view> pieces{head};
    for (const auto& [name, tensor] : l.tensors)
        pieces.emplace_back(static_cast<const char*>(tensor.raw_data()), size_t(tensor.numel()) * dtype_size(tensor.dtype()));
    write_file_atomically(path, pieces, "safetensors");
}

}  // namespace kiln
