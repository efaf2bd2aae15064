// `trm solve [DOMAIN] [FILE|-]`: solve puzzles with a model and show how it got there.
//
// Input is read batch by batch with the domain's streaming reader (bounded memory for any input size); results
// come in input order. Output modes:
//   (default)      terminal report: per-step trace (draft / critique / refine) for a single puzzle, the answer
//                  grid, the verdict; one line per puzzle for larger inputs
//   --quiet        only the answers, in the input's format (Sudoku: 81-char line; maze: grid + blank line;
//                  ARC: one JSON line per test input with attempt_1 / attempt_2)
//   --format json  JSON lines: {"type":"step",...} per traced step, {"type":"result",...} per puzzle
// --trace auto (default): steps when the input holds a single puzzle (ARC: a single test input) and the output
// is a terminal or JSON; off otherwise. Exit: 0 all verified, 1 error, 2 usage, 3 some answer did not verify.
#include <algorithm>
#include <cmath>
#include <fmt/core.h>
#include <limits>
#include <nlohmann/json.hpp>
#include <memory>
#include <optional>
#include <unistd.h>

#include "cli/commands.hpp"
#include "cli/html.hpp"
#include "cli/progress.hpp"
#include "cli/models.hpp"
#include "cli/render.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/parallel.hpp"
#include "puzzles/domain.hpp"
#include "puzzles/present.hpp"

namespace trm::cli {

using json = nlohmann::ordered_json;

namespace {

struct SolveCliOptions {
    std::string arg0, arg1;  // [DOMAIN] [FILE|-]: one argument is a domain name or a file
    std::string model, trace = "auto", halt = "auto", color = "auto", format = "text", html;
    std::string task, solutions, submission;
    int max_steps = 0, batch = 64, num_aug = 8, threads = 0, adapt_steps = 100;
    int views = -1;  // -1 (not given): kDefaultViews for kinds with views; the others refuse any given value
    float halt_threshold = std::numeric_limits<float>::quiet_NaN();  // NaN: the model's
    uint64_t seed = 0;
    bool quiet = false;
    bool force = false;  // --html / --submission may replace an existing file
    // resolved by validate()
    const Domain* domain = nullptr;
    std::string file = "-";
};

// Usage checks run while parsing, so that their errors exit with kExitUsage.
void validate(SolveCliOptions& o) {
    o.domain = nullptr;
    o.file = "-";
    if (!o.arg1.empty()) {
        o.domain = find_domain(o.arg0);
        if (!o.domain)
            throw CLI::ValidationError("DOMAIN", fmt::format("unknown domain '{}' ({})", o.arg0, domain_names()));
        o.file = o.arg1;
    } else if (!o.arg0.empty()) {
        o.domain = find_domain(o.arg0);
        if (!o.domain) o.file = o.arg0;
    }
    if (o.max_steps < 0) throw CLI::ValidationError("--max-steps", "must be 0 (the model's) or more");
    if (o.batch < 1 || o.batch > 4096) throw CLI::ValidationError("--batch", "must be in 1..4096");
    if (o.num_aug < 0 || o.num_aug > 1000) throw CLI::ValidationError("--num-aug", "must be in 0..1000");
    if (o.views != -1 && (o.views < 1 || o.views > kMaxViews))
        throw CLI::ValidationError("--views", fmt::format("must be in 1..{}", kMaxViews));
    if (o.quiet && o.format == "json") throw CLI::ValidationError("--quiet", "cannot be combined with --format json");
}

// the halting head's confidence: "98.1%"
std::string pct(float q_halt) { return percent(sigmoid(q_halt)); }

// ---- the report -----------------------------------------------------------------------------------------------

class Reporter {
public:
    Reporter(const Domain& d, const SolveCliOptions& o) : d_(d), o_(o), submission_(d.submission()) {
        json_ = o.format == "json";
        ColorMode cm = ColorMode::Auto;
        color_mode_from_name(o.color, &cm);
        style_ = make_style(cm, STDOUT_FILENO);
        tty_ = isatty(STDOUT_FILENO);
        columns_ = terminal_columns(STDOUT_FILENO);
        const char* term = std::getenv("TERM");
        ascii_ = term && std::string(term) == "dumb";
    }

