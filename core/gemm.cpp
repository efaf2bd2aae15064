#include "core/gemm.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <vector>

#include <cblas.h>

#include "core/bf16.hpp"
#include "core/bf16_rows.hpp"
#include "core/cpu.hpp"
#include "core/error.hpp"
#include "core/gemm_kernel.hpp"
#include "core/parallel.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>  // _mm_sfence (SSE, every x86-64)
#endif

namespace trm {

namespace {

// k block: one pass over K up to 2048, since L1-sized blocks' partial sums cost more than streaming the B
// sub-panel (K x kNR, <= 512 KiB) from L2 saves.
constexpr int kKC = kMaxPlainK;
constexpr int kMC = kRowChunk;

static_assert(kNR % 32 == 0 && kMC % kMR == 0);

using gemm_detail::Kernel;
using gemm_detail::Kernels;
using gemm_detail::Tile;

// The kernel table of the active instruction set (core/cpu.hpp), looked up on every product so that a test can
// lower the limit between two products.
const Kernels& kernels() {
    static const Kernels* by_isa[] = {gemm_detail::kernels_portable(), gemm_detail::kernels_avx2(),
                                      gemm_detail::kernels_avx512(), gemm_detail::kernels_avx512bf16()};
    for (int i = int(active_isa()); i > 0; i--)
        if (by_isa[i]) return *by_isa[i];
    return *by_isa[0];
}

bool bf16() { return precision() == Precision::Bf16; }

// Calls per second of fn for the startup probes: the best of three runs of at least 1 ms each.
template <class F>
double best_rate(F fn) {
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        const auto t0 = std::chrono::steady_clock::now();
        int n = 0;
        double el = 0;
        do {
            fn();
            n++;
            el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        } while (el < 1e-3);
        best = std::max(best, n / el);
    }
    return best;
}

// Offset, in floats, of k index k within a packed tile or panel of `width` columns (k even in bf16).
size_t k_offset(int k, int width) { return bf16() ? size_t(k / 2) * width : size_t(k) * width; }

}  // namespace

bool fast_gemm_compiled() { return active_isa() >= Isa::Avx512; }

// Whether trm's kernel (fp32, one thread) outruns OpenBLAS's, by 10%, on the plain-operand products of a training
// step at a shard's rows: a weight gradient (dW = dY^T X, K = rows), a dense backward product (dX = dY W) and a
// forward one (X W^T), measured once (~20 ms), alternately, best of three runs each. On an AMD Zen 5 trm's AVX-512
// kernel did these 1.3-1.5x faster than OpenBLAS's AVX2 "Haswell" ones; a 2026-11-30 Zen 4 had measured the
// gradient cycle on OpenBLAS 5% faster.
static bool trm_kernel_beats_blas() {
    static const bool yes = [] {
        const Fp32Scope fp32;
        constexpr int R = 2048, D = 64, F = 192;
        std::vector<float> dy(size_t(R) * F, 0.5f), x(size_t(R) * D, 0.25f), w(size_t(F) * D, 0.125f);
        std::vector<float> dw(size_t(F) * D), dx(size_t(R) * D), y(size_t(R) * F);
        const int blas_threads = openblas_get_num_threads();
        openblas_set_num_threads(1);  // kernel against kernel; restored below
        auto rate = [&](bool trm_kernel) {
            return best_rate([&] {
                if (trm_kernel) {
                    gemm_any(true, false, F, D, R, dy.data(), F, x.data(), D, false, dw.data(), D);
                    gemm_any(false, false, R, D, F, dy.data(), F, w.data(), D, false, dx.data(), D);
                    gemm_any(false, true, R, F, D, x.data(), D, w.data(), D, false, y.data(), F);
                } else {
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, F, D, R, 1.0f, dy.data(), F, x.data(), D,
                                0.0f, dw.data(), D);
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, R, D, F, 1.0f, dy.data(), F, w.data(), D,
                                0.0f, dx.data(), D);
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, R, F, D, 1.0f, x.data(), D, w.data(), D,
                                0.0f, y.data(), F);
                }
            });
        };
        const double blas = rate(false), trm = rate(true), blas2 = rate(false), trm2 = rate(true);
        openblas_set_num_threads(blas_threads);
        return std::max(trm, trm2) > 1.1 * std::max(blas, blas2);  // a close call keeps OpenBLAS, run after run
    }();
    return yes;
}

