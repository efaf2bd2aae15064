#include "core/ops.hpp"

#include <cblas.h>
#include <cmath>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>  // SSE streaming stores (every x86-64)
#endif

#include "core/cpu.hpp"
#include "core/gemm.hpp"
#include "core/vecmath.hpp"

namespace trm {

void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
          int ldb, float beta, float* C, int ldc) {
    if (M == 0 || N == 0) return;
    // bf16 runs every product it can on trm's kernel, on the calling thread whatever OpenBLAS's thread count, so
    // that results do not depend on it (a scaled product, the attention scores, stays fp32 as the softmax input)
    // fp32 does too where OpenBLAS has no vector kernels for this CPU (products_on_trm_kernel)
    if ((precision() == Precision::Bf16 || products_on_trm_kernel()) && alpha == 1.0f && (beta == 0.0f || beta == 1.0f)) {
        gemm_any(trans_a, trans_b, M, N, K, A, lda, B, ldb, beta == 1.0f, C, ldc);
        return;
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K,
                alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm_reference(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double acc = 0;
            for (int k = 0; k < K; k++) {
                float a = trans_a ? A[k * lda + i] : A[i * lda + k];
                float b = trans_b ? B[j * ldb + k] : B[k * ldb + j];
                acc += double(a) * b;
            }
            C[i * ldc + j] = float(alpha * acc + (beta == 0 ? 0.0 : double(beta) * C[i * ldc + j]));
        }
}

void linear_forward(float* out, const float* inp, const float* w, int R, int In, int O, bool accumulate) {
    gemm(false, true, R, O, In, 1.0f, inp, In, w, In, accumulate ? 1.0f : 0.0f, out, O);
}

void linear_backward(float* dinp, float* dw, const float* dout, const float* inp, const float* w, int R, int In, int O) {
    if (dinp) gemm(false, false, R, In, O, 1.0f, dout, O, w, In, 1.0f, dinp, In);
    if (dw) gemm(true, false, O, In, R, 1.0f, dout, O, inp, In, 1.0f, dw, In);
}

// ---- RMSNorm ----
// official rms_norm: variance = x.square().mean(-1); x * rsqrt(variance + eps), in float32.
TRM_VECTOR_CLONES void rmsnorm_forward(float* out, float* inv_rms, const float* inp, int rows, int dim, float eps) {
    for (int r = 0; r < rows; r++) {
        const float* x = inp + size_t(r) * dim;
        float* y = out + size_t(r) * dim;
        float ss = 0;
#pragma omp simd reduction(+ : ss)
        for (int i = 0; i < dim; i++) ss += x[i] * x[i];
        float inv = 1.0f / std::sqrt(ss / float(dim) + eps);
#pragma omp simd
        for (int i = 0; i < dim; i++) y[i] = x[i] * inv;
        if (inv_rms) inv_rms[r] = inv;
    }
}

TRM_VECTOR_CLONES void rmsnorm_backward(float* dinp, const float* dout, const float* out, const float* inv_rms, int rows, int dim, bool overwrite) {
    for (int r = 0; r < rows; r++) {
        const float* dy = dout + size_t(r) * dim;
        const float* y = out + size_t(r) * dim;
        float* dx = dinp + size_t(r) * dim;
        float dot = 0;
#pragma omp simd reduction(+ : dot)
        for (int i = 0; i < dim; i++) dot += dy[i] * y[i];
        const float mean = dot / float(dim), inv = inv_rms[r];
        if (overwrite) {
#pragma omp simd
            for (int i = 0; i < dim; i++) dx[i] = inv * (dy[i] - y[i] * mean);
        } else {
#pragma omp simd
            for (int i = 0; i < dim; i++) dx[i] += inv * (dy[i] - y[i] * mean);
        }
    }
}

// Per-thread scratch that grows once and is then reused: no allocation inside the recursion.
static float* thread_scratch(size_t n) {
    thread_local std::vector<float> buf;
    if (buf.size() < n) buf.resize(n);
    return buf.data();
}

TRM_VECTOR_CLONES void rmsnorm_cols_forward(float* out, float* inv_rms, const float* inp, int n, int m, float eps, int ld) {
    if (ld == 0) ld = m;
    float* ss = thread_scratch(size_t(m));
    std::fill(ss, ss + m, 0.0f);
    for (int i = 0; i < n; i++) {
        const float* x = inp + size_t(i) * ld;
        for (int j = 0; j < m; j++) ss[j] += x[j] * x[j];
    }
    for (int j = 0; j < m; j++) ss[j] = 1.0f / std::sqrt(ss[j] / float(n) + eps);
    for (int i = 0; i < n; i++) {
        const float* x = inp + size_t(i) * ld;
        float* y = out + size_t(i) * ld;
        for (int j = 0; j < m; j++) y[j] = x[j] * ss[j];
    }
    if (inv_rms) std::memcpy(inv_rms, ss, size_t(m) * sizeof(float));
}

TRM_VECTOR_CLONES void rmsnorm_cols_backward(float* dinp, const float* dout, const float* out, const float* inv_rms, int n, int m, bool overwrite) {
    float* dot = thread_scratch(size_t(m));
    std::fill(dot, dot + m, 0.0f);
    for (int i = 0; i < n; i++) {
        const float* dy = dout + size_t(i) * m;
        const float* y = out + size_t(i) * m;
        for (int j = 0; j < m; j++) dot[j] += dy[j] * y[j];
    }
    for (int j = 0; j < m; j++) dot[j] /= float(n);
    for (int i = 0; i < n; i++) {
        const float* dy = dout + size_t(i) * m;
        const float* y = out + size_t(i) * m;
        float* dx = dinp + size_t(i) * m;
        if (overwrite)
            for (int j = 0; j < m; j++) dx[j] = inv_rms[j] * (dy[j] - y[j] * dot[j]);
        else
            for (int j = 0; j < m; j++) dx[j] += inv_rms[j] * (dy[j] - y[j] * dot[j]);
    }
}

// ---- SwiGLU ----
static inline void swiglu_grad(float g, float u, float dy, float* dg, float* du) {
    const float s = sigmoid_fast(g);
    *du = dy * g * s;
    *dg = dy * u * s * (1.0f + g * (1.0f - s));
}
// The same, also recomputing the activation y = silu(g) * u from the one sigmoid (training does not keep it).
static inline void swiglu_grad(float g, float u, float dy, float* dg, float* du, float* y) {
    const float s = sigmoid_fast(g);
    *du = dy * g * s;
    *dg = dy * u * s * (1.0f + g * (1.0f - s));
    *y = g * s * u;
}

TRM_VECTOR_CLONES void swiglu_forward(float* out, const float* gu, int rows, int I) {
    for (int r = 0; r < rows; r++) {
        const float* g = gu + size_t(r) * 2 * I;
        const float* u = g + I;
        float* y = out + size_t(r) * I;
#pragma omp simd
        for (int i = 0; i < I; i++) y[i] = silu(g[i]) * u[i];
    }
}

TRM_VECTOR_CLONES void swiglu_backward(float* dgu, const float* dout, const float* gu, int rows, int I, float* act) {
    for (int r = 0; r < rows; r++) {
        const float* g = gu + size_t(r) * 2 * I;
        const float* u = g + I;
        const float* dy = dout + size_t(r) * I;
        float* dg = dgu + size_t(r) * 2 * I;
        float* du = dg + I;
        if (act) {
            float* y = act + size_t(r) * I;
#pragma omp simd
            for (int i = 0; i < I; i++) swiglu_grad(g[i], u[i], dy[i], &dg[i], &du[i], &y[i]);
        } else {
#pragma omp simd
            for (int i = 0; i < I; i++) swiglu_grad(g[i], u[i], dy[i], &dg[i], &du[i]);
        }
    }
}

TRM_VECTOR_CLONES void swiglu_rows_forward(float* out, const float* gu, int I, int cols) {
    const size_t n = size_t(I) * cols;
    const float* g = gu;
    const float* u = gu + n;
#pragma omp simd
    for (size_t k = 0; k < n; k++) out[k] = silu(g[k]) * u[k];
}

TRM_VECTOR_CLONES void swiglu_rows_backward(float* dgu, const float* dout, const float* gu, int I, int cols, float* act) {
    const size_t n = size_t(I) * cols;
    if (act) {
#pragma omp simd
        for (size_t k = 0; k < n; k++) swiglu_grad(gu[k], gu[n + k], dout[k], &dgu[k], &dgu[n + k], &act[k]);
    } else {
#pragma omp simd
        for (size_t k = 0; k < n; k++) swiglu_grad(gu[k], gu[n + k], dout[k], &dgu[k], &dgu[n + k]);
    }
}

// ---- RoPE ----
void rope_table(float* cos, float* sin, int L, int hd, float theta) {
    const int half = hd / 2;
    std::vector<float> inv_freq(static_cast<size_t>(half));
    for (int i = 0; i < half; i++) {
        float e = float(2 * i) / float(hd);                  // arange(0, dim, 2, float32) / dim
        inv_freq[i] = 1.0f / std::pow(theta, e);            // float32 pow and reciprocal
    }
    for (int t = 0; t < L; t++)
        for (int i = 0; i < hd; i++) {
            float a = float(t) * inv_freq[i % half];        // torch.outer in float32
            cos[size_t(t) * hd + i] = float(std::cos(double(a)));
            sin[size_t(t) * hd + i] = float(std::sin(double(a)));
        }
}

void rope_table_2d(float* cos, float* sin, int P, int side, int hd, float theta) {
    const int half = hd / 2, quarter = hd / 4;
    std::vector<float> inv_freq(static_cast<size_t>(quarter));
    for (int i = 0; i < quarter; i++) inv_freq[i] = 1.0f / std::pow(theta, float(2 * i) / float(half));
    const int L = P + side * side;
    for (int t = 0; t < L; t++) {
        const int row = t < P ? -1 : (t - P) / side, col = t < P ? t - P : (t - P) % side;
        for (int i = 0; i < hd; i++) {
            const int pair = i % half;
            const float a = float(pair < quarter ? row : col) * inv_freq[pair % quarter];
            cos[size_t(t) * hd + i] = float(std::cos(double(a)));
            sin[size_t(t) * hd + i] = float(std::sin(double(a)));
        }
    }
}

// q_embed = q * cos + rotate_half(q) * sin, rotate_half(x) = cat(-x[h:], x[:h])
TRM_VECTOR_CLONES void rope_forward(float* qkv, const float* cos, const float* sin, int rows, int L, int H, int hd) {
    const int D = H * hd, half = hd / 2;
    float* tmp = thread_scratch(size_t(hd));
    for (int r = 0; r < rows; r++) {
        const float* c = cos + size_t(r % L) * hd;
        const float* s = sin + size_t(r % L) * hd;
        for (int part = 0; part < 2; part++)  // q then k
            for (int h = 0; h < H; h++) {
                float* x = qkv + size_t(r) * 3 * D + size_t(part) * D + size_t(h) * hd;
                for (int i = 0; i < half; i++) tmp[i] = x[i] * c[i] - x[i + half] * s[i];
                for (int i = half; i < hd; i++) tmp[i] = x[i] * c[i] + x[i - half] * s[i];
                std::memcpy(x, tmp, size_t(hd) * sizeof(float));
            }
    }
}

TRM_VECTOR_CLONES void rope_backward(float* dqkv, const float* cos, const float* sin, int rows, int L, int H, int hd) {
    const int D = H * hd, half = hd / 2;
    float* tmp = thread_scratch(size_t(hd));
    for (int r = 0; r < rows; r++) {
        const float* c = cos + size_t(r % L) * hd;
        const float* s = sin + size_t(r % L) * hd;
        for (int part = 0; part < 2; part++)
            for (int h = 0; h < H; h++) {
                float* d = dqkv + size_t(r) * 3 * D + size_t(part) * D + size_t(h) * hd;
                for (int j = 0; j < half; j++) tmp[j] = d[j] * c[j] + d[j + half] * s[j + half];
                for (int j = half; j < hd; j++) tmp[j] = d[j] * c[j] - d[j - half] * s[j - half];
                std::memcpy(d, tmp, size_t(hd) * sizeof(float));
            }
    }
}

// ---- attention ----
// Per (b, h): S = q k^T / sqrt(hd) [L, L]; P = softmax(S); out = P v. q, k, v are strided views into qkv.
// softmax of each of `rows` rows of p [rows, L] in place, the scores first scaled by `scale`
TRM_VECTOR_CLONES static void softmax_rows(float* p, int rows, int L, float scale) {
    for (int i = 0; i < rows; i++) {
        float* row = p + size_t(i) * L;
        if (scale != 1.0f) {
#pragma omp simd
            for (int j = 0; j < L; j++) row[j] *= scale;
        }
        // a select, not std::max: GCC 12 leaves a std::max reduction scalar ("control flow in loop"), which made
        // this one loop the dearest of a 30x30 training step
        float mx = row[0];
#pragma omp simd reduction(max : mx)
        for (int j = 1; j < L; j++) mx = row[j] > mx ? row[j] : mx;
        float sum = 0;
#pragma omp simd reduction(+ : sum)
        for (int j = 0; j < L; j++) { row[j] = exp_fast(row[j] - mx); sum += row[j]; }
        const float inv = 1.0f / sum;
#pragma omp simd
        for (int j = 0; j < L; j++) row[j] *= inv;
    }
}

size_t attention_probs_floats(int L) {
    const size_t padded = size_t(L + kAttentionRowBlock - 1) / kAttentionRowBlock * kAttentionRowBlock;
    return size_t(L) * padded;
}

// the layout attention_forward and attention_backward use: trm's kernel (in fp32, core/cpu.hpp's Fp32Scope) where
// it is the fast one
static bool attention_on_packed_kernel() { return fast_gemm_compiled(); }

float attention_prob(const float* slot, int L, int i, int j) {
    if (!attention_on_packed_kernel()) return slot[size_t(i) * L + j];
    return slot[size_t(i / kNR) * kNR * L + size_t(j) * kNR + size_t(i % kNR)];
}

#if defined(__x86_64__)
// s[j][r] = exp(s[j][r] - mx[r]) with sum[r] = sum over j: exp_fast's polynomial, its 2^n by vscalefps. The
// compiled exp_fast spent half its instructions on masks and blends for its two clamps; here s - mx <= 0 needs only
// the lower one, at -103, where the result is already below the smallest subnormal. (perf: softmax_cols was 32% of
// a 30x30 maze's attention forward.)
__attribute__((target("avx512f"))) static void exp_cols_avx512(float* s, int L, const float* mx, float* sum) {
    constexpr int V = kNR / 16;
    __m512 m[V], acc[V];
    for (int v = 0; v < V; v++) { m[v] = _mm512_loadu_ps(mx + 16 * v); acc[v] = _mm512_setzero_ps(); }
    using namespace exp_poly;
    const __m512 lo = _mm512_set1_ps(-103.0f), log2e = _mm512_set1_ps(kLog2e);
    const __m512 ln2_hi = _mm512_set1_ps(kLn2Hi), ln2_lo = _mm512_set1_ps(kLn2Lo);
    const __m512 c0 = _mm512_set1_ps(kC0), c1 = _mm512_set1_ps(kC1), c2 = _mm512_set1_ps(kC2);
    const __m512 c3 = _mm512_set1_ps(kC3), c4 = _mm512_set1_ps(kC4), c5 = _mm512_set1_ps(kC5);
    const __m512 one = _mm512_set1_ps(1.0f);
    const __mmask16 all = 0xffff;
    for (int j = 0; j < L; j++) {
        float* row = s + size_t(j) * kNR;
        for (int v = 0; v < V; v++) {
            // (the masked forms with every lane set: the plain ones leave GCC 12 warning of an undefined source)
            const __m512 d = _mm512_sub_ps(_mm512_loadu_ps(row + 16 * v), m[v]);
            const __m512 x = _mm512_mask_max_ps(d, all, d, lo);
            const __m512 t = _mm512_mul_ps(x, log2e);
            const __m512 n = _mm512_mask_roundscale_ps(t, all, t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            __m512 r = _mm512_fnmadd_ps(n, ln2_hi, x);
            r = _mm512_fnmadd_ps(n, ln2_lo, r);
            __m512 p = _mm512_fmadd_ps(c0, r, c1);
            p = _mm512_fmadd_ps(p, r, c2);
            p = _mm512_fmadd_ps(p, r, c3);
            p = _mm512_fmadd_ps(p, r, c4);
            p = _mm512_fmadd_ps(p, r, c5);
            p = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), one);
            const __m512 e = _mm512_mask_scalef_ps(p, all, p, n);
            _mm512_storeu_ps(row + 16 * v, e);
            acc[v] = _mm512_add_ps(acc[v], e);
        }
    }
    for (int v = 0; v < V; v++) _mm512_storeu_ps(sum + 16 * v, acc[v]);
}
#endif

