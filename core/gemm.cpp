#include "core/gemm.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "core/error.hpp"
#include "core/vecmath.hpp"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace trm {

namespace {

// k block. Measured (trm bench, sudoku-mlp rows): one pass over K up to 2048 beats L1-sized blocks of 96-256,
// whose partial sums cost more than the B sub-panel (K x kNR, <= 512 KiB) streaming from L2 saves.
constexpr int kKC = 2048;
constexpr int kMC = kRowChunk;

static_assert(kNR % 32 == 0 && kMC % kMR == 0);

// Where a finished tile goes (everything the micro-kernel needs besides its operands).
struct Tile {
    const float* init = nullptr;  // [MR][kNR] partial sum of earlier k blocks, or null to start from zero
    float* c = nullptr;           // C at the tile's first row and column
    int ldc = 0;
    int nvalid = 0;               // valid C columns of the tile
    Epilogue e = Epilogue::Store;
    float* gu = nullptr;          // SwiGLU / SwiGLURows: also keep the pre-activation here (training)
    int ldgu = 0;
    int I = 0;                    // SwiGLU: up columns start at gu + I; SwiGLURows: up rows start I rows below gu
    int vrows = 0;                // SwiGLURows: valid act rows of the tile (1..kMR/2)
};

// The tile's gate and up sums to gu in the unfused product's layout (training; the AVX-512 kernel streams them
// from registers instead and clears gu before calling epilogue()).
template <int MR>
inline void store_gu(const float (&t)[MR][kNR], const Tile& o, bool by_rows) {
    if (!by_rows) {  // columns 0..31 gate, 32..63 up
        for (int i = 0; i < MR; i++) {
            float* g = o.gu + size_t(i) * o.ldgu;
            for (int j = 0; j < o.nvalid; j++) { g[j] = t[i][j]; g[o.I + j] = t[i][kNR / 2 + j]; }
        }
    } else if constexpr (MR == kMR) {  // rows 0..2 gate, 3..5 up
        for (int i = 0; i < o.vrows; i++) {
            float* g = o.gu + size_t(i) * o.ldgu;
            float* u = o.gu + size_t(o.I + i) * o.ldgu;
            for (int j = 0; j < o.nvalid; j++) { g[j] = t[i][j]; u[j] = t[kMR / 2 + i][j]; }
        }
    }
}

// One finished tile t [MR][kNR] (row i valid for i < MR, columns < nvalid) goes to C as the epilogue says.
template <int MR>
inline void epilogue(const float (&t)[MR][kNR], const Tile& o) {
    const int nvalid = o.nvalid;
    if (o.e == Epilogue::SwiGLU || o.e == Epilogue::SwiGLUPackA) {
        if (o.gu) store_gu<MR>(t, o, false);
        constexpr int H = kNR / 2;  // gate columns, then up columns of the same act columns
        float a[kMR][H] = {};
        for (int i = 0; i < MR; i++) {
#pragma omp simd
            for (int j = 0; j < H; j++) a[i][j] = silu(t[i][j]) * t[i][H + j];
        }
        if (o.e == Epilogue::SwiGLUPackA) {  // act (i, j) at c[j * kMR + i]; rows past MR zero (A's padding)
            for (int j = 0; j < nvalid; j++)
                for (int i = 0; i < kMR; i++) o.c[size_t(j) * kMR + i] = a[i][j];
            return;
        }
        for (int i = 0; i < MR; i++) {
            float* y = o.c + size_t(i) * o.ldc;
#pragma omp simd
            for (int j = 0; j < H; j++)
                if (j < nvalid) y[j] = a[i][j];
        }
        return;
    }
    if (o.e == Epilogue::SwiGLURows || o.e == Epilogue::SwiGLURowsPackB) {
        if constexpr (MR == kMR) {
            if (o.gu) store_gu<MR>(t, o, true);
            constexpr int H = kMR / 2;  // gate rows, then up rows of the same act rows
            const bool packed = o.e == Epilogue::SwiGLURowsPackB;
            for (int i = 0; i < o.vrows; i++) {
                // PackB: act (i, j) at c[i * kNR + j], columns past nvalid zero (B's padding)
                float* y = o.c + size_t(i) * (packed ? kNR : o.ldc);
                if (packed) {
#pragma omp simd
                    for (int j = 0; j < kNR; j++) y[j] = j < nvalid ? silu(t[i][j]) * t[H + i][j] : 0.0f;
                } else {
#pragma omp simd
                    for (int j = 0; j < kNR; j++)
                        if (j < nvalid) y[j] = silu(t[i][j]) * t[H + i][j];
                }
            }
        }
        return;
    }
    for (int i = 0; i < MR; i++) {
        float* y = o.c + size_t(i) * o.ldc;
        if (o.e == Epilogue::Add) {
#pragma omp simd
            for (int j = 0; j < kNR; j++)
                if (j < nvalid) y[j] += t[i][j];
        } else {
#pragma omp simd
            for (int j = 0; j < kNR; j++)
                if (j < nvalid) y[j] = t[i][j];
        }
    }
}

#if defined(__AVX512F__)
// 16 floats to p, the first n of them: streamed past the caches when whole and aligned (the pre-activation is
// read back only by the backward, after every other block has run), else a masked store.
inline void store_stream(float* p, __m512 v, int n) {
    if (n >= 16 && (reinterpret_cast<uintptr_t>(p) & 63) == 0) _mm512_stream_ps(p, v);
    else if (n > 0) _mm512_mask_storeu_ps(p, __mmask16((1u << std::min(n, 16)) - 1u), v);
}

// SwiGLU / SwiGLURows in training: the tile's gate and up sums also go to gu, in the unfused product's layout.
template <int MR>
inline void store_pre_activation(const __m512 (&r)[MR][kNR / 16], const Tile& o) {
    if (o.e == Epilogue::SwiGLU || o.e == Epilogue::SwiGLUPackA) {  // columns 0..31 gate, 32..63 up
        for (int i = 0; i < MR; i++) {
            float* g = o.gu + size_t(i) * o.ldgu;
            for (int j = 0; j < 2; j++) {
                store_stream(g + 16 * j, r[i][j], o.nvalid - 16 * j);
                store_stream(g + o.I + 16 * j, r[i][2 + j], o.nvalid - 16 * j);
            }
        }
    } else if constexpr (MR == kMR) {  // rows 0..2 gate, 3..5 up (act rows 0..vrows)
        constexpr int H = kMR / 2;
        for (int i = 0; i < o.vrows; i++)
            for (int j = 0; j < kNR / 16; j++) {
                store_stream(o.gu + size_t(i) * o.ldgu + 16 * j, r[i][j], o.nvalid - 16 * j);
                store_stream(o.gu + size_t(o.I + i) * o.ldgu + 16 * j, r[H + i][j], o.nvalid - 16 * j);
            }
    }
}

// C tile [MR, kNR] from a [kc][kMR] and b [kc][ldb] (kNR columns used): 4 vectors of B per k, one broadcast of
// A per row, MR x 4 accumulators (24 of the 32 zmm registers at MR = 6).
template <int MR>
void kernel(int kc, const float* __restrict a, const float* __restrict b, int ldb, const Tile& o) {
    constexpr int V = kNR / 16;
    __m512 r[MR][V];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < V; j++) r[i][j] = o.init ? _mm512_loadu_ps(o.init + i * kNR + 16 * j) : _mm512_setzero_ps();
    for (int i = 0; i < MR; i++) _mm_prefetch(reinterpret_cast<const char*>(o.c + size_t(i) * o.ldc), _MM_HINT_T0);
#pragma GCC unroll 2
    for (int k = 0; k < kc; k++) {
        __m512 bv[V];
        for (int j = 0; j < V; j++) bv[j] = _mm512_loadu_ps(b + size_t(k) * ldb + 16 * j);
        for (int i = 0; i < MR; i++) {
            const __m512 av = _mm512_set1_ps(a[size_t(k) * kMR + i]);
            for (int j = 0; j < V; j++) r[i][j] = _mm512_fmadd_ps(av, bv[j], r[i][j]);
        }
    }
    if (o.e == Epilogue::Store || o.e == Epilogue::Add) {  // straight from registers, with masked edges
        for (int j = 0; j < V; j++) {
            const int n = std::clamp(o.nvalid - 16 * j, 0, 16);
            const __mmask16 m = __mmask16((1u << n) - 1u);
            if (!m) continue;
            for (int i = 0; i < MR; i++) {
                float* p = o.c + size_t(i) * o.ldc + 16 * j;
                __m512 v = r[i][j];
                if (o.e == Epilogue::Add) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, p));
                _mm512_mask_storeu_ps(p, m, v);
            }
        }
        return;
    }
    if (o.gu) store_pre_activation<MR>(r, o);  // SwiGLU* only: the others have no gu
    alignas(64) float t[MR][kNR];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < V; j++) _mm512_store_ps(&t[i][16 * j], r[i][j]);
    Tile e = o;
    e.gu = nullptr;
    epilogue<MR>(t, e);
}
#else
template <int MR>
void kernel(int kc, const float* __restrict a, const float* __restrict b, int ldb, const Tile& o) {
    float t[MR][kNR] = {};
    if (o.init)
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < kNR; j++) t[i][j] = o.init[i * kNR + j];
    for (int k = 0; k < kc; k++)
        for (int i = 0; i < MR; i++) {
            const float av = a[size_t(k) * kMR + i];
#pragma omp simd
            for (int j = 0; j < kNR; j++) t[i][j] += av * b[size_t(k) * ldb + j];
        }
    epilogue<MR>(t, o);
}
#endif

