// Op tests in the style of ggml's test-backend-ops: every matrix product against the naive reference, and every
// backward op against central finite differences of the float32 forward.
//
// Gradient checks use the scalar objective J = sum(out * Rw) with fixed random weights Rw, evaluated in double,
// so dJ/d(out) = Rw is the `dout` fed to the backward. For an input element x_i:
//   g_fd[i] = (J(x_i + eps) - J(x_i - eps)) / (x_i+ - x_i-)       (the denominator uses the rounded float values)
// and the check is rel = ||g - g_fd|| / (||g|| + ||g_fd||) over all elements of the input.
// Error budget for float32 forwards on O(1) values with eps = 1e-2:
//   truncation  eps^2 / 6 * f'''         ~ 1e-5 relative (smooth ops: rmsnorm, silu, softmax)
//   rounding    |J| * 2^-24 / eps         ~ 10 * 6e-8 / 1e-2 = 6e-5 absolute per element, against |g| ~ 0.1..1
// Measured: rel <= 2e-5 for every op below (printed per op), so kRelTol = 1e-3 leaves 50x margin, while any wrong
// term (a flipped sign, a missing mean term, a transposed index) moves rel to >= 1e-2 (see the checker self-test).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/cpu.hpp"
#include "core/loss.hpp"
#include "core/ops.hpp"
#include "core/rng.hpp"
#include "core/vecmath.hpp"

using namespace trm;

