// Tensor ops of the TRM forward and backward, as free functions with outputs first.
//
// Dims legend:
//   B batch (puzzles in flight)   S seq_len (puzzle tokens)   P puzzle_emb_len   L = S + P rows per puzzle
//   R = B * L rows                D hidden_size               H num_heads        hd = D / H head_dim
//   I SwiGLU inner over D         It SwiGLU inner over L (mlp_t)                  V vocab_size
// Every activation is row-major [B, L, D] = [R, D]. Weights keep PyTorch's (out, in) layout.
// Backward functions ACCUMULATE into their gradient outputs (dinp, dweight) unless stated otherwise.
#pragma once
#include <cstddef>

namespace trm {

// ---- matrix products: the wrapper over cblas_sgemm for plain operands ----
// (Products with a weight packed once, and the fused SwiGLU, run on trm's own kernel: core/gemm.hpp. In fp32 the
// backward's products stay here on OpenBLAS, whose packing of small-K activations is cheaper than trm's; in bf16
// every product with alpha 1 and beta 0 or 1 goes to trm's kernel, the only one with bf16 products.)
// C[M,N] = alpha * op(A) @ op(B) + beta * C, row-major, op = transpose when the flag is set.
void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
          int ldb, float beta, float* C, int ldc);
// Naive triple loop with the same contract, for tests.
void gemm_reference(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc);

// out[R, O] (+)= inp[R, In] @ w[O, In]^T   (nn.Linear without bias)
void linear_forward(float* out, const float* inp, const float* w, int R, int In, int O, bool accumulate = false);
// dinp[R, In] += dout @ w ; dw[O, In] += dout^T @ inp   (either output may be null)
void linear_backward(float* dinp, float* dw, const float* dout, const float* inp, const float* w, int R, int In, int O);

// ---- RMSNorm over the last axis (no weight): out = x / sqrt(mean(x^2) + eps). out may alias inp. ----
void rmsnorm_forward(float* out, float* inv_rms, const float* inp, int rows, int dim, float eps);
// dinp[rows, dim] += inv_rms * (dout - out * mean(dout * out)); dinp may alias dout (then it is overwritten).
void rmsnorm_backward(float* dinp, const float* dout, const float* out, const float* inv_rms, int rows, int dim, bool overwrite);

// RMSNorm over axis 0 of each [n, m] matrix (the mlp_t post-norm over the sequence axis): columns are normalised.
// inv_rms: [m]. ld: row stride of inp/out (0 = m), so a team can normalise its own columns of a wider matrix.
void rmsnorm_cols_forward(float* out, float* inv_rms, const float* inp, int n, int m, float eps, int ld = 0);
void rmsnorm_cols_backward(float* dinp, const float* dout, const float* out, const float* inv_rms, int n, int m, bool overwrite);

// ---- SwiGLU activation: out[r, i] = silu(gu[r, i]) * gu[r, I + i]; gu is [rows, 2I] (gate | up) ----
void swiglu_forward(float* out, const float* gu, int rows, int I);
// dgu overwritten; act (optional) [rows, I] = the activation recomputed from gu.
void swiglu_backward(float* dgu, const float* dout, const float* gu, int rows, int I, float* act = nullptr);
// Same activation when gate and up are stacked along rows: gu is [2I, cols] (gate rows, then up rows); out [I, cols].
void swiglu_rows_forward(float* out, const float* gu, int I, int cols);
void swiglu_rows_backward(float* dgu, const float* dout, const float* gu, int I, int cols, float* act = nullptr);

// ---- RoPE (rotate-half convention) on the q and k parts of qkv [B*L, 3D] in place; cos/sin: [L, hd] ----
void rope_forward(float* qkv, const float* cos, const float* sin, int rows, int L, int H, int hd);
void rope_backward(float* dqkv, const float* cos, const float* sin, int rows, int L, int H, int hd);  // in place
// Official table: inv_freq = 1 / theta^(arange(0, hd, 2) / hd) and angles t * inv_freq, all in float32.
void rope_table(float* cos, float* sin, int L, int hd, float theta);
// rope2d's table for P prefix rows then a side x side grid (row-major): pair i < hd/4 turns with the row, the others
// with the column, each axis with inv_freq = 1 / theta^(arange(0, hd/2, 2) / (hd/2)). Prefix row p sits at
// (-1, p - P), a row above the grid, so every position is distinct.
void rope_table_2d(float* cos, float* sin, int P, int side, int hd, float theta);

// ---- Non-causal multi-head attention over qkv [B, L, 3, H, hd] -> att [B, L, H, hd] = [R, D] ----
// probs [B, H, slot] keeps softmax(q k^T / sqrt(hd)) for backward, attention_probs_floats(L) floats per (b, h)
// (one slot of scratch when save is false): [L, L] on the OpenBLAS path; on trm's packed kernel p^T in blocks of
// kAttentionRowBlock query rows, [ceil(L / 64)][L][64], which only attention_backward reads.
constexpr int kAttentionRowBlock = 64;  // query rows per block of the packed path (one kNR panel of p^T)
size_t attention_probs_floats(int L);
// p[i, j] (query i, key j) from one (b, h) slot of probs saved by attention_forward, in either layout.
float attention_prob(const float* slot, int L, int i, int j);
void attention_forward(float* att, float* probs, const float* qkv, int B, int L, int H, int hd, bool save_probs);
// dqkv [R, 3D] overwritten; att [R, D]: attention_forward's output for these qkv and probs; scratch:
// attention_probs_floats(L) floats.
void attention_backward(float* dqkv, float* scratch, const float* datt, const float* att, const float* qkv,
                        const float* probs, int B, int L, int H, int hd);

// ---- element-wise ----
void add_inplace(float* a, const float* b, size_t n);                 // a += b
void add_into(float* out, const float* a, const float* b, size_t n);  // out = a + b
// dst = src, with streaming stores past the caches where dst is cache-line aligned: for data saved now and read
// back much later (training's saved activations), which would otherwise first read every cold line it writes.
void copy_past_caches(float* dst, const float* src, size_t n);

}  // namespace trm