// Softmax down each of the kNR columns of s [L, kNR] (the scores of kNR query rows against the L keys, already
// scaled), left unnormalised: each column's 1 / sum goes to inv, for the caller to scale p v's rows (and kept p)
// instead of a pass over s. Every pass is element-wise over rows of 64 floats, with no horizontal reduction.
TRM_VECTOR_CLONES static void softmax_cols(float* s, int L, float* inv) {
    alignas(64) float mx[kNR], sum[kNR];
    for (int r = 0; r < kNR; r++) { mx[r] = -3.0e38f; sum[r] = 0.0f; }
    for (int j = 0; j < L; j++) {
        const float* row = s + size_t(j) * kNR;
#pragma omp simd
        for (int r = 0; r < kNR; r++) mx[r] = row[r] > mx[r] ? row[r] : mx[r];
    }
#if defined(__x86_64__)
    exp_cols_avx512(s, L, mx, sum);  // only the packed path calls this, and it runs where AVX-512 is active
#else
    for (int j = 0; j < L; j++) {
        float* row = s + size_t(j) * kNR;
#pragma omp simd
        for (int r = 0; r < kNR; r++) {
            row[r] = exp_fast(row[r] - mx[r]);
            sum[r] += row[r];
        }
    }
#endif
#pragma omp simd
    for (int r = 0; r < kNR; r++) inv[r] = 1.0f / sum[r];
}