    // Called once the first batch is read: `single` = the input holds exactly one puzzle.
    void begin(bool single, int max_steps, const std::string& model_path, float model_threshold) {
        single_ = single;
        threshold_ = std::isnan(o_.halt_threshold) ? model_threshold : o_.halt_threshold;
        max_steps_ = max_steps;
        model_path_ = model_path;
        TraceMode t = TraceMode::Off;
        if (o_.trace == "auto") t = single && (tty_ || json_) ? TraceMode::Steps : TraceMode::Off;
        else trace_mode_from_name(o_.trace, &t);
        print_trace_ = o_.quiet ? TraceMode::Off : t;
        record_ = print_trace_ != TraceMode::Off ? print_trace_ : (o_.html.empty() ? TraceMode::Off : TraceMode::Steps);
    }

    // the model that answers from here on (trm solve moved the rest of the input to another default model)
    void model_changed(const std::string& model_path) { model_path_ = model_path; }
    TraceMode record_mode() const { return record_; }

    // Before a puzzle's answer: what the exact checks said of its input (no solution, several, no path).
    void diagnosis(const SolveOutcome& r) {
        if (r.diagnosis.empty() || json_) return;
        std::fflush(stdout);
        fmt::print(stderr, "note: {} {} ({}) {}; the model's answer is shown all the same\n", noun(1), r.index + 1,
                   r.where, r.diagnosis);
    }

    void result(const SolveOutcome& r) {
        count(r);
        diagnosis(r);
        if (!json_)
            if (const std::string note = d_.note(r); !note.empty()) {
                std::fflush(stdout);
                fmt::print(stderr, "{}\n", note);
            }
        if (submission_ && !o_.submission.empty()) submission_->add(r);
        const std::vector<NamedGrid> grids = d_.final_grids(r);
        if (o_.quiet) {
            fmt::print("{}", d_.answer_text(r, &csv_header_done_));
            quiet_unverified(r);
        } else if (json_) {
            json_result(r);
        } else if (!single_ && print_trace_ == TraceMode::Off) {
            const ListingLine l = d_.listing(r);
            fmt::print("{}", tidy(fmt::format("{:>6}  {}  {} {}  {}  halt {}{}\n", r.index + 1, l.label,
                                              verdict_mark(r.verified, style_), l.verdict, steps_text(r.steps),
                                              pct(r.q_halt), views_text(r))));
        } else {
            pretty(r, grids.empty() ? std::string() : render_named_grids(d_, grids, style_));
        }
        keep_html(r, grids);
    }

    // --quiet prints answers only: an answer that did not verify is named on stderr, so it cannot pass for one.
    void quiet_unverified(const SolveOutcome& r) {
        if (r.verified) return;
        std::fflush(stdout);
        fmt::print(stderr, "unverified: {} {} ({}): {}\n", noun(1), r.index + 1, r.where, short_check(r.check, 80));
    }

    // A puzzle the reader refused: `message` is "FILE:LINE: problem". The others are solved all the same.
    void error(size_t position, const std::string& message) {
        errors_++;
        if (json_) {
            const size_t colon = message.find(": ");
            json e{{"type", "error"}, {"index", position},
                   {"where", colon == std::string::npos ? std::string() : message.substr(0, colon)},
                   {"message", colon == std::string::npos ? message : message.substr(colon + 2)}};
            fmt::print("{}\n", e.dump(-1, ' ', false, json::error_handler_t::replace));
        } else {
            std::fflush(stdout);
            fmt::print(stderr, "error: {} (skipped, {} {})\n", message, noun(1), position + 1);
        }
    }