bool products_on_trm_kernel() {
    return fast_gemm_compiled() && (!blas_has_vector_kernels() || trm_kernel_beats_blas());
}

size_t packed_a_col_offset(int col) { return k_offset(col, kMR); }

size_t packed_a_floats(int M, int K) { return size_t((M + kMR - 1) / kMR) * kMR * K; }
size_t packed_b_floats(int K, int N) { return size_t((N + kNR - 1) / kNR) * kNR * K; }

// A stored row x of K floats (null: zeros) as the ceil(K / 2) k-pair words of one tile row or panel column,
// d[k * stride]: in bf16 the row is already those words (a last odd half zero).
static void row_pair_words(uint32_t* d, int stride, const float* x, int K) {
    const int kp = (K + 1) / 2;
    if (!x) {
        for (int k = 0; k < kp; k++) d[size_t(k) * stride] = 0;
        return;
    }
    thread_local std::vector<uint16_t> row;
    row.resize(size_t(2) * kp);
    row.back() = 0;
    bf16_row(row.data(), x, K);
    for (int k = 0; k < kp; k++) d[size_t(k) * stride] = row[2 * k] | uint32_t(row[2 * k + 1]) << 16;
}

// bf16 packing: k pairs of one row (A) or one column (B) in a word; a missing odd k (K odd) is zero. Rows are
// converted whole by core/bf16_rows.hpp's vectorised loops, then dealt to the tiles.
static void pack_a_bf16(float* dst, const float* A, int lda, bool trans, int M, int K) {
    uint32_t* w = reinterpret_cast<uint32_t*>(dst);
    const int kp = (K + 1) / 2;
    if (!trans) {  // row m of A, in bf16, is already its k-pair words
        for (int m0 = 0; m0 < M; m0 += kMR)
            for (int i = 0; i < kMR; i++)  // from the tile's fp32 start (core/gemm_kernel.hpp)
                row_pair_words(w + size_t(m0) * K + i, kMR, m0 + i < M ? A + size_t(m0 + i) * lda : nullptr, K);
        return;
    }
    // A stored [K, M]: a k pair is two stored rows, paired across all M at once
    thread_local std::vector<uint32_t> pairs;
    pairs.resize(size_t(M));
    for (int k = 0; k < kp; k++) {
        const float* lo = A + size_t(2 * k) * lda;
        bf16_pairs(pairs.data(), lo, 2 * k + 1 < K ? lo + lda : nullptr, M);
        for (int m0 = 0; m0 < M; m0 += kMR) {
            uint32_t* d = w + size_t(m0) * K + size_t(k) * kMR;
            for (int i = 0; i < kMR; i++) d[i] = m0 + i < M ? pairs[m0 + i] : 0u;
        }
    }
}

