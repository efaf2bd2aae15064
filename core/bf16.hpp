// bfloat16 conversions: the top 16 bits of a float32, rounded to nearest even as PyTorch's .to(torch.bfloat16).
#pragma once
#include <cstdint>
#include <cstring>

#include "core/vecmath.hpp"  // TRM_ALWAYS_INLINE

namespace trm {

TRM_ALWAYS_INLINE uint16_t to_bf16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40u);  // NaN stays a (quiet) NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return uint16_t(u >> 16);
}

TRM_ALWAYS_INLINE float from_bf16(uint16_t h) {
    const uint32_t u = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

// The float32 value nearest to f that bf16 can hold (what a round trip through bf16 gives).
TRM_ALWAYS_INLINE float round_bf16(float f) { return from_bf16(to_bf16(f)); }

// Two bf16 values in one 32-bit word, lo in the low half: the k-pair unit of the packed bf16 operands.
TRM_ALWAYS_INLINE uint32_t bf16_pair(float lo, float hi) { return uint32_t(to_bf16(lo)) | (uint32_t(to_bf16(hi)) << 16); }

}  // namespace trm