    // Summary, HTML and submission files; returns the exit code.
    int finish(double seconds) {
        if (n_ == 0 && errors_ == 0) fail("no puzzle to solve");
        if (n_ == 0) {
            fmt::print(stderr, "no {} could be read ({} refused)\n", noun(2), errors_);
            return kExitError;
        }
        const int bad = n_ - verified_;
        if (!o_.quiet && !json_ && !single_)
            fmt::print("{}", tidy(fmt::format("{} {}: {} verified{}, {} not · {:.1f} steps on average{} · {:.2f} s ({:.1f} {}/s)\n", n_,
                       noun(n_), verified_,
                       later_view_ ? fmt::format(" ({} through a later view)", later_view_) : std::string(), bad,
                       double(steps_) / n_, views_run_ > n_ ? " (all views)" : "", seconds,
                       seconds > 0 ? n_ / seconds : 0.0, noun(2))));
        else if (bad && (o_.quiet || json_))
            fmt::print(stderr, "{} of {} answers did not verify\n", bad, n_);
        if (!o_.html.empty()) {
            const std::string subtitle =
                fmt::format("model {} · halt {} · max steps {}", model_path_, o_.halt, max_steps_);
            write_trace_html(o_.html, d_, subtitle, html_);
            fmt::print(stderr, "wrote {} ({} {})\n", o_.html, html_.size(), noun(int(html_.size())));
        }
        if (submission_ && !o_.submission.empty()) {
            submission_->write(o_.submission);
            fmt::print(stderr, "wrote {} ({})\n", o_.submission, submission_->what());
        }
        if (errors_ > 0) {
            fmt::print(stderr, "{} {} could not be read (see the error lines); the other {} {} solved\n", errors_,
                       noun(errors_), n_, n_ == 1 ? "was" : "were");
            return kExitError;
        }
        return bad ? kExitUnverified : kExitOk;
    }

private:
    std::string noun(int n) const { return d_.noun(n); }

    void count(const SolveOutcome& r) {
        n_++;
        verified_ += r.verified;
        later_view_ += r.verified && r.view > 1;
        views_run_ += r.views_used;
        steps_ += r.total_steps();
    }

    // " · view 3/16 (transpose, ...)" when a later view gave the answer, " · 16 views" when none verified
    static std::string views_text(const SolveOutcome& r) {
        if (r.verified && r.view > 1) return fmt::format(" · view {}/{}", r.view, r.views_budget);
        if (!r.verified && r.views_used > 1) return fmt::format(" · {} views tried", r.views_used);
        return "";
    }

    // The page shows the input and the answer already; other final grids (ARC: attempt 2, expected) come as extras.
    void keep_html(const SolveOutcome& r, const std::vector<NamedGrid>& grids) {
        if (o_.html.empty() || html_.size() >= kHtmlMaxPuzzles) return;
        std::vector<std::pair<std::string, DraftGrid>> extra;
        bool answer_shown = false;
        for (size_t i = 1; i < grids.size(); i++) {
            if (!answer_shown && grids[i].grid == r.answer) answer_shown = true;
            else extra.push_back({grids[i].title, grids[i].grid});
        }
        const std::string title = d_.has_tasks() ? r.where : fmt::format("{} {} · {}", d_.noun(1), r.index + 1, r.where);
        html_.push_back(HtmlPuzzle{title, r, std::move(extra)});
    }

