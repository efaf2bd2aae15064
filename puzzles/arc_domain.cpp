#include "puzzles/arc_domain.hpp"

#include <array>
#include <chrono>
#include <deque>
#include <fmt/format.h>
#include <map>
#include <unordered_map>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/rng.hpp"
#include "puzzles/arc_vote.hpp"
#include "puzzles/eval.hpp"
#include "puzzles/grid_transform.hpp"
#include "puzzles/present.hpp"

namespace trm {

namespace {

using Clock = std::chrono::steady_clock;

DraftGrid arc_draft(const ArcGrid& g) {
    DraftGrid d;
    d.rows = g.rows;
    d.cols = g.cols;
    d.cells = g.cells;
    return d;
}

}  // namespace


// Expected output shape of a test input from the demonstrations; false when they fix none.
static bool arc_expected_shape(const ArcTask& t, const ArcGrid& in, int* rows, int* cols, const char** why) {
    bool same = true, constant = true, scaled = true;
    const ArcGrid& o0 = *t.train[0].output;
    const ArcGrid& i0 = t.train[0].input;
    for (const auto& p : t.train) {
        const ArcGrid& o = *p.output;
        same = same && o.rows == p.input.rows && o.cols == p.input.cols;
        constant = constant && o.rows == o0.rows && o.cols == o0.cols;
        // out = in * (o0 / i0) in both axes
        scaled = scaled && int64_t(o.rows) * i0.rows == int64_t(o0.rows) * p.input.rows &&
                 int64_t(o.cols) * i0.cols == int64_t(o0.cols) * p.input.cols;
    }
    if (same) { *rows = in.rows; *cols = in.cols; *why = "as the input"; return true; }
    if (constant) { *rows = o0.rows; *cols = o0.cols; *why = "as every demo output"; return true; }
    if (scaled && (int64_t(in.rows) * o0.rows) % i0.rows == 0 && (int64_t(in.cols) * o0.cols) % i0.cols == 0) {
        *rows = int(int64_t(in.rows) * o0.rows / i0.rows);
        *cols = int(int64_t(in.cols) * o0.cols / i0.cols);
        *why = "by the demos' scale";
        return true;
    }
    return false;
}

std::string arc_consistency(const ArcTask& task, const ArcGrid& in, const ArcGrid& pred, bool* ok) {
    *ok = false;
    if (pred.rows == 0 || pred.cols == 0) return "empty grid (no colour cell at the top-left)";
    std::string s;
    bool shape_ok = true;
    int er = 0, ec = 0;
    const char* why = "";
    if (task.train.empty() || !arc_expected_shape(task, in, &er, &ec, &why))
        s = fmt::format("shape {}x{} (the demos fix none)", pred.rows, pred.cols);
    else if (er == pred.rows && ec == pred.cols)
        s = fmt::format("shape {}x{} {}", pred.rows, pred.cols, why);
    else {
        shape_ok = false;
        s = fmt::format("shape {}x{}, demos suggest {}x{}", pred.rows, pred.cols, er, ec);
    }
    std::array<bool, 10> seen{};
    for (auto c : in.cells) seen[c] = true;
    for (const auto& p : task.train)
        if (p.output) for (auto c : p.output->cells) seen[c] = true;
    int stray = -1;
    for (auto c : pred.cells)
        if (c < 10 && !seen[c]) { stray = c; break; }
    if (stray >= 0) s += fmt::format(", colour {} is in no demo output nor the input", stray);
    else s += ", colours ok";
    *ok = shape_ok && stray < 0;
    return s;
}

namespace {

struct ArcCopy {
    ArcAug aug;
    int32_t id = 0;  // puzzle identifier
};

// Per task: its copies and, per test input, the candidates of every copy and the identity copy's run.
struct ArcTaskState {
    std::vector<ArcCopy> copies;
    bool known = false;
    int pending = 0;                               // rows not run yet
    std::vector<std::vector<ArcCandidate>> cands;  // [test][copy]
    std::vector<RowRun> first;                     // [test] run of copy 0
    std::vector<double> seconds;                   // [test]
};

struct ArcRow {
    size_t task = 0;
    int test = 0, copy = 0;
    int32_t id = 0;
    std::vector<int32_t> tokens;  // [canvas^2]
    ArcGrid input;                // the task-frame test input (for the trace's step 0)
};

}  // namespace

// solve_arc_tasks after adaptation: `adapted` holds the reports of the tasks adaptation fitted.
static void solve_arc_rows(Forward& fwd, const std::vector<ArcTask>& tasks, const SolveOptions& opt,
                    const std::map<std::string, ArcAdaptReport>& adapted,
                    const std::function<void(ArcSolveResult&)>& on_result) {
    const Config& c = fwd.model->cfg();
    const int canvas = model_grid_side(c);
    if (canvas > kArcMaxGridSize) fail("model grid {}x{} is larger than ARC's 30x30", canvas, canvas);
    const int batch = std::max(1, std::min(opt.batch, fwd.max_batch));
    if (opt.num_aug < 0) fail("the number of augmented copies must be 0 or more, got {}", opt.num_aug);

    // Augmentations the model was trained on, by task id, identity first (official names; index 0 = <blank>).
    std::unordered_map<std::string, std::vector<ArcCopy>> known;
    for (size_t i = 1; i < c.identifiers.size(); i++) {
        std::pair<std::string, ArcAug> parsed;
        try { parsed = parse_arc_aug_name(c.identifiers[i]); } catch (const Error&) { continue; }
        auto& v = known[parsed.first];
        ArcCopy cp{parsed.second, int32_t(i)};
        if (cp.aug.is_identity()) v.insert(v.begin(), cp);
        else v.push_back(cp);
    }

    std::vector<ArcTaskState> states(tasks.size());
    std::deque<ArcRow> queue;
    size_t next_task = 0, emitted = 0, result_index = 0;

    auto enqueue_task = [&](size_t ti) {
        const ArcTask& t = tasks[ti];
        ArcTaskState& st = states[ti];
        auto it = known.find(t.id);
        if (it != known.end()) {
            st.known = true;
            st.copies.assign(it->second.begin(),
                             it->second.begin() + std::min<size_t>(it->second.size(), size_t(opt.num_aug) + 1));
        } else {
            Rng rng = content_rng(t.id, opt.seed);
            for (auto& a : choose_arc_augmentations(without_test_outputs(t), opt.num_aug, rng))
                st.copies.push_back({a, 0});
        }
        const int T = int(t.test.size()), K = int(st.copies.size());
        st.cands.assign(size_t(T), std::vector<ArcCandidate>(size_t(K)));
        st.first.assign(size_t(T), RowRun{});
        st.seconds.assign(size_t(T), 0.0);
        st.pending = T * K;
        for (int k = 0; k < K; k++) {
            for (int i = 0; i < T; i++) {
                const ArcGrid& in = t.test[size_t(i)].input;
                if (in.rows > canvas || in.cols > canvas)
                    fail("task {} test {}: input is {}x{}, larger than the model's {}x{} grid", t.id, i, in.rows,
                         in.cols, canvas, canvas);
                ArcRow row;
                row.task = ti; row.test = i; row.copy = k; row.id = st.copies[size_t(k)].id;
                row.tokens = encode_arc_grid(arc_augment(in, st.copies[size_t(k)].aug), canvas);
                if (k == 0) row.input = in;
                queue.push_back(std::move(row));
            }
        }
    };

    auto emit_task = [&](size_t ti) {
        const ArcTask& t = tasks[ti];
        ArcTaskState& st = states[ti];
        for (size_t i = 0; i < t.test.size(); i++) {
            ArcSolveResult r;
            ArcVotes votes;
            for (auto& cand : st.cands[i]) votes.add(cand.grid, cand.q_halt_logit);
            for (auto& g : votes.ranked()) {
                if (r.attempts.size() >= 2) break;
                r.attempts.push_back(g.grid);
                r.attempt_votes.push_back(g.count);
            }
            const RowRun& run = st.first[i];
            r.index = result_index++;
            r.steps = run.steps;
            r.q_halt = run.q_halt;
            r.seconds = st.seconds[i];
            r.trace = run.trace;
            r.where = fmt::format("task {} test {}", t.id, i);
            r.task_id = t.id;
            r.test_index = int(i);
            r.test_input = t.test[i].input;
            r.expected = t.test[i].output;
            r.copies = int(st.copies.size());
            r.known_task = st.known;
            if (auto a = adapted.find(t.id); a != adapted.end()) r.adapted = a->second;
            r.input = arc_draft(r.test_input);
            if (!r.attempts.empty()) r.answer = arc_draft(r.attempts[0]);
            if (r.expected) {
                r.pass_at_1 = arc_pass_at_k(r.attempts, *r.expected, 1);
                r.pass_at_2 = arc_pass_at_k(r.attempts, *r.expected, 2);
                r.verified = r.pass_at_2;
                r.check = r.pass_at_1   ? "attempt 1 matches the expected output"
                          : r.pass_at_2 ? "attempt 2 matches the expected output"
                                        : "neither attempt matches the expected output";
            } else {
                bool ok = false;
                r.check = (r.attempts.empty() ? std::string("no prediction")
                                              : arc_consistency(t, r.test_input, r.attempts[0], &ok)) +
                          " (no expected output to verify against)";
            }
            on_result(r);
        }
        st = ArcTaskState{};
    };

    while (true) {
        while (queue.size() < size_t(batch) && next_task < tasks.size()) enqueue_task(next_task++);
        if (queue.empty()) break;
        const int B = int(std::min(queue.size(), size_t(batch)));
        std::vector<ArcRow> rows(std::make_move_iterator(queue.begin()), std::make_move_iterator(queue.begin() + B));
        queue.erase(queue.begin(), queue.begin() + B);
        const auto t0 = Clock::now();
        std::vector<int32_t> tokens, ids(static_cast<size_t>(B));
        tokens.reserve(size_t(B) * size_t(c.seq_len));
        std::vector<uint8_t> traced(static_cast<size_t>(B));
        std::vector<DraftGrid> input_drafts(static_cast<size_t>(B));
        std::vector<const DraftGrid*> inputs(static_cast<size_t>(B));
        for (int b = 0; b < B; b++) {
            const ArcRow& r = rows[size_t(b)];
            tokens.insert(tokens.end(), r.tokens.begin(), r.tokens.end());
            ids[size_t(b)] = r.id;
            traced[size_t(b)] = opt.trace != TraceMode::Off && r.copy == 0;
            input_drafts[size_t(b)] = arc_draft(r.input);
            inputs[size_t(b)] = &input_drafts[size_t(b)];
        }
        auto check = [&](int b, const int32_t* tok, DraftGrid& draft, bool& ok, std::string& chk) {
            const ArcRow& r = rows[size_t(b)];
            const ArcTask& t = tasks[r.task];
            ArcGrid g = arc_unaugment(decode_arc_grid(tok, canvas), states[r.task].copies[size_t(r.copy)].aug);
            chk = arc_consistency(t, t.test[size_t(r.test)].input, g, &ok);
            draft = arc_draft(g);
        };
        auto runs = run_rows(fwd, tokens, ids, B, opt, traced, inputs, check);
        const double secs = std::chrono::duration<double>(Clock::now() - t0).count() / B;
        for (int b = 0; b < B; b++) {
            const ArcRow& r = rows[size_t(b)];
            ArcTaskState& st = states[r.task];
            RowRun& run = runs[size_t(b)];
            st.cands[size_t(r.test)][size_t(r.copy)] =
                ArcCandidate{arc_unaugment(decode_arc_grid(run.tokens.data(), canvas), st.copies[size_t(r.copy)].aug),
                             run.q_halt};
            st.seconds[size_t(r.test)] += secs;
            if (r.copy == 0) st.first[size_t(r.test)] = std::move(run);
            st.pending--;
        }
        while (emitted < next_task && states[emitted].pending == 0) emit_task(emitted++);
    }
    while (emitted < next_task) emit_task(emitted++);  // tasks with no test input cannot occur (parser), but be safe
}

void solve_arc_tasks(Forward& fwd, const std::vector<ArcTask>& tasks, const SolveOptions& opt,
                     const std::function<void(ArcSolveResult&)>& on_result) {
    std::map<std::string, ArcAdaptReport> adapted;
    if (opt.adapt_steps <= 0 || fwd.model->cfg().puzzle_emb_ndim == 0)
        return solve_arc_rows(fwd, tasks, opt, adapted, on_result);
    ArcAdaptOptions ad;
    ad.num_aug = opt.num_aug;
    ad.steps = opt.adapt_steps;
    ad.seed = opt.seed;
    ad.on_step = opt.on_adapt_step;
    std::vector<ArcAdaptReport> reports;
    const Model model = adapt_arc_tasks(*fwd.model, tasks, ad, &reports);
    for (auto& a : reports) adapted[a.task_id] = a;
    // The caller's buffers serve the adapted copy: adaptation adds puzzle-embedding rows and leaves the blocks (the
    // packed weights) and every dimension the buffers are sized by as they were.
    struct Restore {
        Forward& f;
        const Model* m;
        ~Restore() { f.model = m; }
    } restore{fwd, fwd.model};
    fwd.model = &model;
    solve_arc_rows(fwd, tasks, opt, adapted, on_result);
}

namespace {

const ArcSolveResult& as_arc(const SolveOutcome& r) { return static_cast<const ArcSolveResult&>(r); }

Json grid_json(const ArcGrid& g) { return grid_rows_json(arc_draft(g), CellJson::Numbers); }

// pass@1 and pass@2 per task (the official score: the mean over tasks of the fraction of test inputs passed).
class ArcTally final : public EvalTally {
public:
    explicit ArcTally(const EvalSetup& s) : setup_(s), canvas_(model_grid_side(*s.model)) {}

