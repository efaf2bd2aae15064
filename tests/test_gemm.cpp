// trm's packed sgemm (core/gemm.hpp) against the naive double-accumulating reference, on shapes that hit every edge:
// row tails (M not a multiple of kMR), column tails (N not a multiple of kNR), k blocking (K > 2048), both
// operand layouts, B read in place, every epilogue (the training pre-activation both streamed into cache-line
// aligned buffers and stored with masks elsewhere), gemm_any, and the team split against one thread.
// Error budget: float32 sums of K products of N(0,1) values carry ~sqrt(K) * 2^-24 * |terms| rounding, ~1e-5
// at K = 700; kTol = 1e-4 * sqrt(K) leaves ~10x margin, while a wrong index or a dropped k block is O(1).
#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/aligned.hpp"
#include "core/bf16.hpp"
#include "core/bf16_rows.hpp"
#include "core/cpu.hpp"
#include "core/error.hpp"
#include "core/forward.hpp"
#include "core/gemm.hpp"
#include "core/ops.hpp"
#include "core/parallel.hpp"
#include "core/trainer.hpp"
#include "core/rng.hpp"
#include "core/vecmath.hpp"

using namespace trm;

namespace {

std::vector<float> randn(Rng& rng, size_t n) {
    std::vector<float> v(n);
    for (auto& x : v) x = rng.normal();
    return v;
}

template <class A, class B>
double max_diff(const A& a, const B& b) {
    REQUIRE(a.size() == b.size());
    double m = 0;
    for (size_t i = 0; i < a.size(); i++) {
        const double d = std::fabs(double(a[i]) - double(b[i]));
        if (std::isnan(d)) return d;  // fails every `< tol` check (std::max would skip it)
        m = std::max(m, d);
    }
    return m;
}

double tol(int K) { return 1e-4 * std::sqrt(double(std::max(K, 1))); }

// Every kernel family this CPU runs (core/cpu.hpp), each in fp32, and bf16 where the CPU has it: the tests below
// run once per mode. In bf16 the reference sees the operands rounded to bf16 (what the packers store), so the
// only difference left is fp32 accumulation order, as in fp32.
struct Mode {
    Isa isa;
    Precision prec;
};
std::vector<Mode> modes() {
    std::vector<Mode> m;
    for (Isa i : {Isa::Portable, Isa::Avx2, Isa::Avx512, Isa::Avx512Bf16})
        if (i <= cpu_isa()) m.push_back({i, Precision::Fp32});
    if (cpu_isa() >= Isa::Avx512Bf16) m.push_back({Isa::Avx512Bf16, Precision::Bf16});
    return m;
}
bool bf16_mode() { return precision() == Precision::Bf16; }
// v as the products of the current mode see it
std::vector<float> seen(std::vector<float> v) {
    if (bf16_mode())
        for (auto& x : v) x = round_bf16(x);
    return v;
}
template <class F>
void for_each_mode(F body) {
    for (Mode m : modes()) {
        set_isa_limit(m.isa);
        set_precision(m.prec);
        const std::string mode = std::string("kernels ") + isa_name(m.isa) + ", precision " + precision_name(m.prec);
        INFO(mode);
        body();
    }
    set_isa_limit(cpu_isa());
    set_precision(Precision::Fp32);
}

}  // namespace

TEST_CASE("the kernel families: every one this CPU has runs, and TRM_ISA-style limits are enforced") {
    const auto m = modes();
    CHECK(m.front().isa == Isa::Portable);
    CHECK(parse_isa("AVX512") == Isa::Avx512);
    CHECK_THROWS_AS(parse_isa("sse9"), Error);
    CHECK_THROWS_AS(parse_precision("fp8"), Error);
    set_isa_limit(Isa::Portable);
    CHECK(active_isa() == Isa::Portable);
    CHECK_THROWS_AS(set_precision(Precision::Bf16), Error);  // no bf16 products below Avx512Bf16
    CHECK(parse_precision("auto") == Precision::Fp32);
    set_isa_limit(cpu_isa());
    CHECK((parse_precision("auto") == Precision::Fp32 || cpu_isa() >= Isa::Avx512Bf16));
    MESSAGE(compute_summary());
}

