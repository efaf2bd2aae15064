#include "core/safetensors.hpp"

#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/file_io.hpp"

namespace trm {

using nlohmann::json;

TensorFile parse_safetensors(const uint8_t* data, size_t size, const std::string& label) {
    if (size < 8) fail("{}: not a safetensors file (only {} bytes)", label, size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | data[i];
    if (n > kMaxSafetensorsHeader) fail("{}: header length {} is larger than the {} allowed", label, n, kMaxSafetensorsHeader);
    if (n > size - 8) fail("{}: truncated: header claims {} bytes, file has {} after the length", label, n, size - 8);
    json header;
    try {
        header = json::parse(data + 8, data + 8 + n);
    } catch (const json::exception& e) {
        fail("{}: header is not valid JSON: {}", label, e.what());
    }
    if (!header.is_object()) fail("{}: header is not a JSON object", label);
    const uint8_t* base = data + 8 + n;
    const uint64_t data_size = size - 8 - n;

    TensorFile out;
    for (auto& [name, v] : header.items()) {
        if (name == "__metadata__") {
            if (!v.is_object()) fail("{}: __metadata__ is not an object", label);
            for (auto& [k, s] : v.items()) {
                if (!s.is_string()) fail("{}: __metadata__ value '{}' is not a string", label, k);
                out.metadata[k] = s.get<std::string>();
            }
            continue;
        }
        if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
            fail("{}: tensor '{}' needs dtype, shape and data_offsets", label, name);
        Tensor t;
        if (!v["dtype"].is_string() || !dtype_from_name(v["dtype"].get<std::string>(), &t.dtype))
            fail("{}: tensor '{}' has unsupported dtype {}", label, name, v["dtype"].dump());
        if (!v["shape"].is_array()) fail("{}: tensor '{}' shape is not a list", label, name);
        uint64_t numel = 1;
        for (auto& d : v["shape"]) {
            if (!d.is_number_unsigned()) fail("{}: tensor '{}' has a bad shape {}", label, name, v["shape"].dump());
            uint64_t dim = d.get<uint64_t>();
            if (dim > (uint64_t(1) << 40) || (dim && numel > (uint64_t(1) << 40) / dim))
                fail("{}: tensor '{}' shape {} is absurdly large", label, name, v["shape"].dump());
            numel *= dim;
            t.shape.push_back(int64_t(dim));
        }
        auto& off = v["data_offsets"];
        if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
            fail("{}: tensor '{}' has bad data_offsets {}", label, name, off.dump());
        uint64_t b = off[0].get<uint64_t>(), e = off[1].get<uint64_t>();
        if (b > e || e > data_size)
            fail("{}: tensor '{}' data_offsets [{}, {}] fall outside the {} data bytes (truncated file?)", label, name, b,
                 e, data_size);
        uint64_t need = numel * dtype_size(t.dtype);
        if (e - b != need)
            fail("{}: tensor '{}' data_offsets [{}, {}] hold {} bytes, shape {} {} needs {}", label, name, b, e, e - b,
                 shape_str(t.shape), dtype_name(t.dtype), need);
        t.bytes.assign(base + b, base + e);
        out.tensors.emplace(name, std::move(t));
    }
    return out;
}

TensorFile read_safetensors(const std::string& path) {
    auto bytes = read_file_bytes(path);
    return parse_safetensors(bytes.data(), bytes.size(), path);
}

std::vector<uint8_t> serialize_safetensors(const TensorFile& file) {
    json header = json::object();
    if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
    uint64_t offset = 0;
    for (auto& [name, t] : file.tensors) {
        header[name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
        offset += t.bytes.size();
    }
    std::string h = header.dump();
    while ((h.size() + 8) % 8) h.push_back(' ');  // align data to 8 bytes, as the reference writer does
    std::vector<uint8_t> out(8 + h.size() + offset);
    uint64_t n = h.size();
    for (int i = 0; i < 8; i++) out[i] = uint8_t(n >> (8 * i));
    std::memcpy(out.data() + 8, h.data(), h.size());
    uint8_t* p = out.data() + 8 + h.size();
    for (auto& [name, t] : file.tensors) {
        if (!t.bytes.empty()) std::memcpy(p, t.bytes.data(), t.bytes.size());
        p += t.bytes.size();
    }
    return out;
}

void write_safetensors(const std::string& path, const TensorFile& file) {
    auto bytes = serialize_safetensors(file);
    write_file_atomic(path, bytes.data(), bytes.size());
}

}  // namespace trm
