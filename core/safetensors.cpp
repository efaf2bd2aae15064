#include "core/safetensors.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/file_io.hpp"

namespace trm {

using nlohmann::json;

namespace {

// One tensor's header entry, checked against the data length but not yet read.
struct Entry {
    std::string name;
    Tensor tensor;  // dtype and shape; bytes still empty
    uint64_t begin = 0, end = 0;
};

// Reads the 8-byte length; checks it against the limit and the bytes that follow it.
uint64_t header_length(const uint8_t* head, uint64_t size, const std::string& label) {
    if (size < 8) fail("{}: not a safetensors file (only {} bytes)", label, size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | head[i];
    if (n > kMaxSafetensorsHeader) fail("{}: header length {} is larger than the {} allowed", label, n, kMaxSafetensorsHeader);
    if (n > size - 8) fail("{}: truncated: header claims {} bytes, file has {} after the length", label, n, size - 8);
    return n;
}

// Parses and validates the JSON header: dtypes, shapes, offsets inside `data_size`, and, as the reference
// implementation requires, byte ranges that are disjoint and cover the data exactly (no aliasing, no holes).
std::vector<Entry> parse_header(const uint8_t* text, uint64_t n, uint64_t data_size, const std::string& label,
                                std::map<std::string, std::string>* metadata) {
    json header;
    try {
        header = json::parse(text, text + n);
    } catch (const json::exception& e) {
        fail("{}: header is not valid JSON: {}", label, e.what());
    }
    if (!header.is_object()) fail("{}: header is not a JSON object", label);
    std::vector<Entry> out;
    for (auto& [name, v] : header.items()) {
        if (name == "__metadata__") {
            if (!v.is_object()) fail("{}: __metadata__ is not an object", label);
            for (auto& [k, s] : v.items()) {
                if (!s.is_string()) fail("{}: __metadata__ value '{}' is not a string", label, k);
                (*metadata)[k] = s.get<std::string>();
            }
            continue;
        }
        if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
            fail("{}: tensor '{}' needs dtype, shape and data_offsets", label, name);
        Entry en;
        en.name = name;
        Tensor& t = en.tensor;
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
        en.begin = off[0].get<uint64_t>();
        en.end = off[1].get<uint64_t>();
        if (en.begin > en.end || en.end > data_size)
            fail("{}: tensor '{}' data_offsets [{}, {}] fall outside the {} data bytes (truncated file?)", label, name,
                 en.begin, en.end, data_size);
        uint64_t need = numel * dtype_size(t.dtype);
        if (en.end - en.begin != need)
            fail("{}: tensor '{}' data_offsets [{}, {}] hold {} bytes, shape {} {} needs {}", label, name, en.begin,
                 en.end, en.end - en.begin, shape_str(t.shape), dtype_name(t.dtype), need);
        out.push_back(std::move(en));
    }
    std::vector<const Entry*> order;
    for (auto& e : out) order.push_back(&e);
    std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
        return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    uint64_t at = 0;
    const Entry* prev = nullptr;
    for (const Entry* e : order) {
        if (e->begin < at)
            fail("{}: tensor '{}' data_offsets [{}, {}] overlap tensor '{}' [{}, {}]", label, e->name, e->begin, e->end,
                 prev->name, prev->begin, prev->end);
        if (e->begin > at)
            fail("{}: data bytes [{}, {}] belong to no tensor (before tensor '{}')", label, at, e->begin, e->name);
        at = e->end;
        prev = e;
    }
    if (at != data_size) fail("{}: data bytes [{}, {}] belong to no tensor (trailing bytes)", label, at, data_size);
    return out;
}

}  // namespace

TensorFile parse_safetensors(const uint8_t* data, size_t size, const std::string& label) {
    const uint64_t n = header_length(data, size, label);
    TensorFile out;
    auto entries = parse_header(data + 8, n, size - 8 - n, label, &out.metadata);
    const uint8_t* base = data + 8 + n;
    for (auto& e : entries) {
        e.tensor.bytes.assign(base + e.begin, base + e.end);
        out.tensors.emplace(std::move(e.name), std::move(e.tensor));
    }
    return out;
}

// Reads the length and header first, so a file that is not safetensors (or lies about its size) is refused after
// reading at most 8 + header bytes; then each tensor straight into its own buffer (no whole-file copy).
namespace {
// Opens `path` and validates its header against the file; `in` is left at the start of the data.
std::vector<Entry> open_safetensors(const std::string& path, std::ifstream& in,
                                    std::map<std::string, std::string>* metadata) {
    in.open(path, std::ios::binary);
    if (!in) fail("{}: cannot open: {}", path, std::strerror(errno));
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(path, ec);
    if (ec || !std::filesystem::is_regular_file(path)) fail("{}: not a regular file", path);
    if (size > kMaxModelFileBytes) fail("{}: file is {} bytes, more than the {} allowed", path, size, kMaxModelFileBytes);
    uint8_t head[8] = {0};
    in.read(reinterpret_cast<char*>(head), std::streamsize(std::min<uint64_t>(size, 8)));
    const uint64_t n = header_length(head, size, path);
    std::vector<uint8_t> text(n);
    if (!in.read(reinterpret_cast<char*>(text.data()), std::streamsize(n)))
        fail("{}: read failed in the header (file changed while reading?)", path);
    return parse_header(text.data(), n, size - 8 - n, path, metadata);
}
}  // namespace

TensorFile read_safetensors(const std::string& path) {
    std::ifstream in;
    TensorFile out;
    auto entries = open_safetensors(path, in, &out.metadata);
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
    for (auto& e : entries) {
        e.tensor.bytes.resize(e.end - e.begin);
        if (!e.tensor.bytes.empty() &&
            !in.read(reinterpret_cast<char*>(e.tensor.bytes.data()), std::streamsize(e.tensor.bytes.size())))
            fail("{}: read failed in tensor '{}' (file changed while reading?)", path, e.name);
        out.tensors.emplace(std::move(e.name), std::move(e.tensor));
    }
    return out;
}

std::map<std::string, std::string> read_safetensors_metadata(const std::string& path) {
    std::ifstream in;
    std::map<std::string, std::string> metadata;
    open_safetensors(path, in, &metadata);
    return metadata;
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