// A short last block of at most this many query rows goes row by row: the packed products cost a whole kNR-column
// block whatever its rows (a 16x16 maze: L = 257, whose 1-row fifth block took a fifth of attention's time). Row by
// row costs about a quarter of a block per row (scalar exponentials): a 30x30 maze's 5-row block (L = 901) was 4-6%
// of attention forward and backward faster packed.
constexpr int kAttentionDirectRows = 4;

// Query rows q[0..rb) of one head, one at a time, into out [rb, hd] and the block's p^T s [L, kNR] (its first rb
// columns), computed as attention_head_packed's block would be.
static void attention_rows_direct(float* out, int ldo, float* s, const float* q, const float* k, const float* v,
                                  int ld, int L, int hd, int rb, float scale) {
    for (int r = 0; r < rb; r++) {
        const float* qr = q + size_t(r) * ld;
        float mx = -3.0e38f, sum = 0.0f;
        for (int j = 0; j < L; j++) {
            const float* kj = k + size_t(j) * ld;
            float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
            for (int d = 0; d < hd; d++) acc += qr[d] * kj[d];
            s[size_t(j) * kNR + r] = acc * scale;
            mx = std::max(mx, acc * scale);
        }
        for (int j = 0; j < L; j++) {
            float& e = s[size_t(j) * kNR + r];
            e = exp_fast(e - mx);
            sum += e;
        }
        const float inv = 1.0f / sum;
        float* o = out + size_t(r) * ldo;
        for (int d = 0; d < hd; d++) o[d] = 0.0f;
        for (int j = 0; j < L; j++) {
            const float pj = s[size_t(j) * kNR + r] *= inv;
            const float* vj = v + size_t(j) * ld;
#pragma omp simd
            for (int d = 0; d < hd; d++) o[d] += pj * vj[d];
        }
    }
}

