// Training: a short run on a toy task learns it; a resumed run reaches the same weights as an uninterrupted one;
// the optimiser pieces follow their formulas.
#include <doctest/doctest.h>
#include <cmath>
#include <filesystem>

#include "core/optimizer.hpp"
#include "core/parallel.hpp"
#include "core/trainer.hpp"
#include "datasets/train_job.hpp"

#include <atomic>
#include <unistd.h>

using namespace trm;
namespace fs = std::filesystem;

// Toy task: 8 tokens from {2..5}; the answer is each token's successor in 2->3->4->5->2 (a per-cell map the model
// must learn from data), deterministic in the index.
struct ToyData : DataSource {
    void example(uint64_t index, int32_t* tokens, int32_t* labels, int32_t* id) override {
        Rng r(index * 7919 + 1);
        for (int i = 0; i < 8; i++) {
            tokens[i] = 2 + int(r.below(4));
            labels[i] = 2 + (tokens[i] - 2 + 1) % 4;
        }
        *id = 0;
    }
};

static Config toy_config(bool mlp_t) {
    Config c;
    c.hidden_size = 32; c.num_heads = 2; c.expansion = 2; c.L_layers = 1; c.H_cycles = 2; c.L_cycles = 2;
    c.halt_max_steps = 2; c.puzzle_emb_ndim = 0; c.puzzle_emb_len = 1; c.mlp_t = mlp_t;
    c.pos_encodings = mlp_t ? PosEncoding::None : PosEncoding::Rope;
    c.seq_len = 8; c.vocab_size = 6; c.num_puzzle_identifiers = 1;
    return c;
}

static TrainOptions toy_options() {
    TrainOptions o;
    o.batch_size = 32; o.seed = 3; o.halt_exploration_prob = 0.1f;
    o.optim.lr = 3e-3; o.optim.lr_warmup_steps = 10; o.optim.total_steps = 300; o.optim.weight_decay = 0.01;
    o.optim.ema_rate = 0.9;
    return o;
}

TEST_CASE("a short run learns the toy task (loss down, exact accuracy up)") {
    for (bool mlp_t : {false, true}) {
        CAPTURE(mlp_t);
        Model m(toy_config(mlp_t));
        init_weights(m, 1);
        Trainer t(std::move(m), toy_options());
        ToyData data;
        double first = 0, last = 0;
        for (int i = 0; i < 300; i++) {
            StepMetrics s = t.train_step(data);
            if (i < 10) first += s.lm_loss / 10;
            if (i >= 290) last += s.lm_loss / 10;
        }
        // held-out examples (indices far past what training drew)
        const int n = 256;
        std::vector<int32_t> tok(n * 8), lab(n * 8), ids(n);
        for (int i = 0; i < n; i++) data.example(1000000 + i, &tok[i * 8], &lab[i * 8], &ids[i]);
        EvalStats e = evaluate(t.export_model(), tok.data(), lab.data(), ids.data(), n, 64);
        MESSAGE("mlp_t=" << mlp_t << " loss " << first << " -> " << last << ", exact " << e.exact << "/" << n);
        CHECK(last < 0.3 * first);
        CHECK(e.exact > n * 9 / 10);
    }
}

TEST_CASE("resuming from a training state reaches the same weights as an uninterrupted run") {
    ToyData data;
    auto run = [&](int steps) {
        Model m(toy_config(false));
        init_weights(m, 1);
        auto t = std::make_unique<Trainer>(std::move(m), toy_options());
        for (int i = 0; i < steps; i++) t->train_step(data);
        return t;
    };
    auto full = run(30);
    auto part = run(12);
    auto path = (fs::temp_directory_path() / "trm_test_state.safetensors").string();
    part->save_state(path);
    auto resumed = Trainer::load_state(path);
    for (int i = 12; i < 30; i++) resumed->train_step(data);
    CHECK(resumed->step == full->step);
    CHECK(resumed->cursor == full->cursor);
    CHECK(resumed->model.arena == full->model.arena);  // bit-exact
    CHECK(resumed->ema == full->ema);
    fs::remove(path);
}