void pack_a(float* dst, const float* A, int lda, bool trans, int M, int K) {
    if (bf16()) return pack_a_bf16(dst, A, lda, trans, M, K);
    if (trans) {  // A is stored [K, M]: read each stored row once, handing kMR values to every tile
        const int full = M / kMR;
        for (int k = 0; k < K; k++) {
            const float* s = A + size_t(k) * lda;
            for (int t = 0; t < full; t++)  // one 24-byte copy (GCC emitted six scalar moves for the loop)
                std::memcpy(dst + size_t(t) * kMR * K + size_t(k) * kMR, s + t * kMR, kMR * sizeof(float));
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

static void pack_b_bf16(float* dst, const float* B, int ldb, bool trans, int K, int N) {
    uint32_t* w = reinterpret_cast<uint32_t*>(dst);
    const int kp = (K + 1) / 2;
    for (int n0 = 0; n0 < N; n0 += kNR) {
        const int nr = std::min(kNR, N - n0);
        uint32_t* d = w + size_t(n0) * K;  // the panel's fp32 start
        if (trans) {  // B stored [N, K]: the panel's column j is stored row n0 + j, its k pairs in order
            for (int j = 0; j < kNR; j++) row_pair_words(d + j, kNR, j < nr ? B + size_t(n0 + j) * ldb : nullptr, K);
            continue;
        }
        for (int k = 0; k < kp; k++) {  // B stored [K, N]: a k pair is two stored rows
            const float* lo = B + size_t(2 * k) * ldb + n0;
            uint32_t* o = d + size_t(k) * kNR;
            bf16_pairs(o, lo, 2 * k + 1 < K ? lo + ldb : nullptr, nr);
            for (int j = nr; j < kNR; j++) o[j] = 0;
        }
    }
}

#if defined(__x86_64__)
// d[c * ldd + r] = s[r * lds + c] for a 16 x 16 block, in AVX-512 registers (unpack 32-bit, unpack 64-bit, two
// 128-bit lane shuffles). Only called where the AVX-512 kernels are active, so the CPU has it.
// (GCC 12 flags the intrinsics' own _mm512_undefined_ps as uninitialised once inlined: bug 105593, fixed in 13)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
__attribute__((target("avx512f"))) static void transpose16(const float* s, size_t lds, float* d, size_t ldd) {
    __m512 r[16], t[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(s + i * lds);
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        const __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 1]);
        const __m512d c = _mm512_castps_pd(t[i + 2]), e = _mm512_castps_pd(t[i + 3]);
        r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, e));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, e));
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
        r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
        r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xdd);
    }
    for (int i = 0; i < 16; i++) _mm512_storeu_ps(d + i * ldd, r[i]);
}
#pragma GCC diagnostic pop
#endif