// dst [L, kNR] = src [L, kNR] with column r scaled by inv[r], written past the caches (streaming stores).
static void stream_scaled_cols(float* dst, const float* src, int L, const float* inv) {
#if defined(__x86_64__) || defined(__i386__)
    static_assert(kNR % 4 == 0);
    if ((reinterpret_cast<uintptr_t>(dst) & 15) == 0) {
        __m128 f[kNR / 4];
        for (int c = 0; c < kNR / 4; c++) f[c] = _mm_loadu_ps(inv + 4 * c);
        for (size_t j = 0; j < size_t(L); j++)
            for (int c = 0; c < kNR / 4; c++)
                _mm_stream_ps(dst + j * kNR + 4 * c, _mm_mul_ps(_mm_loadu_ps(src + j * kNR + 4 * c), f[c]));
        _mm_sfence();  // ordered before backward reads them
        return;
    }
#endif
    for (size_t j = 0; j < size_t(L); j++)
        for (int r = 0; r < kNR; r++) dst[j * kNR + r] = src[j * kNR + r] * inv[r];
}

// One head on trm's packed kernel, query rows in blocks of kAttentionRowBlock (= kNR). The scores are computed
// transposed, so that a block's p^T [L, kNR] is at once the softmax's input (softmax down columns, vectorised over
// the 64 query rows) and the B operand of p v, read in place: nothing is packed inside the loop but q's block.
//   s^T  [L, kNR]  = k [L, hd] @ q_blk^T           (k read in place as the A operand)
//   out^T [hd, kNR] = v^T [hd, L] @ p^T             (v^T packed once as the A operand)
// Query columns past the last row of a short block hold zeros in q, so their (uniform) softmax stays finite.
// pt: [ceil(L / kNR)][L][kNR], the blocks' p^T (kept for backward), or one block of scratch when !keep.
static void attention_head_packed(float* out, int ldo, float* pt, bool keep, const float* q, const float* k,
                                  const float* v, int ld, int L, int hd, float scale) {
    thread_local std::vector<float> vt, qb, ot, sb;
    vt.resize(packed_a_floats(hd, L));
    qb.resize(packed_b_floats(hd, kNR));
    ot.resize(size_t(hd) * kNR);
    sb.resize(size_t(L) * kNR);
    pack_a(vt.data(), v, ld, true, hd, L);  // A[d, j] = v[j, d]; k is read in place as A[j, d]
    for (int i0 = 0; i0 < L; i0 += kNR) {
        const int rb = std::min(kNR, L - i0);
        if (rb <= kAttentionDirectRows) {
            float* s = keep ? pt + size_t(i0) * L : pt;
            attention_rows_direct(out + size_t(i0) * ldo, ldo, s, q + size_t(i0) * ld, k, v, ld, L, hd, rb, scale);
            continue;
        }
        float* s = sb.data();  // the block stays in L2 while it is computed and used
        pack_b(qb.data(), q + size_t(i0) * ld, ld, true, hd, rb);  // B[d, r] = q[i0 + r, d], zero past rb
        for (float& x : qb) x *= scale;  // the scores come out scaled
        gemm_packed(L, kNR, hd, k, qb.data(), s, kNR, Epilogue::Store, nullptr, 0, 0, /*lda=*/ld);
        alignas(64) float inv[kNR];
        softmax_cols(s, L, inv);  // unnormalised: p v's rows are scaled instead
        gemm_packed(hd, kNR, L, vt.data(), s, ot.data(), kNR, Epilogue::Store, nullptr, 0, /*ldb=*/kNR);
        for (int r = 0; r < rb; r++)
            for (int d = 0; d < hd; d++) out[size_t(i0 + r) * ldo + d] = ot[size_t(d) * kNR + r] * inv[r];
        // kept p (normalised, for backward) goes out with streaming stores: written in place, each block's fresh
        // lines cost a read from memory first and evicted what the next block needs
        if (keep) stream_scaled_cols(pt + size_t(i0) * L, s, L, inv);
    }
}