TEST_CASE("copy_matching_weights moves a rope2d network to another grid, and refuses grid-tied layers") {
    auto config = [](int seq_len, PosEncoding pos, bool mlp_t, int ids) {
        Config c = toy_config(mlp_t);
        c.pos_encodings = pos; c.seq_len = seq_len; c.puzzle_emb_ndim = 32; c.num_puzzle_identifiers = ids;
        return c;
    };
    Model small(config(9, PosEncoding::Rope2d, false, 3));
    init_weights(small, 5);
    SUBCASE("rope2d: every tensor moves from the 3x3 grid to the 6x6 one") {
        Model big(config(36, PosEncoding::Rope2d, false, 3));
        init_weights(big, 6);
        const auto copied = copy_matching_weights(small, big, "small.safetensors");
        CHECK(copied.size() == big.layout.table.size());
        CHECK(big.arena == small.arena);  // same layout: the arena does not depend on the grid
    }
    SUBCASE("another number of puzzle identifiers keeps the new run's embedding, copies the rest") {
        Model big(config(36, PosEncoding::Rope2d, false, 7));
        init_weights(big, 6);
        const std::vector<float> emb(big.ptr("inner.puzzle_emb.weights"), big.ptr("inner.puzzle_emb.weights") + 7 * 32);
        const auto copied = copy_matching_weights(small, big, "small.safetensors");
        CHECK(copied.size() == big.layout.table.size() - 1);
        CHECK(std::equal(emb.begin(), emb.end(), big.ptr("inner.puzzle_emb.weights")));
        const float* q = small.ptr("inner.q_head.weight");
        CHECK(std::equal(q, q + 2 * 32, big.ptr("inner.q_head.weight")));
    }
    SUBCASE("mlp_t and learned positions are tied to their grid: refused, naming the file and the tensor") {
        Model mt9(config(9, PosEncoding::None, true, 3)), mt36(config(36, PosEncoding::None, true, 3));
        CHECK_THROWS_WITH(copy_matching_weights(mt9, mt36, "mt.safetensors"),
                          doctest::Contains("mt.safetensors: 'inner.L_level.layers.0.mlp_t.gate_up_proj.weight'"));
        Model lp9(config(9, PosEncoding::Learned, false, 3)), lp36(config(36, PosEncoding::Learned, false, 3));
        CHECK_THROWS_WITH(copy_matching_weights(lp9, lp36, "lp.safetensors"),
                          doctest::Contains("'inner.embed_pos.embedding_weight' is [10, 32], this run needs [37, 32]"));
        CHECK_THROWS_WITH(copy_matching_weights(mt9, lp36, "mt.safetensors"), doctest::Contains("has no"));
    }
}

TEST_CASE("cosine schedule with warm-up") {
    CHECK(cosine_lr(0, 1.0, 10, 110, 0.1) == doctest::Approx(0.0));
    CHECK(cosine_lr(5, 1.0, 10, 110, 0.1) == doctest::Approx(0.5));
    CHECK(cosine_lr(10, 1.0, 10, 110, 0.1) == doctest::Approx(1.0));
    CHECK(cosine_lr(60, 1.0, 10, 110, 0.1) == doctest::Approx(0.1 + 0.9 * 0.5));
    CHECK(cosine_lr(110, 1.0, 10, 110, 0.1) == doctest::Approx(0.1));
    CHECK(cosine_lr(500, 2.0, 10, 110, 1.0) == doctest::Approx(2.0));
    CHECK(cosine_lr(160, 1.0, 10, 110, 0.1) == doctest::Approx(0.1));  // past the horizon: the floor, not a rise
    CHECK(cosine_lr(400, 1.0, 10, 110, 0.1) == doctest::Approx(0.1));
}

TEST_CASE("AdamATan2 step follows its formula") {
    float p[2] = {1.0f, -2.0f}, m[2] = {0, 0}, v[2] = {0, 0}, g[2] = {0.5f, -0.25f};
    adam_atan2_update(p, m, v, g, 2, 0.1, 0.5, 0.9, 0.95, 1);
    // t=1: m = 0.1 g, v = 0.05 g^2; update = lr/(1-0.9) * atan2(m, sqrt(v)/sqrt(0.05)) = 1.0 * atan2(0.1 g, |g|)
    for (int i = 0; i < 2; i++) {
        double pi0 = i == 0 ? 1.0 : -2.0;
        double expect = pi0 * (1 - 0.05) - std::atan2(0.1 * g[i], std::fabs(g[i]));
        CHECK(p[i] == doctest::Approx(expect).epsilon(1e-6));
    }
}

TEST_CASE("sign-SGD sums the rows of one identifier, then steps by the sign") {
    float w[2 * 2] = {1, 1, 1, 1};
    float g[3 * 2] = {0.5f, -1.0f, -0.6f, 2.0f, 0.0f, 0.0f};
    int32_t ids[3] = {1, 1, 0};
    sign_sgd_rows(w, g, ids, 3, 2, 0.1, 0.0);
    CHECK(w[0] == doctest::Approx(1.0));   // id 0: zero gradient
    CHECK(w[1] == doctest::Approx(1.0));
    CHECK(w[2] == doctest::Approx(1.1));   // id 1: 0.5 - 0.6 < 0 -> +lr
    CHECK(w[3] == doctest::Approx(0.9));   // -1 + 2 > 0 -> -lr
}

// `trm train --threads N` must limit trm's own workers, not only OpenBLAS's (it once called the BLAS-only setter,
// so the pool kept every core).
TEST_CASE("run_training with threads = 1 runs trm's workers on one thread") {
    set_threads(2);
    REQUIRE(num_threads() == 2);
    const fs::path dir = fs::temp_directory_path() / ("trm_threads_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    TrainJobOptions j;
    j.domain = &domain_named("sudoku");
    j.model = toy_config(true);
    j.model.puzzle_emb_ndim = 0;
    j.train = toy_options();
    j.train.batch_size = 4;
    j.steps = 2;
    j.eval_every = 0;
    j.eval_count = 2;
    j.out = (dir / "m.safetensors").string();
    j.threads = 1;
    std::atomic<bool> stop{false};
    run_training(j, 1, [](const TrainProgress&) {}, stop);
    CHECK(num_threads() == 1);
    CHECK(fs::exists(j.out));
    fs::remove_all(dir);
    set_threads(0);
}