    bool admit(Item& item) override {
        const auto& t = std::any_cast<const ArcTask&>(item);
        for (size_t i = 0; i < t.test.size(); i++)
            if (!t.test[i].output)
                fail("{}: task {} test {} has no expected output (pass --solutions)",
                     setup_.solutions.empty() ? setup_.source : setup_.solutions, t.id, i);
        loaded_++;
        // a model with a smaller canvas (e.g. 10x10) is scored on the tasks whose every grid fits it, as trained
        if (arc_task_fits(t, canvas_)) return true;
        too_large_++;
        return false;
    }
    void add(const SolveOutcome& o) override {
        const auto& r = as_arc(o);
        if (scores_.empty() || scores_.back().id != r.task_id)
            scores_.push_back({r.task_id, 0, 0, 0, r.known_task && !r.adapted, r.adapted.has_value()});
        auto& s = scores_.back();
        s.tests++;
        s.pass1 += r.pass_at_1;
        s.pass2 += r.pass_at_2;
        steps_ += r.steps;
        rows_++;
    }
    int64_t count() const override { return rows_; }

    EvalReport report(double, double secs) const override {
        if (scores_.empty()) {
            if (too_large_ > 0) fail("{}: no task fits the model's {}x{} canvas", setup_.source, canvas_, canvas_);
            fail("{}: no ARC task found", setup_.source);
        }
        double p1 = 0, p2 = 0, p2_adapted = 0, p2_known = 0;
        int unseen = 0, adapted = 0;
        for (auto& s : scores_) {
            p1 += double(s.pass1) / s.tests;
            p2 += double(s.pass2) / s.tests;
            unseen += !s.known;
            adapted += s.adapted;
            if (s.adapted) p2_adapted += double(s.pass2) / s.tests;
            if (s.known) p2_known += double(s.pass2) / s.tests;
        }
        const int known = int(scores_.size()) - unseen;
        const double N = double(scores_.size());
        const SolveOptions& so = setup_.solve;
        EvalReport rep;
        Json per = Json::array();
        for (auto& s : scores_)
            per.push_back({{"task", s.id}, {"tests", s.tests}, {"pass_at_1", double(s.pass1) / s.tests},
                           {"pass_at_2", double(s.pass2) / s.tests}, {"known_task", s.known},
                           {"adapted", s.adapted}});
        rep.json = Json{{"domain", "arc"}, {"model", setup_.model_path}, {"challenges", setup_.source},
                        {"tasks", scores_.size()}, {"tasks_larger_than_canvas", too_large_}, {"canvas", canvas_},
                        {"known_tasks", known}, {"pass_at_2_known", known ? p2_known / known : 0.0},
                        {"num_aug", so.num_aug}, {"pass_at_1", p1 / N}, {"pass_at_2", p2 / N},
                        {"unseen_tasks", unseen}, {"adapted_tasks", adapted}, {"adapt_steps", so.adapt_steps},
                        {"pass_at_2_adapted", adapted ? p2_adapted / adapted : 0.0},
                        {"mean_steps", rows_ ? double(steps_) / double(rows_) : 0.0}, {"seconds", secs},
                        {"per_task", per}};
        auto& l = rep.lines;
        l.push_back(fmt::format("arc eval: {} tasks ({}) · model {} · {} augmented copies per test input",
                                scores_.size(), setup_.source, setup_.model_path, so.num_aug));
        for (auto& s : scores_)
            l.push_back(fmt::format("  {:<12} pass@1 {}/{}  pass@2 {}/{}{}", s.id, s.pass1, s.tests, s.pass2, s.tests,
                                    s.adapted ? "  (unseen: test-time adapted)"
                                    : s.known ? ""
                                              : "  (not seen in training)"));
        l.push_back(fmt::format("  pass@1          {:>6}  (mean over tasks of the test inputs passed)",
                                eval_percent(p1 / N)));
        l.push_back(fmt::format("  pass@2          {:>6}", eval_percent(p2 / N)));
        if (known > 0 && unseen > 0)
            l.push_back(fmt::format("  known tasks     {} with trained embeddings: pass@2 {}", known,
                                    eval_percent(p2_known / known)));
        if (adapted > 0)
            l.push_back(fmt::format("  adapted         {} unseen tasks by test-time adaptation ({} steps each): "
                                    "pass@2 {}", adapted, so.adapt_steps, eval_percent(p2_adapted / adapted)));
        if (unseen > adapted)
            l.push_back(fmt::format("  note            {} of {} tasks not seen in training and not adapted: "
                                    "identifier 0", unseen - adapted, scores_.size()));
        if (too_large_ > 0)
            l.push_back(fmt::format("  skipped         {} of {} tasks: a grid larger than the model's {}x{} canvas",
                                    too_large_, loaded_, canvas_, canvas_));
        l.push_back(fmt::format("  time            {:.2f} s ({:.2f} s per task)", secs, secs / N));
        return rep;
    }

private:
    struct TaskScore {
        std::string id;
        int tests = 0, pass1 = 0, pass2 = 0;
        bool known = false;
        bool adapted = false;
    };
    EvalSetup setup_;
    int canvas_;
    std::vector<TaskScore> scores_;
    int64_t steps_ = 0, rows_ = 0;
    size_t loaded_ = 0, too_large_ = 0;
};

class TasksOf final : public ItemReader {
public:
    explicit TasksOf(std::vector<ArcTask> tasks) : tasks_(std::move(tasks)) {}
    bool next(Item& out) override {
        if (next_ >= tasks_.size()) return false;
        out = std::move(tasks_[next_++]);
        return true;
    }

private:
    std::vector<ArcTask> tasks_;
    size_t next_ = 0;
};

// The Kaggle submission: per task, per test input, attempt_1 and attempt_2.
class ArcSubmission final : public Submission {
public:
    void add(const SolveOutcome& o) override {
        const auto& r = as_arc(o);
        attempts_[r.task_id].push_back(r.attempts);
    }
    void write(const std::string& path) const override { write_arc_submission(path, attempts_, 2); }
    std::string what() const override { return plural(int(attempts_.size()), "task", "tasks"); }

private:
    ArcAttempts attempts_;
};

// MCP caps (bounded time per call)
constexpr int kArcBatch = 16;        // rows per forward batch of the ARC model
constexpr int kMaxArcAug = 64;       // num_aug
constexpr int kMaxAdaptSteps = 2000; // adapt_steps; 100 took 60-100 s with the official ARC model on 2 cores

class ArcDomain final : public Domain {
public:
    ArcDomain()
        : Domain(DomainInfo{.name = "arc", .title = "ARC", .kinds = "ARC tasks", .noun = "test input",
                            .nouns = "test inputs", .grid_style = "palette", .default_grid = kArcCanvas,
                            .checks_rules = false, .has_views = false, .has_tasks = true}) {}