TEST_CASE("bf16 rounding is round-to-nearest-even on the top 16 bits, as torch's .to(bfloat16)") {
    CHECK(round_bf16(1.0f) == 1.0f);
    CHECK(round_bf16(1.0f + 1.0f / 256) == 1.0f);              // halfway, to even (down)
    CHECK(round_bf16(1.0f + 3.0f / 256) == 1.0f + 4.0f / 256);  // halfway, to even (up)
    CHECK(round_bf16(1.0f + 1.5f / 256) == 1.0f + 2.0f / 256);  // above halfway
    CHECK(round_bf16(-65535.0f) == -65536.0f);
    CHECK(std::isnan(round_bf16(std::nanf(""))));
    CHECK(bf16_pair(1.0f, -2.0f) == (0x3f80u | (0xc000u << 16)));
}

// The packers' vectorised row conversions round exactly as the scalar to_bf16, tails and NaN included.
TEST_CASE("bf16_row and bf16_pairs equal to_bf16 / bf16_pair element by element") {
    Rng rng(12);
    for (int n : {1, 15, 16, 17, 100}) {
        auto lo = randn(rng, size_t(n)), hi = randn(rng, size_t(n));
        lo[0] = std::nanf("");
        lo[n - 1] = 1.0f + 1.0f / 256;  // halfway: to even
        std::vector<uint16_t> row(static_cast<size_t>(n));
        std::vector<uint32_t> pairs(static_cast<size_t>(n)), single(static_cast<size_t>(n));
        bf16_row(row.data(), lo.data(), n);
        bf16_pairs(pairs.data(), lo.data(), hi.data(), n);
        bf16_pairs(single.data(), lo.data(), nullptr, n);
        INFO("n=" << n);
        for (int i = 0; i < n; i++) {
            CHECK(row[i] == to_bf16(lo[i]));
            CHECK(pairs[i] == bf16_pair(lo[i], hi[i]));
            CHECK(single[i] == bf16_pair(lo[i], 0.0f));
        }
    }
}

static void case_0();
TEST_CASE("gemm_packed matches the reference on edge shapes, both layouts, A packed or read in place, Store and Add, in every kernel family and precision") { for_each_mode(case_0); }
static void case_0() {
    Rng rng(11);
    for (int M : {1, 5, 6, 7, 13}) {
        for (int N : {1, 17, 64, 65, 130}) {
            for (int K : {1, 3, 511, 700, 2100}) {  // 2100: two k blocks
                for (int trans : {0, 1}) {
                    const bool ta = trans & 1, tb = !ta;
                    auto A = randn(rng, size_t(M) * K), B = randn(rng, size_t(K) * N), C0 = randn(rng, size_t(M) * N);
                    std::vector<float> ap(packed_a_floats(M, K)), bp(packed_b_floats(K, N));
                    pack_a(ap.data(), A.data(), ta ? M : K, ta, M, K);
                    pack_b(bp.data(), B.data(), tb ? K : N, tb, K, N);
                    std::vector<float> want(C0), got(C0);
                    const auto As = seen(A), Bs = seen(B);
                    // Store ignores what C held; Add keeps it.
                    gemm_reference(ta, tb, M, N, K, 1.0f, As.data(), ta ? M : K, Bs.data(), tb ? K : N, 0.0f,
                                   want.data(), N);
                    gemm_packed(M, N, K, ap.data(), bp.data(), got.data(), N, Epilogue::Store);
                    INFO("Store M=" << M << " N=" << N << " K=" << K << " trans_a=" << ta);
                    CHECK(max_diff(want, got) < tol(K));
                    std::vector<float> want2(C0), got2(C0);
                    gemm_reference(ta, tb, M, N, K, 1.0f, As.data(), ta ? M : K, Bs.data(), tb ? K : N, 1.0f,
                                   want2.data(), N);
                    gemm_packed(M, N, K, ap.data(), bp.data(), got2.data(), N, Epilogue::Add);
                    CHECK(max_diff(want2, got2) < tol(K));
                    if (!ta && a_in_place(K)) {  // A read in place, rows lda = K + 3 apart (fp32, one k block)
                        const int lda = K + 3;
                        std::vector<float> Aw(size_t(M) * lda, std::nanf(""));  // the gaps must not be read
                        for (int m = 0; m < M; m++) std::copy_n(&A[size_t(m) * K], K, &Aw[size_t(m) * lda]);
                        std::vector<float> got3(C0), got4(C0);
                        gemm_packed(M, N, K, Aw.data(), bp.data(), got3.data(), N, Epilogue::Store, nullptr, 0, 0, lda);
                        CHECK(max_diff(want, got3) < tol(K));
                        gemm_packed(M, N, K, Aw.data(), bp.data(), got4.data(), N, Epilogue::Add, nullptr, 0, 0, lda);
                        CHECK(max_diff(want2, got4) < tol(K));
                    }
                }
            }
        }
    }
}