TRM_VECTOR_CLONES void attention_forward(float* att, float* probs, const float* qkv, int B, int L, int H, int hd, bool save_probs) {
    static_assert(kAttentionRowBlock == kNR, "a block's p^T is one kNR-column panel");
    const int D = H * hd, ld = 3 * D;
    const float scale = 1.0f / std::sqrt(float(hd));
    const size_t slot = attention_probs_floats(L);
    const bool packed = attention_on_packed_kernel();
    const Fp32Scope fp32;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            const float* q = qkv + size_t(b) * L * ld + size_t(h) * hd;
            const float* k = q + D;
            const float* v = q + 2 * D;
            float* p = save_probs ? probs + (size_t(b) * H + h) * slot : probs;
            float* out = att + size_t(b) * L * D + size_t(h) * hd;
            if (packed) {
                attention_head_packed(out, D, p, save_probs, q, k, v, ld, L, hd, scale);
                continue;
            }
            gemm(false, true, L, L, hd, scale, q, ld, k, ld, 0.0f, p, L);
            softmax_rows(p, L, L, 1.0f);
            gemm(false, false, L, hd, L, 1.0f, p, L, v, ld, 0.0f, out, D);
        }
}

// The backward of attention_rows_direct: query rows [0, rb) of a block whose p^T is p [L, kNR]; dq rows written,
// dk and dv (rows ld apart, like q's) accumulated. ds: L floats of scratch.
static void attention_rows_backward_direct(float* dq, float* dk, float* dv, float* ds, const float* dout, int ldd,
                                           const float* q, const float* k, const float* v, const float* p, int ld,
                                           int L, int hd, int rb, float scale) {
    for (int r = 0; r < rb; r++) {
        const float* dor = dout + size_t(r) * ldd;
        const float* qr = q + size_t(r) * ld;
        float dot = 0.0f;
        for (int j = 0; j < L; j++) {  // dp = do v^T, dv += p^T do
            const float pj = p[size_t(j) * kNR + r];
            const float* vj = v + size_t(j) * ld;
            float* dvj = dv + size_t(j) * ld;
            float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
            for (int d = 0; d < hd; d++) acc += dor[d] * vj[d];
            ds[j] = acc;
            dot += acc * pj;
#pragma omp simd
            for (int d = 0; d < hd; d++) dvj[d] += pj * dor[d];
        }
        float* dqr = dq + size_t(r) * ld;
        for (int d = 0; d < hd; d++) dqr[d] = 0.0f;
        for (int j = 0; j < L; j++) {  // ds = p * (dp - dot) * scale; dq = ds k, dk += ds^T q
            const float dsj = p[size_t(j) * kNR + r] * (ds[j] - dot) * scale;
            const float* kj = k + size_t(j) * ld;
            float* dkj = dk + size_t(j) * ld;
#pragma omp simd
            for (int d = 0; d < hd; d++) dqr[d] += dsj * kj[d];
#pragma omp simd
            for (int d = 0; d < hd; d++) dkj[d] += dsj * qr[d];
        }
    }
}

