#include "datasets/arc_builder.hpp"

#include <cstdint>
#include <tuple>
#include <unordered_map>

#include "core/error.hpp"

namespace trm {
namespace {

struct Example {
    const ArcGrid* input;
    const ArcGrid* output;  // nullptr: all-pad label
};

// Usable examples of one task for one split.
std::vector<Example> train_examples(const ArcTask& t, bool with_test) {
    std::vector<Example> ex;
    for (const auto& p : t.train) ex.push_back({&p.input, &*p.output});
    if (with_test)
        for (const auto& p : t.test)
            if (p.output) ex.push_back({&p.input, &*p.output});
    return ex;
}

// A test output larger than the canvas cannot be scored: it gets an all-pad label like a hidden one.
std::vector<Example> test_examples(const ArcTask& t, int max_side) {
    std::vector<Example> ex;
    for (const auto& p : t.test) {
        const bool scored = p.output && p.output->rows <= max_side && p.output->cols <= max_side;
        ex.push_back({&p.input, scored ? &*p.output : nullptr});
    }
    return ex;
}

// Appends one puzzle (one augmented copy of a task) to `ds`.
void push_puzzle(ArcDataset& ds, const std::vector<Example>& ex, const ArcAug& aug, int32_t ident, bool translate,
                 Rng& rng) {
    const int canvas = ds.canvas;
    const size_t seq = size_t(canvas) * size_t(canvas);
    // official: no_aug_id = np.random.randint(0, len(puzzle.examples)), kept untranslated
    size_t keep = translate && !ex.empty() ? size_t(rng.below(ex.size())) : 0;
    for (size_t i = 0; i < ex.size(); i++) {
        ArcGrid in = arc_augment(*ex[i].input, aug);
        ArcGrid out = ex[i].output ? arc_augment(*ex[i].output, aug) : ArcGrid{};
        int r0 = 0, c0 = 0;
        if (translate && i != keep) std::tie(r0, c0) = random_arc_offset(in, out, canvas, rng);
        size_t at = ds.inputs.size();
        ds.inputs.resize(at + seq);
        ds.labels.resize(at + seq);
        encode_arc_grid(in, canvas, r0, c0, ds.inputs.data() + at);
        if (ex[i].output) encode_arc_grid(out, canvas, r0, c0, ds.labels.data() + at);
        ds.puzzle_ids.push_back(ident);
    }
    ds.puzzle_indices.push_back(int32_t(ds.puzzle_ids.size()));
}

}  // namespace

ArcSplits build_arc_dataset(const std::vector<ArcTask>& train_tasks, const std::vector<ArcTask>& eval_tasks,
                            const ArcBuildOptions& opt) {
    if (opt.canvas < 1 || opt.canvas > kArcMaxGridSize)
        fail("ARC canvas side {} is outside 1..{}", opt.canvas, kArcMaxGridSize);
    const int max_side = opt.max_grid_size == 0 ? opt.canvas : opt.max_grid_size;
    if (max_side < 1 || max_side > opt.canvas)
        fail("ARC max grid size {} is outside 1..{} (the canvas side)", max_side, opt.canvas);
    constexpr int kMaxAug = 8 * 362880 - 1;  // distinct (transform, permutation of 1..9) pairs besides identity
    if (opt.num_aug < 0 || opt.num_aug > kMaxAug)
        fail("ARC augmentation count {} is outside 0..{}", opt.num_aug, kMaxAug);

    struct Job {
        const ArcTask* task;
        bool is_eval;
        std::vector<ArcAug> augs;
        std::vector<Example> train_ex, test_ex;
    };
    ArcSplits out;
    std::vector<Job> jobs;
    std::vector<ArcTask> blind;  // eval tasks as training sees them: test outputs held out
    blind.reserve(eval_tasks.size());
    for (const auto& t : eval_tasks) blind.push_back(without_test_outputs(t));
    for (const auto& t : train_tasks) {
        if (!arc_task_fits(t, max_side)) out.skipped_tasks.push_back(t.id);
        else jobs.push_back({&t, false, {}, train_examples(t, true), {}});
    }
    for (size_t i = 0; i < eval_tasks.size(); i++) {
        const ArcTask& t = eval_tasks[i];
        if (!arc_task_fits(blind[i], max_side)) out.skipped_tasks.push_back(t.id);
        else jobs.push_back({&blind[i], true, {}, train_examples(t, false), test_examples(t, max_side)});
    }

    // Pass 1 (official load_puzzles_arcagi): the augmentation plan of every task, then the exact size.
    Rng rng(opt.seed);
    uint64_t n_train = 0, n_test = 0;
    for (Job& job : jobs) {
        job.augs = choose_arc_augmentations(*job.task, opt.num_aug, rng);
        if (int(job.augs.size()) < opt.num_aug + 1) out.short_tasks.push_back(job.task->id);
        n_train += job.augs.size() * job.train_ex.size();
        n_test += job.augs.size() * job.test_ex.size();
    }
    const uint64_t seq = uint64_t(opt.canvas) * uint64_t(opt.canvas);
    const uint64_t bytes = (n_train + n_test) * seq * 2 * sizeof(int32_t);
    if (bytes > opt.max_bytes || n_train + n_test > uint64_t(INT32_MAX))
        fail("ARC dataset of {} examples would need {} MiB of tokens, more than the {} MiB allowed; use fewer "
             "augmentations or tasks", n_train + n_test, bytes >> 20, opt.max_bytes >> 20);

    // Pass 2 (official convert_dataset): identifiers in order of first appearance, then the tokens.
    std::unordered_map<std::string, int32_t> ident_of;
    std::vector<std::string> identifiers{"<blank>"};
    for (auto [ds, n] : {std::pair{&out.train, n_train}, std::pair{&out.test, n_test}}) {
        ds->canvas = opt.canvas;
        ds->puzzle_indices = {0};
        ds->group_indices = {0};
        ds->inputs.reserve(n * seq);
        ds->labels.reserve(n * seq);
        ds->puzzle_ids.reserve(n);
    }
    for (const Job& job : jobs) {
        for (const ArcAug& aug : job.augs) {
            std::string name = arc_aug_name(job.task->id, aug);
            auto [it, fresh] = ident_of.try_emplace(name, int32_t(identifiers.size()));
            if (fresh) identifiers.push_back(name);
            push_puzzle(out.train, job.train_ex, aug, it->second, opt.translate, rng);
            if (job.is_eval) push_puzzle(out.test, job.test_ex, aug, it->second, false, rng);
        }
        out.train.group_indices.push_back(int32_t(out.train.puzzle_indices.size() - 1));
        if (job.is_eval) out.test.group_indices.push_back(int32_t(out.test.puzzle_indices.size() - 1));
    }
    out.train.identifiers = identifiers;
    out.test.identifiers = std::move(identifiers);
    return out;
}

}  // namespace trm