    void json_result(const SolveOutcome& r) {
        json extra = d_.result_json(r);
        for (const auto& t : r.trace) {
            json s{{"type", "step"}, {"index", r.index}, {"view", t.view}, {"step", t.step}};
            if (t.cycle >= 0) s["cycle"] = t.cycle;
            s["draft"] = d_.draft_json(t.draft);
            s["halt_prob"] = sigmoid(t.q_halt);
            s["model_halts"] = t.model_halts;
            s["stopped"] = t.stopped;
            s["changed"] = t.changed;
            s["verified"] = t.verified;
            s["check"] = t.check;
            fmt::print("{}\n", s.dump(-1, ' ', false, json::error_handler_t::replace));
        }
        json o{{"type", "result"}, {"index", r.index}, {"where", r.where}, {"domain", d_.name()},
               {"model", model_path_}, {"answer", std::move(extra["answer"])}, {"verified", r.verified},
               {"check", r.check}, {"steps", r.steps}, {"halt_prob", sigmoid(r.q_halt)}, {"seconds", r.seconds}};
        if (!r.diagnosis.empty()) o["diagnosis"] = r.diagnosis;
        if (!r.views.empty()) {  // Sudoku and mazes: the views tried (see puzzles/solve.hpp)
            o["views_used"] = r.views_used;
            o["view"] = r.view;
            o["views_budget"] = r.views_budget;
            o["total_steps"] = r.total_steps();
            json vs = json::array();
            for (const auto& v : r.views)
                vs.push_back({{"name", v.name}, {"steps", v.steps}, {"verified", v.verified}, {"check", v.check}});
            o["views"] = std::move(vs);
        }
        for (auto& [k, v] : extra.items())
            if (k != "answer") o[k] = v;
        fmt::print("{}\n", o.dump(-1, ' ', false, json::error_handler_t::replace));
    }

    void print_lines(const std::vector<std::string>& lines) {
        for (auto& l : lines) fmt::print("{}\n", tidy(l));
    }

    // Under TERM=dumb the text stays ASCII: the '·' separators become '-'.
    std::string tidy(const std::string& line) const {
        if (!ascii_) return line;
        static const std::string dot = "·";
        std::string out;
        for (size_t i = 0; i < line.size();) {
            if (line.compare(i, dot.size(), dot) == 0) out += '-', i += dot.size();
            else out += line[i++];
        }
        return out;
    }

    // Trace and answer of one puzzle. `final_grids` replaces the answer grid (ARC: input / attempts / expected).
    void pretty(const SolveOutcome& r, const std::string& final_grids) {
        const std::string head = d_.has_tasks() ? r.where : fmt::format("puzzle {} · {}", r.index + 1, r.where);
        fmt::print("{}\n", tidy(paint(style_, "1", head)));
        if (print_trace_ != TraceMode::Off) {
            const std::string legend = change_legend(d_, style_);
            for (size_t i = 0; i < r.trace.size(); i++) {
                const TraceStep& t = r.trace[i];
                const DraftGrid& prev = i == 0 ? r.input : r.trace[i - 1].draft;
                auto left = render_draft(d_, t.draft, r.input, &prev, style_);
                std::vector<std::string> right;
                std::string title = fmt::format("step {}/{}", t.step, max_steps_);
                if (r.views_used > 1) title += fmt::format(" · view {}/{}", t.view, r.views_budget);
                if (t.cycle >= 0) title += fmt::format(" · cycle {}", t.cycle + 1);
                right.push_back(paint(style_, "1", title));
                right.push_back(fmt::format("{}     {} cell{} changed{}", paint(style_, "1;34", "DRAFT"), t.changed,
                                            t.changed == 1 ? "" : "s", i == 0 ? " from the input" : ""));
                std::string decision = t.cycle >= 0                                  ? "inner cycle, no decision"
                                       : !t.stopped                                   ? "continue"
                                       : o_.halt == "model" && t.model_halts          ? "stop"
                                       : o_.halt == "verified" && t.verified          ? "stop (verified)"
                                                                                      : "stop (step limit)";
                // the probability against the threshold that decides the model's halt (calibrated per model)
                right.push_back(fmt::format("{}  halt {} {} {} threshold -> {}", paint(style_, "1;35", "CRITIQUE"),
                                            pct(t.q_halt), t.model_halts ? ">" : "<",
                                            fmt::format("{:.2f}%", 100.0 * sigmoid(threshold_)), decision));
                right.push_back(fmt::format("          {} {}", verdict_mark(t.verified, style_), short_check(t.check)));
                const bool view_ends = i + 1 < r.trace.size() && r.trace[i + 1].view != t.view;
                if (view_ends) {
                    right.push_back(fmt::format("{}    none: the answer is rejected, a fresh view follows",
                                                paint(style_, "1;32", "REFINE")));
                } else if (i + 1 < r.trace.size()) {
                    int n = r.trace[i + 1].changed;
                    right.push_back(fmt::format("{}    next {} changes {} cell{}", paint(style_, "1;32", "REFINE"),
                                                r.trace[i + 1].cycle >= 0 ? "cycle" : "step", n, n == 1 ? "" : "s"));
                } else {
                    right.push_back(fmt::format("{}    {}", paint(style_, "1;32", "REFINE"),
                                                t.stopped ? "none: stopped here" : "none"));
                }
                if (!legend.empty()) right.push_back("          " + legend);
                print_lines(side_by_side(left, right, 3, columns_));
                fmt::print("\n");
                if (view_ends) {  // "critique: 2 clashes remain -> view 3/16: transpose, digits 4<->7"
                    const int next = r.trace[i + 1].view;
                    fmt::print("{} {} -> view {}/{}: {}\n\n", paint(style_, "1;35", "critique:"),
                               r.views[size_t(t.view - 1)].critique, next, r.views_budget,
                               r.views[size_t(next - 1)].name);
                }
            }
        }
        std::vector<std::string> right{
            fmt::format("answer after {} step{}{}, halt {}", r.steps, r.steps == 1 ? "" : "s",
                        r.views_used > 1 ? fmt::format(" of view {}/{} ({} views run)", r.view, r.views_budget,
                                                       r.views_used)
                                         : std::string(),
                        pct(r.q_halt)),
            fmt::format("{} {}", verdict_mark(r.verified, style_),
                        r.verified ? (!d_.checks_rules() || r.check == "solved" ? r.check : "solved: " + r.check)
                                   : "unsolved: " + short_check(r.check))};
        if (!final_grids.empty()) {
            print_lines(split_lines(final_grids));
            print_lines(right);
        } else {
            print_lines(side_by_side(render_draft(d_, r.answer, r.input, nullptr, style_), right, 3, columns_));
        }
        fmt::print("\n");
    }