// C [M, N] += A [M, K] @ B [K, N], all three read where they are (row strides lda, ldb, ldc), for N up to a few
// vectors: attention's backward products whose width is the head's (16 in the maze models). As packed products
// they cost a transpose of p and of ds per block (perf of a 20x20 maze training step: transpose16 5.4%, pack_b
// 4.9% with its other callers) and ran M = hd in 6-row tiles; here the block's p^T and ds^T [L, kNR] are the A
// operand as they lie (a 30x30 step 5-7% faster). Only reached where the AVX-512 kernels are active.
#if defined(__x86_64__)
template <int V>  // 16-float vectors per row of C; the last one covers n - 16 (V - 1) columns
__attribute__((target("avx512f"))) static void gemm_narrow_add_strip(int M, int K, const float* A, int lda,
                                                                      const float* B, int ldb, float* C, int ldc,
                                                                      int n) {
    constexpr int MR = V == 1 ? 16 : V == 2 ? 12 : 6;  // MR x V accumulators of the 32 registers
    const __mmask16 last = __mmask16((1u << (n - 16 * (V - 1))) - 1u);
    auto mask = [&](int j) { return j == V - 1 ? last : __mmask16(0xffff); };
    for (int m0 = 0; m0 < M; m0 += MR) {
        const int mr = std::min(MR, M - m0);
        const float* ar[MR];  // rows past mr repeat the last one (summed, never stored)
        for (int i = 0; i < MR; i++) ar[i] = A + size_t(m0 + std::min(i, mr - 1)) * lda;
        __m512 acc[MR][V];
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < V; j++) acc[i][j] = _mm512_setzero_ps();
        for (int k = 0; k < K; k++) {
            __m512 b[V];
            for (int j = 0; j < V; j++) b[j] = _mm512_maskz_loadu_ps(mask(j), B + size_t(k) * ldb + 16 * j);
            for (int i = 0; i < MR; i++) {
                const __m512 a = _mm512_set1_ps(ar[i][k]);
                for (int j = 0; j < V; j++) acc[i][j] = _mm512_fmadd_ps(a, b[j], acc[i][j]);
            }
        }
        // a loop over all MR rows (not mr): with a run-time bound GCC 12 kept acc on the stack, 16 stores per k
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
            if (i >= mr) break;
            for (int j = 0; j < V; j++) {
                float* c = C + size_t(m0 + i) * ldc + 16 * j;
                _mm512_mask_storeu_ps(c, mask(j), _mm512_add_ps(acc[i][j], _mm512_maskz_loadu_ps(mask(j), c)));
            }
        }
    }
}
#endif

