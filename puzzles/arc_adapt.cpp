#include "puzzles/arc_adapt.hpp"

#include <unordered_set>

#include "core/error.hpp"
#include "core/loss.hpp"
#include "core/rng.hpp"
#include "puzzles/grid_transform.hpp"

namespace trm {

namespace {

// Demonstration pairs of one task under its augmented copies; example i draws a random (copy, pair) and a random
// translation of both grids inside the canvas, as the official training data does.
struct ArcDemoSource : DataSource {
    const ArcTask* task;
    std::vector<ArcAug> augs;
    std::vector<int32_t> ids;  // puzzle identifier of each copy
    int canvas;
    uint64_t seed;
    void example(uint64_t index, int32_t* tokens, int32_t* labels, int32_t* puzzle_id) override {
        Rng rng(seed * 0x9e3779b97f4a7c15ull ^ (index + 1) * 0xbf58476d1ce4e5b9ull);
        const size_t k = rng.below(augs.size());
        const ArcPair& p = task->train[rng.below(task->train.size())];
        ArcGrid in = arc_augment(p.input, augs[k]), out = arc_augment(*p.output, augs[k]);
        auto [r, c] = random_arc_offset(in, out, canvas, rng);
        encode_arc_grid(in, canvas, r, c, tokens);
        encode_arc_grid(out, canvas, r, c, labels);
        for (int i = 0; i < canvas * canvas; i++) if (labels[i] == 0) labels[i] = kIgnoreLabel;  // pad: not scored
        *puzzle_id = ids[k];
    }
};

}  // namespace

Model adapt_arc_tasks(const Model& m, const std::vector<ArcTask>& tasks, const ArcAdaptOptions& o,
                      std::vector<ArcAdaptReport>* report) {
    const Config& c = m.cfg();
    if (c.puzzle_emb_ndim <= 0) fail("this ARC model has no puzzle embeddings, so it cannot adapt to new tasks");
    int canvas = 1;
    while (canvas * canvas < c.seq_len) canvas++;
    std::unordered_set<std::string> known;
    for (const auto& name : c.identifiers) {
        try { known.insert(parse_arc_aug_name(name).first); } catch (const Error&) {}
    }
    // plan the new rows first, so the model grows once
    struct Plan { const ArcTask* task; std::vector<ArcAug> augs; int first_id; };
    std::vector<Plan> plans;
    std::vector<std::string> names;
    int next = c.num_puzzle_identifiers;
    for (const auto& t : tasks) {
        if (known.count(t.id) || t.train.empty()) continue;
        auto fit = [&](const ArcGrid& g) { return g.rows <= canvas && g.cols <= canvas; };
        bool fits = true;
        for (const auto& p : t.train) fits = fits && p.output && fit(p.input) && fit(*p.output);
        if (!fits) continue;  // demonstrations larger than the canvas cannot be encoded; solve without adapting
        // the same copies solve_arc_tasks would choose for an unknown task, whether or not test outputs are loaded
        Rng rng = content_rng(t.id, o.seed);
        Plan pl{&t, choose_arc_augmentations(without_test_outputs(t), o.num_aug, rng), next};
        for (const auto& a : pl.augs) names.push_back(arc_aug_name(t.id, a));
        next += int(pl.augs.size());
        plans.push_back(std::move(pl));
    }
    if (plans.empty()) return m;
    Model out = with_extra_puzzle_rows(m, int(names.size()), names);
    for (const auto& pl : plans) {
        ArcDemoSource src;
        src.task = pl.task;
        src.augs = pl.augs;
        for (size_t k = 0; k < pl.augs.size(); k++) src.ids.push_back(pl.first_id + int(k));
        src.canvas = canvas;
        src.seed = o.seed;
        AdaptOptions ao;
        ao.steps = o.steps;
        ao.batch = o.batch;
        ao.lr = o.lr;
        ao.seed = o.seed;
        const int before = int(&pl - plans.data()) * o.steps, total = int(plans.size()) * o.steps;
        if (o.on_step) ao.on_step = [&, before, total](int step) { o.on_step(before + step, total); };
        const double loss = adapt_puzzle_embeddings(out, src, ao);
        if (report) report->push_back({pl.task->id, int(pl.augs.size()), int(pl.task->train.size() * pl.augs.size()), loss});
    }
    return out;
}

}  // namespace trm
