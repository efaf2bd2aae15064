// Whole rows to bfloat16 (core/bf16.hpp's rounding), vectorised: what the bf16 packers and attention's bf16
// operands are built from.
#pragma once
#include <cstdint>

namespace trm {

// out[i] = bf16(x[i]) for i < n. Read as 32-bit words, out holds the k pairs of one packed row: word i is
// (x[2i], x[2i + 1]) (n even; the caller zeroes a last odd half).
void bf16_row(uint16_t* out, const float* x, int n);
// out[i] = bf16(lo[i]) | bf16(hi[i]) << 16 for i < n: two rows (k and k + 1) of a column-paired operand; hi null
// for a missing odd row (its halves zero).
void bf16_pairs(uint32_t* out, const float* lo, const float* hi, int n);

}  // namespace trm
