// `trm eval sudoku|maze|arc`: accuracy of a model on a file or a generated held-out set, with uncertainty.
//   sudoku  exact accuracy (95% Wilson interval), cell accuracy, mean steps to halt, halting-head accuracy
//           ((q_halt > 0) == exactly right, at the halting step), puzzles/s
//   maze    optimal-path rate (95% CI), valid-path rate, exact match with the reference path, steps, mazes/s
//   both    with --views N (default kDefaultViews): accuracy by the number of views allowed (1..N, read off one
//           run: a puzzle answered through view k counts from k on), mean views used, extra model steps
//   arc     pass@1 and pass@2 (official: mean over tasks of the fraction of test inputs passed), per task
// Inputs are streamed batch by batch (bounded memory), like `trm solve`.
#include <chrono>
#include <cmath>
#include <limits>
#include <set>
#include <fmt/core.h>
#include <functional>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "cli/models.hpp"
#include "core/error.hpp"
#include "core/parallel.hpp"
#include "datasets/arc_builder.hpp"
#include "datasets/maze_gen.hpp"
#include "datasets/split.hpp"
#include "datasets/sudoku_gen.hpp"
#include "puzzles/arc_vote.hpp"
#include "puzzles/arc_adapt.hpp"
#include "puzzles/solve.hpp"
#include "puzzles/sudoku_solver.hpp"

