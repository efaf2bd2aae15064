// A named n-d tensor as stored in files (safetensors, torch checkpoints): dtype, shape and raw little-endian bytes.
// The model works in float32; to_f32() converts float32 / bfloat16 / float16 / float64 storage.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace trm {

enum class DType { F32, F64, BF16, F16, I64, I32, I16, I8, U8, BOOL };

const char* dtype_name(DType d);        // safetensors spelling: "F32", "BF16", ...
bool dtype_from_name(const std::string& s, DType* out);
size_t dtype_size(DType d);

struct Tensor {
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;  // numel * dtype_size, little-endian, row-major

    int64_t numel() const;
    std::vector<float> to_f32() const;     // float types only; throws for integer tensors
    std::vector<int64_t> to_i64() const;   // integer and bool types only
    std::vector<double> to_f64() const;    // any numeric type

    static Tensor from_f32(std::vector<int64_t> shape, const float* data);
    static Tensor from_f64(std::vector<int64_t> shape, const double* data);
    static Tensor from_i32(std::vector<int64_t> shape, const int32_t* data);
};

std::string shape_str(const std::vector<int64_t>& shape);  // "[11, 512]"

// An ordered set of named tensors plus string metadata (the safetensors `__metadata__`).
struct TensorFile {
    std::map<std::string, Tensor> tensors;
    std::map<std::string, std::string> metadata;

    bool has(const std::string& name) const { return tensors.count(name) != 0; }
    const Tensor& at(const std::string& name, const std::string& file_label) const;  // throws naming file and key
};

float bf16_to_f32(uint16_t v);
uint16_t f32_to_bf16(float f);  // round to nearest even, as torch does
float f16_to_f32(uint16_t v);

}  // namespace trm