static void case_1();
TEST_CASE("gemm_any (plain operands, packed per call, rows in chunks) matches the reference, in every kernel family and precision") { for_each_mode(case_1); }
static void case_1() {
    Rng rng(15);
    for (int M : {1, 200, 450}) {
        for (int K : {5, 300, 2100}) {
            for (int ta : {0, 1}) {
                for (int tb : {0, 1}) {
                  for (int N : {70, 128}) {  // a partial last panel, and whole panels only

                    auto A = randn(rng, size_t(M) * K), B = randn(rng, size_t(K) * N), C0 = randn(rng, size_t(M) * N);
                    const auto As = seen(A), Bs = seen(B);
                    for (bool acc : {false, true}) {
                        std::vector<float> want(C0), got(C0);
                        gemm_reference(ta, tb, M, N, K, 1.0f, As.data(), ta ? M : K, Bs.data(), tb ? K : N,
                                       acc ? 1.0f : 0.0f, want.data(), N);
                        gemm_any(ta, tb, M, N, K, A.data(), ta ? M : K, B.data(), tb ? K : N, acc, got.data(), N);
                        INFO("M=" << M << " N=" << N << " K=" << K << " ta=" << ta << " tb=" << tb << " acc=" << acc);
                        CHECK(max_diff(want, got) < tol(K));
                    }
                  }
                }
            }
        }
    }
}

static void case_2();
TEST_CASE("gemm_packed writes only inside C's columns (ldc wider than N), in every kernel family and precision") { for_each_mode(case_2); }
static void case_2() {
    Rng rng(12);
    const int M = 7, N = 70, K = 9, ldc = 100;
    auto A = randn(rng, size_t(M) * K), B = randn(rng, size_t(K) * N);
    std::vector<float> ap(packed_a_floats(M, K)), bp(packed_b_floats(K, N)), C(size_t(M) * ldc, 42.0f);
    pack_a(ap.data(), A.data(), K, false, M, K);
    pack_b(bp.data(), B.data(), N, false, K, N);
    gemm_packed(M, N, K, ap.data(), bp.data(), C.data(), ldc, Epilogue::Store);
    for (int i = 0; i < M; i++)
        for (int j = N; j < ldc; j++) REQUIRE(C[size_t(i) * ldc + j] == 42.0f);
}

static void case_3();
TEST_CASE("linear_packed with the SwiGLU epilogue equals linear + swiglu, and saves the pre-activation, in every kernel family and precision") { for_each_mode(case_3); }
static void case_3() {
    Rng rng(13);
    for (int R : {1, 97, 200}) {
        for (int In : {16, 130}) {
            for (int I : {32, 40, 96}) {
                auto x = randn(rng, size_t(R) * In), w = randn(rng, size_t(2) * I * In);
                std::vector<float> gu(size_t(R) * 2 * I), want(size_t(R) * I);
                const auto xs = seen(x), ws = seen(w);
                gemm_reference(false, true, R, 2 * I, In, 1.0f, xs.data(), In, ws.data(), In, 0.0f, gu.data(), 2 * I);
                swiglu_forward(want.data(), gu.data(), R, I);
                PackedLinear p;
                p.pack(w.data(), In, 2 * I, /*gated=*/true);
                std::vector<float> got(want.size());
                AlignedVector<float> got_gu(gu.size());  // whole aligned vectors are streamed, tails masked
                linear_packed(got.data(), x.data(), R, p, Epilogue::SwiGLU, got_gu.data());
                INFO("R=" << R << " In=" << In << " I=" << I);
                CHECK(max_diff(want, got) < tol(In) * 4);
                CHECK(max_diff(gu, got_gu) < tol(In));
                std::vector<float> got_only(want.size());
                linear_packed(got_only.data(), x.data(), R, p, Epilogue::SwiGLU);
                CHECK(max_diff(got, got_only) == 0.0);
            }
        }
    }
}

