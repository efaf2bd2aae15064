// trm's own single-threaded sgemm over packed operands, for the matrix products of the recursion.
//
// Why not only OpenBLAS: every TRM weight is applied to activations thousands of times per step, yet cblas_sgemm
// re-packs the weight on every call, zero-fills C before a beta = 0 product, and cannot fuse the SwiGLU that
// follows gate_up. Packing each weight once per model and running the products in row
// chunks that stay in L2 removes all three. The structure is GotoBLAS's: C is computed in kMR x kNR tiles by a
// register-blocked micro-kernel (core/gemm_kernel.hpp: the best instruction set the CPU has) from
//   packed A: [ceil(M / kMR)][K][kMR]  (kMR rows interleaved per k, zero-padded)
//   packed B: [ceil(N / kNR)][K][kNR]  (kNR columns per k, zero-padded)
// so the kernel reads both operands with unit stride. Products are summed in k order with fused multiply-adds,
// which differs from OpenBLAS only by float rounding (tests/test_gemm.cpp checks against the naive reference).
//
// In bf16 (core/cpu.hpp's precision()) the packers round to bf16 and the same buffers hold k-pair words (layout in
// core/gemm_kernel.hpp); tile and panel offsets stay those of fp32, so only offsets within a tile differ.
#pragma once
#include <cstddef>
#include <vector>

#include "core/cpu.hpp"

