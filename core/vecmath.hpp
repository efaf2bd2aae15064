// Element-wise math written so that the compiler vectorises it (AVX2 / AVX-512 with -march=native): no libm calls,
// no branches, no errno. std::exp in a loop stays scalar (one libm call per element), which made SwiGLU and
// softmax cost as much as the matrix products of a small model.
#pragma once
#include <cstdint>
#include <cstring>

namespace trm {

// exp(x) for float32 (Cephes expf: x = n ln2 + r, |r| <= ln2/2, degree-6 polynomial, 2^n from the exponent bits).
// Relative error <= 2e-7 on [-87, 88]; saturates to exp(-87.3) / exp(88.3) outside (no inf, no denormals).
// always_inline: the per-instruction-set kernel units (core/gemm_kernels_*.cpp) must each keep their own copy,
// never share one out-of-line copy compiled for another unit's instruction set.
#define TRM_ALWAYS_INLINE inline __attribute__((always_inline))

// The element-wise passes (norms, SwiGLU, softmax, RoPE, the optimizer) compiled three times, for AVX-512, AVX2
// and baseline x86-64, the loader picking the best the CPU has: the default build targets no particular CPU,
// and these loops would otherwise run on SSE2.
#if defined(__x86_64__) && !defined(__clang_analyzer__) && !defined(__SANITIZE_ADDRESS__)
#define TRM_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define TRM_VECTOR_CLONES
#endif

// exp(x) = 2^n exp(r), n = round(x log2 e), r = x - n ln2, exp(r) ~ 1 + r + r^2 (c0 r^5 + ... + c5): the constants
// of exp_fast and of the softmax's AVX-512 exponential (core/ops.cpp), which must agree.
namespace exp_poly {
inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2Hi = 0.693359375f;  // ln2 split in two for an exact first product
inline constexpr float kLn2Lo = -2.12194440e-4f;
inline constexpr float kC0 = 1.9875691500e-4f, kC1 = 1.3981999507e-3f, kC2 = 8.3334519073e-3f;
inline constexpr float kC3 = 4.1665795894e-2f, kC4 = 1.6666665459e-1f, kC5 = 5.0000001201e-1f;
}  // namespace exp_poly

TRM_ALWAYS_INLINE float exp_fast(float x) {
    using namespace exp_poly;
    x = x < -87.3f ? -87.3f : x;
    x = x > 88.3f ? 88.3f : x;
    // round to nearest by adding and subtracting 1.5 * 2^23 (no floorf call, which blocks vectorisation; exact as
    // long as nothing reassociates float math: we never build with -ffast-math)
    const float n = (x * kLog2e + 12582912.0f) - 12582912.0f;
    float r = x - n * kLn2Hi;
    r = r - n * kLn2Lo;
    float p = kC0;
    p = p * r + kC1;
    p = p * r + kC2;
    p = p * r + kC3;
    p = p * r + kC4;
    p = p * r + kC5;
    p = p * r * r + r + 1.0f;
    const int32_t bits = (int32_t(n) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

// 1 / (1 + exp(-x))
TRM_ALWAYS_INLINE float sigmoid_fast(float x) { return 1.0f / (1.0f + exp_fast(-x)); }

// silu(g) = g * sigmoid(g), the SwiGLU gate
TRM_ALWAYS_INLINE float silu(float g) { return g * sigmoid_fast(g); }

}  // namespace trm