static void case_4();
TEST_CASE("SwiGLURows (gate/up row pairs in one tile) equals the product + swiglu_rows, with B packed or in place, in every kernel family and precision") { for_each_mode(case_4); }
static void case_4() {
    Rng rng(16);
    for (int I : {1, 3, 7, 64}) {
        for (int K : {5, 97}) {
            for (int N : {64, 128}) {
                const int ldx = N + 16;  // in place: B rows wider than the panels used
                auto w = randn(rng, size_t(2) * I * K), X = randn(rng, size_t(K) * ldx);
                std::vector<float> gu(size_t(2) * I * N), want(size_t(I) * N);
                const auto ws = seen(w), Xs = seen(X);
                gemm_reference(false, false, 2 * I, N, K, 1.0f, ws.data(), K, Xs.data(), ldx, 0.0f, gu.data(), N);
                swiglu_rows_forward(want.data(), gu.data(), I, N);
                std::vector<float> ap(packed_a_gated_rows_floats(I, K)), bp(packed_b_floats(K, N));
                pack_a_gated_rows(ap.data(), w.data(), I, K);
                pack_b(bp.data(), X.data(), ldx, false, K, N);
                for (bool in_place : {false, true}) {
                    if (in_place && bf16_mode()) continue;  // bf16 products read only packed operands
                    std::vector<float> got(want.size());
                    AlignedVector<float> got_gu(gu.size());
                    gemm_packed(I, N, K, ap.data(), in_place ? X.data() : bp.data(), got.data(), N,
                                Epilogue::SwiGLURows, got_gu.data(), N, in_place ? ldx : 0);
                    INFO("I=" << I << " K=" << K << " N=" << N << " in_place=" << in_place);
                    CHECK(max_diff(want, got) < tol(K) * 4);
                    CHECK(max_diff(gu, got_gu) < tol(K));
                }
                if (bf16_mode()) continue;
                // a plain product with B in place
                std::vector<float> want2(size_t(2) * I * N), got2(want2.size()), ap2(packed_a_floats(2 * I, K));
                gemm_reference(false, false, 2 * I, N, K, 1.0f, w.data(), K, X.data(), ldx, 0.0f, want2.data(), N);
                pack_a(ap2.data(), w.data(), K, false, 2 * I, K);
                gemm_packed(2 * I, N, K, ap2.data(), X.data(), got2.data(), N, Epilogue::Store, nullptr, 0, ldx);
                CHECK(max_diff(want2, got2) < tol(K));
            }
        }
    }
}

