// Test-time adaptation: unseen ARC tasks get puzzle-embedding rows named as the official builder names them, the
// network stays frozen, and fitting the rows lowers the loss on the task's demonstrations.
#include <doctest/doctest.h>

#include "core/trainer.hpp"
#include "puzzles/arc_adapt.hpp"

using namespace trm;

static ArcTask tiny_task() {
    // "swap colours 1 and 2" on 2x2 grids
    auto g = [](std::vector<uint8_t> c) { ArcGrid x; x.rows = 2; x.cols = 2; x.cells = std::move(c); return x; };
    ArcTask t;
    t.id = "tinytask";
    t.train.push_back({g({1, 2, 0, 1}), g({2, 1, 0, 2})});
    t.train.push_back({g({2, 2, 1, 0}), g({1, 1, 2, 0})});
    t.test.push_back({g({1, 0, 0, 2}), std::nullopt});
    return t;
}

static Model tiny_arc_model() {
    Config c;
    c.hidden_size = 16; c.num_heads = 2; c.expansion = 2; c.L_layers = 1; c.H_cycles = 1; c.L_cycles = 1;
    c.halt_max_steps = 2; c.puzzle_emb_ndim = 16; c.puzzle_emb_len = 1; c.pos_encodings = PosEncoding::Rope;
    c.seq_len = 16; c.vocab_size = 12; c.num_puzzle_identifiers = 2; c.domain = "arc";
    c.identifiers = {"<blank>", "known"};
    Model m(c);
    init_weights(m, 3);
    return m;
}

TEST_CASE("unseen ARC tasks get named rows fitted with the network frozen") {
    Model m = tiny_arc_model();
    std::vector<ArcTask> tasks = {tiny_task()};
    ArcAdaptOptions o;
    o.num_aug = 3; o.steps = 0; o.batch = 4;
    Model zero = adapt_arc_tasks(m, tasks, o);
    REQUIRE(zero.cfg().num_puzzle_identifiers == 2 + 4);
    CHECK(zero.cfg().identifiers[2] == "tinytask");  // identity copy first, named by the bare id
    for (int i = 3; i < 6; i++) CHECK(zero.cfg().identifiers[i].rfind("tinytask|||t", 0) == 0);

    o.steps = 60;
    std::vector<ArcAdaptReport> rep;
    Model fitted = adapt_arc_tasks(m, tasks, o, &rep);
    REQUIRE(rep.size() == 1);
    CHECK(rep[0].rows == 4);
    // dense weights untouched, new rows moved
    for (auto& p : m.layout.table) {
        if (p.kind == ParamKind::PuzzleEmb) continue;
        CHECK(std::equal(m.arena.begin() + p.offset, m.arena.begin() + p.offset + p.numel, fitted.ptr(p.name)));
    }
    const float* rows = fitted.ptr("inner.puzzle_emb.weights");
    double moved = 0;
    for (int i = 2 * 16; i < 6 * 16; i++) moved += std::abs(rows[i]);
    CHECK(moved > 0);
    // a second call with the adapted model knows the task and adds nothing
    Model again = adapt_arc_tasks(fitted, tasks, o);
    CHECK(again.cfg().num_puzzle_identifiers == fitted.cfg().num_puzzle_identifiers);
    // fitting lowers the demonstration loss: the same run with lr 0 measures the loss of the zero rows
    ArcAdaptOptions frozen = o;
    frozen.lr = 0;
    std::vector<ArcAdaptReport> base;
    adapt_arc_tasks(m, tasks, frozen, &base);
    REQUIRE(base.size() == 1);
    MESSAGE("demonstration loss: zero rows " << base[0].final_loss << ", adapted " << rep[0].final_loss);
    CHECK(rep[0].final_loss < base[0].final_loss);
}