namespace {

constexpr float kEps = 1e-2f;      // finite-difference step on O(1) inputs (see the error budget above)
constexpr double kRelTol = 1e-3;   // relative-error bound for float32 ops (see the error budget above)

std::vector<float> randn(Rng& rng, size_t n, float std = 1.0f) {
    std::vector<float> v(n);
    for (auto& x : v) x = std * rng.normal();
    return v;
}

// ||a - b|| / (||a|| + ||b||); 0 when both are zero.
template <typename A, typename B>
double rel_err(const A& a, const B& b) {
    REQUIRE(a.size() == b.size());
    double d = 0, na = 0, nb = 0;
    for (size_t i = 0; i < a.size(); i++) {
        d += (double(a[i]) - double(b[i])) * (double(a[i]) - double(b[i]));
        na += double(a[i]) * double(a[i]);
        nb += double(b[i]) * double(b[i]);
    }
    if (na + nb == 0) return 0;
    return std::sqrt(d) / (std::sqrt(na) + std::sqrt(nb));
}

// Checks rel_err(g, fd) < tol and reports the measured figure (as test-backend-ops prints every op).
template <typename A, typename B>
void check_grad(const std::string& what, const A& g, const B& fd, double tol) {
    const double r = rel_err(g, fd);
    MESSAGE(what << ": rel err " << r << " (bound " << tol << ")");
    CHECK_MESSAGE(r < tol, what << ": rel err " << r << " exceeds " << tol);
}

double dot(const std::vector<float>& a, const std::vector<float>& w) {
    double s = 0;
    for (size_t i = 0; i < a.size(); i++) s += double(a[i]) * double(w[i]);
    return s;
}

// Central differences of objective() w.r.t. every element of x (x is restored afterwards).
template <typename F>
std::vector<double> fd_grad(std::vector<float>& x, float eps, F&& objective) {
    std::vector<double> g(x.size());
    for (size_t i = 0; i < x.size(); i++) {
        const float x0 = x[i];
        x[i] = x0 + eps;
        const float xp = x[i];
        const double jp = objective();
        x[i] = x0 - eps;
        const float xm = x[i];
        const double jm = objective();
        x[i] = x0;
        g[i] = (jp - jm) / (double(xp) - double(xm));
    }
    return g;
}

// g_acc - g0: what a backward that accumulates added on top of the prefill g0.
std::vector<float> minus(const std::vector<float>& a, const std::vector<float>& b) {
    std::vector<float> r(a.size());
    for (size_t i = 0; i < a.size(); i++) r[i] = a[i] - b[i];
    return r;
}

bool all_equal(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// gemm
// ---------------------------------------------------------------------------------------------------------------

// One gemm case: stored A is [M, K] (or [K, M] when trans_a) with row stride lda >= its width, likewise B; C is
// [M, N] with stride ldc. Padding of A and B holds NaN (a read of it poisons the result); padding of C holds a
// sentinel that must survive. Tolerance per element: a float32 dot product of length K with any summation order is
// within K * 2^-24 * sum_k |a_ik b_kj| of the exact value (standard bound, u = 2^-24); the reference accumulates
// in double and rounds once, so |C - C_ref| <= (K + 2) * 2^-24 * (|alpha| sum|a b| + |beta c|) + 1e-30.
static void check_gemm(Rng& rng, bool ta, bool tb, int M, int N, int K, float alpha, float beta, int pad) {
    const int a_rows = ta ? K : M, a_cols = ta ? M : K;
    const int b_rows = tb ? N : K, b_cols = tb ? K : N;
    const int lda = std::max(1, a_cols + pad), ldb = std::max(1, b_cols + pad), ldc = N + pad;
    const float nan = std::numeric_limits<float>::quiet_NaN(), sentinel = 12345.0f;
    std::vector<float> A(size_t(std::max(1, a_rows)) * lda, nan), Bm(size_t(std::max(1, b_rows)) * ldb, nan);
    for (int r = 0; r < a_rows; r++) for (int c = 0; c < a_cols; c++) A[size_t(r) * lda + c] = rng.normal();
    for (int r = 0; r < b_rows; r++) for (int c = 0; c < b_cols; c++) Bm[size_t(r) * ldb + c] = rng.normal();
    std::vector<float> C(size_t(M) * ldc, sentinel);
    for (int i = 0; i < M; i++) for (int j = 0; j < N; j++) C[size_t(i) * ldc + j] = beta == 0 ? nan : rng.normal();
    const std::vector<float> C0 = C;
    std::vector<float> C_ref = C;
    gemm(ta, tb, M, N, K, alpha, A.data(), lda, Bm.data(), ldb, beta, C.data(), ldc);
    gemm_reference(ta, tb, M, N, K, alpha, A.data(), lda, Bm.data(), ldb, beta, C_ref.data(), ldc);
    int bad = 0;
    double worst = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double mag = 0;
            for (int k = 0; k < K; k++) {
                const float a = ta ? A[size_t(k) * lda + i] : A[size_t(i) * lda + k];
                const float b = tb ? Bm[size_t(j) * ldb + k] : Bm[size_t(k) * ldb + j];
                mag += std::abs(double(a) * b);
            }
            const double bound_mag = std::abs(alpha) * mag + (beta == 0 ? 0.0 : std::abs(beta * C0[size_t(i) * ldc + j]));
            const double tol = (K + 2) * 0x1.0p-24 * bound_mag + 1e-30;
            const double d = std::abs(double(C[size_t(i) * ldc + j]) - C_ref[size_t(i) * ldc + j]);
            if (!(d <= tol)) bad++;  // NaN counts as bad
            worst = std::max(worst, d / tol);
        }
    for (int i = 0; i < M; i++)
        for (int j = N; j < ldc; j++) {
            CHECK_MESSAGE(C[size_t(i) * ldc + j] == sentinel, "gemm wrote C padding at (" << i << ", " << j << ")");
            CHECK_MESSAGE(C_ref[size_t(i) * ldc + j] == sentinel, "gemm_reference wrote C padding");
        }
    CHECK_MESSAGE(bad == 0, "gemm ta=" << ta << " tb=" << tb << " M=" << M << " N=" << N << " K=" << K
                                       << " alpha=" << alpha << " beta=" << beta << " pad=" << pad << ": " << bad
                                       << " elements outside the bound (worst |d|/tol " << worst << ")");
}

TEST_CASE("gemm matches gemm_reference: all transposes, odd sizes, padded strides, alpha/beta") {
    Rng rng(1);
    struct Shape { int M, N, K; };
    const Shape shapes[] = {{1, 1, 1}, {7, 5, 3}, {5, 7, 9}, {13, 1, 17}, {1, 11, 6}, {67, 45, 129}};
    const float ab[][2] = {{1.0f, 0.0f}, {0.5f, 1.0f}, {-1.5f, 0.25f}, {1.0f, 1.0f}};
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (auto s : shapes)
                for (auto [alpha, beta] : ab)
                    for (int pad : {0, 3}) check_gemm(rng, ta, tb, s.M, s.N, s.K, alpha, beta, pad);
}

TEST_CASE("gemm_reference is a correct matmul (hand-computed 2x3 @ 3x2)") {
    // Guards the reference itself: A = [[1,2,3],[4,5,6]], B = [[7,8],[9,10],[11,12]] -> [[58,64],[139,154]].
    const float A[] = {1, 2, 3, 4, 5, 6}, B[] = {7, 8, 9, 10, 11, 12};
    float C[4] = {1, 1, 1, 1};
    gemm_reference(false, false, 2, 2, 3, 1.0f, A, 3, B, 2, 2.0f, C, 2);
    CHECK(C[0] == 60); CHECK(C[1] == 66); CHECK(C[2] == 141); CHECK(C[3] == 156);
    // A^T as stored [3, 2]: At = [[1,4],[2,5],[3,6]]; B^T stored [2, 3]: Bt = [[7,9,11],[8,10,12]].
    const float At[] = {1, 4, 2, 5, 3, 6}, Bt[] = {7, 9, 11, 8, 10, 12};
    float D[4];
    gemm_reference(true, true, 2, 2, 3, 1.0f, At, 2, Bt, 3, 0.0f, D, 2);
    CHECK(D[0] == 58); CHECK(D[1] == 64); CHECK(D[2] == 139); CHECK(D[3] == 154);
}

// ---------------------------------------------------------------------------------------------------------------
// the checker itself: a gradient with one wrong term must fail the bound
// ---------------------------------------------------------------------------------------------------------------

TEST_CASE("finite-difference checker rejects a gradient with one flipped sign") {
    Rng rng(2);
    const int R = 5, In = 8, O = 6;
    auto inp = randn(rng, size_t(R) * In), w = randn(rng, size_t(O) * In), Rw = randn(rng, size_t(R) * O);
    std::vector<float> out(size_t(R) * O);
    auto J = [&] { linear_forward(out.data(), inp.data(), w.data(), R, In, O); return dot(out, Rw); };
    auto g_fd = fd_grad(inp, kEps, J);
    std::vector<float> g(inp.size(), 0.0f);
    linear_backward(g.data(), nullptr, Rw.data(), inp.data(), w.data(), R, In, O);
    check_grad("linear dinp (checker baseline)", g, g_fd, kRelTol);
    // flip the sign of the smallest coordinate above 10% of the largest: one wrong term of 40 breaks the bound 10x
    float gmax = 0;
    for (float v : g) gmax = std::max(gmax, std::abs(v));
    size_t k = g.size();
    for (size_t i = 0; i < g.size(); i++)
        if (std::abs(g[i]) > 0.1f * gmax && (k == g.size() || std::abs(g[i]) < std::abs(g[k]))) k = i;
    REQUIRE(k < g.size());
    g[k] = -g[k];
    CHECK(rel_err(g, g_fd) > 10 * kRelTol);
}

// ---------------------------------------------------------------------------------------------------------------
// linear
// ---------------------------------------------------------------------------------------------------------------

TEST_CASE("linear_forward matches the reference and accumulates on request") {
    Rng rng(3);
    const int R = 5, In = 8, O = 7;
    auto inp = randn(rng, size_t(R) * In), w = randn(rng, size_t(O) * In), prev = randn(rng, size_t(R) * O);
    std::vector<float> ref(size_t(R) * O);
    gemm_reference(false, true, R, O, In, 1.0f, inp.data(), In, w.data(), In, 0.0f, ref.data(), O);
    std::vector<float> out = prev;
    linear_forward(out.data(), inp.data(), w.data(), R, In, O);
    CHECK(rel_err(out, ref) < 1e-6);  // float32 dot of length 8: a few ulp
    out = prev;
    linear_forward(out.data(), inp.data(), w.data(), R, In, O, /*accumulate=*/true);
    CHECK(rel_err(minus(out, prev), ref) < 1e-6);
}

TEST_CASE("linear_backward: dinp and dw against finite differences, accumulation, null outputs") {
    Rng rng(4);
    const int R = 5, In = 8, O = 7;
    auto inp = randn(rng, size_t(R) * In), w = randn(rng, size_t(O) * In), Rw = randn(rng, size_t(R) * O);
    std::vector<float> out(size_t(R) * O);
    auto J = [&] { linear_forward(out.data(), inp.data(), w.data(), R, In, O); return dot(out, Rw); };
    // linear in each input: central differences are exact up to float32 rounding
    auto fd_inp = fd_grad(inp, kEps, J), fd_w = fd_grad(w, kEps, J);

    auto g0_inp = randn(rng, inp.size()), g0_w = randn(rng, w.size());  // prefill: backward must add on top
    auto dinp = g0_inp, dw = g0_w;
    linear_backward(dinp.data(), dw.data(), Rw.data(), inp.data(), w.data(), R, In, O);
    check_grad("linear_backward dinp (accumulated)", minus(dinp, g0_inp), fd_inp, kRelTol);
    check_grad("linear_backward dw (accumulated)", minus(dw, g0_w), fd_w, kRelTol);

    // either output may be null: the other one is computed alone
    auto dw_only = g0_w;
    linear_backward(nullptr, dw_only.data(), Rw.data(), inp.data(), w.data(), R, In, O);
    CHECK(all_equal(dw_only, dw));
    auto dinp_only = g0_inp;
    linear_backward(dinp_only.data(), nullptr, Rw.data(), inp.data(), w.data(), R, In, O);
    CHECK(all_equal(dinp_only, dinp));
}

// each shape of the maze network's layers (dw sums over all R rows: the transposed pack of a tall operand), with
// accumulation, against the double-precision reference
TEST_CASE("linear_backward matches the reference on the layer shapes of a hidden-64 network") {
    Rng rng(41);
    const int R = 290;
    for (auto [In, O] : {std::pair{64, 192}, {64, 512}, {64, 64}, {256, 64}, {64, 6}}) {
        auto inp = randn(rng, size_t(R) * In), w = randn(rng, size_t(O) * In), dout = randn(rng, size_t(R) * O);
        auto dw = randn(rng, w.size()), dinp = randn(rng, inp.size());
        auto want_w = dw, want_inp = dinp;
        gemm_reference(true, false, O, In, R, 1.0f, dout.data(), O, inp.data(), In, 1.0f, want_w.data(), In);
        gemm_reference(false, false, R, In, O, 1.0f, dout.data(), O, w.data(), In, 1.0f, want_inp.data(), In);
        linear_backward(dinp.data(), dw.data(), dout.data(), inp.data(), w.data(), R, In, O);
        INFO("In=" << In << " O=" << O);
        CHECK(rel_err(dw, want_w) < 1e-5);
        CHECK(rel_err(dinp, want_inp) < 1e-5);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// RMSNorm (rows and columns)
// ---------------------------------------------------------------------------------------------------------------

TEST_CASE("rmsnorm_forward: definition and in-place use") {
    Rng rng(5);
    const int rows = 5, dim = 8;
    const float eps = 1e-5f;
    auto x = randn(rng, size_t(rows) * dim);
    std::vector<float> y(x.size()), inv(rows);
    rmsnorm_forward(y.data(), inv.data(), x.data(), rows, dim, eps);
    for (int r = 0; r < rows; r++) {
        double ss = 0;
        for (int i = 0; i < dim; i++) ss += double(x[r * dim + i]) * x[r * dim + i];
        const double want = 1.0 / std::sqrt(ss / dim + eps);
        CHECK(std::abs(inv[r] - want) <= 1e-6 * want);  // float32 sum of 8 squares + sqrt: a few ulp
        for (int i = 0; i < dim; i++) CHECK(std::abs(y[r * dim + i] - x[r * dim + i] * want) <= 1e-5);
    }
    auto z = x;
    std::vector<float> inv2(rows);
    rmsnorm_forward(z.data(), inv2.data(), z.data(), rows, dim, eps);  // out aliases inp
    CHECK(all_equal(z, y));
    CHECK(all_equal(inv2, inv));
    rmsnorm_forward(z.data(), nullptr, x.data(), rows, dim, eps);      // inv_rms optional
    CHECK(all_equal(z, y));
}

TEST_CASE("rmsnorm_backward against finite differences; accumulate, overwrite and aliased dout") {
    Rng rng(6);
    const int rows = 5, dim = 8;
    const float eps = 1e-5f;
    auto x = randn(rng, size_t(rows) * dim), Rw = randn(rng, x.size());
    std::vector<float> y(x.size()), inv(rows);
    auto J = [&] { rmsnorm_forward(y.data(), inv.data(), x.data(), rows, dim, eps); return dot(y, Rw); };
    auto fd = fd_grad(x, kEps, J);
    J();  // y, inv at the unperturbed point

    auto g0 = randn(rng, x.size());
    auto acc = g0;
    rmsnorm_backward(acc.data(), Rw.data(), y.data(), inv.data(), rows, dim, /*overwrite=*/false);
    check_grad("rmsnorm_backward (accumulate)", minus(acc, g0), fd, kRelTol);

    auto ovr = g0;  // garbage that must be replaced
    rmsnorm_backward(ovr.data(), Rw.data(), y.data(), inv.data(), rows, dim, /*overwrite=*/true);
    check_grad("rmsnorm_backward (overwrite)", ovr, fd, kRelTol);

    auto alias = Rw;  // dinp == dout, overwrite: the form block_backward uses
    rmsnorm_backward(alias.data(), alias.data(), y.data(), inv.data(), rows, dim, /*overwrite=*/true);
    CHECK(all_equal(alias, ovr));
}

TEST_CASE("rmsnorm_cols_forward normalises columns; in-place use") {
    Rng rng(7);
    const int n = 7, m = 5;
    const float eps = 1e-5f;
    auto x = randn(rng, size_t(n) * m);
    std::vector<float> y(x.size()), inv(m);
    rmsnorm_cols_forward(y.data(), inv.data(), x.data(), n, m, eps);
    for (int j = 0; j < m; j++) {
        double ss = 0;
        for (int i = 0; i < n; i++) ss += double(x[i * m + j]) * x[i * m + j];
        const double want = 1.0 / std::sqrt(ss / n + eps);
        CHECK(std::abs(inv[j] - want) <= 1e-6 * want);
        for (int i = 0; i < n; i++) CHECK(std::abs(y[i * m + j] - x[i * m + j] * want) <= 1e-5);
    }
    auto z = x;
    rmsnorm_cols_forward(z.data(), nullptr, z.data(), n, m, eps);  // block_forward runs it in place
    CHECK(all_equal(z, y));
}

TEST_CASE("rmsnorm_cols_backward against finite differences; accumulate and overwrite") {
    Rng rng(8);
    const int n = 7, m = 5;
    const float eps = 1e-5f;
    auto x = randn(rng, size_t(n) * m), Rw = randn(rng, x.size());
    std::vector<float> y(x.size()), inv(m);
    auto J = [&] { rmsnorm_cols_forward(y.data(), inv.data(), x.data(), n, m, eps); return dot(y, Rw); };
    auto fd = fd_grad(x, kEps, J);
    J();

    auto g0 = randn(rng, x.size());
    auto acc = g0;
    rmsnorm_cols_backward(acc.data(), Rw.data(), y.data(), inv.data(), n, m, /*overwrite=*/false);
    check_grad("rmsnorm_cols_backward (accumulate)", minus(acc, g0), fd, kRelTol);
    auto ovr = g0;
    rmsnorm_cols_backward(ovr.data(), Rw.data(), y.data(), inv.data(), n, m, /*overwrite=*/true);
    check_grad("rmsnorm_cols_backward (overwrite)", ovr, fd, kRelTol);
    // the row-wise op on the transpose is the same function: ties the two implementations together
    std::vector<float> xt(x.size()), Rt(x.size()), yt(x.size()), it(n), gt(x.size());
    for (int i = 0; i < n; i++) for (int j = 0; j < m; j++) { xt[j * n + i] = x[i * m + j]; Rt[j * n + i] = Rw[i * m + j]; }
    rmsnorm_forward(yt.data(), it.data(), xt.data(), m, n, eps);
    rmsnorm_backward(gt.data(), Rt.data(), yt.data(), it.data(), m, n, true);
    double worst = 0;
    for (int i = 0; i < n; i++) for (int j = 0; j < m; j++) worst = std::max(worst, double(std::abs(gt[j * n + i] - ovr[i * m + j])));
    CHECK(worst < 1e-5);  // same float32 formulas, different loop order: a few ulp of O(1) values
}

// ---------------------------------------------------------------------------------------------------------------
// SwiGLU (gate|up along columns, and along rows for mlp_t)
// ---------------------------------------------------------------------------------------------------------------

TEST_CASE("exp_fast: relative error under 3e-7 of exp on [-87, 88], saturates outside, sigmoid_fast in (0, 1]") {
    double worst = 0, worst_x = 0;
    for (int i = 0; i <= 2000000; i++) {
        const float x = -87.0f + 175.0f * float(i) / 2000000.0f;
        const double want = std::exp(double(x));
        const double rel = std::fabs(double(trm::exp_fast(x)) - want) / want;
        if (rel > worst) { worst = rel; worst_x = x; }
    }
    MESSAGE("exp_fast: max relative error ", worst, " at x = ", worst_x);
    CHECK(worst < 3e-7);
    CHECK(trm::exp_fast(0.0f) == 1.0f);
    CHECK(std::isfinite(trm::exp_fast(1000.0f)));
    CHECK(trm::exp_fast(1000.0f) == trm::exp_fast(88.3f));
    CHECK(trm::exp_fast(-1000.0f) > 0.0f);
    CHECK(trm::exp_fast(-1000.0f) == trm::exp_fast(-87.3f));
    CHECK(trm::sigmoid_fast(-200.0f) >= 0.0f);
    CHECK(trm::sigmoid_fast(-200.0f) < 1e-37f);
    CHECK(trm::sigmoid_fast(200.0f) == 1.0f);
    CHECK(trm::sigmoid_fast(0.0f) == 0.5f);
}

TEST_CASE("swiglu_forward definition and swiglu_backward against finite differences (dgu overwritten)") {
    Rng rng(9);
    const int rows = 5, I = 6;
    auto gu = randn(rng, size_t(rows) * 2 * I, 2.0f), Rw = randn(rng, size_t(rows) * I);
    std::vector<float> out(size_t(rows) * I);
    auto J = [&] { swiglu_forward(out.data(), gu.data(), rows, I); return dot(out, Rw); };
    J();
    for (int r = 0; r < rows; r++)
        for (int i = 0; i < I; i++) {
            const double g = gu[r * 2 * I + i], u = gu[r * 2 * I + I + i];
            CHECK(std::abs(out[r * I + i] - g / (1 + std::exp(-g)) * u) <= 1e-5 * (1 + std::abs(g * u)));
        }
    auto fd = fd_grad(gu, kEps, J);
    auto dgu = randn(rng, gu.size());  // garbage: must be overwritten
    swiglu_backward(dgu.data(), Rw.data(), gu.data(), rows, I);
    check_grad("swiglu_backward", dgu, fd, kRelTol);
    // training recomputes the activation in the same pass: same gradient, and the forward's values
    J();
    auto dgu2 = randn(rng, gu.size()), act = randn(rng, out.size());
    swiglu_backward(dgu2.data(), Rw.data(), gu.data(), rows, I, act.data());
    CHECK(dgu2 == dgu);
    for (size_t i = 0; i < out.size(); i++) CHECK(act[i] == doctest::Approx(out[i]).epsilon(1e-6));
}

TEST_CASE("swiglu_rows_backward against finite differences; rows layout equals the column layout transposed") {
    Rng rng(10);
    const int I = 6, cols = 5;
    auto gu = randn(rng, size_t(2) * I * cols, 2.0f), Rw = randn(rng, size_t(I) * cols);
    std::vector<float> out(size_t(I) * cols);
    auto J = [&] { swiglu_rows_forward(out.data(), gu.data(), I, cols); return dot(out, Rw); };
    auto fd = fd_grad(gu, kEps, J);
    auto dgu = randn(rng, gu.size());
    swiglu_rows_backward(dgu.data(), Rw.data(), gu.data(), I, cols);
    check_grad("swiglu_rows_backward", dgu, fd, kRelTol);
    J();
    auto dgu2 = randn(rng, gu.size()), act = randn(rng, out.size());
    swiglu_rows_backward(dgu2.data(), Rw.data(), gu.data(), I, cols, act.data());
    CHECK(dgu2 == dgu);
    for (size_t i = 0; i < out.size(); i++) CHECK(act[i] == doctest::Approx(out[i]).epsilon(1e-6));
    // element (i, c) of the rows form is element (c, i) of the column form with gate/up halves side by side
    std::vector<float> gu_c(gu.size()), R_c(Rw.size()), out_c(out.size()), dgu_c(gu.size());
    for (int i = 0; i < I; i++)
        for (int c = 0; c < cols; c++) {
            gu_c[size_t(c) * 2 * I + i] = gu[size_t(i) * cols + c];
            gu_c[size_t(c) * 2 * I + I + i] = gu[size_t(I + i) * cols + c];
            R_c[size_t(c) * I + i] = Rw[size_t(i) * cols + c];
        }
    J();
    swiglu_forward(out_c.data(), gu_c.data(), cols, I);
    swiglu_backward(dgu_c.data(), R_c.data(), gu_c.data(), cols, I);
    for (int i = 0; i < I; i++)
        for (int c = 0; c < cols; c++) {
            CHECK(out_c[size_t(c) * I + i] == out[size_t(i) * cols + c]);
            CHECK(dgu_c[size_t(c) * 2 * I + i] == dgu[size_t(i) * cols + c]);
            CHECK(dgu_c[size_t(c) * 2 * I + I + i] == dgu[size_t(I + i) * cols + c]);
        }
}

TEST_CASE("copy_past_caches copies exactly, whatever the alignment and length") {
    Rng rng(12);
    auto src = randn(rng, 300);
    for (size_t off : {0, 1, 5, 16}) {
        for (size_t n : {0, 1, 15, 16, 17, 100, 283}) {
            std::vector<float> dst(320, -7.0f);
            copy_past_caches(dst.data() + off, src.data(), n);
            for (size_t i = 0; i < dst.size(); i++) {
                INFO("off=" << off << " n=" << n << " i=" << i);
                CHECK(dst[i] == (i >= off && i < off + n ? src[i - off] : -7.0f));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// RoPE
// ---------------------------------------------------------------------------------------------------------------

// RoPE is linear in qkv, so the backward must be the exact transpose of the forward for ANY cos/sin table. The
// real table has equal halves (inv_freq[i % half]), which would hide an index slip between sin[j] and
// sin[j + half]; random tables expose it.
static void check_rope(const std::vector<float>& cs, const std::vector<float>& sn, int B, int L, int H, int hd, Rng& rng) {
    const int R = B * L, D = H * hd;
    auto qkv0 = randn(rng, size_t(R) * 3 * D), Rw = randn(rng, qkv0.size());
    std::vector<float> qkv = qkv0, work(qkv0.size());
    auto J = [&] {
        work = qkv;
        rope_forward(work.data(), cs.data(), sn.data(), R, L, H, hd);
        return dot(work, Rw);
    };
    auto fd = fd_grad(qkv, kEps, J);
    auto g = Rw;  // in place: d(out) in, d(in) out
    rope_backward(g.data(), cs.data(), sn.data(), R, L, H, hd);
    check_grad("rope_backward", g, fd, kRelTol);
    // v is untouched by the forward, so its gradient is dout itself
    for (int r = 0; r < R; r++)
        for (int i = 0; i < D; i++) CHECK(g[size_t(r) * 3 * D + 2 * D + i] == Rw[size_t(r) * 3 * D + 2 * D + i]);
}

TEST_CASE("rope_table matches the official formula") {
    const int L = 7, hd = 4;
    const float theta = 10000.0f;
    std::vector<float> cs(size_t(L) * hd), sn(size_t(L) * hd);
    rope_table(cs.data(), sn.data(), L, hd, theta);
    for (int t = 0; t < L; t++)
        for (int i = 0; i < hd; i++) {
            const double a = t * std::pow(double(theta), -double(2 * (i % (hd / 2))) / hd);
            CHECK(std::abs(cs[t * hd + i] - std::cos(a)) < 1e-6);  // float32 angle: error ~ t * 2^-24
            CHECK(std::abs(sn[t * hd + i] - std::sin(a)) < 1e-6);
        }
}

TEST_CASE("rope_table_2d: row and column angles, the same at a cell on every grid side") {
    const int P = 2, hd = 8, half = hd / 2, quarter = hd / 4;
    const float theta = 100.0f;
    auto table = [&](int side) {
        std::pair<std::vector<float>, std::vector<float>> t;
        t.first.resize(size_t(P + side * side) * hd);
        t.second.resize(t.first.size());
        rope_table_2d(t.first.data(), t.second.data(), P, side, hd, theta);
        return t;
    };
    const auto [c3, s3] = table(3);
    const auto [c5, s5] = table(5);
    auto angle = [&](int row, int col, int i) {
        const int pair = i % half;
        return double(pair < quarter ? row : col) * std::pow(double(theta), -double(2 * (pair % quarter)) / half);
    };
    for (int t = 0; t < P + 9; t++) {
        const int row = t < P ? -1 : (t - P) / 3, col = t < P ? t - P : (t - P) % 3;
        const int t5 = t < P ? t : P + row * 5 + col;  // the same cell on the 5x5 grid
        for (int i = 0; i < hd; i++) {
            CHECK(std::abs(c3[size_t(t) * hd + i] - std::cos(angle(row, col, i))) < 1e-6);
            CHECK(std::abs(s3[size_t(t) * hd + i] - std::sin(angle(row, col, i))) < 1e-6);
            CHECK(c3[size_t(t) * hd + i] == c5[size_t(t5) * hd + i]);
            CHECK(s3[size_t(t) * hd + i] == s5[size_t(t5) * hd + i]);
        }
    }
    // rows and columns are told apart: (0, 1) and (1, 0) differ in both halves of the pairs
    CHECK(c3[size_t(P + 1) * hd + 0] == 1.0f);
    CHECK(c3[size_t(P + 3) * hd + 0] != 1.0f);
    CHECK(c3[size_t(P + 1) * hd + quarter] != 1.0f);
    CHECK(c3[size_t(P + 3) * hd + quarter] == 1.0f);
}

TEST_CASE("rope_backward is the transpose of rope_forward (finite differences, real and random tables)") {
    Rng rng(11);
    const int B = 2, L = 7, H = 2, hd = 4;
    std::vector<float> cs(size_t(L) * hd), sn(size_t(L) * hd);
    rope_table(cs.data(), sn.data(), L, hd, 10.0f);  // small theta: every frequency turns visibly over 7 positions
    SUBCASE("official table") { check_rope(cs, sn, B, L, H, hd, rng); }
    SUBCASE("random table") { check_rope(randn(rng, cs.size()), randn(rng, sn.size()), B, L, H, hd, rng); }
    SUBCASE("forward is a rotation (norm preserving) with the real table") {
        auto qkv = randn(rng, size_t(B) * L * 3 * H * hd), y = qkv;
        rope_forward(y.data(), cs.data(), sn.data(), B * L, L, H, hd);
        for (int r = 0; r < B * L; r++)
            for (int part = 0; part < 2; part++)
                for (int h = 0; h < H; h++) {
                    double n0 = 0, n1 = 0;
                    for (int i = 0; i < hd; i++) {
                        const size_t k = size_t(r) * 3 * H * hd + size_t(part) * H * hd + size_t(h) * hd + i;
                        n0 += double(qkv[k]) * qkv[k];
                        n1 += double(y[k]) * y[k];
                    }
                    CHECK(std::abs(n0 - n1) <= 1e-5 * (1 + n0));
                }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// attention
// ---------------------------------------------------------------------------------------------------------------

// Shapes of the attention tests: a small one (one short block, row by row), one of several query-row blocks of the
// packed path (kAttentionRowBlock) with a head width that is not a multiple of the micro-tile's rows, and one whose
// last block has one row (row by row after packed blocks, as a 16x16 maze's L = 257).
struct AttShape {
    int B, L, H, hd;
};
const AttShape kAttShapes[] = {{2, 7, 2, 4}, {1, kAttentionRowBlock + 9, 2, 16}, {1, 2 * kAttentionRowBlock + 1, 2, 8}};

TEST_CASE("attention_forward: saved and scratch probabilities give the same output; rows of probs sum to 1") {
  for (const AttShape& shape : kAttShapes) {
    CAPTURE(shape.L);
    Rng rng(12);
    const int B = shape.B, L = shape.L, H = shape.H, hd = shape.hd, D = H * hd;
    auto qkv = randn(rng, size_t(B) * L * 3 * D);
    const size_t slot = attention_probs_floats(L);
    std::vector<float> att(size_t(B) * L * D), att2(att.size()), probs(size_t(B) * H * slot), scratch(slot);
    attention_forward(att.data(), probs.data(), qkv.data(), B, L, H, hd, true);
    attention_forward(att2.data(), scratch.data(), qkv.data(), B, L, H, hd, false);
    // the same up to rounding: without saved probabilities the packed path normalises p v's rows instead of p
    double worst = 0;
    for (size_t x = 0; x < att.size(); x++) worst = std::max(worst, double(std::abs(att[x] - att2[x])));
    CHECK(worst < 1e-6);
    for (int bh = 0; bh < B * H; bh++)
        for (int i = 0; i < L; i++) {
            double s = 0;
            for (int j = 0; j < L; j++) s += attention_prob(probs.data() + size_t(bh) * slot, L, i, j);
            CHECK(std::abs(s - 1) < 1e-6);
        }
    // one output element by hand in double: the last batch, head 1, query 3 (the small shape), one of the second
    // block, or the one-row block's, channel 2
    const int b = B - 1, h = 1, i = L % kAttentionRowBlock == 1 ? L - 1 : L > kAttentionRowBlock ? kAttentionRowBlock + 3 : 3, c = 2;
    auto at = [&](int l, int part, int k) { return double(qkv[(size_t(b) * L + l) * 3 * D + size_t(part) * D + h * hd + k]); };
    std::vector<double> sc(L);
    double mx = -1e300, sum = 0, want = 0;
    for (int j = 0; j < L; j++) {
        sc[j] = 0;
        for (int k = 0; k < hd; k++) sc[j] += at(i, 0, k) * at(j, 1, k);
        sc[j] /= std::sqrt(double(hd));
        mx = std::max(mx, sc[j]);
    }
    for (int j = 0; j < L; j++) sum += std::exp(sc[j] - mx);
    for (int j = 0; j < L; j++) want += std::exp(sc[j] - mx) / sum * at(j, 2, c);
    CHECK(std::abs(att[(size_t(b) * L + i) * D + h * hd + c] - want) < 1e-5);
  }
}

// Every saved probability against a softmax in double, with queries scaled so that a row's scores lie hundreds
// apart: the packed path's exponential then meets its whole range, down to results below the smallest subnormal.
TEST_CASE("attention_forward: probabilities equal a double softmax, peaked rows included") {
  for (const float spread : {1.0f, 40.0f}) {
    CAPTURE(spread);
    Rng rng(21);
    const int B = 1, L = 2 * kAttentionRowBlock + 9, H = 2, hd = 16, D = H * hd;
    auto qkv = randn(rng, size_t(B) * L * 3 * D);
    for (int l = 0; l < L; l++)
        for (int c = 0; c < D; c++) qkv[size_t(l) * 3 * D + c] *= spread;  // the q part
    const size_t slot = attention_probs_floats(L);
    std::vector<float> att(size_t(B) * L * D), probs(size_t(B) * H * slot);
    attention_forward(att.data(), probs.data(), qkv.data(), B, L, H, hd, true);
    double worst = 0, smallest = 1;
    std::vector<double> sc(L);
    for (int h = 0; h < H; h++)
        for (int i = 0; i < L; i++) {
            double mx = -1e300, sum = 0;
            for (int j = 0; j < L; j++) {
                sc[j] = 0;
                for (int k = 0; k < hd; k++)
                    sc[j] += double(qkv[size_t(i) * 3 * D + h * hd + k]) * qkv[size_t(j) * 3 * D + D + h * hd + k];
                sc[j] /= std::sqrt(double(hd));
                mx = std::max(mx, sc[j]);
            }
            for (int j = 0; j < L; j++) sum += std::exp(sc[j] - mx);
            for (int j = 0; j < L; j++) {
                const double want = std::exp(sc[j] - mx) / sum;
                smallest = std::min(smallest, want);
                worst = std::max(worst, std::abs(attention_prob(probs.data() + size_t(h) * slot, L, i, j) - want) /
                                            std::max(want, 1e-30));
            }
        }
    MESSAGE("worst relative error " << worst);
    // relative, for every probability above 1e-30; at spread 40 the scores reach ~+-300, whose float rounding alone
    // moves a probability by ~300 x 2^-24 relative
    CHECK(worst < (spread > 1 ? 1e-4 : 2e-6));
    if (spread > 1) CHECK(smallest < 1e-45);      // the scaled rows did reach below float's range
  }
}

TEST_CASE("attention_backward against finite differences of q, k and v (dqkv overwritten)") {
  for (const AttShape& shape : kAttShapes) {
    CAPTURE(shape.L);
    Rng rng(13);
    const int B = shape.B, L = shape.L, H = shape.H, hd = shape.hd, D = H * hd;
    auto qkv = randn(rng, size_t(B) * L * 3 * D), Rw = randn(rng, size_t(B) * L * D);
    std::vector<float> att(size_t(B) * L * D), probs(size_t(B) * H * attention_probs_floats(L)), scratch(attention_probs_floats(L));
    auto J = [&] {
        attention_forward(att.data(), probs.data(), qkv.data(), B, L, H, hd, true);
        return dot(att, Rw);
    };
    auto fd = fd_grad(qkv, kEps, J);
    J();
    auto dqkv = randn(rng, qkv.size());  // garbage: must be overwritten
    attention_backward(dqkv.data(), scratch.data(), Rw.data(), att.data(), qkv.data(), probs.data(), B, L, H, hd);
    check_grad("attention_backward dqkv", dqkv, fd, kRelTol);
    // and per part, so a wrong dK cannot hide behind right dQ / dV
    for (int part = 0; part < 3; part++) {
        std::vector<double> a, f;
        for (int r = 0; r < B * L; r++)
            for (int i = 0; i < D; i++) {
                const size_t k = size_t(r) * 3 * D + size_t(part) * D + i;
                a.push_back(dqkv[k]);
                f.push_back(fd[k]);
            }
        check_grad(std::string("attention_backward d") + "qkv"[part], a, f, kRelTol);
    }
  }
}

// Head widths past one 16-float vector, not multiples of it, and past 64 (two strips) on the AVX-512 path's
// narrow products (dv, dk) against the plain path's OpenBLAS products, the same inputs (finite differences at
// these widths would take seconds).
TEST_CASE("attention_backward on the packed path equals the plain path at head widths 40 and 72") {
    if (cpu_isa() < Isa::Avx512) {
        MESSAGE("no AVX-512 here: the packed path is not built for this CPU, the plain one is tested above");
        return;
    }
    for (int hd : {40, 72}) {
        CAPTURE(hd);
        Rng rng(14);
        const int B = 1, L = 2 * kAttentionRowBlock + 3, H = 2, D = H * hd;
        auto qkv = randn(rng, size_t(B) * L * 3 * D), dout = randn(rng, size_t(B) * L * D);
        const Isa was = active_isa();  // TRM_ISA's cap, restored for the tests after this one
        auto run = [&](Isa isa) {
            set_isa_limit(isa);
            std::vector<float> att(size_t(B) * L * D), probs(size_t(B) * H * attention_probs_floats(L));
            std::vector<float> scratch(attention_probs_floats(L)), dqkv(qkv.size());
            attention_forward(att.data(), probs.data(), qkv.data(), B, L, H, hd, true);
            attention_backward(dqkv.data(), scratch.data(), dout.data(), att.data(), qkv.data(), probs.data(), B, L, H, hd);
            set_isa_limit(was);
            return dqkv;
        };
        const auto packed = run(Isa::Avx512), plain = run(Isa::Avx2);
        double worst = 0, scale = 0;
        for (size_t i = 0; i < packed.size(); i++) {
            worst = std::max(worst, double(std::fabs(packed[i] - plain[i])));
            scale = std::max(scale, double(std::fabs(plain[i])));
        }
        CHECK(scale > 0.1);
        CHECK(worst < 1e-5 * scale);  // 4e-7 and 8e-7 of 0.87 and 0.89 on a Zen 5
    }
}

// ---------------------------------------------------------------------------------------------------------------
// loss
// ---------------------------------------------------------------------------------------------------------------

// Rows: 0 every label right (seq_is_correct 1), 1 some labels wrong, 2 ignored labels mixed in, 3 no labels at all
// (lm term 0, dlogits 0, seq_is_correct 1 since 0 of 0 are wrong). Logits keep >= 0.05 away from 0 (the stablemax
// branch point, where the second derivative jumps) and the argmax keeps a >= 0.5 margin, so no +-eps step
// changes seq_is_correct (a jump in the BCE target).
TEST_CASE("act_loss gradient (dlogits, dq) against finite differences of the returned loss") {
    Rng rng(14);
    const int B = 4, S = 6, V = 5;
    const double grad_scale = 0.75;
    std::vector<float> logits(size_t(B) * S * V);
    std::vector<int32_t> labels(size_t(B) * S);
    for (auto& x : logits) {
        x = rng.normal();
        if (std::abs(x) < 0.05f) x = x < 0 ? x - 0.1f : x + 0.1f;
    }
    for (int b = 0; b < B; b++)
        for (int s = 0; s < S; s++) {
            float* row = &logits[(size_t(b) * S + s) * V];
            const int best = argmax(row, V);
            row[best] += 0.5f;  // margin for argmax stability
            int32_t y = int32_t(rng.below(V));
            if (b == 0) y = best;
            if (b == 1 && s < 2) y = (best + 1) % V;
            if (b == 2 && s % 2 == 1) y = kIgnoreLabel;
            if (b == 3) y = kIgnoreLabel;
            labels[size_t(b) * S + s] = y;
        }
    std::vector<float> q = {0.3f, -0.2f, -1.1f, 0.4f, 0.7f, 2.0f, -0.6f, 0.1f};  // [B, 2]

    std::vector<float> dlogits(logits.size(), 7.0f), dq(q.size(), 7.0f);  // garbage: must be overwritten
    LossOut base = act_loss(logits.data(), labels.data(), q.data(), B, S, V, grad_scale, dlogits.data(), dq.data());
    CHECK(base.seq_is_correct[0] == 1);
    CHECK(base.seq_is_correct[1] == 0);
    CHECK(base.seq_is_correct[3] == 1);
    CHECK(base.label_count[2] == 3);
    CHECK(base.label_count[3] == 0);
    CHECK(std::abs(base.loss - (base.lm_loss + 0.5 * base.q_halt_loss)) < 1e-12);

    // the loss is evaluated in double from float logits, so the finite difference is limited by truncation only
    // (eps^2 / 6 * f''' ~ 1e-7 for eps 1e-3): a 1e-5 relative bound is 100x above it.
    const float eps = 1e-3f;
    auto J = [&] {
        LossOut o = act_loss(logits.data(), labels.data(), q.data(), B, S, V, grad_scale, nullptr, nullptr);
        REQUIRE(o.seq_is_correct == base.seq_is_correct);
        return grad_scale * o.loss;
    };
    auto fd_logits = fd_grad(logits, eps, J);
    auto fd_q = fd_grad(q, eps, J);
    check_grad("act_loss dlogits", dlogits, fd_logits, 1e-5);
    check_grad("act_loss dq", dq, fd_q, 1e-5);
    for (int b = 0; b < B; b++) CHECK(dq[size_t(b) * 2 + 1] == 0.0f);  // q_continue is not trained
    for (int b = 0; b < B; b++)
        for (int s = 0; s < S; s++)
            if (labels[size_t(b) * S + s] == kIgnoreLabel)
                for (int v = 0; v < V; v++) CHECK(dlogits[(size_t(b) * S + s) * V + v] == 0.0f);

    // the lm term of a row is the mean over its labelled positions of -log stablemax: check row 2 by hand
    double lm2 = 0;
    for (int s = 0; s < S; s++) {
        const int y = labels[size_t(2) * S + s];
        if (y == kIgnoreLabel) continue;
        const float* x = &logits[(size_t(2) * S + s) * V];
        double sum = 0;
        for (int v = 0; v < V; v++) sum += x[v] >= 0 ? x[v] + 1.0 : 1.0 / (1.0 - x[v]);
        lm2 += -std::log((x[y] >= 0 ? x[y] + 1.0 : 1.0 / (1.0 - x[y])) / sum);
    }
    std::vector<int32_t> only2(labels.size(), kIgnoreLabel);
    for (int s = 0; s < S; s++) only2[size_t(2) * S + s] = labels[size_t(2) * S + s];
    LossOut o2 = act_loss(logits.data(), only2.data(), q.data(), B, S, V, 1.0, nullptr, nullptr);
    CHECK(std::abs(o2.lm_loss - lm2 / 3) < 1e-12);
}
