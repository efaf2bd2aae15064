// Whole-model gradient check: TrainStep::forward_backward's `grads` and `dpuzzle_local` against central finite
// differences of last_loss.loss, for every block variant (attention + rope / learned / none positions, mlp_t).
//
// Each finite-difference evaluation builds a fresh TrainStep (fresh carry: z_H = H_init, z_L = L_init) on the
// perturbed model and runs one step on the same batch, so the objective is exactly the loss of one supervision
// step from the initial carry. TRM differentiates only the last H cycle (the earlier ones run under
// torch.no_grad()), so the full loss and the analytic gradient agree only when H_cycles = 1; with H_cycles = 2 the
// analytic gradient is compared with differences of the TRUNCATED objective (no-grad cycles frozen at the
// unperturbed weights), and shown to differ from the differences of the full loss.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "core/parallel.hpp"
#include "core/train_step.hpp"

using namespace trm;

namespace {

constexpr int kBatch = 2;
constexpr int kSamples = 30;  // coordinates checked per tensor
// Finite-difference step on weights of std 0.3. Two error sources on a difference quotient:
//   rounding    float32 noise of the loss (~4, a forward of 6 block applications) divided by 2 eps: grows as
//               1/eps; the attention variants (little curvature) measure <= 1e-3 at eps 2e-3, 1e-3 at eps 1e-3;
//   truncation  eps^2 / 6 * f''' : measured (mlp_t, the most curved variant) 3e-2 at eps 1e-2, 9e-3 at 3e-3,
//               5e-3 at 2e-3, 1e-3 at 1e-3 (quadratic in eps until rounding takes over).
// eps 2e-3 balances them: the worst per-tensor relative error measured is 5e-3 (mlp_t embed_tokens), attention
// variants stay <= 1e-3. kRelTol = 2e-2 sits 4x above the worst, while every injected backward bug tried (a
// flipped sign, a dropped residual, scale or accumulation, a wrong transpose) gave rel >= 1e-1 on some tensor.
constexpr float kEps = 2e-3f;
constexpr double kRelTol = 2e-2;

struct Batch {
    std::vector<int32_t> tokens, labels, ids;
};

Config tiny_config(bool mlp_t, PosEncoding pos, int H_cycles) {
    Config c;
    c.hidden_size = 8;
    c.num_heads = 2;
    c.expansion = 2.0f;
    c.L_layers = 2;
    c.H_cycles = H_cycles;
    c.L_cycles = 2;
    c.seq_len = pos == PosEncoding::Rope2d ? 9 : 6;  // rope2d needs a square grid (3x3)
    c.vocab_size = 5;
    c.puzzle_emb_ndim = 8;
    c.puzzle_emb_len = 2;
    c.num_puzzle_identifiers = 3;
    c.halt_max_steps = 4;
    c.mlp_t = mlp_t;
    c.pos_encodings = pos;
    c.rope_theta = 10.0f;  // every RoPE frequency turns visibly over 8 positions
    c.validate();
    return c;
}

// Every tensor ~ N(0, 0.3^2); q_head small (q_halt near 0, as the official init keeps it in range); the carry
// initialisation buffers ~ N(0, 1) like the official trunc_normal(std=1).
void randomize(Model& m, Rng& rng) {
    for (const ParamSpec& p : m.layout.table) {
        float std = 0.3f;
        if (p.name.find("q_head") != std::string::npos) std = 0.05f;
        if (p.kind == ParamKind::Buffer) std = 1.0f;
        for (size_t i = 0; i < p.numel; i++) m.arena[p.offset + i] = std * rng.normal();
    }
}

// Random tokens; labels random with about a quarter ignored.
Batch random_batch(const Config& c, Rng& rng, std::vector<int32_t> ids) {
    Batch b;
    b.ids = std::move(ids);
    for (int i = 0; i < kBatch * c.seq_len; i++) {
        b.tokens.push_back(int32_t(rng.below(uint64_t(c.vocab_size))));
        b.labels.push_back(rng.below(4) == 0 ? kIgnoreLabel : int32_t(rng.below(uint64_t(c.vocab_size))));
    }
    return b;
}

// Loss of one step from a fresh carry. When frozen_zH / frozen_zL are given (computed by an H_cycles - 1 no-grad
// run on the unperturbed model), `m` must have H_cycles = 1 and the carry is replaced by them: the truncated
// objective whose gradient TRM computes.
double step_loss(Model& m, const Batch& b, const std::vector<uint8_t>& seq_is_correct,
                 const std::vector<float>* frozen_zH = nullptr, const std::vector<float>* frozen_zL = nullptr) {
    TrainStep ts(m, kBatch);
    ts.refill(b.tokens.data(), b.labels.data(), b.ids.data());
    if (frozen_zH) {
        std::copy(frozen_zH->begin(), frozen_zH->end(), ts.fwd.z_H.begin());
        std::copy(frozen_zL->begin(), frozen_zL->end(), ts.fwd.z_L.begin());
    }
    Rng rng(0);
    ts.forward_backward(1.0, rng, 0.0f);
    // seq_is_correct is a step function of the logits (the BCE target): a step that flips it is not a derivative
    REQUIRE_MESSAGE(ts.last_loss.seq_is_correct == seq_is_correct, "a finite-difference step changed seq_is_correct");
    return ts.last_loss.loss;
}

// (L(x + eps) - L(x - eps)) / (x+ - x-) for one arena value; restores it.
template <typename F>
double fd_at(Model& m, size_t at, F&& loss) {
    const float x0 = m.arena[at];
    m.arena[at] = x0 + kEps;
    const float xp = m.arena[at];
    const double lp = loss();
    m.arena[at] = x0 - kEps;
    const float xm = m.arena[at];
    const double lm = loss();
    m.arena[at] = x0;
    return (lp - lm) / (double(xp) - double(xm));
}

template <typename T>
double rel_err(const std::vector<T>& a, const std::vector<T>& b) {
    REQUIRE(a.size() == b.size());
    double d = 0, na = 0, nb = 0;
    for (size_t i = 0; i < a.size(); i++) {
        d += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
        na += double(a[i]) * a[i];
        nb += double(b[i]) * b[i];
    }
    return na + nb == 0 ? 0.0 : std::sqrt(d) / (std::sqrt(na) + std::sqrt(nb));
}

// Up to kSamples distinct indices in [0, n).
std::vector<size_t> sample(Rng& rng, size_t n) {
    std::vector<size_t> idx(n);
    std::iota(idx.begin(), idx.end(), size_t(0));
    rng.shuffle(idx.begin(), idx.end());
    idx.resize(std::min<size_t>(n, kSamples));
    return idx;
}

struct TensorCheck {
    std::string name;
    std::vector<double> analytic, fd;
};

// Analytic gradient (grads, dpuzzle_local of a TrainStep on m) against `loss` differences: a sample of every Dense
// tensor, and every column of each puzzle_emb row the batch uses (its analytic gradient is the sum of
// dpuzzle_local over the batch rows with that id).
template <typename F>
std::vector<TensorCheck> compare(Model& m, const TrainStep& ts, const Batch& b, Rng& rng, F&& loss) {
    std::vector<TensorCheck> out;
    for (const ParamSpec& p : m.layout.table) {
        if (p.kind != ParamKind::Dense) continue;
        TensorCheck t{p.name, {}, {}};
        for (size_t i : sample(rng, p.numel)) {
            t.analytic.push_back(ts.grads[p.offset + i]);
            t.fd.push_back(fd_at(m, p.offset + i, loss));
        }
        out.push_back(std::move(t));
    }
    const ParamSpec* pe = m.layout.find("inner.puzzle_emb.weights");
    REQUIRE(pe);
    const int E = m.cfg().puzzle_emb_ndim;
    std::vector<int32_t> used = b.ids;
    std::sort(used.begin(), used.end());
    used.erase(std::unique(used.begin(), used.end()), used.end());
    TensorCheck t{"puzzle_emb (dpuzzle_local)", {}, {}};
    for (int32_t id : used)
        for (int e = 0; e < E; e++) {
            double g = 0;
            for (int r = 0; r < kBatch; r++)
                if (b.ids[r] == id) g += ts.dpuzzle_local[size_t(r) * E + e];
            t.analytic.push_back(g);
            t.fd.push_back(fd_at(m, pe->offset + size_t(id) * E + e, loss));
        }
    out.push_back(std::move(t));
    return out;
}

struct Variant {
    const char* name;
    bool mlp_t;
    PosEncoding pos;
    std::vector<int32_t> ids;  // puzzle ids of the two batch rows
};

const Variant kVariants[] = {
    {"attention+rope", false, PosEncoding::Rope, {1, 1}},  // both rows share one puzzle_emb row
    {"attention+rope2d", false, PosEncoding::Rope2d, {2, 1}},
    {"attention+learned", false, PosEncoding::Learned, {0, 2}},
    {"attention+none", false, PosEncoding::None, {2, 0}},
    {"mlp_t", true, PosEncoding::None, {1, 2}},
};

// A random tiny model and batch after one training step at them: the analytic gradient the tests check.
// TrainStep keeps a reference to the model, so this stays where it is built.
struct SteppedModel {
    Model m;
    Rng rng;
    Batch b;
    std::unique_ptr<TrainStep> ts;
    std::vector<uint8_t> seq_ok;  // which rows the step found correct; finite differences must keep it

