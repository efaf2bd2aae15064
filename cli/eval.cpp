// `trm eval sudoku|maze|arc`: accuracy of a model on a file or a generated held-out set, with uncertainty. The
// loop and the metrics are the library's (puzzles/eval.hpp: one evaluation over the kind's tally); this file fills
// the options, picks the puzzles (a file, or a generator of datasets/) and prints the report.
//   sudoku  exact accuracy (95% Wilson interval), cell accuracy, mean steps to halt, halting-head accuracy
//           ((q_halt > 0) == exactly right, at the halting step), puzzles/s
//   maze    optimal-path rate (95% CI), valid-path rate, exact match with the reference path, steps, mazes/s
//   both    with --views N (default kDefaultViews): accuracy by the number of views allowed (1..N, read off one
//           run: a puzzle answered through view k counts from k on), mean views used, extra model steps
//   arc     pass@1 and pass@2 (official: mean over tasks of the fraction of test inputs passed), per task
// Inputs are streamed batch by batch (bounded memory), like `trm solve`.
#include <algorithm>
#include <cmath>
#include <fmt/core.h>
#include <functional>
#include <limits>
#include <optional>

#include "cli/commands.hpp"
#include "cli/models.hpp"
#include "cli/progress.hpp"
#include "core/error.hpp"
#include "core/parallel.hpp"
#include "datasets/generated.hpp"
#include "datasets/split.hpp"
#include "puzzles/eval.hpp"