// kernel<MR>(kc, a, b, ldb, tile): the tile's sum over kc (from tile.init or zero) goes to C by the epilogue.
using Kernel = void (*)(int, const float*, const float*, int, const Tile&);
constexpr Kernel kKernels[kMR + 1] = {nullptr, kernel<1>, kernel<2>, kernel<3>, kernel<4>, kernel<5>, kernel<6>};
static_assert(kMR == 6, "kKernels lists one kernel per tile height");

}  // namespace

bool fast_gemm_compiled() {
#if defined(__AVX512F__)
    return true;
#else
    return false;
#endif
}

size_t packed_a_floats(int M, int K) { return size_t((M + kMR - 1) / kMR) * kMR * K; }
size_t packed_b_floats(int K, int N) { return size_t((N + kNR - 1) / kNR) * kNR * K; }

void pack_a(float* dst, const float* A, int lda, bool trans, int M, int K) {
    if (trans) {  // A is stored [K, M]: read each stored row once, handing kMR values to every tile
        const int full = M / kMR;
        for (int k = 0; k < K; k++) {
            const float* s = A + size_t(k) * lda;
            for (int t = 0; t < full; t++) {
                float* d = dst + size_t(t) * kMR * K + size_t(k) * kMR;
                for (int i = 0; i < kMR; i++) d[i] = s[t * kMR + i];
            }
            if (full * kMR < M) {
                float* d = dst + size_t(full) * kMR * K + size_t(k) * kMR;
                for (int i = 0; i < kMR; i++) d[i] = full * kMR + i < M ? s[full * kMR + i] : 0.0f;
            }
        }
        return;
    }
    for (int m0 = 0; m0 < M; m0 += kMR) {
        const int mr = std::min(kMR, M - m0);
        float* d = dst + size_t(m0) * K;
        for (int i = 0; i < kMR; i++) {
            if (i >= mr) {
                for (int k = 0; k < K; k++) d[size_t(k) * kMR + i] = 0.0f;
                continue;
            }
            const float* s = A + size_t(m0 + i) * lda;
            for (int k = 0; k < K; k++) d[size_t(k) * kMR + i] = s[k];
        }
    }
}

