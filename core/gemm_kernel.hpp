// The micro-kernels of core/gemm.cpp and what they do with a finished tile. Internal: included only by
// core/gemm_kernels_*.cpp, each compiled for one instruction set, so everything here has internal linkage (an
// out-of-line copy built for AVX-512 must never be picked by the linker for the portable unit).
//
// Packed operands (core/gemm.hpp) in fp32: A [tiles][K][kMR], B [panels][K][kNR]. In bf16 each tile or panel
// keeps its fp32 start (so tile and panel offsets are the same in both precisions) and holds k pairs:
//   A tile:  [ceil(K/2)][kMR] words,  B panel: [ceil(K/2)][kNR] words,  word = bf16(k even) | bf16(k odd) << 16
// which is the operand layout of vdpbf16ps (one word of A broadcast, 16 words of B per vector).
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/bf16.hpp"
#include "core/gemm.hpp"
#include "core/vecmath.hpp"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace trm {
namespace gemm_detail {

// Where a finished tile goes (everything the micro-kernel needs besides its operands).
struct Tile {
    const float* init = nullptr;  // [MR][kNR] partial sum of earlier k blocks, or null to start from zero
    float* c = nullptr;           // C at the tile's first row and column (PackB in bf16: the panel's start)
    int ldc = 0;
    int nvalid = 0;               // valid C columns of the tile
    Epilogue e = Epilogue::Store;
    float* gu = nullptr;          // SwiGLU / SwiGLURows: also keep the pre-activation here (training)
    int ldgu = 0;
    int I = 0;                    // SwiGLU: up columns start at gu + I; SwiGLURows: up rows start I rows below gu
    int vrows = 0;                // SwiGLURows: valid act rows of the tile (1..kMR/2)
    bool bf16_out = false;        // PackA / PackB: the consuming product runs in bf16 (write k-pair words)
    int k0 = 0;                   // PackB in bf16: the act row (k of the next product) of the tile's first row
    int lda = 0;                  // the f32_plain kernels: A's row stride (A read in place, row-major)
};

// kernel<MR>(kc, a, b, ldb, tile): the tile's sum over kc values of k (from tile.init or zero) goes to C by the
// epilogue. fp32: a [kc][kMR], b [kc][ldb] floats. bf16: a [ceil(kc/2)][kMR], b [ceil(kc/2)][ldb] k-pair words.
// f32_plain: a is A itself at the tile's first row, MR rows of kc floats tile.lda apart (no packing: the
// activations of a linear layer are read where they are).
using Kernel = void (*)(int, const float*, const float*, int, const Tile&);
struct Kernels {
    Kernel f32[kMR + 1];        // by tile height 1..kMR
    Kernel f32_plain[kMR + 1];  // the same with A read in place
    Kernel bf16[kMR + 1];       // null where this unit has no bf16 products
};

const Kernels* kernels_portable();
const Kernels* kernels_avx2();        // null when not built for x86-64
const Kernels* kernels_avx512();
const Kernels* kernels_avx512bf16();

}  // namespace gemm_detail

