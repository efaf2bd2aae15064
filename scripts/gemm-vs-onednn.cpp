// trm's packed GEMM against oneDNN's matmul (the library PyTorch calls on the CPU), one core each, fp32 and bf16,
// on the products of a TRM supervision step. Decides the GEMM engine by measurement (issue 18); not part of trm.
//
//   apt-get install -y libdnnl-dev && make
//   g++ -O2 -std=c++20 -I. scripts/gemm-vs-onednn.cpp build/libtrm_core.a -ldnnl -lopenblas -lfmt -lyaml-cpp \
//       -lzip -lz -pthread -o /tmp/gemm-vs-onednn && OMP_NUM_THREADS=1 /tmp/gemm-vs-onednn [SECONDS]
//
// Each product is C[M, N] = A[M, K] @ W[K, N] with W a weight prepared once (trm: packed panels; oneDNN: its
// preferred layout, reordered once) and A an activation read as it is each call: trm packs A in row chunks of
// kRowChunk (as core/ops.cpp's linear_packed does), oneDNN reads it plain. bf16: A and W rounded to bf16, C and the
// accumulation fp32 (trm rounds A while packing; oneDNN is given A in bf16 already, as PyTorch's bf16 runs hold
// their activations). Prints GFLOP/s (2 M N K per product) and the ratio trm / oneDNN.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <dnnl.hpp>
#include <string>
#include <vector>

#include "core/bf16.hpp"
#include "core/cpu.hpp"
#include "core/gemm.hpp"
#include "core/rng.hpp"

using namespace trm;
using Clock = std::chrono::steady_clock;

namespace {

struct Shape {
    const char* name;
    int M, N, K;
};

// Runs f until `seconds` have passed (after one warm-up call); returns seconds per call.
template <typename F>
double time_per_call(F f, double seconds) {
    f();
    int n = 0;
    const auto t0 = Clock::now();
    double dt = 0;
    do {
        f();
        n++;
        dt = std::chrono::duration<double>(Clock::now() - t0).count();
    } while (dt < seconds);
    return dt / n;
}

double trm_gemm(const Shape& s, Precision p, const std::vector<float>& A, const std::vector<float>& W, double secs) {
    set_precision(p);
    std::vector<float> Bp(packed_b_floats(s.K, s.N));
    pack_b(Bp.data(), W.data(), s.N, false, s.K, s.N);
    std::vector<float> Ap(packed_a_floats(kRowChunk, s.K)), C(size_t(s.M) * s.N);
    return time_per_call([&] {
        for (int r = 0; r < s.M; r += kRowChunk) {
            const int m = std::min(kRowChunk, s.M - r);
            pack_a(Ap.data(), A.data() + size_t(r) * s.K, s.K, false, m, s.K);
            gemm_packed(m, s.N, s.K, Ap.data(), Bp.data(), C.data() + size_t(r) * s.N, s.N, Epilogue::Store);
        }
    }, secs);
}

// The kernel alone: A packed once, outside the timing.
double trm_kernel_only(const Shape& s, const std::vector<float>& A, const std::vector<float>& W, double secs) {
    set_precision(Precision::Fp32);
    std::vector<float> Bp(packed_b_floats(s.K, s.N)), Ap(packed_a_floats(s.M, s.K)), C(size_t(s.M) * s.N);
    pack_b(Bp.data(), W.data(), s.N, false, s.K, s.N);
    pack_a(Ap.data(), A.data(), s.K, false, s.M, s.K);
    return time_per_call([&] {
        for (int r = 0; r < s.M; r += kRowChunk) {
            const int m = std::min(kRowChunk, s.M - r);
            gemm_packed(m, s.N, s.K, Ap.data() + packed_a_floats(r, s.K), Bp.data(), C.data() + size_t(r) * s.N, s.N,
                        Epilogue::Store);
        }
    }, secs);
}

double onednn_matmul(const Shape& s, bool bf16, const std::vector<float>& A, const std::vector<float>& W,
                     double secs) {
    using namespace dnnl;
    using dt = memory::data_type;
    using tag = memory::format_tag;
    engine eng(engine::kind::cpu, 0);
    stream st(eng);
    const dt in = bf16 ? dt::bf16 : dt::f32;
    const memory::desc a_md({s.M, s.K}, in, tag::ab), w_any({s.K, s.N}, in, tag::any), c_md({s.M, s.N}, dt::f32, tag::ab);
    const matmul::primitive_desc pd(matmul::desc(a_md, w_any, c_md), eng);  // oneDNN 2.x API (Debian 12)
    // the operands in the input type, then the weight reordered once into the kernel's layout
    memory a_f32({{s.M, s.K}, dt::f32, tag::ab}, eng, const_cast<float*>(A.data()));
    memory w_f32({{s.K, s.N}, dt::f32, tag::ab}, eng, const_cast<float*>(W.data()));
    memory a(a_md, eng), w_plain({{s.K, s.N}, in, tag::ab}, eng), w(pd.weights_desc(), eng), c(c_md, eng);
    reorder(a_f32, a).execute(st, a_f32, a);
    reorder(w_f32, w_plain).execute(st, w_f32, w_plain);
    reorder(w_plain, w).execute(st, w_plain, w);
    const matmul mm(pd);
    std::printf("    oneDNN %s kernel: %s\n", bf16 ? "bf16" : "fp32", pd.impl_info_str());
    return time_per_call([&] {
        mm.execute(st, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, c}});
        st.wait();
    }, secs);
}

}  // namespace