namespace trm::cli {

using json = nlohmann::ordered_json;

namespace {

struct EvalCommon {
    std::string model, halt = "model", format = "text";
    int max_steps = 0, batch = 64, threads = 0;
    float halt_threshold = std::numeric_limits<float>::quiet_NaN();  // NaN: the model's
    int64_t limit = 0;  // 0 = all
    int views = kDefaultViews;  // Sudoku, mazes (see puzzles/solve.hpp)
};

void add_views(CLI::App* sub, EvalCommon& c) {
    sub->add_option("--views", c.views,
                    "re-solve a puzzle whose answer does not verify through up to N-1 symmetry-equivalent views "
                    "(1 = the puzzle as given only; mazes: 8 at most)")
        ->check(CLI::Range(1, kMaxViews))->capture_default_str();
}

// Accuracy by views allowed: right[k] = puzzles answered right through view k+1 (1-based views).
struct ViewTally {
    std::vector<int64_t> right;
    int64_t views_used = 0, steps_first = 0, steps_all = 0;
    void add(const SolveOutcome& r, bool ok) {
        if (right.size() < size_t(r.views_budget)) right.resize(size_t(r.views_budget));
        if (ok) right[size_t(r.view - 1)]++;
        views_used += r.views_used;
        steps_first += r.views.empty() ? r.steps : r.views[0].steps;
        steps_all += r.total_steps();
    }
    // cumulative accuracy with 1, 2, ..., N views allowed
    std::vector<int64_t> cumulative() const {
        std::vector<int64_t> c(right.size());
        int64_t k = 0;
        for (size_t i = 0; i < right.size(); i++) c[i] = k += right[i];
        return c;
    }
    double extra_steps() const { return steps_first ? double(steps_all - steps_first) / double(steps_first) : 0.0; }
};

// The text lines of a ViewTally: the curve at 1, 2, 4, 8, ... and N views, views used and the extra compute.
void print_views(const ViewTally& v, int64_t n, const char* what) {
    if (v.right.size() <= 1) return;
    const auto c = v.cumulative();
    std::string curve;
    for (size_t k = 1; k <= c.size(); k = k * 2 > c.size() && k < c.size() ? c.size() : k * 2)
        curve += fmt::format("{}{}: {:.1f}%", curve.empty() ? "" : "  ", k, 100.0 * double(c[k - 1]) / double(n));
    fmt::print("  by views        {}  ({} by the number of views allowed)\n", curve, what);
    fmt::print("  views used      {:>6.2f}  per puzzle on average (of {})\n", double(v.views_used) / double(n),
               v.right.size());
    fmt::print("  extra compute   {:>+5.1f}%  model steps over the first view's ({} vs {})\n", 100 * v.extra_steps(),
               v.steps_all, v.steps_first);
}

json views_json(const ViewTally& v, int64_t n) {
    json curve = json::array();
    for (auto k : v.cumulative()) curve.push_back(double(k) / double(n));
    return json{{"views", v.right.size()}, {"accuracy_by_views", curve},
                {"mean_views_used", double(v.views_used) / double(n)}, {"steps_first_view", v.steps_first},
                {"steps_all_views", v.steps_all}, {"extra_steps", v.extra_steps()}};
}

void add_common(CLI::App* sub, EvalCommon& c) {
    add_compute_options(sub);
    sub->add_option("-m,--model", c.model, "model file (default: models/<domain>.safetensors)");
    sub->add_option("--max-steps", c.max_steps, "supervision steps at most (0 = the model's halt_max_steps)")
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

SolveOptions solve_options(const EvalCommon& c) {
    SolveOptions so;
    so.max_steps = c.max_steps;
    halt_mode_from_name(c.halt, &so.halt);
    so.batch = c.batch;
    so.views = c.views;
    if (!std::isnan(c.halt_threshold)) so.halt_threshold = c.halt_threshold;
    return so;
}

float halt_threshold(const EvalCommon& c, const Model& m) {  // the logit above which the halting head says "halt"
    return std::isnan(c.halt_threshold) ? m.cfg().halt_threshold : c.halt_threshold;
}

std::string pct(double x) { return fmt::format("{:.1f}%", 100 * x); }
std::string ci(const Interval& i) { return fmt::format("95% CI {:.1f}-{:.1f}%", 100 * i.lo, 100 * i.hi); }

// Runs batches from `next_batch` (empty = done) through `solve`; returns seconds spent solving.
template <typename Item, typename Result>
double run_batches(const std::function<std::vector<Item>()>& next_batch,
                   const std::function<std::vector<Result>(std::vector<Item>, size_t)>& solve,
                   const std::function<void(const Result&)>& tally, int64_t total) {
    Progress progress("evaluating", "puzzles", total);
    double secs = 0;
    size_t index = 0;
    while (true) {
        std::vector<Item> batch = next_batch();
        if (batch.empty()) break;
        const size_t n = batch.size();
        for (const auto& r : solve(std::move(batch), index)) {
            secs += r.seconds;
            tally(r);
        }
        index += n;
        progress.update(int64_t(index));
    }
    return secs;
}

// ---- Sudoku ---------------------------------------------------------------------------------------------------

struct SudokuEvalCli {
    EvalCommon c;
    std::string data, generate;
    int count = 500;
    uint64_t seed = kEvalSeedBase;
};

int run_eval_sudoku(const SudokuEvalCli& o) {
    if (o.c.threads > 0) set_threads(o.c.threads);
    const std::string path = resolve_model_path(o.c.model, DomainKind::Sudoku);
    Model model = load_domain_model(path, DomainKind::Sudoku);
    const SolveOptions so = solve_options(o.c);

    std::unique_ptr<PuzzleInput> input;
    std::unique_ptr<SudokuReader> reader;
    SudokuDifficulty diff = SudokuDifficulty::Easy;
    int64_t total = 0, produced = 0;
    std::string source;
    if (!o.data.empty()) {
        input = std::make_unique<PuzzleInput>(o.data);
        reader = std::make_unique<SudokuReader>(input->stream(), input->name());
        total = o.c.limit;
        source = input->name();
    } else {
        if (!sudoku_difficulty_from_name(o.generate, &diff)) fail("unknown difficulty '{}'", o.generate);
        total = o.c.limit > 0 ? std::min<int64_t>(o.c.limit, o.count) : o.count;
        source = fmt::format("generated {} x{} seed {}", o.generate, total, o.seed);
    }
    Forward fwd(model, int(total > 0 ? std::min<int64_t>(o.c.batch, total) : o.c.batch));
    std::function<std::vector<SudokuPuzzle>()> next = [&]() {
        std::vector<SudokuPuzzle> b;
        const int64_t want = total > 0 ? std::min<int64_t>(o.c.batch, total - produced) : o.c.batch;
        if (want <= 0) return b;
        if (reader) {
            SudokuPuzzle p;
            while (int64_t(b.size()) < want && reader->next(p)) {
                if (!p.solution) {  // label it with the exact solver
                    SudokuGrid sol;
                    if (solve_sudoku(p.cells, &sol, 1) == 0) fail("{}: puzzle has no solution", p.where);
                    p.solution = sol;
                }
                b.push_back(std::move(p));
            }
        } else {
            b = generate_sudoku(int(want), diff, o.seed, uint64_t(produced));
        }
        produced += int64_t(b.size());
        return b;
    };
    int64_t n = 0, exact = 0, halt_ok = 0, steps = 0;
    double cells = 0;
    ViewTally vt;
    const float thr = halt_threshold(o.c, model);
    std::function<std::vector<SudokuSolveResult>(std::vector<SudokuPuzzle>, size_t)> solve =
        [&](std::vector<SudokuPuzzle> b, size_t i) { return solve_sudoku_batch(fwd, std::move(b), i, so); };
    const double secs = run_batches<SudokuPuzzle, SudokuSolveResult>(next, solve, [&](const SudokuSolveResult& r) {
        const SudokuGrid& sol = *r.puzzle.solution;
        const bool ok = r.grid == sol;
        int right = 0, blank = 0;  // over the cells the model had to fill: the givens are no achievement
        for (int i = 0; i < kSudokuCells; i++) {
            if (r.puzzle.cells[size_t(i)] != 0) continue;
            blank++;
            right += r.grid[size_t(i)] == sol[size_t(i)];
        }
        n++;
        exact += ok;
        cells += blank ? right / double(blank) : 1.0;
        steps += r.steps;
        halt_ok += (r.q_halt > thr) == ok;
        vt.add(r, ok);
    }, total);
    if (n == 0) fail("{}: no puzzle found", source);
    const Interval iv = wilson95(exact, n);
    const int max_steps = o.c.max_steps > 0 ? o.c.max_steps : model.cfg().halt_max_steps;
    if (o.c.format == "json") {
        json j{{"domain", "sudoku"}, {"model", path}, {"source", source}, {"halt", o.c.halt}, {"n", n},
               {"exact", exact}, {"exact_accuracy", double(exact) / n}, {"exact_ci95", {iv.lo, iv.hi}},
               {"cell_accuracy", cells / n}, {"mean_steps", double(steps) / n}, {"max_steps", max_steps},
               {"halt_accuracy", double(halt_ok) / n}, {"halt_threshold", thr}, {"seconds", secs}, {"puzzles_per_s", secs > 0 ? n / secs : 0.0}};
        const json vj = views_json(vt, n);  // named: items() of a temporary would dangle in the loop
        for (auto& [k, v] : vj.items()) j[k] = v;
        fmt::print("{}\n", j.dump());
        return kExitOk;
    }
    fmt::print("sudoku eval: {} puzzles ({}) · model {} · halt {}\n", n, source, path, o.c.halt);
    fmt::print("  exact accuracy  {:>6}  ({}, {}/{})\n", pct(double(exact) / n), ci(iv), exact, n);
    fmt::print("  cell accuracy   {:>6}  (the blank cells)\n", pct(cells / n));
    fmt::print("  mean steps      {:>6.2f}  (of {})\n", double(steps) / n, max_steps);
    fmt::print("  halting head    {:>6}  ((q_halt > {:g}) == exactly right, at the halting step)\n",
               pct(double(halt_ok) / n), thr);
    print_views(vt, n, "exact accuracy");
    fmt::print("  throughput      {:>6.1f}  puzzles/s ({:.2f} s solving, {:.3f} s per puzzle)\n",
               secs > 0 ? n / secs : 0.0, secs, secs / double(n));
    return kExitOk;
}

// ---- mazes ----------------------------------------------------------------------------------------------------

struct MazeEvalCli {
    EvalCommon c;
    std::string data;
    bool generate = false;
    int count = 100, min_path = -1;
    int size = 0;  // 0: the model's grid side (9 for models/maze.safetensors), so the default run fits the model
    uint64_t seed = kEvalSeedBase;
};

int run_eval_maze(const MazeEvalCli& o) {
    if (o.c.threads > 0) set_threads(o.c.threads);
    const std::string path = resolve_model_path(o.c.model, DomainKind::Maze);
    Model model = load_domain_model(path, DomainKind::Maze);
    const SolveOptions so = solve_options(o.c);

    std::unique_ptr<PuzzleInput> input;
    std::unique_ptr<MazeReader> reader;
    MazeGenOptions g;
    int64_t total = 0, produced = 0;
    std::string source;
    if (!o.data.empty()) {
        input = std::make_unique<PuzzleInput>(o.data);
        reader = std::make_unique<MazeReader>(input->stream(), input->name());
        total = o.c.limit;
        source = input->name();
    } else {
        const int size = o.size > 0 ? o.size : model_grid_side(model.cfg());
        g.rows = g.cols = size;
        g.min_path = o.min_path >= 0 ? o.min_path : (size >= kMazeHardSize ? 110 : 0);
        total = o.c.limit > 0 ? std::min<int64_t>(o.c.limit, o.count) : o.count;
        source = fmt::format("generated {}x{} min-path {} x{} seed {}", size, size, g.min_path, total, o.seed);
    }
    Forward fwd(model, int(total > 0 ? std::min<int64_t>(o.c.batch, total) : o.c.batch));
    std::function<std::vector<Maze>()> next = [&]() {
        std::vector<Maze> b;
        const int64_t want = total > 0 ? std::min<int64_t>(o.c.batch, total - produced) : o.c.batch;
        while (int64_t(b.size()) < want) {
            Maze m;
            if (reader) {
                if (!reader->next(m)) break;
            } else {
                m = generate_maze(g, o.seed + uint64_t(produced + int64_t(b.size())));
            }
            if (m.answer.empty()) m.answer = maze_solve(m);  // reference path: the file's, else BFS
            b.push_back(std::move(m));
        }
        produced += int64_t(b.size());
        return b;
    };
    int64_t n = 0, optimal = 0, valid = 0, match = 0, steps = 0, halt_ok = 0;
    ViewTally vt;
    const float thr = halt_threshold(o.c, model);
    std::function<std::vector<MazeSolveResult>(std::vector<Maze>, size_t)> solve =
        [&](std::vector<Maze> b, size_t i) { return solve_maze_batch(fwd, std::move(b), i, so); };
    const double secs = run_batches<Maze, MazeSolveResult>(next, solve, [&](const MazeSolveResult& r) {
        n++;
        optimal += r.verdict.verdict == MazeVerdict::Optimal;
        valid += r.verdict.verdict != MazeVerdict::Broken;
        match += !r.maze.answer.empty() && r.path == r.maze.answer;
        steps += r.steps;
        halt_ok += (r.q_halt > thr) == r.verified;
        vt.add(r, r.verdict.verdict == MazeVerdict::Optimal);
    }, total);
    if (n == 0) fail("{}: no maze found", source);
    const Interval iv = wilson95(optimal, n), iv_valid = wilson95(valid, n);
    const int max_steps = o.c.max_steps > 0 ? o.c.max_steps : model.cfg().halt_max_steps;
    if (o.c.format == "json") {
        json j{{"domain", "maze"}, {"model", path}, {"source", source}, {"halt", o.c.halt}, {"n", n},
               {"optimal", optimal}, {"optimal_rate", double(optimal) / n}, {"optimal_ci95", {iv.lo, iv.hi}},
               {"valid_rate", double(valid) / n}, {"valid_ci95", {iv_valid.lo, iv_valid.hi}},
               {"exact_match_rate", double(match) / n}, {"mean_steps", double(steps) / n}, {"max_steps", max_steps},
               {"halt_accuracy", double(halt_ok) / n}, {"halt_threshold", thr}, {"seconds", secs}, {"mazes_per_s", secs > 0 ? n / secs : 0.0}};
        const json vj = views_json(vt, n);  // named: items() of a temporary would dangle in the loop
        for (auto& [k, v] : vj.items()) j[k] = v;
        fmt::print("{}\n", j.dump());
        return kExitOk;
    }
    fmt::print("maze eval: {} mazes ({}) · model {} · halt {}\n", n, source, path, o.c.halt);
    fmt::print("  optimal path    {:>6}  ({}, {}/{})\n", pct(double(optimal) / n), ci(iv), optimal, n);
    fmt::print("  valid path      {:>6}  ({}; optimal or longer)\n", pct(double(valid) / n), ci(iv_valid));
    fmt::print("  exact match     {:>6}  (same cells as the reference path)\n", pct(double(match) / n));
    fmt::print("  mean steps      {:>6.2f}  (of {})\n", double(steps) / n, max_steps);
    fmt::print("  halting head    {:>6}  ((q_halt > {:g}) == optimal, at the halting step)\n", pct(double(halt_ok) / n), thr);
    print_views(vt, n, "optimal paths");
    fmt::print("  throughput      {:>6.1f}  mazes/s ({:.2f} s solving, {:.3f} s per maze)\n", secs > 0 ? n / secs : 0.0,
               secs, secs / double(n));
    return kExitOk;
}

// ---- ARC ------------------------------------------------------------------------------------------------------

struct ArcEvalCli {
    EvalCommon c;
    std::string challenges, solutions, task;
    int num_aug = 8;
    int adapt_steps = 100;
    uint64_t seed = 0;
};

int run_eval_arc(const ArcEvalCli& o) {
    if (o.c.threads > 0) set_threads(o.c.threads);
    const auto t0 = std::chrono::steady_clock::now();
    ArcLoadOptions lo;
    lo.solutions_path = o.solutions;
    lo.task_id = o.task;
    std::vector<ArcTask> tasks = load_arc_tasks(o.challenges, lo);
    if (tasks.empty()) fail("{}: no ARC task found", o.challenges);
    for (const auto& t : tasks)
        for (size_t i = 0; i < t.test.size(); i++)
            if (!t.test[i].output)
                fail("{}: task {} test {} has no expected output (pass --solutions)",
                     o.solutions.empty() ? o.challenges : o.solutions, t.id, i);
    const std::string path = resolve_model_path(o.c.model, DomainKind::Arc);
    Model model = load_domain_model(path, DomainKind::Arc);
    // a model with a smaller canvas (e.g. 10x10) is scored on the tasks whose every grid fits it, as it was trained
    const int canvas = model_grid_side(model.cfg());
    const size_t loaded = tasks.size();
    std::erase_if(tasks, [&](const ArcTask& t) { return !arc_task_fits(t, canvas); });
    const size_t too_large = loaded - tasks.size();
    if (tasks.empty()) fail("{}: no task fits the model's {}x{} canvas", o.challenges, canvas, canvas);
    if (o.c.limit > 0 && int64_t(tasks.size()) > o.c.limit) tasks.resize(size_t(o.c.limit));
    // test-time adaptation: fit puzzle-embedding rows for tasks the model has not seen
    std::vector<ArcAdaptReport> adapted;
    std::set<std::string> adapted_ids;
    if (o.adapt_steps > 0 && model.cfg().puzzle_emb_ndim > 0) {
        ArcAdaptOptions ad;
        ad.num_aug = o.num_aug;
        ad.steps = o.adapt_steps;
        ad.seed = o.seed;
        Progress adapting("test-time adaptation", "steps");
        ad.on_step = [&](int done, int) { adapting.update(done); };
        model = adapt_arc_tasks(model, tasks, ad, &adapted);
        for (auto& a : adapted) adapted_ids.insert(a.task_id);
    }
    size_t model_rows = 0;
    for (const auto& t : tasks) model_rows += t.test.size() * size_t(o.num_aug + 1);
    Forward fwd(model, int(std::min(model_rows, size_t(o.c.batch))));
    ArcSolveOptions ao;
    ao.num_aug = o.num_aug;
    ao.seed = o.seed;

    struct TaskScore {
        std::string id;
        int tests = 0, pass1 = 0, pass2 = 0;
        bool known = false;
        bool adapted = false;
    };
    std::vector<TaskScore> scores;
    int64_t steps = 0, rows = 0;
    Progress progress("evaluating", "tasks", int64_t(tasks.size()));
    solve_arc_tasks(fwd, tasks, solve_options(o.c), ao, [&](ArcSolveResult& r) {
        if (scores.empty() || scores.back().id != r.task_id) {
            const bool ad = adapted_ids.count(r.task_id) > 0;
            scores.push_back({r.task_id, 0, 0, 0, r.known_task && !ad, ad});
        }
        auto& s = scores.back();
        s.tests++;
        s.pass1 += r.pass_at_1;
        s.pass2 += r.pass_at_2;
        steps += r.steps;
        rows++;
        progress.update(int64_t(scores.size()));
    });
    progress.done();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double p1 = 0, p2 = 0, p2_adapted = 0, p2_known = 0;
    int unseen = 0;
    for (auto& s : scores) {
        p1 += double(s.pass1) / s.tests;
        p2 += double(s.pass2) / s.tests;
        unseen += !s.known;
        if (s.adapted) p2_adapted += double(s.pass2) / s.tests;
        if (s.known) p2_known += double(s.pass2) / s.tests;
    }
    const int known = int(scores.size()) - unseen;
    const double N = double(scores.size());
    if (o.c.format == "json") {
        json per = json::array();
        for (auto& s : scores)
            per.push_back({{"task", s.id}, {"tests", s.tests}, {"pass_at_1", double(s.pass1) / s.tests},
                           {"pass_at_2", double(s.pass2) / s.tests}, {"known_task", s.known},
                           {"adapted", s.adapted}});
        json j{{"domain", "arc"}, {"model", path}, {"challenges", o.challenges}, {"tasks", scores.size()},
               {"tasks_larger_than_canvas", too_large}, {"canvas", canvas}, {"known_tasks", known},
               {"pass_at_2_known", known ? p2_known / known : 0.0},
               {"num_aug", o.num_aug}, {"pass_at_1", p1 / N}, {"pass_at_2", p2 / N}, {"unseen_tasks", unseen},
               {"adapted_tasks", adapted.size()}, {"adapt_steps", o.adapt_steps},
               {"pass_at_2_adapted", adapted.empty() ? 0.0 : p2_adapted / double(adapted.size())},
               {"mean_steps", rows ? double(steps) / rows : 0.0}, {"seconds", secs}, {"per_task", per}};
        fmt::print("{}\n", j.dump());
        return kExitOk;
    }
    fmt::print("arc eval: {} tasks ({}) · model {} · {} augmented copies per test input\n", scores.size(),
               o.challenges, path, o.num_aug);
    for (auto& s : scores)
        fmt::print("  {:<12} pass@1 {}/{}  pass@2 {}/{}{}\n", s.id, s.pass1, s.tests, s.pass2, s.tests,
                   s.adapted ? "  (unseen: test-time adapted)" : s.known ? "" : "  (not seen in training)");
    fmt::print("  pass@1          {:>6}  (mean over tasks of the test inputs passed)\n", pct(p1 / N));
    fmt::print("  pass@2          {:>6}\n", pct(p2 / N));
    if (known > 0 && unseen > 0)
        fmt::print("  known tasks     {} with trained embeddings: pass@2 {}\n", known, pct(p2_known / known));
    if (!adapted.empty())
        fmt::print("  adapted         {} unseen tasks by test-time adaptation ({} steps each): pass@2 {}\n",
                   adapted.size(), o.adapt_steps, pct(p2_adapted / double(adapted.size())));
    if (unseen > int(adapted.size()))
        fmt::print("  note            {} of {} tasks not seen in training and not adapted: identifier 0\n",
                   unseen - int(adapted.size()), scores.size());
    if (too_large > 0)
        fmt::print("  skipped         {} of {} tasks: a grid larger than the model's {}x{} canvas\n", too_large,
                   loaded, canvas, canvas);
    fmt::print("  time            {:.2f} s ({:.2f} s per task)\n", secs, secs / N);
    return kExitOk;
}

}  // namespace

void register_eval(CLI::App& app) {
    auto* ev = app.add_subcommand("eval", "Measure a model's accuracy on a file or a generated held-out set");
    ev->require_subcommand(1);

    auto s = std::make_shared<SudokuEvalCli>();
    auto* sub = ev->add_subcommand("sudoku", "Exact and cell accuracy, steps, halting-head accuracy, puzzles/s");
    add_common(sub, s->c);
    add_views(sub, s->c);
    sub->add_option("--data", s->data, "puzzle file (lines, grids or CSV; unsolved puzzles are labelled by the "
                                       "exact solver)");
    sub->add_option("--generate", s->generate, "evaluate on generated puzzles of this difficulty instead")
        ->check(CLI::IsMember({"easy", "medium", "hard", "extreme"}));
    sub->add_option("--count", s->count, "generated puzzles")->check(CLI::Range(1, 100000000))->capture_default_str();
    sub->add_option("--seed", s->seed, "generator seed (default: a held-out stream no training run uses)")
        ->capture_default_str();
    sub->footer("Examples:\n  trm eval sudoku --data examples/sudoku_extreme.csv\n"
                "  trm eval sudoku --generate easy --count 500 --seed 7 --format json\n" + std::string(kExitCodesEvalHelp));
    // usage, checked while parsing so that it exits 2 like every other usage error
    sub->callback([s] {
        if (s->data.empty() == s->generate.empty())
            throw CLI::ValidationError("eval sudoku", "give either --data FILE or --generate DIFFICULTY (one of them)");
    });
    set_action(sub, [s] { return run_eval_sudoku(*s); });

    auto m = std::make_shared<MazeEvalCli>();
    auto* mz = ev->add_subcommand("maze", "Optimal and valid path rates, exact match, steps, mazes/s");
    add_common(mz, m->c);
    add_views(mz, m->c);
    mz->add_option("--data", m->data, "maze file (text or Maze-Hard CSV)");
    mz->add_flag("--generate", m->generate, "evaluate on generated mazes instead");
    mz->add_option("--count", m->count, "generated mazes")->check(CLI::Range(1, 100000000))->capture_default_str();
    mz->add_option("--size", m->size, "generated maze side (default: the model's grid, 9 for models/maze.safetensors)")
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
    set_action(mz, [m] { return run_eval_maze(*m); });

    auto a = std::make_shared<ArcEvalCli>();
    auto* arc = ev->add_subcommand("arc", "pass@1 and pass@2 with augmentation voting, per task");
    add_common(arc, a->c);
    arc->add_option("--challenges", a->challenges, "arc-agi_*_challenges.json (or a one-task file)")->required();
    arc->add_option("--solutions", a->solutions, "arc-agi_*_solutions.json (not needed when tasks hold outputs)");
    arc->add_option("--task", a->task, "only this task");
    arc->add_option("--adapt-steps", a->adapt_steps, "test-time adaptation steps per unseen task (0 = off)")
        ->capture_default_str();
    arc->add_option("--num-aug", a->num_aug, "augmented copies per test input besides the original")
        ->check(CLI::Range(0, 1000))->capture_default_str();
    arc->add_option("--seed", a->seed, "seed of the augmentations of unseen tasks")->capture_default_str();
    arc->footer("Example: trm eval arc --challenges datasets/arc/arc-agi_evaluation_challenges.json.gz "
                "--solutions datasets/arc/arc-agi_evaluation_solutions.json.gz --num-aug 8\n" +
                std::string(kExitCodesEvalHelp));
    set_action(arc, [a] { return run_eval_arc(*a); });
}

}  // namespace trm::cli
