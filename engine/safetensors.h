#pragma once
// safetensors files (https://github.com/huggingface/safetensors), the format
// of kiln's checkpoints and of weights exported from PyTorch:
//
//   [8 bytes]  N, the header length, unsigned little-endian
//   [N bytes]  JSON object: {"name": {"dtype": "F32", "shape": [64, 3, 7, 7],
//              "data_offsets": [begin, end]}, ..., "__metadata__": {"key": "value"}}
//              (padded with spaces)
//   [rest]     the data section: each tensor's raw little-endian row-major
//              bytes at [begin, end) relative to its start
//
// Reading validates everything before it allocates a tensor: the header
// length (at most max_header_bytes and inside the file), the JSON (an object
// of objects, nesting at most 64 deep), every dtype, shape and offset pair,
// that each byte count equals numel x dtype size, that offsets stay inside the
// file, and that the tensors cover the data section without overlaps or gaps
// (as the reference implementation requires). Every failure is a kiln::Error
// naming the file and, where there is one, the tensor:
//   safetensors: best.safetensors: tensor "layer1.0.conv1.weight" ends at byte
//   73728 of the data section, which has 70000 bytes (truncated?)
//
// dtypes: F32, F64 and I64 load as they are; F16 and BF16 convert to float32
// and I32 to int64 (PyTorch exports in half precision are common); others
// (BOOL, U8, I8, I16, F8...) are an error naming the dtype.
//
// Writing is atomic: a temporary file in the same directory is written,
// fsync'ed and renamed over the target, so a crash leaves the old file or the
// new one, never half of one.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "engine/tensor.h"

namespace kiln {

// The reference implementation's limit: a larger header is corrupt or hostile.
constexpr uint64_t safetensors_max_header_bytes = uint64_t(100) << 20;

struct SafetensorsContents {
    std::map<std::string, Tensor> tensors;          // cpu tensors
    std::map<std::string, std::string> metadata;    // "__metadata__"
};

SafetensorsContents read_safetensors(const std::string& path);
// The same from bytes in memory; `source` names them in errors.
SafetensorsContents parse_safetensors(std::string_view bytes, const std::string& source);

// Tensors may live on any device and be non-contiguous; names must be
// non-empty and not "__metadata__".
void write_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});
// The bytes write_safetensors would write.
std::string serialize_safetensors(const std::map<std::string, Tensor>& tensors,
                                  const std::map<std::string, std::string>& metadata = {});

}  // namespace kiln