    SteppedModel(const Variant& v, int H_cycles, uint64_t seed) : m(tiny_config(v.mlp_t, v.pos, H_cycles)), rng(seed) {
        randomize(m, rng);
        b = random_batch(m.cfg(), rng, v.ids);
        ts = std::make_unique<TrainStep>(m, kBatch);
        ts->refill(b.tokens.data(), b.labels.data(), b.ids.data());
        Rng step_rng(0);
        ts->forward_backward(1.0, step_rng, 0.0f);
        seq_ok = ts->last_loss.seq_is_correct;
    }
};

}  // namespace

TEST_CASE("whole-model gradient (H_cycles = 1) matches finite differences of the step loss") {
    for (const Variant& v : kVariants) {
        SUBCASE(v.name) {
            // Two threads: the batch runs as two shards of one row, so the per-shard gradient arenas and their sum
            // are exercised on any machine. TrainStep sizes per-shard buffers at construction, so the thread count
            // is set before any TrainStep exists.
            set_threads(2);
            SteppedModel s(v, 1, 100);
            Model& m = s.m;
            Rng& rng = s.rng;  // goes on to pick the coordinates checked
            const Batch& b = s.b;
            TrainStep& ts = *s.ts;
            const auto& seq_ok = s.seq_ok;
            CHECK(std::abs(step_loss(m, b, seq_ok) - ts.last_loss.loss) == 0.0);  // deterministic objective

            // one thread (one shard of two rows) computes the same gradient; only gemm blocking and the order of
            // the shard sum differ, so float32 rounding: 1e-5 relative is ~100x the ulp-level differences
            set_threads(1);
            {
                TrainStep one(m, kBatch);
                one.refill(b.tokens.data(), b.labels.data(), b.ids.data());
                Rng one_rng(0);
                one.forward_backward(1.0, one_rng, 0.0f);
                CHECK(std::abs(one.last_loss.loss - ts.last_loss.loss) <= 1e-6 * std::abs(ts.last_loss.loss));
                const double rg = rel_err(one.grads, ts.grads), rp = rel_err(one.dpuzzle_local, ts.dpuzzle_local);
                MESSAGE(std::string(v.name) << " 1 vs 2 threads: grads rel " << rg << ", dpuzzle_local rel " << rp);
                CHECK(rg < 1e-5);
                CHECK(rp < 1e-5);
            }
            set_threads(2);

            // buffers and puzzle_emb are not in the dense gradient (puzzle_emb trains from dpuzzle_local)
            for (const ParamSpec& p : m.layout.table)
                if (p.kind != ParamKind::Dense)
                    for (size_t i = 0; i < p.numel; i++) REQUIRE(ts.grads[p.offset + i] == 0.0f);

            auto checks = compare(m, ts, b, rng, [&] { return step_loss(m, b, seq_ok); });
            for (auto& t : checks) {
                const double r = rel_err(t.analytic, t.fd);
                MESSAGE(std::string(v.name) << " " << t.name << ": rel err " << r << " over " << t.fd.size() << " coordinates");
                CHECK_MESSAGE(r < kRelTol, std::string(v.name) << " " << t.name << ": rel err " << r << " exceeds " << kRelTol);
            }
        }
    }
}