#ifdef TRM_GEMM_KERNEL_UNIT
namespace {
using namespace gemm_detail;

constexpr int imin(int a, int b) { return a < b ? a : b; }

// The tile's gate and up sums to gu in the unfused product's layout (training).
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
        if (o.e == Epilogue::SwiGLUPackA) {  // rows past MR are zero (A's padding)
            if (o.bf16_out) {  // act (i, j) in word (j / 2) * kMR + i, half j % 2
                uint32_t* w = reinterpret_cast<uint32_t*>(o.c);
                for (int j = 0; j < nvalid; j += 2)
                    for (int i = 0; i < kMR; i++)
                        w[size_t(j / 2) * kMR + i] = bf16_pair(a[i][j], j + 1 < nvalid ? a[i][j + 1] : 0.0f);
                return;
            }
            for (int j = 0; j < nvalid; j++)  // act (i, j) at c[j * kMR + i]
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
                if (packed && o.bf16_out) {  // act row k = k0 + i: half k % 2 of words (k / 2) * kNR + j
                    const int k = o.k0 + i;
                    uint16_t* y = reinterpret_cast<uint16_t*>(o.c) + (size_t(k / 2) * kNR) * 2 + (k & 1);
                    for (int j = 0; j < kNR; j++) y[2 * j] = to_bf16(j < nvalid ? silu(t[i][j]) * t[H + i][j] : 0.0f);
                    continue;
                }
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

// Portable loops (vectorised by the compiler for whatever the unit is built for).
template <int MR, bool Plain = false>
void kernel_loops(int kc, const float* __restrict a, const float* __restrict b, int ldb, const Tile& o) {
    float t[MR][kNR] = {};
    if (o.init)
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < kNR; j++) t[i][j] = o.init[i * kNR + j];
    for (int k = 0; k < kc; k++)
        for (int i = 0; i < MR; i++) {
            const float av = Plain ? a[size_t(i) * o.lda + k] : a[size_t(k) * kMR + i];
#pragma omp simd
            for (int j = 0; j < kNR; j++) t[i][j] += av * b[size_t(k) * ldb + j];
        }
    epilogue<MR>(t, o);
}

#if defined(__AVX512F__)
// 16 floats to p, the first n of them: streamed past the caches when whole and aligned (the pre-activation is
// read back only by the backward, after every other block has run), else a masked store.
inline void store_stream(float* p, __m512 v, int n) {
    if (n >= 16 && (reinterpret_cast<uintptr_t>(p) & 63) == 0) _mm512_stream_ps(p, v);
    else if (n > 0) _mm512_mask_storeu_ps(p, __mmask16((1u << imin(n, 16)) - 1u), v);
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

// The finished accumulators r [MR][4] go to C: Store / Add straight from registers with masked edges; the
// SwiGLU epilogues through a tile in L1 (after streaming the pre-activation when training).
template <int MR>
inline void finish(__m512 (&r)[MR][kNR / 16], const Tile& o) {
    constexpr int V = kNR / 16;
    if (o.e == Epilogue::Store || o.e == Epilogue::Add) {
        for (int j = 0; j < V; j++) {
            const int n = o.nvalid - 16 * j < 0 ? 0 : imin(o.nvalid - 16 * j, 16);
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

template <int MR>
inline void load_init(__m512 (&r)[MR][kNR / 16], const Tile& o) {
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < kNR / 16; j++)
            r[i][j] = o.init ? _mm512_loadu_ps(o.init + i * kNR + 16 * j) : _mm512_setzero_ps();
    for (int i = 0; i < MR; i++) _mm_prefetch(reinterpret_cast<const char*>(o.c + size_t(i) * o.ldc), _MM_HINT_T0);
}

// C tile [MR, kNR] from a [kc][kMR] (Plain: MR rows of A, o.lda apart) and b [kc][ldb] (kNR columns used): 4
// vectors of B per k, one broadcast of A per row, MR x 4 accumulators (24 of the 32 zmm registers at MR = 6).
template <int MR, bool Plain = false>
void kernel_avx512(int kc, const float* __restrict a, const float* __restrict b, int ldb, const Tile& o) {
    constexpr int V = kNR / 16;
    const float* ar[MR];  // row i's k-th value at ar[i][k * ks]
    for (int i = 0; i < MR; i++) ar[i] = Plain ? a + size_t(i) * o.lda : a + i;
    constexpr size_t ks = Plain ? 1 : kMR;
    __m512 r[MR][V];
    load_init<MR>(r, o);
#pragma GCC unroll 2
    for (int k = 0; k < kc; k++) {
        __m512 bv[V];
        for (int j = 0; j < V; j++) bv[j] = _mm512_loadu_ps(b + size_t(k) * ldb + 16 * j);
        for (int i = 0; i < MR; i++) {
            const __m512 av = _mm512_set1_ps(ar[i][size_t(k) * ks]);
            for (int j = 0; j < V; j++) r[i][j] = _mm512_fmadd_ps(av, bv[j], r[i][j]);
        }
    }
    finish<MR>(r, o);
}
#endif

#if defined(__AVX512BF16__)
// The same tile from k-pair words: each vdpbf16ps adds a[k] b[k] + a[k+1] b[k+1] to 16 fp32 lanes, so one
// instruction does the work of two fp32 FMAs (the accumulators stay fp32).
template <int MR>
void kernel_avx512bf16(int kc, const float* __restrict a, const float* __restrict b, int ldb, const Tile& o) {
    constexpr int V = kNR / 16;
    const uint32_t* aw = reinterpret_cast<const uint32_t*>(a);
    const uint32_t* bw = reinterpret_cast<const uint32_t*>(b);
    __m512 r[MR][V];
    load_init<MR>(r, o);
    const int kp = (kc + 1) / 2;
#pragma GCC unroll 2
    for (int k = 0; k < kp; k++) {
        __m512bh bv[V];
        for (int j = 0; j < V; j++) bv[j] = (__m512bh)_mm512_loadu_si512(bw + size_t(k) * ldb + 16 * j);
        for (int i = 0; i < MR; i++) {
            const __m512bh av = (__m512bh)_mm512_set1_epi32(int(aw[size_t(k) * kMR + i]));
            for (int j = 0; j < V; j++) r[i][j] = _mm512_dpbf16_ps(r[i][j], av, bv[j]);
        }
    }
    finish<MR>(r, o);
}
#endif

// This unit's table: the best kernels the flags it was compiled with allow.
Kernels make_kernels() {
    Kernels k{};
#if defined(__AVX512F__)
    const Kernel f32[] = {nullptr, kernel_avx512<1>, kernel_avx512<2>, kernel_avx512<3>, kernel_avx512<4>,
                          kernel_avx512<5>, kernel_avx512<6>};
    const Kernel plain[] = {nullptr, kernel_avx512<1, true>, kernel_avx512<2, true>, kernel_avx512<3, true>,
                            kernel_avx512<4, true>, kernel_avx512<5, true>, kernel_avx512<6, true>};
#else
    const Kernel f32[] = {nullptr, kernel_loops<1>, kernel_loops<2>, kernel_loops<3>, kernel_loops<4>,
                          kernel_loops<5>, kernel_loops<6>};
    const Kernel plain[] = {nullptr, kernel_loops<1, true>, kernel_loops<2, true>, kernel_loops<3, true>,
                            kernel_loops<4, true>, kernel_loops<5, true>, kernel_loops<6, true>};
#endif
    for (int i = 0; i <= kMR; i++) k.f32[i] = f32[i];
    for (int i = 0; i <= kMR; i++) k.f32_plain[i] = plain[i];
#if defined(__AVX512BF16__)
    const Kernel bf[] = {nullptr, kernel_avx512bf16<1>, kernel_avx512bf16<2>, kernel_avx512bf16<3>,
                         kernel_avx512bf16<4>, kernel_avx512bf16<5>, kernel_avx512bf16<6>};
    for (int i = 0; i <= kMR; i++) k.bf16[i] = bf[i];
#endif
    static_assert(kMR == 6, "the tables list one kernel per tile height");
    return k;
}

}  // namespace
#endif  // TRM_GEMM_KERNEL_UNIT

}  // namespace trm