static void case_5();
TEST_CASE("SwiGLUPackA / SwiGLURowsPackB write the activation as the next product's packed operand, in every kernel family and precision") { for_each_mode(case_5); }
static void case_5() {
    Rng rng(18);
    // columns (the MLP): act [R, I] as pack_a would lay it out for act @ down^T, whole and as two column shares
    for (int R : {1, 7, 97, 200}) {
        for (int I : {32, 40, 96}) {
            const int In = 48;
            auto x = randn(rng, size_t(R) * In), w = randn(rng, size_t(2) * I * In);
            std::vector<float> act(size_t(R) * I), want(packed_a_floats(R, I)), gu_want(size_t(R) * 2 * I);
            PackedLinear p;
            p.pack(w.data(), In, 2 * I, /*gated=*/true);
            linear_packed(act.data(), x.data(), R, p, Epilogue::SwiGLU, gu_want.data());
            if (bf16_mode()) std::fill(want.begin(), want.end(), 7.0f);  // bf16 uses half of each tile's room
            pack_a(want.data(), act.data(), I, false, R, I);
            for (int split : {0, 32}) {
                std::vector<float> got(want.size(), 7.0f);
                INFO("R=" << R << " I=" << I << " split=" << split);
                if (split == 0 || split >= I) {  // one call, also saving the pre-activation (training)
                    AlignedVector<float> gu(gu_want.size());
                    linear_packed(got.data(), x.data(), R, p, Epilogue::SwiGLUPackA, gu.data());
                    CHECK(max_diff(gu_want, gu) == 0.0);
                } else {  // two team members' shares
                    linear_packed(got.data(), x.data(), R, p, Epilogue::SwiGLUPackA, nullptr, 0, split);
                    linear_packed(got.data(), x.data(), R, p, Epilogue::SwiGLUPackA, nullptr, split, I);
                }
                CHECK(max_diff(want, got) == 0.0);  // the same sums and the same activation, only placed differently
            }
        }
    }
    // rows (mlp_t): act [I, N] as pack_b would lay it out for Wd @ act
    for (int I : {1, 3, 7, 64}) {
        if (bf16_mode() && I % 2) continue;  // a bf16 operand pairs act rows: TRMs' inner widths are even
        for (int N : {64, 100, 128}) {
            const int K = 97;
            auto w = randn(rng, size_t(2) * I * K), X = randn(rng, size_t(K) * N);
            std::vector<float> ap(packed_a_gated_rows_floats(I, K)), bp(packed_b_floats(K, N));
            pack_a_gated_rows(ap.data(), w.data(), I, K);
            pack_b(bp.data(), X.data(), N, false, K, N);
            std::vector<float> act(size_t(I) * N), want(packed_b_floats(I, N)), gu_want(size_t(2) * I * N);
            gemm_packed(I, N, K, ap.data(), bp.data(), act.data(), N, Epilogue::SwiGLURows, gu_want.data(), N);
            if (bf16_mode()) std::fill(want.begin(), want.end(), 7.0f);  // bf16 uses half of each panel's room
            pack_b(want.data(), act.data(), N, false, I, N);
            std::vector<float> got(want.size(), 7.0f), gu(gu_want.size());
            gemm_packed(I, N, K, ap.data(), bp.data(), got.data(), I, Epilogue::SwiGLURowsPackB, gu.data(), N);
            INFO("I=" << I << " N=" << N);
            CHECK(max_diff(want, got) == 0.0);
            CHECK(max_diff(gu_want, gu) == 0.0);
        }
    }
}

static void case_6();
TEST_CASE("linear_packed equals linear_forward, overwriting and accumulating, in every kernel family and precision") { for_each_mode(case_6); }
static void case_6() {
    Rng rng(14);
    for (int R : {1, 95, 193}) {
        for (int In : {7, 128, 600}) {
            for (int O : {11, 64, 150}) {
                auto x = randn(rng, size_t(R) * In), w = randn(rng, size_t(O) * In), y0 = randn(rng, size_t(R) * O);
                PackedLinear p;
                p.pack(w.data(), In, O, false);
                const auto xs = seen(x), ws = seen(w);
                for (bool acc : {false, true}) {
                    std::vector<float> want(y0), got(y0);
                    gemm_reference(false, true, R, O, In, 1.0f, xs.data(), In, ws.data(), In, acc ? 1.0f : 0.0f,
                                   want.data(), O);
                    linear_packed(got.data(), x.data(), R, p, acc ? Epilogue::Add : Epilogue::Store);
                    INFO("R=" << R << " In=" << In << " O=" << O << " acc=" << acc);
                    CHECK(max_diff(want, got) < tol(In));
                }
            }
        }
    }
}