void pack_b(float* dst, const float* B, int ldb, bool trans, int K, int N) {
    constexpr int kb = 16;  // transposed: 16 k x kNR n blocks, so reads and writes both stay within L1
    for (int n0 = 0; n0 < N; n0 += kNR) {
        const int nr = std::min(kNR, N - n0);
        float* d = dst + size_t(n0) * K;
        if (trans) {
            for (int k0 = 0; k0 < K; k0 += kb) {
                const int kn = std::min(kb, K - k0);
                for (int j = 0; j < kNR; j++) {
                    const float* s = B + size_t(n0 + j) * ldb + k0;
                    for (int k = 0; k < kn; k++) d[size_t(k0 + k) * kNR + j] = j < nr ? s[k] : 0.0f;
                }
            }
        } else {
            for (int k = 0; k < K; k++) {
                const float* s = B + size_t(k) * ldb + n0;
                float* o = d + size_t(k) * kNR;
                std::memcpy(o, s, size_t(nr) * sizeof(float));
                std::fill(o + nr, o + kNR, 0.0f);
            }
        }
    }
}

// The gate|up weight w [2I, K] packed in groups of `width` (a kNR-column panel of B, or a kMR-row tile of A): each
// group holds width/2 gate rows of w and the width/2 up rows with the same index, interleaved along k as
// pack_b / pack_a lay out their operands; padding past I is zero.
static void pack_gate_up_pairs(float* dst, const float* w, int I, int K, int width) {
    const int H = width / 2;
    const int groups = (I + H - 1) / H;
    for (int g = 0; g < groups; g++) {
        float* d = dst + size_t(g) * width * K;
        for (int j = 0; j < width; j++) {
            const int i = g * H + j % H;  // act column (B) or row (A)
            const float* s = w + size_t(j < H ? i : I + i) * K;
            for (int k = 0; k < K; k++) d[size_t(k) * width + j] = i < I ? s[k] : 0.0f;
        }
    }
}

