// safetensors reader and writer (https://github.com/huggingface/safetensors):
//
//   [u64 little-endian N][N bytes JSON header][data]
//   header: {"__metadata__": {str: str}, "<name>": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ...}
//   offsets are relative to the start of data; every tensor's byte range must lie inside the file.
#pragma once
#include <map>
#include <string>

#include "core/tensor.hpp"

namespace trm {

constexpr uint64_t kMaxSafetensorsHeader = 100u << 20;  // 100 MiB, as the reference implementation

// Validates the whole header (JSON, dtypes, shapes, offsets, sizes vs the file length) before copying any data.
// Errors name the file and the tensor: "m.safetensors: tensor 'lm_head.weight' data_offsets [0, 12] hold 12 bytes,
// shape [11, 512] F32 needs 22528".
TensorFile read_safetensors(const std::string& path);
// The header's __metadata__ only (the header is validated; no tensor data is read).
std::map<std::string, std::string> read_safetensors_metadata(const std::string& path);
TensorFile parse_safetensors(const uint8_t* data, size_t size, const std::string& label);

// Serialises tensors in name order. write_safetensors writes atomically.
std::vector<uint8_t> serialize_safetensors(const TensorFile& file);
void write_safetensors(const std::string& path, const TensorFile& file);

}  // namespace trm