int main(int argc, char** argv) {
    const double secs = argc > 1 ? std::atof(argv[1]) : 2.0;
    // the products of one supervision step at batch 64 (6208 = 64 x 97 rows: 81 cells + 16 puzzle-embedding
    // positions of the official Sudoku-MLP; 8192 rows: the mlp_t product over the sequence)
    const Shape shapes[] = {{"gate_up 6208x1536x512", 6208, 1536, 512},
                            {"down    6208x512x768", 6208, 512, 768},
                            {"mlp_t   8192x97x512", 8192, 97, 512},
                            {"h128    6208x384x128", 6208, 384, 128}};
    std::printf("one core; %s; GFLOP/s (2MNK per product)\n", compute_summary().c_str());
    std::printf("%-24s %10s %10s %8s %10s %10s %8s\n", "product", "trm fp32", "dnnl fp32", "ratio", "trm bf16",
                "dnnl bf16", "ratio");
    Rng rng(1);
    for (const Shape& s : shapes) {
        std::vector<float> A(size_t(s.M) * s.K), W(size_t(s.K) * s.N);
        for (auto& x : A) x = float(rng.uniform() - 0.5);
        for (auto& x : W) x = float(rng.uniform() - 0.5);
        const double flop = 2.0 * s.M * s.N * s.K;
        std::printf("%s\n", s.name);
        const double t32 = trm_gemm(s, Precision::Fp32, A, W, secs), d32 = onednn_matmul(s, false, A, W, secs);
        const bool bf16 = cpu_isa() >= Isa::Avx512Bf16;
        const double t16 = bf16 ? trm_gemm(s, Precision::Bf16, A, W, secs) : 0, d16 = onednn_matmul(s, true, A, W, secs);
        if (std::getenv("KERNEL_ONLY"))
            std::printf("    trm fp32 kernel alone (A packed outside the timing): %.1f\n",
                        flop / trm_kernel_only(s, A, W, secs) * 1e-9);
        std::printf("%-24s %10.1f %10.1f %7.2fx %10.1f %10.1f %7.2fx\n", "", flop / t32 * 1e-9, flop / d32 * 1e-9,
                    d32 / t32, bf16 ? flop / t16 * 1e-9 : 0.0, flop / d16 * 1e-9, bf16 ? d16 / t16 : 0.0);
    }
    return 0;
}
