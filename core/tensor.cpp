#include "core/tensor.hpp"

#include <cstring>

#include "core/error.hpp"

namespace trm {

namespace {
struct DTypeInfo { DType d; const char* name; size_t size; };
constexpr DTypeInfo kDTypes[] = {
    {DType::F32, "F32", 4}, {DType::F64, "F64", 8}, {DType::BF16, "BF16", 2}, {DType::F16, "F16", 2},
    {DType::I64, "I64", 8}, {DType::I32, "I32", 4}, {DType::I16, "I16", 2},  {DType::I8, "I8", 1},
    {DType::U8, "U8", 1},   {DType::BOOL, "BOOL", 1},
};
template <typename T> T load(const uint8_t* p) { T v; std::memcpy(&v, p, sizeof v); return v; }
}  // namespace

const char* dtype_name(DType d) {
    for (auto& i : kDTypes) if (i.d == d) return i.name;
    return "?";
}
bool dtype_from_name(const std::string& s, DType* out) {
    for (auto& i : kDTypes) if (s == i.name) { *out = i.d; return true; }
    return false;
}
size_t dtype_size(DType d) {
    for (auto& i : kDTypes) if (i.d == d) return i.size;
    return 0;
}

float bf16_to_f32(uint16_t v) {
    uint32_t u = uint32_t(v) << 16;
    float f; std::memcpy(&f, &u, 4); return f;
}
uint16_t f32_to_bf16(float f) {
    uint32_t u; std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // NaN stays NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return uint16_t(u >> 16);
}
float f16_to_f32(uint16_t h) {
    uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, u;
    if (exp == 0) {
        if (mant == 0) u = sign;
        else {  // subnormal: renormalise
            exp = 127 - 15 + 1;
            while (!(mant & 0x400)) { mant <<= 1; exp--; }
            u = sign | (exp << 23) | ((mant & 0x3ff) << 13);
        }
    } else if (exp == 31) u = sign | 0x7f800000u | (mant << 13);
    else u = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    float f; std::memcpy(&f, &u, 4); return f;
}

int64_t Tensor::numel() const {
    int64_t n = 1;
    for (auto s : shape) n *= s;
    return n;
}

std::vector<float> Tensor::to_f32() const {
    const int64_t n = numel();
    std::vector<float> out(static_cast<size_t>(n));
    const uint8_t* p = bytes.data();
    switch (dtype) {
        case DType::F32: if (n) std::memcpy(out.data(), p, size_t(n) * 4); break;
        case DType::F64: for (int64_t i = 0; i < n; i++) out[i] = float(load<double>(p + 8 * i)); break;
        case DType::BF16: for (int64_t i = 0; i < n; i++) out[i] = bf16_to_f32(load<uint16_t>(p + 2 * i)); break;
        case DType::F16: for (int64_t i = 0; i < n; i++) out[i] = f16_to_f32(load<uint16_t>(p + 2 * i)); break;
        default: fail("expected a floating-point tensor, found dtype {}", dtype_name(dtype));
    }
    return out;
}

std::vector<int64_t> Tensor::to_i64() const {
    const int64_t n = numel();
    std::vector<int64_t> out(static_cast<size_t>(n));
    const uint8_t* p = bytes.data();
    for (int64_t i = 0; i < n; i++) {
        switch (dtype) {
            case DType::I64: out[i] = load<int64_t>(p + 8 * i); break;
            case DType::I32: out[i] = load<int32_t>(p + 4 * i); break;
            case DType::I16: out[i] = load<int16_t>(p + 2 * i); break;
            case DType::I8: out[i] = load<int8_t>(p + i); break;
            case DType::U8: case DType::BOOL: out[i] = p[i]; break;
            default: fail("expected an integer tensor, found dtype {}", dtype_name(dtype));
        }
    }
    return out;
}

std::vector<double> Tensor::to_f64() const {
    if (dtype == DType::F64) {
        std::vector<double> out(static_cast<size_t>(numel()));
        if (!out.empty()) std::memcpy(out.data(), bytes.data(), out.size() * 8);
        return out;
    }
    if (dtype == DType::F32 || dtype == DType::BF16 || dtype == DType::F16) {
        auto f = to_f32();
        return std::vector<double>(f.begin(), f.end());
    }
    auto i = to_i64();
    return std::vector<double>(i.begin(), i.end());
}

Tensor Tensor::from_f32(std::vector<int64_t> shape, const float* data) {
    Tensor t; t.dtype = DType::F32; t.shape = std::move(shape);
    t.bytes.resize(size_t(t.numel()) * 4);
    if (!t.bytes.empty()) std::memcpy(t.bytes.data(), data, t.bytes.size());
    return t;
}
Tensor Tensor::from_f64(std::vector<int64_t> shape, const double* data) {
    Tensor t; t.dtype = DType::F64; t.shape = std::move(shape);
    t.bytes.resize(size_t(t.numel()) * 8);
    if (!t.bytes.empty()) std::memcpy(t.bytes.data(), data, t.bytes.size());
    return t;
}
Tensor Tensor::from_i32(std::vector<int64_t> shape, const int32_t* data) {
    Tensor t; t.dtype = DType::I32; t.shape = std::move(shape);
    t.bytes.resize(size_t(t.numel()) * 4);
    if (!t.bytes.empty()) std::memcpy(t.bytes.data(), data, t.bytes.size());
    return t;
}

std::string shape_str(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); i++) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

const Tensor& TensorFile::at(const std::string& name, const std::string& file_label) const {
    auto it = tensors.find(name);
    if (it == tensors.end()) fail("{}: missing tensor '{}'", file_label, name);
    return it->second;
}

}  // namespace trm