// With H_cycles = 2 the first cycle is no-grad: the analytic gradient is that of the truncated objective
// (final cycle from the frozen carry), not of the full loss.
TEST_CASE("H_cycles = 2: gradient is of the last cycle only (truncated objective), as in the official code") {
    for (const Variant& v : kVariants) {
        SUBCASE(v.name) {
            set_threads(2);
            SteppedModel s(v, 2, 200);
            Model& m = s.m;
            const Batch& b = s.b;
            TrainStep& ts = *s.ts;
            const auto& seq_ok = s.seq_ok;

            // the carry after the no-grad cycle at the unperturbed weights
            Forward f(m, kBatch);
            f.embed(b.tokens.data(), b.ids.data(), kBatch);
            f.reset_carry(kBatch);
            f.run_cycles(kBatch, 1);
            const std::vector<float> zH = f.z_H, zL = f.z_L;
            // the same weights under H_cycles = 1 (the arena layout does not depend on H_cycles)
            Model m1(tiny_config(v.mlp_t, v.pos, 1));
            REQUIRE(m1.arena.size() == m.arena.size());
            m1.arena = m.arena;
            CHECK(step_loss(m1, b, seq_ok, &zH, &zL) == ts.last_loss.loss);  // same objective at the base point

            Rng pick(300);
            auto truncated = compare(m1, ts, b, pick, [&] { return step_loss(m1, b, seq_ok, &zH, &zL); });
            Rng pick_again(300);  // the same coordinates
            auto full = compare(m, ts, b, pick_again, [&] { return step_loss(m, b, seq_ok); });
            for (size_t i = 0; i < truncated.size(); i++) {
                const std::string& name = truncated[i].name;
                const double r = rel_err(truncated[i].analytic, truncated[i].fd);
                const double r_full = rel_err(full[i].analytic, full[i].fd);
                MESSAGE(std::string(v.name) << " " << name << ": rel err " << r << " vs truncated, " << r_full << " vs full loss");
                CHECK_MESSAGE(r < kRelTol, std::string(v.name) << " " << name << ": rel err " << r << " vs the truncated objective");
                // Heads act after the last cycle, so they see no difference; every tensor that feeds the first
                // cycle (embeddings, blocks) must differ clearly from the full-loss derivative.
                const bool head = name.find("lm_head") != std::string::npos || name.find("q_head") != std::string::npos;
                if (head) CHECK(r_full < kRelTol);
                else CHECK_MESSAGE(r_full > 5 * kRelTol, std::string(v.name) << " " << name << ": gradient matches the full loss");
            }
        }
    }
}