// The team path (fewer puzzles than threads: threads split columns of every product and rows of the norms) must
// compute exactly what one thread computes: each output element is the same k-ordered sum either way, so the
// results are bitwise equal. hidden 192 = 3 panels, so the two threads get uneven column shares; hidden 16 leaves
// the second thread without any column of the products.
static void team_case();
TEST_CASE("one puzzle shared by a team of threads equals the same puzzle on one thread, bit for bit, in every mode") {
    for_each_mode(team_case);
}
static void team_case() {
  for (int hidden : {192, 16}) {
    CAPTURE(hidden);
    Config c;
    c.hidden_size = hidden;
    c.num_heads = 2;
    c.expansion = 4.0f;
    c.L_layers = 2;
    c.H_cycles = 2;
    c.L_cycles = 2;
    c.seq_len = 30;
    c.vocab_size = 7;
    c.puzzle_emb_ndim = hidden;
    c.puzzle_emb_len = 2;
    c.num_puzzle_identifiers = 2;
    c.halt_max_steps = 2;
    c.mlp_t = true;
    c.pos_encodings = PosEncoding::None;
    Model m(c);
    init_weights(m, 5);
    Rng rng(6);
    for (auto& x : m.arena)
        if (x == 0.0f) x = 0.02f * rng.normal();
    std::vector<int32_t> tokens(c.seq_len), ids{1};
    for (auto& t : tokens) t = int(rng.below(uint64_t(c.vocab_size)));
    auto run = [&](int threads) {
        set_threads(threads);
        Forward f(m, 1);
        f.embed(tokens.data(), ids.data(), 1);
        f.reset_carry(1);
        f.step(1);
        f.step(1);
        set_threads(0);
        return std::make_pair(f.z_H, f.logits);
    };
    auto solo = run(1), team = run(2);
    if (fast_gemm_compiled()) {
        CHECK(solo.first == team.first);
        CHECK(solo.second == team.second);
    } else {  // no team path below AVX-512: every product is OpenBLAS's, whose sums can depend on its thread count
        // (bit for bit on an Intel Xeon; logits 4e-5 apart on an AMD Zen 5 with OPENBLAS_CORETYPE=Haswell)
        MESSAGE("kernels below avx512: the team path is not used, both runs take the shard path");
        CHECK(max_diff(solo.first, team.first) < 1e-4);
        CHECK(max_diff(solo.second, team.second) < 1e-4);
    }
  }
}

TEST_CASE("a team member that throws releases the others and its error reaches the caller") {
    set_threads(2);
    bool reached = false;
    try {
        parallel_team([&](const Team& t) {
            if (t.t == 1) throw std::runtime_error("member failed");
            t.sync();  // would wait forever for member 1
            reached = true;
        });
        FAIL("no exception");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()) == "member failed");
    }
    CHECK(!reached);
    set_threads(0);
}

// Attention's products stay fp32 in bf16 runs (core/cpu.hpp's Fp32Scope): the same output and gradient bit for bit
// in both precisions, and the process-wide precision back as it was afterwards, also inside a nested scope.
TEST_CASE("attention runs its products in fp32 whatever the precision; Fp32Scope restores the thread's precision") {
    if (cpu_isa() < Isa::Avx512Bf16) {
        MESSAGE("no AVX512_BF16 here: bf16 runs cannot be made, the fp32 path is the only one");
        return;
    }
    Rng rng(21);
    const int B = 1, L = 2 * kAttentionRowBlock + 20, H = 2, hd = 16, D = H * hd;
    auto qkv = randn(rng, size_t(B) * L * 3 * D), dout = randn(rng, size_t(B) * L * D);
    auto run = [&](Precision p) {
        set_precision(p);
        std::vector<float> att(size_t(B) * L * D), probs(size_t(B) * H * attention_probs_floats(L));
        std::vector<float> scratch(attention_probs_floats(L)), dqkv(qkv.size());
        attention_forward(att.data(), probs.data(), qkv.data(), B, L, H, hd, true);
        attention_backward(dqkv.data(), scratch.data(), dout.data(), att.data(), qkv.data(), probs.data(), B, L, H, hd);
        CHECK(precision() == p);
        set_precision(Precision::Fp32);
        return std::make_pair(att, dqkv);
    };
    const auto f32 = run(Precision::Fp32), b16 = run(Precision::Bf16);
    CHECK(f32.first == b16.first);
    CHECK(f32.second == b16.second);
    set_precision(Precision::Bf16);
    {
        const Fp32Scope outer;
        {
            const Fp32Scope inner;
            CHECK(precision() == Precision::Fp32);
        }
        CHECK(precision() == Precision::Fp32);
    }
    CHECK(precision() == Precision::Bf16);
    set_precision(Precision::Fp32);
}