static void gemm_narrow_add(int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C,
                            int ldc) {
#if defined(__x86_64__)
    for (int c0 = 0; c0 < N; c0 += 64) {  // strips of up to 4 vectors
        const int n = std::min(64, N - c0);
        switch ((n + 15) / 16) {
            case 1: gemm_narrow_add_strip<1>(M, K, A, lda, B + c0, ldb, C + c0, ldc, n); break;
            case 2: gemm_narrow_add_strip<2>(M, K, A, lda, B + c0, ldb, C + c0, ldc, n); break;
            case 3: gemm_narrow_add_strip<3>(M, K, A, lda, B + c0, ldb, C + c0, ldc, n); break;
            default: gemm_narrow_add_strip<4>(M, K, A, lda, B + c0, ldb, C + c0, ldc, n); break;
        }
    }
#else
    for (int m = 0; m < M; m++)
        for (int k = 0; k < K; k++)
            for (int c = 0; c < N; c++) C[size_t(m) * ldc + c] += A[size_t(m) * lda + k] * B[size_t(k) * ldb + c];
#endif
}

// One head's backward on trm's packed kernel from the forward's p^T blocks; the block's dp^T and ds^T [L, kNR]
// come out in the same layout, so the softmax backward is element-wise over query columns, ds^T is dq's B operand
// in place, and p^T and ds^T are the A operands of dv's and dk's products as they lie (gemm_narrow_add).
//   dv [L, hd] += p_blk^T @ do_blk      dp^T [L, kNR] = v @ do_blk^T     ds^T = p^T * (dp^T - colsum(dp^T p^T)) * scale
//   dq_blk^T [hd, kNR] = k^T @ ds^T      dk [L, hd] += ds_blk^T @ q_blk
static void attention_head_backward_packed(float* dq, float* dk, float* dv, int ld, float* ds, const float* dout,
                                           const float* att, int ldd, const float* q, const float* k,
                                           const float* v, const float* pt, int L, int hd, float scale) {
    thread_local std::vector<float> kt_a, db, ot;
    kt_a.resize(packed_a_floats(hd, L));
    db.resize(packed_b_floats(hd, kNR));
    ot.resize(size_t(hd) * kNR);
    pack_a(kt_a.data(), k, ld, true, hd, L);  // A[d, j] = k[j, d]; v is read in place as A[j, d]
    for (int j = 0; j < L; j++) {
        std::fill_n(dk + size_t(j) * ld, hd, 0.0f);
        std::fill_n(dv + size_t(j) * ld, hd, 0.0f);
    }
    alignas(64) float dot[kNR];
    for (int i0 = 0; i0 < L; i0 += kNR) {
        const int rb = std::min(kNR, L - i0);
        const float* p = pt + size_t(i0) * L;
        const float* dor = dout + size_t(i0) * ldd;
        const float* qr = q + size_t(i0) * ld;
        if (rb <= kAttentionDirectRows) {
            attention_rows_backward_direct(dq + size_t(i0) * ld, dk, dv, ds, dor, ldd, qr, k, v, p, ld, L, hd, rb,
                                           scale);
            continue;
        }
        gemm_narrow_add(L, hd, rb, p, kNR, dor, ldd, dv, ld);  // dv += p_blk^T @ do_blk (the block's rb columns)
        // dp^T = v @ do_blk^T (do's columns past rb are zeros, so are dp's and ds's), then ds^T in place
        pack_b(db.data(), dor, ldd, true, hd, rb);  // B[d, r] = do[i0 + r, d]
        gemm_packed(L, kNR, hd, v, db.data(), ds, kNR, Epilogue::Store, nullptr, 0, 0, /*lda=*/ld);
        // colsum(dp^T p^T)[r] = sum_j (do_r . v_j) p_rj = do_r . out_r: hd products instead of a pass over L rows
        for (int r = 0; r < kNR; r++) {
            float acc = 0.0f;
            if (r < rb)
                for (int d = 0; d < hd; d++) acc += dor[size_t(r) * ldd + d] * att[size_t(i0 + r) * ldd + d];
            dot[r] = acc;
        }
        for (int j = 0; j < L; j++) {
            float* d = ds + size_t(j) * kNR;
            const float* pj = p + size_t(j) * kNR;
#pragma omp simd
            for (int r = 0; r < kNR; r++) d[r] = pj[r] * (d[r] - dot[r]) * scale;
        }
        // dq_blk^T = k^T @ ds^T (ds^T read in place)
        gemm_packed(hd, kNR, L, kt_a.data(), ds, ot.data(), kNR, Epilogue::Store, nullptr, 0, /*ldb=*/kNR);
        for (int r = 0; r < rb; r++)
            for (int d = 0; d < hd; d++) dq[size_t(i0 + r) * ld + d] = ot[size_t(d) * kNR + r];
        gemm_narrow_add(L, hd, rb, ds, kNR, qr, ld, dk, ld);  // dk += ds_blk^T @ q_blk
    }
}