namespace trm {

inline constexpr int kMR = 6;   // micro-tile rows
inline constexpr int kNR = 64;  // micro-tile columns (4 AVX-512 vectors)
inline constexpr int kRowChunk = 192;  // rows per chunk of linear_packed: the packed rows (192 x K) stay in L2

// True when the active kernels are the AVX-512 ones (otherwise products with weights go through OpenBLAS).
bool fast_gemm_compiled();
// True when every fp32 product should run on trm's kernel, those with plain operands (ops.hpp's gemm) included:
// its AVX-512 kernels are active and OpenBLAS has none wider than SSE3 for this CPU (core/parallel.hpp), or has
// but measures slower (core/gemm.cpp's trm_kernel_beats_blas: a ~20 ms probe, run once). Otherwise the attention models' products
// without packed weights stay on OpenBLAS.
bool products_on_trm_kernel();
// Offset, in floats, of act column `col` (even in bf16) within a tile of a packed A operand.
size_t packed_a_col_offset(int col);

size_t packed_a_floats(int M, int K);
size_t packed_b_floats(int K, int N);
// A[m, k] = trans ? A[k * lda + m] : A[m * lda + k], for m < M, k < K.
void pack_a(float* dst, const float* A, int lda, bool trans, int M, int K);
// B[k, n] = trans ? B[n * ldb + k] : B[k * ldb + n], for k < K, n < N.
void pack_b(float* dst, const float* B, int ldb, bool trans, int K, int N);

// What the kernel does with each finished tile.
enum class Epilogue {
    Store,       // C = A @ B
    Add,         // C += A @ B
    SwiGLU,      // B packed by pack_b_gated: C[m, i] = silu(gate) * up, for i < N = I
    SwiGLURows,  // A packed by pack_a_gated_rows: C[i, n] = silu(gate row i) * (up row i), for i < M = I
    // The same activations written straight into the packed operand of the product that consumes them, so they
    // never exist as a plain matrix that would have to be packed again:
    SwiGLUPackA,      // as SwiGLU; C is the A operand (pack_a layout, K = ldc act columns) of act @ down^T
    SwiGLURowsPackB,  // as SwiGLURows; C is the B operand (pack_b layout, K = ldc act rows) of Wd @ act
};

// The SwiGLU gate|up weight w [2I, In] (PyTorch layout; gate rows 0..I-1, up rows I..2I-1) as B = w^T packed so
// that each kNR-column panel holds kNR/2 gate columns and the kNR/2 up columns with the same index.
size_t packed_gated_floats(int In, int I);
void pack_b_gated(float* dst, const float* w, int In, int I);
// The same weight as the A operand of w @ X (mlp_t, which mixes along the sequence): each kMR-row tile holds
// kMR/2 gate rows and the kMR/2 up rows with the same index, so the tile yields kMR/2 rows of the activation.
size_t packed_a_gated_rows_floats(int I, int K);
void pack_a_gated_rows(float* dst, const float* w, int I, int K);

// C[M, N] (=, += or an activation) Ap @ Bp for packed operands (Ap from pack_a with M rows, or from
// pack_a_gated_rows with I = M; Bp from pack_b with N columns, or from pack_b_gated with I = N). SwiGLU and
// SwiGLURows write the activation C [M, N] and, when gu is not null, also the pre-activation (gate | up, as the
// unfused product would lay it out: [M, 2N] for SwiGLU, [2M, N] for SwiGLURows) at gu with row stride ldgu.
// SwiGLUPackA / SwiGLURowsPackB take C at the packed operand's start and ldc = its K (I); a column range of act
// (col0 below, a team member's share) starts at C + col0 * kMR (PackA) or C + col0 * ldc (PackB, col0 % kNR = 0).
// ldb != 0: B is a plain row-major [K, N] matrix with that row stride, read in place (N a multiple of kNR).
// lda != 0: A is a plain row-major [M, K] matrix with that row stride, read in place (fp32 only, K <= kMaxPlainK,
// not with SwiGLURows*): a_in_place() says when a caller may skip pack_a.
void gemm_packed(int M, int N, int K, const float* Ap, const float* Bp, float* C, int ldc, Epilogue e,
                 float* gu = nullptr, int ldgu = 0, int ldb = 0, int lda = 0);
inline constexpr int kMaxPlainK = 2048;  // one k block of gemm_packed: the kernel sums all of K at once
// Whether gemm_packed can read a plain A of K columns in place now (fp32 products, K within one k block).
bool a_in_place(int K);

// A weight packed once as the B operand of x @ w^T (w [out, in], PyTorch layout).
struct PackedLinear {
    int in = 0, out = 0;  // out = 2I for a gated (SwiGLU) weight
    bool gated = false;
    Precision precision = Precision::Fp32;  // what the panels hold
    std::vector<float> data;
    void pack(const float* w, int in, int out, bool gated);
    // The packed panels from output column col0 on (col0 a panel start): a team member's share of the weight.
    const float* from_column(int col0) const;
};

// out[R, O] (=, += or SwiGLU) inp[R, In] @ w^T, in row chunks that keep the packed activations in L2.
// For gated weights out is act [R, I] (SwiGLU) or act as the packed A operand of the next product, rows padded to
// whole tiles (SwiGLUPackA: packed_a_floats(R, I) floats), and gu (optional) the pre-activation [R, 2I].
// Only output columns [col0, col1) when given (col1 = -1: to the end); col0 must start a panel (kNR columns,
// kNR / 2 for gated weights), so team members can each take their own panels (without gu: training is solo).
void linear_packed(float* out, const float* inp, int R, const PackedLinear& w, Epilogue e, float* gu = nullptr,
                   int col0 = 0, int col1 = -1);

// Rows per chunk for R rows of K values: at most kRowChunk rows (fewer when K is large, so that the packed rows
// stay in L2), as even as whole tiles allow (97 -> 97, not 96 + 1).
int row_chunk(int R, int K = 0);

// C[M, N] (= or +=) op(A) @ op(B) for plain row-major operands (ops.hpp's gemm contract with alpha = 1): packs B
// whole, then A in row chunks. trm bench measures the kernel's square-product rate with it.
void gemm_any(bool trans_a, bool trans_b, int M, int N, int K, const float* A, int lda, const float* B, int ldb,
              bool accumulate, float* C, int ldc);

// What --precision auto means on this machine: bf16 where the active kernels have bf16 products and they measure
// faster than fp32 here (a ~10 ms probe, run once), else fp32.
Precision auto_precision();

// Per-thread packing workspace, grown on first use and reused afterwards (nothing is allocated in steady state).
enum class Workspace {
    PackedRows,     // linear_packed / gemm_any: a chunk of rows packed as the A operand
    MlpTInput,      // mlp_t: one puzzle's x_b packed as the B operand (when not read in place)
    PartialSums,    // gemm_packed: partial sums of the tiles of one panel across k blocks
    AnyB,           // gemm_any: the whole B operand packed
    ActPacked,      // SwiGLU activations written as the next product's packed operand
};
float* gemm_workspace(Workspace slot, size_t floats);

}  // namespace trm