namespace trm::cli {

namespace {

struct EvalCli {
    std::string model, halt = "model", format = "text";
    int max_steps = 0, batch = 64, threads = 0;
    float halt_threshold = std::numeric_limits<float>::quiet_NaN();  // NaN: the model's
    int64_t limit = 0;  // 0 = all
    int views = kDefaultViews;  // kinds with views (puzzles/solve.hpp)
    std::string data;           // the puzzle file (ARC: the challenges)
    std::string solutions, task;  // tasks: expected outputs, one task only
    int num_aug = 8, adapt_steps = 100;  // tasks: copies voted, test-time adaptation
    uint64_t aug_seed = 0;               // tasks: augmentations of unseen tasks
    // generators
    std::string difficulty;  // Sudoku --generate
    bool generate = false;   // maze --generate
    int count = 0, size = 0, min_path = -1;
    uint64_t seed = kEvalSeedBase;
};

void add_common(CLI::App* sub, EvalCli& c) {
    add_compute_options(sub);
    sub->add_option("-m,--model", c.model,
                    "model file (default: models/<domain>.safetensors; mazes: maze-small.safetensors for those it takes)");
    sub->add_option("--max-steps", c.max_steps, "supervision steps at most (0 = the model's halt_max_steps; with --halt verified at least 16)")
        ->check(CLI::NonNegativeNumber)->capture_default_str();
    sub->add_option("--halt", c.halt, "model (q_halt > 0) | never (all steps) | verified")
        ->check(CLI::IsMember({"model", "never", "verified"}))->capture_default_str();
    sub->add_option("--halt-threshold", c.halt_threshold,
                    "stop (and count the halting head as saying 'right') when q_halt exceeds this logit "
                    "(default: the model's, 0 unless calibrated)")
        ->check(CLI::Range(-50.0f, 50.0f));
    sub->add_option("--batch", c.batch, "puzzles per model batch")->check(CLI::Range(1, 4096))->capture_default_str();
    sub->add_option("--threads", c.threads, "CPU threads (default: all cores)")->check(CLI::Range(1, 4096));
    sub->add_option("--limit", c.limit, "evaluate at most this many puzzles (ARC: tasks)")
        ->check(CLI::NonNegativeNumber);
    sub->add_option("--format", c.format, "text | json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
}

void add_views(CLI::App* sub, EvalCli& c) {
    sub->add_option("--views", c.views,
                    "re-solve a puzzle whose answer does not verify through up to N-1 symmetry-equivalent views "
                    "(1 = the puzzle as given only; mazes: 8 at most)")
        ->check(CLI::Range(1, kMaxViews))->capture_default_str();
}

// The puzzles evaluated: a reader and what to call them in the report.
struct EvalSource {
    std::unique_ptr<PuzzleInput> input;  // a file, when read from one
    std::unique_ptr<ItemReader> items;
    std::string name;
    int64_t total = 0;  // results expected, for the progress line (0: unknown)
};
using MakeSource = std::function<EvalSource(const Domain& d, const Config& model, const EvalCli& o)>;

EvalSource file_source(const Domain& d, const EvalCli& o) {
    EvalSource s;
    s.input = std::make_unique<PuzzleInput>(o.data);
    s.items = d.reader(*s.input, ReadOptions{o.task, o.solutions});
    s.name = s.input->name();
    s.total = d.has_tasks() ? 0 : o.limit;
    return s;
}

// An ItemReader that has read its first items ahead (to pick a model by them) and hands them out first.
class ReadAhead final : public ItemReader {
public:
    ReadAhead(std::unique_ptr<ItemReader> in, size_t n) : in_(std::move(in)) {
        Item x;
        while (ahead_.size() < n && in_->next(x)) ahead_.push_back(std::move(x));
    }
    const std::vector<Item>& ahead() const { return ahead_; }
    bool next(Item& out) override {
        if (next_ < ahead_.size()) {
            out = std::move(ahead_[next_++]);
            return true;
        }
        return in_->next(out);
    }

private:
    std::unique_ptr<ItemReader> in_;
    std::vector<Item> ahead_;
    size_t next_ = 0;
};

// Passes items on and remembers whether one was refused by the model (Domain::model_takes): the encoder's error
// for it then gets a hint naming the kind's wider model, since the pick went by the first batch only.
class TakesCheck final : public ItemReader {
public:
    TakesCheck(std::unique_ptr<ItemReader> in, const Domain& d, const Config& c) : in_(std::move(in)), d_(d), c_(c) {}
    bool refused() const { return refused_; }
    bool next(Item& out) override {
        if (!in_->next(out)) return false;
        refused_ = refused_ || !d_.model_takes(c_, out);
        return true;
    }

private:
    std::unique_ptr<ItemReader> in_;
    const Domain& d_;
    const Config& c_;
    bool refused_ = false;
};

int run_eval(const Domain& d, const EvalCli& o, const MakeSource& make_source) {
    if (o.threads > 0) set_threads(o.threads);
    std::string path = resolve_model_path(o.model, d);
    Model model = load_domain_model(path, d);
    EvalSource src = make_source(d, model.cfg(), o);  // generated sets default to that model's grid
    if (o.model.empty() && d.default_models().size() > 1) {
        // the kind's first shipped model that takes the first batch (as `trm solve` picks); a later puzzle it does
        // not take stops the evaluation with the encoder's error
        auto ahead = std::make_unique<ReadAhead>(std::move(src.items), size_t(std::max(o.batch, 1)));
        if (std::string p = resolve_model_path("", d, ahead->ahead()); p != path) {
            path = p;
            model = load_domain_model(path, d);
        }
        src.items = std::move(ahead);
    }
    TakesCheck* check = nullptr;  // set when a wider shipped model exists than the one picked
    std::string wider;
    if (o.model.empty()) {
        const std::vector<std::string> found = found_default_models(d);
        if (!found.empty() && found.back() != path) {
            wider = found.back();
            auto c = std::make_unique<TakesCheck>(std::move(src.items), d, model.cfg());
            check = c.get();
            src.items = std::move(c);
        }
    }
    EvalSetup setup;
    setup.domain = &d;
    setup.model = &model.cfg();
    setup.model_path = path;
    setup.source = src.name;
    setup.solutions = o.solutions;
    setup.halt = o.halt;
    SolveOptions& so = setup.solve;
    so.max_steps = o.max_steps;
    halt_mode_from_name(o.halt, &so.halt);
    so.batch = o.batch;
    so.views = o.views;
    if (!std::isnan(o.halt_threshold)) so.halt_threshold = o.halt_threshold;
    so.num_aug = o.num_aug;
    so.seed = o.aug_seed;
    so.adapt_steps = o.adapt_steps;
    setup.halt_threshold = std::isnan(o.halt_threshold) ? model.cfg().halt_threshold : o.halt_threshold;
    std::optional<Progress> adapting;  // test-time adaptation of unseen tasks
    so.on_adapt_step = steps_progress(adapting, "test-time adaptation");
    Progress progress("evaluating", d.noun(2), src.total);
    EvalOptions eo;
    eo.limit = o.limit;
    eo.on_progress = [&](int64_t n) { progress.update(n); };
    EvalReport report;
    try {
        report = evaluate(model, *src.items, setup, eo);
    } catch (Error& e) {
        if (check && check->refused())
            e.hint = fmt::format("without --model, trm eval takes the first shipped model that takes the first {} {} "
                                 "({}); pass --model {} for larger ones",
                                 o.batch, d.noun(o.batch), path, wider);
        throw;
    }
    progress.done();
    if (o.format == "json") {
        fmt::print("{}\n", report.json.dump());
        return kExitOk;
    }
    for (const auto& l : report.lines) fmt::print("{}\n", l);
    return kExitOk;
}

}  // namespace

void register_eval(CLI::App& app) {
    auto* ev = app.add_subcommand("eval", "Measure a model's accuracy on a file or a generated held-out set");
    ev->require_subcommand(1);

    const Domain* sudoku = &domain_named("sudoku");
    auto s = std::make_shared<EvalCli>();
    s->count = 500;
    auto* sub = ev->add_subcommand("sudoku", "Exact and cell accuracy, steps, halting-head accuracy, puzzles/s");
    add_common(sub, *s);
    add_views(sub, *s);
    sub->add_option("--data", s->data, "puzzle file (lines, grids or CSV; unsolved puzzles are labelled by the "
                                       "exact solver)");
    sub->add_option("--generate", s->difficulty, "evaluate on generated puzzles of this difficulty instead")
        ->check(CLI::IsMember({"easy", "medium", "hard", "extreme"}));
    sub->add_option("--count", s->count, "generated puzzles")->check(CLI::Range(1, 100000000))->capture_default_str();
    sub->add_option("--seed", s->seed, "generator seed (default: a held-out stream no training run uses)")
        ->capture_default_str();
    sub->footer("Examples:\n  trm eval sudoku --data examples/sudoku_extreme.csv\n"
                "  trm eval sudoku --generate easy --count 500 --seed 7 --format json\n" + std::string(kExitCodesEvalHelp));
    // usage, checked while parsing so that it exits 2 like every other usage error
    sub->callback([s] {
        if (s->data.empty() == s->difficulty.empty())
            throw CLI::ValidationError("eval sudoku", "give either --data FILE or --generate DIFFICULTY (one of them)");
    });
    set_action(sub, [s, sudoku] {
        return run_eval(*sudoku, *s, [](const Domain& d, const Config&, const EvalCli& o) {
            if (!o.data.empty()) return file_source(d, o);
            SudokuDifficulty diff;
            if (!sudoku_difficulty_from_name(o.difficulty, &diff)) fail("unknown difficulty '{}'", o.difficulty);
            EvalSource src;
            src.total = o.limit > 0 ? std::min<int64_t>(o.limit, o.count) : o.count;
            src.items = generated_sudoku(diff, src.total, o.seed);
            src.name = fmt::format("generated {} x{} seed {}", o.difficulty, src.total, o.seed);
            return src;
        });
    });

    const Domain* maze = &domain_named("maze");
    auto m = std::make_shared<EvalCli>();
    m->count = 100;
    auto* mz = ev->add_subcommand("maze", "Optimal and valid path rates, exact match, steps, mazes/s");
    add_common(mz, *m);
    add_views(mz, *m);
    mz->add_option("--data", m->data, "maze file (text or Maze-Hard CSV)");
    mz->add_flag("--generate", m->generate, "evaluate on generated mazes instead");
    mz->add_option("--count", m->count, "generated mazes")->check(CLI::Range(1, 100000000))->capture_default_str();
    mz->add_option("--size", m->size,
                   "generated maze side (default: the model's grid; without --model 9, models/maze-small.safetensors)")
        ->check(CLI::Range(5, 1000));
    mz->add_option("--min-path", m->min_path, "generated: shortest path in cells (default 110 for size 30 and up, "
                                              "else none)");
    mz->add_option("--seed", m->seed, "generator seed (default: a held-out stream)")->capture_default_str();
    mz->footer("Examples:\n  trm eval maze --data mazes.csv --limit 1000\n"
               "  trm eval maze --generate --count 200 --size 9 --min-path 13\n" + std::string(kExitCodesEvalHelp));
    mz->callback([m] {  // usage, as for eval sudoku
        if (m->data.empty() == !m->generate)
            throw CLI::ValidationError("eval maze", "give either --data FILE or --generate (one of them)");
    });
    set_action(mz, [m, maze] {
        return run_eval(*maze, *m, [](const Domain& d, const Config& model, const EvalCli& o) {
            if (!o.data.empty()) return file_source(d, o);
            // the model's grid side by default (9 for the default models/maze-small.safetensors): the run fits it
            const int size = o.size > 0 ? o.size : model_grid_side(model);
            MazeGenOptions g;
            g.rows = g.cols = size;
            g.min_path = o.min_path >= 0 ? o.min_path : (size >= kMazeHardSize ? 110 : 0);
            EvalSource src;
            src.total = o.limit > 0 ? std::min<int64_t>(o.limit, o.count) : o.count;
            src.items = generated_mazes(g, src.total, o.seed);
            src.name = fmt::format("generated {}x{} min-path {} x{} seed {}", size, size, g.min_path, src.total, o.seed);
            return src;
        });
    });

    const Domain* arc_kind = &domain_named("arc");
    auto a = std::make_shared<EvalCli>();
    auto* arc = ev->add_subcommand("arc", "pass@1 and pass@2 with augmentation voting, per task");
    add_common(arc, *a);
    arc->add_option("--challenges", a->data, "arc-agi_*_challenges.json (or a one-task file)")->required();
    arc->add_option("--solutions", a->solutions, "arc-agi_*_solutions.json (not needed when tasks hold outputs)");
    arc->add_option("--task", a->task, "only this task");
    arc->add_option("--adapt-steps", a->adapt_steps, "test-time adaptation steps per unseen task (0 = off)")
        ->capture_default_str();
    arc->add_option("--num-aug", a->num_aug, "augmented copies per test input besides the original")
        ->check(CLI::Range(0, 1000))->capture_default_str();
    arc->add_option("--seed", a->aug_seed, "seed of the augmentations of unseen tasks")->capture_default_str();
    arc->footer("Example: trm eval arc --challenges datasets/arc/arc-agi_evaluation_challenges.json.gz "
                "--solutions datasets/arc/arc-agi_evaluation_solutions.json.gz --num-aug 8\n" +
                std::string(kExitCodesEvalHelp));
    set_action(arc, [a, arc_kind] {
        return run_eval(*arc_kind, *a, [](const Domain& d, const Config&, const EvalCli& o) { return file_source(d, o); });
    });
}

}  // namespace trm::cli