TRM_VECTOR_CLONES void attention_backward(float* dqkv, float* scratch, const float* datt, const float* att, const float* qkv,
                                          const float* probs, int B, int L, int H, int hd) {
    const int D = H * hd, ld = 3 * D;
    const float scale = 1.0f / std::sqrt(float(hd));
    const size_t slot = attention_probs_floats(L);
    const bool packed = attention_on_packed_kernel();
    const Fp32Scope fp32;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            const size_t base = size_t(b) * L * ld + size_t(h) * hd;
            const float* q = qkv + base;
            const float* k = q + D;
            const float* v = q + 2 * D;
            float* dq = dqkv + base;
            float* dk = dq + D;
            float* dv = dq + 2 * D;
            const float* p = probs + (size_t(b) * H + h) * slot;
            const float* dout = datt + size_t(b) * L * D + size_t(h) * hd;
            if (packed) {
                const float* out = att + size_t(b) * L * D + size_t(h) * hd;
                attention_head_backward_packed(dq, dk, dv, ld, scratch, dout, out, D, q, k, v, p, L, hd, scale);
                continue;
            }
            gemm(true, false, L, hd, L, 1.0f, p, L, dout, D, 0.0f, dv, ld);          // dV = P^T dO
            gemm(false, true, L, L, hd, 1.0f, dout, D, v, ld, 0.0f, scratch, L);     // dP = dO V^T
            for (int i = 0; i < L; i++) {                                           // dS = P * (dP - sum(dP * P))
                float* ds = scratch + size_t(i) * L;
                const float* pr = p + size_t(i) * L;
                float dot = 0;
#pragma omp simd reduction(+ : dot)
                for (int j = 0; j < L; j++) dot += ds[j] * pr[j];
#pragma omp simd
                for (int j = 0; j < L; j++) ds[j] = pr[j] * (ds[j] - dot) * scale;
            }
            gemm(false, false, L, hd, L, 1.0f, scratch, L, k, ld, 0.0f, dq, ld);     // dQ = dS K
            gemm(true, false, L, hd, L, 1.0f, scratch, L, q, ld, 0.0f, dk, ld);      // dK = dS^T Q
        }
}

TRM_VECTOR_CLONES void add_inplace(float* a, const float* b, size_t n) {
#pragma omp simd
    for (size_t i = 0; i < n; i++) a[i] += b[i];
}
TRM_VECTOR_CLONES void add_into(float* out, const float* a, const float* b, size_t n) {
#pragma omp simd
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void copy_past_caches(float* dst, const float* src, size_t n) {
#if defined(__x86_64__) || defined(__i386__)
    size_t i = 0;
    for (; i < n && (reinterpret_cast<uintptr_t>(dst + i) & 63) != 0; i++) dst[i] = src[i];
    for (; i + 4 <= n; i += 4) _mm_stream_ps(dst + i, _mm_loadu_ps(src + i));
    for (; i < n; i++) dst[i] = src[i];
    _mm_sfence();  // ordered before whatever reads them next
#else
    std::memcpy(dst, src, n * sizeof(float));
#endif
}

}  // namespace trm