    void configure_model(Config& c, int grid) const override {
        if (grid < 1 || grid > kArcCanvas) fail("ARC canvas side {}: must be 1..30", grid);
        c.seq_len = grid * grid;
        c.vocab_size = kArcVocab;
        c.token_map = {"<pad>", "<eos>", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
    }
    std::string model_mismatch(const Config& c) const override {
        const int s = square_side(c.seq_len);
        if (c.vocab_size == kArcVocab && s != 0 && s <= kArcMaxGridSize) return "";
        return fmt::format("model has seq_len {} and vocab_size {}; an ARC model has a square seq_len up to 900 "
                           "(30x30) and vocab_size {}", c.seq_len, c.vocab_size, kArcVocab);
    }
    std::string model_summary(const Config& c) const override {
        const int n = model_grid_side(c);
        return fmt::format("The loaded model takes grids up to {}x{}; at most {} supervision steps by default; {}.", n,
                           n, c.halt_max_steps,
                           c.puzzle_emb_ndim > 0 ? "unseen tasks can be adapted to (adapt_steps)"
                                                 : "it has no puzzle embeddings, so adapt_steps does nothing");
    }

    // JSON ('{' or '['), or gzip (magic 1f 8b): only ARC JSON is read inflated (PuzzleInput::read_all)
    int detect(std::string_view text) const override {
        if (text.size() >= 2 && uint8_t(text[0]) == 0x1f && uint8_t(text[1]) == 0x8b) return 2;
        const size_t i = text.find_first_not_of(" \t\r\n");
        return i != std::string_view::npos && (text[i] == '{' || text[i] == '[') ? 2 : 0;
    }
    std::unique_ptr<ItemReader> reader(PuzzleInput& in, const ReadOptions& o) const override {
        const std::string text = in.read_all(kMaxArcFileBytes);
        std::vector<ArcTask> tasks = parse_arc_tasks(text, in.name(), o.task);
        if (!o.solutions.empty())
            apply_arc_solutions(tasks, read_file_text(o.solutions, kMaxArcFileBytes), o.solutions);
        if (tasks.empty()) fail("{}: no ARC task found", in.name());
        return std::make_unique<TasksOf>(std::move(tasks));
    }
    int results_of(const Item& item) const override { return int(std::any_cast<const ArcTask&>(item).test.size()); }
    Item parse_arguments(const Json& a) const override {
        return parse_arc_tasks(a["task"].dump(), "arguments.task", a.value("task_id", std::string("unnamed"))).at(0);
    }

    int model_rows(const Item& item, const SolveOptions& o) const override {
        return results_of(item) * (o.num_aug + 1);
    }
    void solve(Forward& fwd, std::vector<Item> items, size_t first_index, const SolveOptions& o,
               const ResultFn& on_result) const override {
        solve_arc_tasks(fwd, items_as<ArcTask>(items), o, [&](ArcSolveResult& r) {
            r.index += first_index;
            on_result(std::make_unique<ArcSolveResult>(std::move(r)));
        });
    }

    Json draft_json(const DraftGrid& g) const override { return grid_rows_json(g, CellJson::Numbers); }
    // One JSON line per test input, as the Kaggle submission holds it.
    std::string answer_text(const SolveOutcome& o, bool*) const override {
        const auto& r = as_arc(o);
        const ArcGrid a1 = r.attempts.empty() ? make_arc_grid({{0}}) : r.attempts[0];
        const ArcGrid a2 = r.attempts.size() > 1 ? r.attempts[1] : a1;
        const Json line{{"task", r.task_id}, {"test", r.test_index}, {"attempt_1", grid_json(a1)},
                        {"attempt_2", grid_json(a2)}};
        return line.dump() + "\n";
    }
    Json result_json(const SolveOutcome& o) const override {
        const auto& r = as_arc(o);
        Json attempts = Json::array();
        for (auto& a : r.attempts) attempts.push_back(grid_json(a));
        Json j{{"answer", attempts}, {"task", r.task_id}, {"test", r.test_index}, {"votes", r.attempt_votes},
               {"copies", r.copies}, {"known_task", r.known_task}};
        if (r.expected) {
            j["expected"] = grid_json(*r.expected);
            j["pass_at_1"] = r.pass_at_1;
            j["pass_at_2"] = r.pass_at_2;
        }
        return j;
    }
    std::vector<NamedGrid> final_grids(const SolveOutcome& o) const override {
        const auto& r = as_arc(o);
        std::vector<NamedGrid> g{{"input", arc_draft(r.test_input)}};
        for (size_t i = 0; i < r.attempts.size(); i++)
            g.push_back({fmt::format("attempt {} ({}/{})", i + 1, r.attempt_votes[i], r.copies),
                         arc_draft(r.attempts[i])});
        if (r.expected) g.push_back({"expected", arc_draft(*r.expected)});
        return g;
    }
    std::string note(const SolveOutcome& o) const override {
        const auto& r = as_arc(o);
        if (r.test_index != 0) return "";
        if (r.adapted)
            return fmt::format("adapted unseen task {}: {} puzzle-embedding rows fitted on {} demonstrations, loss "
                               "{:.3f}", r.task_id, r.adapted->rows, r.adapted->demos, r.adapted->final_loss);
        if (!r.known_task)
            return fmt::format("note: task {} not seen in training: solving with puzzle identifier 0 (no test-time "
                               "adaptation)", r.task_id);
        return "";
    }
    std::unique_ptr<Submission> submission() const override { return std::make_unique<ArcSubmission>(); }

    ToolSpec mcp_tool() const override {
        ToolSpec t;
        t.name = "solve_arc";
        t.title = "Predict the test outputs of an ARC-AGI task";
        t.description =
            "Runs trm's ARC model on every test input of an ARC task (with augmented copies voting) and returns up to "
            "two attempts per test input with their votes, the steps used and the halting confidence. Attempts are "
            "verified only when the task gives the test output; otherwise the check says whether the attempt's shape "
            "and colours are consistent with the demonstrations.";
        const Json grid{{"type", "array"},
                        {"minItems", 1},
                        {"maxItems", 30},
                        {"items",
                         {{"type", "array"},
                          {"minItems", 1},
                          {"maxItems", 30},
                          {"items", {{"type", "integer"}, {"minimum", 0}, {"maximum", 9}}}}}};
        const Json train_pair{{"type", "object"},
                              {"properties", {{"input", grid}, {"output", grid}}},
                              {"required", {"input", "output"}}};
        const Json test_pair{{"type", "object"}, {"properties", {{"input", grid}, {"output", grid}}},
                             {"required", {"input"}}};
        t.input_properties = Json{
            {"task",
             {{"type", "object"},
              {"description", "One ARC task as in the ARC-AGI JSON files: {\"train\": [{\"input\": grid, \"output\": "
                              "grid}, ...], \"test\": [{\"input\": grid}, ...]}; a grid is a list of rows of colours "
                              "0-9, 1x1 to 30x30. A test output, when given, is used to verify the attempts."},
              {"properties",
               {{"train", {{"type", "array"}, {"minItems", 1}, {"maxItems", 100}, {"items", train_pair}}},
                {"test", {{"type", "array"}, {"minItems", 1}, {"maxItems", 20}, {"items", test_pair}}}}},
              {"required", {"train", "test"}}}},
            {"task_id",
             {{"type", "string"},
              {"minLength", 1},
              {"maxLength", 200},
              {"description", "The task's ARC id (e.g. '6150a2bd'): a model trained on this task uses its learned "
                              "puzzle embedding."}}},
            {"num_aug", int_schema(0, kMaxArcAug, "Augmented copies (rotations, reflections, recolourings) voted "
                                                  "with the original (default 8).")},
            {"adapt_steps", int_schema(0, kMaxAdaptSteps,
                                       "Test-time adaptation for a task the model does not know: sign-SGD steps "
                                       "fitting its puzzle embedding on the demonstrations before solving (default "
                                       "100, as `trm solve`; 0 = none). Slow: report progress with a progressToken.")},
            {"seed", Json{{"type", "integer"},
                          {"minimum", 0},
                          {"maximum", 9007199254740991.0},  // 2^53 - 1: exact in every JSON reader
                          {"description", "Seed of the augmentations (default 0)."}}}};
        t.input_required = Json{"task"};
        Json item{{"test_index", {{"type", "integer"}}},
                  {"attempts", {{"type", "array"}, {"maxItems", 2}, {"items", {{"type", "array"}}},
                                {"description", "Up to two predicted grids, most voted first."}}},
                  {"attempt_votes", {{"type", "array"}, {"items", {{"type", "integer"}}}}},
                  {"copies", {{"type", "integer"}, {"description", "Augmented copies that voted."}}},
                  {"known_task", {{"type", "boolean"}, {"description", "The model was trained on this task."}}},
                  {"expected_known", {{"type", "boolean"}}},
                  {"verified", {{"type", "boolean"}, {"description", "An attempt equals the given test output."}}},
                  {"pass_at_1", {{"type", "boolean"}}},
                  {"check", {{"type", "string"}}}};
        Json item_required{"test_index", "attempts", "attempt_votes", "copies", "known_task", "expected_known",
                           "verified", "check"};
        add_run_outputs(item, item_required);
        Json props{{"task_id", {{"type", "string"}}},
                   {"verified", {{"type", "boolean"}, {"description", "Every test input verified."}}},
                   {"results", {{"type", "array"},
                                {"items", {{"type", "object"}, {"properties", item}, {"required", item_required}}}}}};
        t.output_schema = Json{{"type", "object"}, {"properties", props}, {"required", {"task_id", "verified", "results"}}};
        return t;
    }
    int mcp_batch() const override { return kArcBatch; }
    ToolReply mcp_reply(const std::vector<std::unique_ptr<SolveOutcome>>& results,
                        const ReplyOptions& o) const override {
        Json items = Json::array();
        std::string text;
        bool all = true;
        std::string task_id;
        for (const auto& p : results) {
            const auto& r = as_arc(*p);
            task_id = r.task_id;
            Json item{{"test_index", r.test_index}};
            Json attempts = Json::array();
            for (const auto& g : r.attempts) attempts.push_back(grid_json(g));
            item["attempts"] = attempts;
            item["attempt_votes"] = r.attempt_votes;
            item["copies"] = r.copies;
            item["known_task"] = r.known_task;
            item["expected_known"] = r.expected.has_value();
            item["verified"] = r.verified;
            if (r.expected) item["pass_at_1"] = r.pass_at_1;
            item["check"] = r.check;
            const std::string run = run_fields(item, r, *this, o);
            all = all && r.verified;
            text += fmt::format("Test input {} ({}x{}): {} after {}; {} copies (original + augmentations) voted.\n",
                                r.test_index, r.test_input.rows, r.test_input.cols,
                                r.verified ? "VERIFIED" : r.expected ? "NOT solved" : "unverified", run, r.copies);
            for (size_t k = 0; k < r.attempts.size(); k++)
                text += fmt::format("  attempt {} ({} of {} votes): {}\n", k + 1, r.attempt_votes[k], r.copies,
                                    arc_grid_json(r.attempts[k]));
            text += "  check: " + r.check + "\n";
            if (o.trace != TraceDetail::Off) text += trace_text(r);
            items.push_back(std::move(item));
        }
        text = fmt::format("ARC task {}: {} test input{}, {}.\n", task_id, items.size(), items.size() == 1 ? "" : "s",
                           all ? "all verified against the given outputs"
                               : "not verified (a test output must be given to verify; otherwise treat the attempts "
                                 "as guesses)") +
               text;
        Json out{{"task_id", task_id}, {"verified", all}, {"results", std::move(items)}};
        return {std::move(out), std::move(text)};
    }

    std::unique_ptr<EvalTally> eval_tally(const EvalSetup& s) const override { return std::make_unique<ArcTally>(s); }
};

}  // namespace

const Domain& arc_domain() {
    static const ArcDomain d;
    return d;
}

}  // namespace trm