size_t packed_gated_floats(int In, int I) { return packed_b_floats(In, 2 * I); }  // same panels: kNR/2 of each

void pack_b_gated(float* dst, const float* w, int In, int I) { pack_gate_up_pairs(dst, w, I, In, kNR); }

size_t packed_a_gated_rows_floats(int I, int K) { return size_t((I + kMR / 2 - 1) / (kMR / 2)) * kMR * K; }

void pack_a_gated_rows(float* dst, const float* w, int I, int K) { pack_gate_up_pairs(dst, w, I, K, kMR); }

void gemm_packed(int M, int N, int K, const float* Ap, const float* Bp, float* C, int ldc, Epilogue e, float* gu,
                 int ldgu, int ldb) {
    if (M <= 0 || N <= 0) return;
    const bool gated = e == Epilogue::SwiGLU || e == Epilogue::SwiGLUPackA;
    const bool rows = e == Epilogue::SwiGLURows || e == Epilogue::SwiGLURowsPackB;
    const int cols = gated ? kNR / 2 : kNR;        // C columns per panel
    const int tile_rows = rows ? kMR / 2 : kMR;   // C rows per tile
    const int panels = (N + cols - 1) / cols;
    const int tiles = (M + tile_rows - 1) / tile_rows;
    const bool packed_b = ldb == 0;
    if (packed_b) ldb = kNR;
    TRM_CHECK(packed_b || (!gated && N % kNR == 0));  // a plain B is read a whole panel at a time
    // Panel by panel: each k block of the panel is used by every row tile while it sits in cache. With more than
    // one k block, the partial sums of the panel's tiles wait in `part` ([tiles][kMR][kNR]) and only the last
    // block applies the epilogue, so SwiGLU and Store see complete sums.
    const int kblocks = std::max(1, (K + kKC - 1) / kKC);
    float* part = kblocks > 1 ? gemm_workspace(2, size_t(tiles) * kMR * kNR) : nullptr;
    for (int p = 0; p < panels; p++) {
        const int nvalid = std::min(cols, N - p * cols);
        for (int kb = 0; kb < kblocks; kb++) {
            const int pc = kb * kKC, kc = std::min(kKC, K - pc);
            const bool last = kb + 1 == kblocks;
            const float* bp = packed_b ? Bp + size_t(p) * K * kNR + size_t(pc) * kNR : Bp + size_t(pc) * ldb + size_t(p) * kNR;
            for (int t = 0; t < tiles; t++) {
                const int m0 = t * tile_rows;
                const float* ap = Ap + size_t(t) * kMR * K + size_t(pc) * kMR;
                float* tp = part ? part + size_t(t) * kMR * kNR : nullptr;
                Tile o;
                o.init = kb > 0 ? tp : nullptr;
                if (!last) {  // the whole tile, all kMR rows (the padding rows of A are zeros)
                    o.c = tp; o.ldc = kNR; o.nvalid = kNR;
                    kKernels[kMR](kc, ap, bp, ldb, o);
                    continue;
                }
                if (e == Epilogue::SwiGLUPackA) o.c = C + size_t(m0) * ldc + size_t(p) * cols * kMR;
                else if (e == Epilogue::SwiGLURowsPackB) o.c = C + size_t(p) * kNR * ldc + size_t(m0) * kNR;
                else o.c = C + size_t(m0) * ldc + size_t(p) * cols;
                o.ldc = ldc;
                o.nvalid = nvalid;
                o.e = e;
                o.gu = gu ? gu + size_t(m0) * ldgu + size_t(p) * cols : nullptr;
                o.ldgu = ldgu;
                o.I = rows ? M : N;
                o.vrows = std::min(tile_rows, M - m0);
                kKernels[rows ? kMR : std::min(kMR, M - m0)](kc, ap, bp, ldb, o);
            }
        }
    }
#if defined(__AVX512F__)
    if (gu) _mm_sfence();  // the streamed pre-activation is ordered before whatever reads it next
#endif
}

