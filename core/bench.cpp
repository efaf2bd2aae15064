#include "core/bench.hpp"

#include <chrono>
#include <vector>

#include "core/forward.hpp"
#include "core/gemm.hpp"
#include "core/ops.hpp"
#include "core/parallel.hpp"
#include "core/rng.hpp"
#include "core/train_step.hpp"
#include "core/trainer.hpp"

namespace trm {

using Clock = std::chrono::steady_clock;
static double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The reference: the best of OpenBLAS (all threads) and trm's own kernel (one n x n product per thread, as the
// model runs it) on square products, so that no row can look faster than the machine's sgemm.
double sgemm_peak_gflops(double seconds) {
    double best = 0;
    for (int n : {1024, 2048}) {
        std::vector<float> a(size_t(n) * n, 0.5f), b(size_t(n) * n, 0.25f), c(size_t(n) * n);
        gemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);  // warm-up
        int reps = 0;
        auto t0 = Clock::now();
        do {
            gemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
            reps++;
        } while (since(t0) < seconds / 4);
        const double blas = 2.0 * n * n * double(n) * reps / since(t0) / 1e9;
        best = std::max(best, blas);
        if (!fast_gemm_compiled()) continue;
        const int T = num_threads();
        const int own = std::max(1, int(blas * 1e9 * seconds / 4 / T / (2.0 * n * n * double(n))));
        std::vector<std::vector<float>> cs(size_t(T), std::vector<float>(size_t(n) * n));
        parallel_team([&](const Team& t) {  // warm-up: every thread's buffers touched
            gemm_any(false, false, n, n, n, a.data(), n, b.data(), n, false, cs[size_t(t.t)].data(), n);
        });
        t0 = Clock::now();
        parallel_team([&](const Team& t) {
            for (int r = 0; r < own; r++)
                gemm_any(false, false, n, n, n, a.data(), n, b.data(), n, false, cs[size_t(t.t)].data(), n);
        });
        best = std::max(best, 2.0 * n * n * double(n) * own * T / since(t0) / 1e9);
    }
    return best;
}

static void random_model(Model& m, uint64_t seed) {
    init_weights(m, seed);
    Rng r(seed);
    for (auto& x : m.arena) if (x == 0.0f) x = 0.01f * r.normal();  // non-trivial q_head / puzzle rows
}

SpeedResult bench_inference(const Config& c, int batch, double seconds) {
    Model m(c);
    random_model(m, 1);
    Forward f(m, batch);
    std::vector<int32_t> tok(size_t(batch) * c.seq_len), ids(batch, 0);
    Rng r(2);
    for (auto& t : tok) t = 1 + int(r.below(uint64_t(c.vocab_size - 1)));
    f.embed(tok.data(), ids.data(), batch);
    f.reset_carry(batch);
    f.step(batch);  // warm-up
    int steps = 0;
    auto t0 = Clock::now();
    do { f.step(batch); steps++; } while (since(t0) < seconds);
    const double dt = since(t0);
    SpeedResult s;
    s.flops_per_step = flops_per_step(c);
    s.ms_per_step = 1e3 * dt / steps;
    s.per_second = double(batch) * steps / dt / c.halt_max_steps;
    s.gflops = s.flops_per_step * batch * steps / dt / 1e9;
    s.activation_bytes = f.bytes();
    return s;
}

double train_flops_per_step(const Config& c) {
    const double per_cycle = flops_per_step(c) / c.H_cycles;
    return per_cycle * (c.H_cycles - 1) + 3.0 * per_cycle;
}

SpeedResult bench_training(const Config& c, int batch, double seconds) {
    Model m(c);
    random_model(m, 1);
    TrainStep ts(m, batch);
    std::vector<int32_t> tok(size_t(batch) * c.seq_len), lab(tok.size()), ids(batch, 0);
    Rng r(2);
    for (size_t i = 0; i < tok.size(); i++) { tok[i] = 1 + int(r.below(uint64_t(c.vocab_size - 1))); lab[i] = tok[i]; }
    ts.refill(tok.data(), lab.data(), ids.data());
    ts.forward_backward(1.0 / batch, r, 0.0f);  // warm-up
    int steps = 0;
    auto t0 = Clock::now();
    do {
        std::fill(ts.halted.begin(), ts.halted.end(), 1);
        ts.refill(tok.data(), lab.data(), ids.data());
        ts.forward_backward(1.0 / batch, r, 0.0f);
        steps++;
    } while (since(t0) < seconds);
    const double dt = since(t0);
    SpeedResult s;
    s.flops_per_step = train_flops_per_step(c);
    s.ms_per_step = 1e3 * dt / steps;
    s.per_second = double(batch) * steps / dt;
    s.gflops = s.flops_per_step * batch * steps / dt / 1e9;
    s.activation_bytes = ts.activation_bytes();
    return s;
}

}  // namespace trm
