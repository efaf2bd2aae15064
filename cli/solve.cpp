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
#include <cmath>
#include <fmt/core.h>
#include <limits>
#include <nlohmann/json.hpp>
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
#include "puzzles/arc_vote.hpp"
#include "puzzles/arc_adapt.hpp"
#include "puzzles/solve.hpp"

namespace trm::cli {

using json = nlohmann::ordered_json;

namespace {

struct SolveCliOptions {
    std::string arg0, arg1;  // [DOMAIN] [FILE|-]: one argument is a domain name or a file
    std::string model, trace = "auto", halt = "auto", color = "auto", format = "text", html;
    std::string task, solutions, submission;
    int max_steps = 0, batch = 64, num_aug = 8, threads = 0, adapt_steps = 100;
    int views = -1;  // -1 (not given): kDefaultViews for Sudoku and mazes; ARC refuses any given value
    float halt_threshold = std::numeric_limits<float>::quiet_NaN();  // NaN: the model's
    uint64_t seed = 0;
    bool quiet = false;
    bool force = false;  // --html / --submission may replace an existing file
    // resolved by validate()
    std::optional<DomainKind> domain;
    std::string file = "-";
};

// Usage checks run while parsing, so that their errors exit with kExitUsage.
void validate(SolveCliOptions& o) {
    o.domain.reset();
    o.file = "-";
    DomainKind d;
    if (!o.arg1.empty()) {
        if (!domain_from_name(o.arg0, &d))
            throw CLI::ValidationError("DOMAIN", fmt::format("unknown domain '{}' (sudoku, maze, arc)", o.arg0));
        o.domain = d;
        o.file = o.arg1;
    } else if (!o.arg0.empty()) {
        if (domain_from_name(o.arg0, &d)) o.domain = d;
        else o.file = o.arg0;
    }
    if (o.max_steps < 0) throw CLI::ValidationError("--max-steps", "must be 0 (the model's) or more");
    if (o.batch < 1 || o.batch > 4096) throw CLI::ValidationError("--batch", "must be in 1..4096");
    if (o.num_aug < 0 || o.num_aug > 1000) throw CLI::ValidationError("--num-aug", "must be in 0..1000");
    if (o.views != -1 && (o.views < 1 || o.views > kMaxViews))
        throw CLI::ValidationError("--views", fmt::format("must be in 1..{}", kMaxViews));
    if (o.quiet && o.format == "json") throw CLI::ValidationError("--quiet", "cannot be combined with --format json");
}

// ---- JSON forms of answers ------------------------------------------------------------------------------------

json draft_json(DomainKind d, const DraftGrid& g) {
    switch (d) {
        case DomainKind::Sudoku: {
            std::string s;
            for (auto v : g.cells) s += v >= 1 && v <= 9 ? char('0' + v) : '.';
            return s;
        }
        case DomainKind::Maze: {
            json rows = json::array();
            for (int r = 0; r < g.rows; r++)
                rows.push_back(std::string(g.cells.begin() + r * g.cols, g.cells.begin() + (r + 1) * g.cols));
            return rows;
        }
        case DomainKind::Arc: {
            json rows = json::array();
            for (int r = 0; r < g.rows; r++)
                rows.push_back(std::vector<int>(g.cells.begin() + r * g.cols, g.cells.begin() + (r + 1) * g.cols));
            return rows;
        }
    }
    return nullptr;
}

json arc_grid_to_json(const ArcGrid& g) {
    DraftGrid d{g.rows, g.cols, g.cells};
    return draft_json(DomainKind::Arc, d);
}

// The answer drawn as the input drew its maze (open cells ' ' or '.').
std::string maze_answer_text(const MazeSolveResult& r) {
    std::string s;
    for (int i = 0; i < r.maze.rows; i++) {
        for (int j = 0; j < r.maze.cols; j++) {
            const char c = r.path[size_t(i) * r.maze.cols + j];
            s += c == ' ' ? r.maze.open : c;
        }
        s += '\n';
    }
    return s;
}

// The answer written as the input wrote the puzzle: an 81-character line, a 9x9 grid, or a CSV row.
std::string sudoku_answer_text(const SudokuSolveResult& r, bool* csv_header_done) {
    const std::string line = sudoku_to_line(r.grid);
    switch (r.puzzle.form) {
        case SudokuPuzzle::Form::Line: return line + "\n";
        case SudokuPuzzle::Form::Grid: {
            std::string s;
            for (int i = 0; i < 9; i++) s += line.substr(size_t(i) * 9, 9) + "\n";
            return s + "\n";
        }
        case SudokuPuzzle::Form::Csv: {
            std::string s = *csv_header_done ? "" : "question,answer\n";
            *csv_header_done = true;
            return s + sudoku_to_line(r.puzzle.cells) + "," + line + "\n";
        }
    }
    return line + "\n";
}

// A long check summary ("row 1: two 3s; row 2: ...") cut at a "; " boundary to fit `max` characters.
std::string short_check(const std::string& s, size_t max = 96) {
    if (s.size() <= max) return s;
    size_t parts = 1, cut = 0, shown = 0;
    for (size_t i = s.find("; "); i != std::string::npos; i = s.find("; ", i + 2)) parts++;
    for (size_t i = s.find("; "); i != std::string::npos && i <= max; i = s.find("; ", i + 2)) { cut = i; shown++; }
    if (cut == 0) return s.substr(0, max) + "...";
    return fmt::format("{}; ... ({} more)", s.substr(0, cut), parts - shown);
}

std::string steps_text(int n) { return fmt::format("{} step{}", n, n == 1 ? "" : "s"); }

std::string pct(float q_halt) { return fmt::format("{:.1f}%", 100.0 * sigmoid(q_halt)); }

// ---- the report -----------------------------------------------------------------------------------------------

class Reporter {
public:
    Reporter(DomainKind d, const SolveCliOptions& o) : d_(d), o_(o) {
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
    TraceMode record_mode() const { return record_; }

    // Before a puzzle's answer: what the exact checks said of its input (no solution, several, no path).
    void diagnosis(const SolveOutcome& r) {
        if (r.diagnosis.empty() || json_) return;
        std::fflush(stdout);
        fmt::print(stderr, "note: {} {} ({}) {}; the model's answer is shown all the same\n", noun(1), r.index + 1,
                   r.where, r.diagnosis);
    }

    void sudoku(const SudokuSolveResult& r) {
        count(r);
        diagnosis(r);
        if (o_.quiet) {
            fmt::print("{}", sudoku_answer_text(r, &csv_header_done_));
            quiet_unverified(r);
        } else if (json_) {
            json extra;
            if (r.puzzle.solution) extra["solution"] = sudoku_to_line(*r.puzzle.solution);
            json_result(r, draft_json(d_, r.answer), extra);
        } else if (!single_ && print_trace_ == TraceMode::Off) {
            fmt::print("{}", tidy(fmt::format("{:>6}  {}  {} {}  {}  halt {}{}\n", r.index + 1, sudoku_to_line(r.grid),
                       verdict_mark(r.verified, style_),
                       r.verified ? "solved" : "unsolved: " + short_check(r.check, 60),
                       steps_text(r.steps), pct(r.q_halt), views_text(r))));
        } else {
            pretty(r, {});
        }
        keep_html(r, fmt::format("puzzle {} · {}", r.index + 1, r.where), {});
    }

    void maze(const MazeSolveResult& r) {
        count(r);
        diagnosis(r);
        if (o_.quiet) {
            fmt::print("{}\n", maze_answer_text(r));
            quiet_unverified(r);
        } else if (json_) {
            json extra{{"path_cells", r.verdict.path_cells}, {"shortest_cells", r.verdict.shortest_cells},
                       {"verdict", maze_verdict_name(r.verdict.verdict)}};
            json_result(r, draft_json(d_, r.answer), extra);
        } else if (!single_ && print_trace_ == TraceMode::Off) {
            fmt::print("{}", tidy(fmt::format("{:>6}  {}  {} {}  {}  halt {}{}\n", r.index + 1, r.where,
                                              verdict_mark(r.verified, style_), short_check(r.check, 70),
                                              steps_text(r.steps), pct(r.q_halt), views_text(r))));
        } else {
            pretty(r, {});
        }
        keep_html(r, fmt::format("maze {} · {}", r.index + 1, r.where), {});
    }

    void arc(const ArcSolveResult& r) {
        count(r);
        if (!r.known_task && r.test_index == 0 && !json_)
            fmt::print(stderr, "note: task {} not seen in training: solving with puzzle identifier 0 "
                               "(no test-time adaptation)\n", r.task_id);
        if (!o_.submission.empty()) submission_[r.task_id].push_back(r.attempts);
        std::vector<std::pair<std::string, ArcGrid>> grids{{"input", r.test_input}};
        for (size_t i = 0; i < r.attempts.size(); i++)
            grids.push_back({fmt::format("attempt {} ({}/{})", i + 1, r.attempt_votes[i], r.copies), r.attempts[i]});
        if (r.expected) grids.push_back({"expected", *r.expected});
        if (o_.quiet) {
            ArcGrid a1 = r.attempts.empty() ? make_arc_grid({{0}}) : r.attempts[0];
            ArcGrid a2 = r.attempts.size() > 1 ? r.attempts[1] : a1;
            json line{{"task", r.task_id}, {"test", r.test_index}, {"attempt_1", arc_grid_to_json(a1)},
                      {"attempt_2", arc_grid_to_json(a2)}};
            fmt::print("{}\n", line.dump());
        } else if (json_) {
            json attempts = json::array();
            for (auto& a : r.attempts) attempts.push_back(arc_grid_to_json(a));
            json extra{{"task", r.task_id}, {"test", r.test_index}, {"votes", r.attempt_votes}, {"copies", r.copies},
                       {"known_task", r.known_task}};
            if (r.expected) {
                extra["expected"] = arc_grid_to_json(*r.expected);
                extra["pass_at_1"] = r.pass_at_1;
                extra["pass_at_2"] = r.pass_at_2;
            }
            json_result(r, attempts, extra);
        } else if (!single_ && print_trace_ == TraceMode::Off) {
            fmt::print("{}", tidy(fmt::format("{:>6}  {}  {} {}  {}  halt {}\n", r.index + 1, r.where,
                                              verdict_mark(r.verified, style_), short_check(r.check, 70),
                                              steps_text(r.steps), pct(r.q_halt))));
        } else {
            pretty(r, render_grids(grids, style_.color));
        }
        std::vector<std::pair<std::string, DraftGrid>> extra;
        for (size_t i = 1; i < grids.size(); i++) {
            const auto& [title, g] = grids[i];
            if (title.rfind("attempt 1", 0) != 0) extra.push_back({title, DraftGrid{g.rows, g.cols, g.cells}});
        }
        keep_html(r, fmt::format("task {} · test {}", r.task_id, r.test_index), extra);
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
        if (!o_.submission.empty()) {
            write_arc_submission(o_.submission, submission_, 2);
            fmt::print(stderr, "wrote {} ({} task{})\n", o_.submission, submission_.size(),
                       submission_.size() == 1 ? "" : "s");
        }
        if (errors_ > 0) {
            fmt::print(stderr, "{} {} could not be read (see the error lines); the other {} {} solved\n", errors_,
                       noun(errors_), n_, n_ == 1 ? "was" : "were");
            return kExitError;
        }
        return bad ? kExitUnverified : kExitOk;
    }

private:
    std::string noun(int n) const {
        const char* s = d_ == DomainKind::Maze ? "maze" : d_ == DomainKind::Arc ? "test input" : "puzzle";
        return n == 1 ? std::string(s) : std::string(s) + "s";
    }

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

    void keep_html(const SolveOutcome& r, std::string title, std::vector<std::pair<std::string, DraftGrid>> extra) {
        if (o_.html.empty() || html_.size() >= kHtmlMaxPuzzles) return;
        html_.push_back(HtmlPuzzle{std::move(title), r, std::move(extra)});
    }

    void json_result(const SolveOutcome& r, json answer, const json& extra) {
        for (const auto& t : r.trace) {
            json s{{"type", "step"}, {"index", r.index}, {"view", t.view}, {"step", t.step}};
            if (t.cycle >= 0) s["cycle"] = t.cycle;
            s["draft"] = draft_json(d_, t.draft);
            s["halt_prob"] = sigmoid(t.q_halt);
            s["model_halts"] = t.model_halts;
            s["stopped"] = t.stopped;
            s["changed"] = t.changed;
            s["verified"] = t.verified;
            s["check"] = t.check;
            fmt::print("{}\n", s.dump(-1, ' ', false, json::error_handler_t::replace));
        }
        json o{{"type", "result"}, {"index", r.index}, {"where", r.where}, {"domain", domain_name(d_)},
               {"answer", std::move(answer)}, {"verified", r.verified}, {"check", r.check}, {"steps", r.steps},
               {"halt_prob", sigmoid(r.q_halt)}, {"seconds", r.seconds}};
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
        for (auto& [k, v] : extra.items()) o[k] = v;
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
        const std::string head = d_ == DomainKind::Arc ? r.where : fmt::format("puzzle {} · {}", r.index + 1, r.where);
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
                        r.verified ? (d_ == DomainKind::Arc || r.check == "solved" ? r.check : "solved: " + r.check)
                                   : "unsolved: " + short_check(r.check))};
        if (!final_grids.empty()) {
            print_lines(split_lines(final_grids));
            print_lines(right);
        } else {
            print_lines(side_by_side(render_draft(d_, r.answer, r.input, nullptr, style_), right, 3, columns_));
        }
        fmt::print("\n");
    }