void PackedLinear::pack(const float* w, int in_, int out_, bool gated_) {
    in = in_;
    out = out_;
    gated = gated_;
    TRM_CHECK(!gated || out % 2 == 0);
    data.resize(gated ? packed_gated_floats(in, out / 2) : packed_b_floats(in, out));
    if (gated) pack_b_gated(data.data(), w, in, out / 2);
    else pack_b(data.data(), w, in, /*trans=*/true, in, out);
}

const float* PackedLinear::from_column(int col0) const {
    const int cols = gated ? kNR / 2 : kNR;  // output columns per panel
    TRM_CHECK(col0 % cols == 0);
    return data.data() + size_t(col0 / cols) * in * kNR;
}

int row_chunk(int R, int K) {
    if (R <= 0) return 1;
    // packed rows of one k block within ~768 KiB of L2 (192 rows at K <= 1024, 96 at K = 2048)
    const int cap = std::clamp(196608 / std::clamp(K, 1, kKC) / kMR * kMR, kMR, kMC);
    const int chunks = (R + cap - 1) / cap;
    const int per = (R + chunks - 1) / chunks;
    return (per + kMR - 1) / kMR * kMR;
}

void linear_packed(float* out, const float* inp, int R, const PackedLinear& w, Epilogue e, float* gu, int col0,
                   int col1) {
    TRM_CHECK(w.gated == (e == Epilogue::SwiGLU || e == Epilogue::SwiGLUPackA));
    const int N = w.gated ? w.out / 2 : w.out;  // C columns
    const int cols = w.gated ? kNR / 2 : kNR;    // C columns per panel
    if (col1 < 0) col1 = N;
    if (col0 >= col1) return;  // an empty share (a team member with no panel left)
    TRM_CHECK(col0 % cols == 0 && col1 <= N);
    TRM_CHECK(!gu || (col0 == 0 && col1 == N));  // the pre-activation's up half sits N columns after its gate half
    const float* bp = w.from_column(col0);
    const int chunk = row_chunk(R, w.in);
    float* ap = gemm_workspace(0, packed_a_floats(chunk, w.in));
    for (int r0 = 0; r0 < R; r0 += chunk) {
        const int mc = std::min(chunk, R - r0);
        pack_a(ap, inp + size_t(r0) * w.in, w.in, false, mc, w.in);
        // row r0 (a whole number of tiles) starts at r0 * N in either layout; a column at col0 (* kMR packed)
        float* c = out + size_t(r0) * N + size_t(col0) * (e == Epilogue::SwiGLUPackA ? kMR : 1);
        gemm_packed(mc, col1 - col0, w.in, ap, bp, c, N, e,
                    gu ? gu + size_t(r0) * w.out + col0 : nullptr, w.out);
    }
}

void gemm_any(bool trans_a, bool trans_b, int M, int N, int K, const float* A, int lda, const float* B, int ldb,
              bool accumulate, float* C, int ldc) {
    if (M <= 0 || N <= 0) return;
    float* bp = gemm_workspace(3, packed_b_floats(K, N));
    pack_b(bp, B, ldb, trans_b, K, N);
    const int chunk = row_chunk(M, K);
    float* ap = gemm_workspace(0, packed_a_floats(chunk, K));
    for (int r0 = 0; r0 < M; r0 += chunk) {
        const int mc = std::min(chunk, M - r0);
        pack_a(ap, trans_a ? A + r0 : A + size_t(r0) * lda, lda, trans_a, mc, K);
        gemm_packed(mc, N, K, ap, bp, C + size_t(r0) * ldc, ldc, accumulate ? Epilogue::Add : Epilogue::Store);
    }
}

float* gemm_workspace(int slot, size_t floats) {
    static thread_local std::vector<float> ws[5];
    TRM_CHECK(slot >= 0 && slot < 5);
    if (ws[slot].size() < floats) ws[slot].resize(floats);
    return ws[slot].data();
}

}  // namespace trm