void pack_b(float* dst, const float* B, int ldb, bool trans, int K, int N) {
    if (bf16()) return pack_b_bf16(dst, B, ldb, trans, K, N);
    constexpr int kb = 16;  // transposed: 16 k x kNR n blocks, so reads and writes both stay within L1
    for (int n0 = 0; n0 < N; n0 += kNR) {
        const int nr = std::min(kNR, N - n0);
        float* d = dst + size_t(n0) * K;
#if defined(__x86_64__)
        // a whole panel transposed 16 x 16 in registers (the attention's p and ds blocks: about 2x the loop below)
        if (trans && nr == kNR && active_isa() >= Isa::Avx512) {
            const int k16 = K / 16 * 16;
            for (int k0 = 0; k0 < k16; k0 += 16)
                for (int j0 = 0; j0 < kNR; j0 += 16)
                    transpose16(B + size_t(n0 + j0) * ldb + k0, size_t(ldb), d + size_t(k0) * kNR + j0, kNR);
            for (int j = 0; j < kNR; j++)
                for (int k = k16; k < K; k++) d[size_t(k) * kNR + j] = B[size_t(n0 + j) * ldb + k];
            continue;
        }
#endif
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
    if (bf16()) {
        const int kp = (K + 1) / 2;
        for (int g = 0; g < groups; g++) {
            uint32_t* d = reinterpret_cast<uint32_t*>(dst) + size_t(g) * width * K;
            for (int j = 0; j < width; j++) {
                const int i = g * H + j % H;
                const float* s = w + size_t(j < H ? i : I + i) * K;
                for (int k = 0; k < kp; k++)
                    d[size_t(k) * width + j] = i < I ? bf16_pair(s[2 * k], 2 * k + 1 < K ? s[2 * k + 1] : 0.0f) : 0u;
            }
        }
        return;
    }
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

bool a_in_place(int K) { return !bf16() && K <= kKC; }

void gemm_packed(int M, int N, int K, const float* Ap, const float* Bp, float* C, int ldc, Epilogue e, float* gu,
                 int ldgu, int ldb, int lda) {
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
    const bool half = bf16();
    TRM_CHECK(!half || packed_b);  // bf16 products read only packed (already rounded) operands
    // SwiGLU written as a bf16 operand: each word pairs two act values of the next product's k
    TRM_CHECK(!half || (e != Epilogue::SwiGLUPackA && e != Epilogue::SwiGLURowsPackB) || (rows ? M : N) % 2 == 0);
    const bool plain_a = lda != 0;
    TRM_CHECK(!plain_a || (a_in_place(K) && !rows));  // one k block; SwiGLURows reads its own packed A
    const Kernels& kt = kernels();
    const Kernel* kern = plain_a ? kt.f32_plain : half ? kt.bf16 : kt.f32;
    TRM_CHECK(kern[kMR] != nullptr);
    // Panel by panel: each k block of the panel is used by every row tile while it sits in cache. With more than
    // one k block, the partial sums of the panel's tiles wait in `part` ([tiles][kMR][kNR]) and only the last
    // block applies the epilogue, so SwiGLU and Store see complete sums.
    const int kblocks = std::max(1, (K + kKC - 1) / kKC);
    float* part = kblocks > 1 ? gemm_workspace(Workspace::PartialSums, size_t(tiles) * kMR * kNR) : nullptr;
    for (int p = 0; p < panels; p++) {
        const int nvalid = std::min(cols, N - p * cols);
        for (int kb = 0; kb < kblocks; kb++) {
            const int pc = kb * kKC, kc = std::min(kKC, K - pc);
            const bool last = kb + 1 == kblocks;
            const float* bp = packed_b ? Bp + size_t(p) * K * kNR + k_offset(pc, kNR) : Bp + size_t(pc) * ldb + size_t(p) * kNR;
            for (int t = 0; t < tiles; t++) {
                const int m0 = t * tile_rows;
                const float* ap = plain_a ? Ap + size_t(m0) * lda : Ap + size_t(t) * kMR * K + k_offset(pc, kMR);
                float* tp = part ? part + size_t(t) * kMR * kNR : nullptr;
                Tile o;
                o.init = kb > 0 ? tp : nullptr;
                o.lda = lda;
                if (!last) {  // the whole tile, all kMR rows (the padding rows of A are zeros)
                    o.c = tp; o.ldc = kNR; o.nvalid = kNR;
                    kern[kMR](kc, ap, bp, ldb, o);
                    continue;
                }
                if (e == Epilogue::SwiGLUPackA) o.c = C + size_t(m0) * ldc + packed_a_col_offset(p * cols);
                else if (e == Epilogue::SwiGLURowsPackB) o.c = C + size_t(p) * kNR * ldc + (half ? 0 : size_t(m0) * kNR);
                else o.c = C + size_t(m0) * ldc + size_t(p) * cols;
                o.ldc = ldc;
                o.nvalid = nvalid;
                o.e = e;
                o.gu = gu ? gu + size_t(m0) * ldgu + size_t(p) * cols : nullptr;
                o.ldgu = ldgu;
                o.I = rows ? M : N;
                o.vrows = std::min(tile_rows, M - m0);
                o.bf16_out = half;
                o.k0 = m0;
                kern[rows ? kMR : std::min(kMR, M - m0)](kc, ap, bp, ldb, o);
            }
        }
    }
#if defined(__x86_64__) || defined(__i386__)
    if (gu) _mm_sfence();  // the streamed pre-activation is ordered before whatever reads it next
#endif
}

void PackedLinear::pack(const float* w, int in_, int out_, bool gated_) {
    in = in_;
    out = out_;
    gated = gated_;
    precision = trm::precision();
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
    TRM_CHECK(w.precision == precision());  // packed for this precision (Forward repacks when it changes)
    const int N = w.gated ? w.out / 2 : w.out;  // C columns
    const int cols = w.gated ? kNR / 2 : kNR;    // C columns per panel
    if (col1 < 0) col1 = N;
    if (col0 >= col1) return;  // an empty share (a team member with no panel left)
    TRM_CHECK(col0 % cols == 0 && col1 <= N);
    TRM_CHECK(!gu || (col0 == 0 && col1 == N));  // the pre-activation's up half sits N columns after its gate half
    const float* bp = w.from_column(col0);
    const int chunk = row_chunk(R, w.in);
    const bool in_place = a_in_place(w.in);  // fp32: the kernel reads inp's rows where they are
    float* ap = in_place ? nullptr : gemm_workspace(Workspace::PackedRows, packed_a_floats(chunk, w.in));
    for (int r0 = 0; r0 < R; r0 += chunk) {
        const int mc = std::min(chunk, R - r0);
        const float* a = inp + size_t(r0) * w.in;
        if (!in_place) pack_a(ap, a, w.in, false, mc, w.in);
        // row r0 (a whole number of tiles) starts at r0 * N in either layout; a column at col0 (* kMR packed)
        float* c = out + size_t(r0) * N + (e == Epilogue::SwiGLUPackA ? packed_a_col_offset(col0) : size_t(col0));
        gemm_packed(mc, col1 - col0, w.in, in_place ? a : ap, bp, c, N, e,
                    gu ? gu + size_t(r0) * w.out + col0 : nullptr, w.out, 0, in_place ? w.in : 0);
    }
}

void gemm_any(bool trans_a, bool trans_b, int M, int N, int K, const float* A, int lda, const float* B, int ldb,
              bool accumulate, float* C, int ldc) {
    if (M <= 0 || N <= 0) return;
    float* bp = gemm_workspace(Workspace::AnyB, packed_b_floats(K, N));
    pack_b(bp, B, ldb, trans_b, K, N);
    const int chunk = row_chunk(M, K);
    const bool in_place = !trans_a && a_in_place(K);  // fp32: the kernel reads A's rows where they are
    float* ap = in_place ? nullptr : gemm_workspace(Workspace::PackedRows, packed_a_floats(chunk, K));
    const Epilogue e = accumulate ? Epilogue::Add : Epilogue::Store;
    for (int r0 = 0; r0 < M; r0 += chunk) {
        const int mc = std::min(chunk, M - r0);
        const float* a = trans_a ? A + r0 : A + size_t(r0) * lda;
        if (!in_place) pack_a(ap, a, lda, trans_a, mc, K);
        gemm_packed(mc, N, K, in_place ? a : ap, bp, C + size_t(r0) * ldc, ldc, e, nullptr, 0, 0, in_place ? lda : 0);
    }
}

// Products of an L2-resident shape (48 x 256 x 512) in each precision, alternately, best of three ~1 ms runs each.
static double probe_rate(Precision p) {
    constexpr int M = 48, N = 256, K = 512;
    const Precision was = precision();
    set_precision(p);
    std::vector<float> a(size_t(M) * K, 0.5f), b(size_t(K) * N, 0.25f), c(size_t(M) * N);
    std::vector<float> ap(packed_a_floats(M, K)), bp(packed_b_floats(K, N));
    pack_a(ap.data(), a.data(), K, false, M, K);
    pack_b(bp.data(), b.data(), N, false, K, N);
    const double best = best_rate([&] { gemm_packed(M, N, K, ap.data(), bp.data(), c.data(), N, Epilogue::Store); });
    set_precision(was);
    return best;
}

Precision auto_precision() {
    // AVX512_BF16 does not make bf16 faster everywhere: on this project's Xeon (no AMX) vdpbf16ps issues at half
    // the rate of fp32 FMAs, so its products run at half the speed. Measure once instead of trusting the flag.
    static const Precision p = [] {
        if (active_isa() < Isa::Avx512Bf16) return Precision::Fp32;
        const double f32 = probe_rate(Precision::Fp32), bf = probe_rate(Precision::Bf16);
        return bf > 1.2 * f32 ? Precision::Bf16 : Precision::Fp32;
    }();
    return active_isa() < Isa::Avx512Bf16 ? Precision::Fp32 : p;
}

float* gemm_workspace(Workspace slot, size_t floats) {
    constexpr size_t kSlots = size_t(Workspace::ActPacked) + 1;
    static thread_local std::vector<float> ws[kSlots];
    std::vector<float>& w = ws[size_t(slot)];
    if (w.size() < floats) w.resize(floats);
    return w.data();
}

}  // namespace trm