    const Domain& d_;
    const SolveCliOptions& o_;
    Style style_;
    bool tty_ = false, json_ = false, single_ = false, csv_header_done_ = false, ascii_ = false;
    int columns_ = 0;  // the terminal's width (0: unlimited)
    TraceMode print_trace_ = TraceMode::Off, record_ = TraceMode::Off;
    int max_steps_ = 0;
    float threshold_ = 0;  // q_halt logit above which the model halts
    std::string model_path_;
    int n_ = 0, verified_ = 0, later_view_ = 0, views_run_ = 0, errors_ = 0;
    int64_t steps_ = 0;
    std::vector<HtmlPuzzle> html_;
    std::unique_ptr<Submission> submission_;
};

// One item of look-ahead over a reader, so that the end of the input is known one puzzle early. A puzzle the
// reader refuses (its Error names the file and line) is an item of its own: the batch goes on without it.
template <typename Item, typename Reader>
struct Ahead {
    enum Got { End, Puzzle, Bad };
    explicit Ahead(Reader& r) : reader(r) {}
    Reader& reader;
    std::optional<Item> buf;
    std::optional<std::string> err;
    bool done = false;
    int errors_in_a_row = 0;
    bool fill() {
        if (!buf && !err && !done) {
            Item x;
            try {
                if (reader.next(x)) buf = std::move(x), errors_in_a_row = 0;
                else done = true;
            } catch (const Error& e) {
                // a reader whose every line fails (a binary file, a broken CSV header) is not read to its end
                if (++errors_in_a_row > kMaxErrorsInARow) throw;
                err = e.what();
            }
        }
        return buf || err;
    }
    Got next(Item& out, std::string* message) {
        if (!fill()) return End;
        if (err) {
            *message = std::move(*err);
            err.reset();
            return Bad;
        }
        out = std::move(*buf);
        buf.reset();
        return Puzzle;
    }
    bool at_end() { return !fill(); }
    static constexpr int kMaxErrorsInARow = 100;
};

// Everything but the trace mode, which the reporter decides once it knows whether the input is one puzzle.
SolveOptions solve_options(const SolveCliOptions& o) {
    SolveOptions so;
    so.max_steps = o.max_steps;
    halt_mode_from_name(o.halt, &so.halt);
    so.batch = o.batch;
    so.views = o.views > 0 ? o.views : kDefaultViews;
    if (!std::isnan(o.halt_threshold)) so.halt_threshold = o.halt_threshold;
    so.num_aug = o.num_aug;
    so.seed = o.seed;
    so.adapt_steps = o.adapt_steps;
    return so;
}

using Clock = std::chrono::steady_clock;

// Read a batch, solve it, report it, repeat (kinds whose items are tasks: every task in one batch).
int solve_stream(const Domain& d, const SolveCliOptions& o, PuzzleInput& input) {
    const auto t0 = Clock::now();
    const std::unique_ptr<ItemReader> reader = d.reader(input, ReadOptions{o.task, o.solutions});
    Ahead<Item, ItemReader> in(*reader);
    const size_t batch_items = d.has_tasks() ? SIZE_MAX : size_t(o.batch);
    std::vector<Item> batch;
    std::vector<size_t> position;                            // each batch item's position in the input
    std::vector<std::pair<size_t, std::string>> bad;         // puzzles the reader refused, reported in order
    size_t read = 0;
    auto fill_batch = [&] {
        batch.clear();
        position.clear();
        while (batch.size() < batch_items) {
            Item x;
            std::string message;
            const auto got = in.next(x, &message);
            if (got == Ahead<Item, ItemReader>::End) break;
            if (got == Ahead<Item, ItemReader>::Bad) {
                bad.push_back({read++, std::move(message)});
                continue;
            }
            batch.push_back(std::move(x));
            position.push_back(read++);
        }
    };
    fill_batch();
    if (batch.empty() && bad.empty()) fail("{}: no {} found", input.name(), d.noun(1));
    if (batch.empty() && bad.size() == 1) throw Error(bad[0].second);  // the one puzzle there is: a plain error
    const bool single = batch.size() == 1 && bad.empty() && in.at_end() && d.results_of(batch[0]) == 1;
    // without --model, the kind's first shipped model that takes the whole first batch (mazes: the 9x9 model for
    // small ones, else the any-size one); a later batch it does not take moves the rest of the input to another
    std::string path = resolve_model_path(o.model, d, batch);
    auto model = std::make_unique<Model>(load_domain_model(path, d));
    Reporter rep(d, o);
    SolveOptions so = solve_options(o);
    rep.begin(single, max_steps_for(so.max_steps, so.halt, model->cfg()), path, model->cfg().halt_threshold);
    so.trace = rep.record_mode();
    std::optional<Progress> adapting;  // test-time adaptation of unseen tasks, before their solve
    so.on_adapt_step = steps_progress(adapting, "test-time adaptation");
    std::optional<Forward> fwd;
    fwd.emplace(*model, d.forward_rows(batch, so));  // the first batch is full unless the input is smaller
    auto model_for_batch = [&] {
        if (!o.model.empty() || std::all_of(batch.begin(), batch.end(),
                                            [&](const Item& x) { return d.model_takes(model->cfg(), x); }))
            return;
        const std::string other = resolve_model_path("", d, batch);
        if (other == path) return;  // none takes them: its own error names the puzzle
        fmt::print(stderr, "model: {} from {} {} on ({} does not take them)\n", other, d.noun(1),
                   position.front() + 1, path);
        path = other;
        rep.model_changed(path);
        auto next = std::make_unique<Model>(load_domain_model(path, d));
        fwd.reset();
        model = std::move(next);
        fwd.emplace(*model, d.forward_rows(batch, so));
    };
    // a sign of life for long batches whose answers do not scroll by on the same terminal
    std::optional<Progress> progress;
    if (!isatty(STDOUT_FILENO)) progress.emplace("solving", d.noun(2));
    size_t index = 0, results = 0;
    while (!batch.empty() || !bad.empty()) {
        size_t next_bad = 0;
        auto errors_before = [&](size_t pos) {  // refused puzzles come out in input order among the answers
            for (; next_bad < bad.size() && bad[next_bad].first < pos; next_bad++)
                rep.error(bad[next_bad].first, bad[next_bad].second);
        };
        if (!batch.empty()) {
            model_for_batch();
            const std::vector<size_t> at = position;
            d.solve(*fwd, std::move(batch), index, so, [&](std::unique_ptr<SolveOutcome> r) {
                if (!d.has_tasks()) r->index = at[r->index - index];  // tasks give several results: no refusals
                errors_before(r->index);
                rep.result(*r);
                results++;
            });
        }
        errors_before(std::numeric_limits<size_t>::max());
        bad.clear();
        index = results;
        if (progress) progress->update(int64_t(results));
        fill_batch();
    }
    if (progress) progress->done();
    std::fflush(stdout);
    return rep.finish(std::chrono::duration<double>(Clock::now() - t0).count());
}

std::string kinds_with(bool (Domain::*has)() const) {
    std::vector<std::string> k;
    for (const Domain* d : domains())
        if ((d->*has)()) k.push_back(d->kinds());
    std::string s;
    for (size_t i = 0; i < k.size(); i++) s += (i == 0 ? "" : i + 1 == k.size() ? " and " : ", ") + k[i];
    return s;
}

int run_solve(const SolveCliOptions& given) {
    SolveCliOptions o = given;
    // outputs written after solving are checked before it, and never replaced without --force
    if (!o.html.empty()) check_output_path(o.html, o.force, "HTML page");
    if (!o.submission.empty()) check_output_path(o.submission, o.force, "submission file");
    if (o.threads > 0) set_threads(o.threads);
    PuzzleInput input(o.file);
    if (input.name() == "stdin" && isatty(STDIN_FILENO))
        fmt::print(stderr, "reading puzzles from the terminal; end with Ctrl-D (or pass a FILE)\n");
    const Domain* d = o.domain;
    if (!d) {
        d = detect_domain(input.peek());
        if (!d) fail("{}: empty input, nothing to solve", input.name());
        fmt::print(stderr, "detected: {}\n", d->name());
    }
    // auto: stop at the first draft the kind's checker accepts where it judges by the rules (Sudoku, mazes: the
    // rules, not the solution), else when the halting head says so (ARC)
    if (o.halt == "auto") o.halt = d->checks_rules() ? "verified" : "model";
    if (!d->has_tasks() && (!o.task.empty() || !o.solutions.empty() || !o.submission.empty()))
        fail("--task, --solutions and --submission are for {}, not {}", kinds_with(&Domain::has_tasks), d->kinds());
    if (!d->has_views() && o.views != -1)
        fail("--views is for {}; {} vote over --num-aug augmented copies instead", kinds_with(&Domain::has_views),
             d->kinds());
    if (!o.submission.empty() && !d->submission())
        fail("--submission: {} have no submission format", d->kinds());
    return solve_stream(*d, o, input);
}

}  // namespace

void register_solve(CLI::App& app) {
    auto o = std::make_shared<SolveCliOptions>();
    auto* sub = app.add_subcommand("solve", "Solve puzzles with a model, showing draft, critique and refine per step");
    add_compute_options(sub);
    sub->add_option("DOMAIN", o->arg0, domain_names(" | ") + " (detected from the input when left out)")->type_name("");
    sub->add_option("FILE", o->arg1, "puzzle file, or '-' for stdin (the default)")->type_name("");
    sub->add_option("-m,--model", o->model,
                    "model file (default: models/<domain>.safetensors; mazes: maze-small.safetensors for those it takes)");
    sub->add_option("--trace", o->trace, "per-step trace: auto (steps for a single puzzle on a terminal or with "
                                         "--format json, else off) | off | steps | cycles (also every H cycle)")
        ->check(CLI::IsMember({"auto", "off", "steps", "cycles"}))->capture_default_str();
    sub->add_option("--max-steps", o->max_steps, "supervision steps at most (0 = the model's halt_max_steps; with --halt verified at least 16)")
        ->capture_default_str();
    sub->add_option("--halt", o->halt,
                    "auto (verified for Sudoku and mazes, model for ARC) | model (q_halt > 0) | never (all steps) | "
                    "verified (first draft that satisfies the puzzle's rules; else all steps)")
        ->check(CLI::IsMember({"auto", "model", "never", "verified"}))->capture_default_str();
    sub->add_option("--halt-threshold", o->halt_threshold,
                    "with --halt model: stop when q_halt exceeds this logit (default: the model's, 0 unless "
                    "calibrated; `trm info` shows it)")
        ->check(CLI::Range(-50.0f, 50.0f));
    sub->add_option("--color", o->color, "auto | always | never (auto honours NO_COLOR and pipes)")
        ->check(CLI::IsMember({"auto", "always", "never"}))->capture_default_str();
    sub->add_flag("-q,--quiet", o->quiet, "print only the answers, in the input's format");
    sub->add_option("--format", o->format, "text | json (JSON lines: step and result objects)")
        ->check(CLI::IsMember({"text", "json"}))->capture_default_str();
    sub->add_option("--html", o->html, "write a self-contained page replaying the traces");
    sub->add_flag("--force", o->force, "--html and --submission may replace an existing file");
    sub->add_option("--views", o->views,
                    fmt::format("Sudoku, mazes: when an answer does not verify, solve the puzzle again through up to "
                                "N-1 symmetry-equivalent views (Sudoku: digits relabelled, transposed, bands/stacks "
                                "and rows/columns within them shuffled; mazes: rotations and mirrors, 8 at most) "
                                "until one verifies; 1 = the puzzle as given only (default {})", kDefaultViews));
    sub->add_option("--batch", o->batch, "puzzles per model batch")->capture_default_str();
    sub->add_option("--threads", o->threads, "CPU threads (default: all cores)")->check(CLI::Range(1, 4096));
    sub->add_option("--task", o->task, "ARC: only this task of a combined file (or the id of a one-task file)");
    sub->add_option("--solutions", o->solutions, "ARC: solutions file, to show and verify the expected outputs");
    sub->add_option("--adapt-steps", o->adapt_steps, "ARC: test-time adaptation steps per unseen task (0 = off)")
        ->capture_default_str();
    sub->add_option("--num-aug", o->num_aug, "ARC: augmented copies per test input besides the original")
        ->capture_default_str();
    sub->add_option("--seed", o->seed, "ARC: seed of the augmentations of unseen tasks")->capture_default_str();
    sub->add_option("--submission", o->submission, "ARC: write the Kaggle submission JSON here");
    sub->footer(
        "Examples:\n"
        "  trm solve examples/sudoku_easy.txt                 detect the domain, solve each puzzle in input order\n"
        "  trm solve sudoku --quiet < in.txt > out.txt        answers only, in the input's format\n"
        "  trm solve maze examples/maze_small.txt --format json   JSON lines, one result per maze\n"
        "  trm solve arc datasets/arc/arc-agi_training_challenges.json.gz --task 6150a2bd \\\n"
        "      --solutions datasets/arc/arc-agi_training_solutions.json.gz --submission sub.json\n"
        "  trm solve sudoku examples/sudoku_grid.txt --trace steps --halt never --html trace.html\n"
        "  trm solve sudoku hardest.txt --views 32             re-solve unverified answers through up to 31 views\n" +
        std::string(kExitCodesHelp));
    sub->callback([o] { validate(*o); });
    set_action(sub, [o] { return run_solve(*o); });
}

}  // namespace trm::cli