    DomainKind d_;
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
    ArcAttempts submission_;
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

SolveOptions solve_options(const SolveCliOptions& o, TraceMode record) {
    SolveOptions so;
    so.max_steps = o.max_steps;
    halt_mode_from_name(o.halt, &so.halt);
    so.trace = record;
    so.batch = o.batch;
    so.views = o.views > 0 ? o.views : kDefaultViews;
    if (!std::isnan(o.halt_threshold)) so.halt_threshold = o.halt_threshold;
    return so;
}

using Clock = std::chrono::steady_clock;

// Sudoku and mazes: read a batch, solve it, report it, repeat.
template <typename Item, typename Reader, typename SolveBatch, typename Report>
int solve_stream(DomainKind d, const SolveCliOptions& o, Reader& reader, const std::string& input_name,
                 SolveBatch solve_batch, Report report) {
    const auto t0 = Clock::now();
    Ahead<Item, Reader> in(reader);
    std::vector<Item> batch;
    std::vector<size_t> position;                            // each batch item's position in the input
    std::vector<std::pair<size_t, std::string>> bad;         // puzzles the reader refused, reported in order
    size_t read = 0;
    auto fill_batch = [&] {
        batch.clear();
        position.clear();
        while (int(batch.size()) < o.batch) {
            Item x;
            std::string message;
            const auto got = in.next(x, &message);
            if (got == Ahead<Item, Reader>::End) break;
            if (got == Ahead<Item, Reader>::Bad) {
                bad.push_back({read++, std::move(message)});
                continue;
            }
            batch.push_back(std::move(x));
            position.push_back(read++);
        }
    };
    fill_batch();
    const char* noun = d == DomainKind::Maze ? "maze" : "puzzle";
    if (batch.empty() && bad.empty()) fail("{}: no {} found", input_name, noun);
    if (batch.empty() && bad.size() == 1) throw Error(bad[0].second);  // the one puzzle there is: a plain error
    const bool single = batch.size() == 1 && bad.empty() && in.at_end();
    const std::string path = resolve_model_path(o.model, d);
    Model model = load_domain_model(path, d);
    Reporter rep(d, o);
    rep.begin(single, o.max_steps > 0 ? o.max_steps : model.cfg().halt_max_steps, path, model.cfg().halt_threshold);
    const SolveOptions so = solve_options(o, rep.record_mode());
    Forward fwd(model, std::max(1, int(batch.size())));  // the first batch is full unless the input is smaller
    // a sign of life for long batches whose answers do not scroll by on the same terminal
    std::optional<Progress> progress;
    if (!isatty(STDOUT_FILENO)) progress.emplace("solving", fmt::format("{}s", noun));
    size_t index = 0;
    while (!batch.empty() || !bad.empty()) {
        const size_t n = batch.size();
        size_t next_bad = 0;
        auto errors_before = [&](size_t pos) {  // refused puzzles come out in input order among the answers
            for (; next_bad < bad.size() && bad[next_bad].first < pos; next_bad++)
                rep.error(bad[next_bad].first, bad[next_bad].second);
        };
        if (n > 0) {
            for (auto& r : solve_batch(fwd, std::move(batch), index, so)) {
                r.index = position[r.index - index];
                errors_before(r.index);
                report(rep, r);
            }
        }
        errors_before(std::numeric_limits<size_t>::max());
        bad.clear();
        index += n;
        if (progress) progress->update(int64_t(index));
        fill_batch();
    }
    if (progress) progress->done();
    std::fflush(stdout);
    return rep.finish(std::chrono::duration<double>(Clock::now() - t0).count());
}

int solve_arc_input(const SolveCliOptions& o, PuzzleInput& input) {
    const auto t0 = Clock::now();
    const std::string text = input.read_all(kMaxArcFileBytes);
    std::vector<ArcTask> tasks = parse_arc_tasks(text, input.name(), o.task);
    if (!o.solutions.empty()) apply_arc_solutions(tasks, read_file_text(o.solutions, kMaxArcFileBytes), o.solutions);
    if (tasks.empty()) fail("{}: no ARC task found", input.name());
    const std::string path = resolve_model_path(o.model, DomainKind::Arc);
    Model model = load_domain_model(path, DomainKind::Arc);
    if (o.adapt_steps > 0 && model.cfg().puzzle_emb_ndim > 0) {  // test-time adaptation for unseen tasks
        ArcAdaptOptions ad;
        ad.num_aug = o.num_aug;
        ad.steps = o.adapt_steps;
        ad.seed = o.seed;
        std::vector<ArcAdaptReport> adapted;
        Progress adapting("test-time adaptation", "steps");
        ad.on_step = [&](int done, int) { adapting.update(done); };
        model = adapt_arc_tasks(model, tasks, ad, &adapted);
        adapting.done();
        for (auto& a : adapted)
            fmt::print(stderr, "adapted unseen task {}: {} puzzle-embedding rows fitted on {} demonstrations, loss {:.3f}\n",
                       a.task_id, a.rows, a.demos, a.final_loss);
    }
    Reporter rep(DomainKind::Arc, o);
    rep.begin(tasks.size() == 1 && tasks[0].test.size() == 1,
              o.max_steps > 0 ? o.max_steps : model.cfg().halt_max_steps, path, model.cfg().halt_threshold);
    size_t rows = 0;
    for (const auto& t : tasks) rows += t.test.size() * size_t(o.num_aug + 1);
    Forward fwd(model, int(std::min(rows, size_t(o.batch))));
    ArcSolveOptions ao;
    ao.num_aug = o.num_aug;
    ao.seed = o.seed;
    solve_arc_tasks(fwd, tasks, solve_options(o, rep.record_mode()), ao, [&](ArcSolveResult& r) { rep.arc(r); });
    std::fflush(stdout);
    return rep.finish(std::chrono::duration<double>(Clock::now() - t0).count());
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
    DomainKind d;
    if (o.domain) {
        d = *o.domain;
    } else {
        if (!detect_domain(input.peek(), &d)) fail("{}: empty input, nothing to solve", input.name());
        fmt::print(stderr, "detected: {}\n", domain_name(d));
    }
    // auto: stop at the first draft the domain's checker accepts where there is one (Sudoku, mazes: the rules, not
    // the solution), else when the halting head says so (ARC)
    if (o.halt == "auto") o.halt = d == DomainKind::Arc ? "model" : "verified";
    if (d != DomainKind::Arc && (!o.task.empty() || !o.solutions.empty() || !o.submission.empty()))
        fail("--task, --solutions and --submission are for ARC tasks, not {} puzzles", domain_name(d));
    if (d == DomainKind::Arc && o.views != -1)
        fail("--views is for Sudoku and mazes; ARC votes over --num-aug augmented copies instead");
    switch (d) {
        case DomainKind::Sudoku: {
            SudokuReader reader(input.stream(), input.name());
            return solve_stream<SudokuPuzzle>(d, o, reader, input.name(), solve_sudoku_batch,
                                              [](Reporter& rep, const SudokuSolveResult& r) { rep.sudoku(r); });
        }
        case DomainKind::Maze: {
            MazeReader reader(input.stream(), input.name());
            return solve_stream<Maze>(d, o, reader, input.name(), solve_maze_batch,
                                      [](Reporter& rep, const MazeSolveResult& r) { rep.maze(r); });
        }
        case DomainKind::Arc: return solve_arc_input(o, input);
    }
    return kExitError;
}

}  // namespace

void register_solve(CLI::App& app) {
    auto o = std::make_shared<SolveCliOptions>();
    auto* sub = app.add_subcommand("solve", "Solve puzzles with a model, showing draft, critique and refine per step");
    add_compute_options(sub);
    sub->add_option("DOMAIN", o->arg0, "sudoku | maze | arc (detected from the input when left out)")->type_name("");
    sub->add_option("FILE", o->arg1, "puzzle file, or '-' for stdin (the default)")->type_name("");
    sub->add_option("-m,--model", o->model, "model file (default: models/<domain>.safetensors)");
    sub->add_option("--trace", o->trace, "per-step trace: auto (steps for a single puzzle on a terminal or with "
                                         "--format json, else off) | off | steps | cycles (also every H cycle)")
        ->check(CLI::IsMember({"auto", "off", "steps", "cycles"}))->capture_default_str();
    sub->add_option("--max-steps", o->max_steps, "supervision steps at most (0 = the model's halt_max_steps)")
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
