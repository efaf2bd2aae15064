#include "puzzles/sudoku_domain.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "puzzles/eval.hpp"
#include "puzzles/present.hpp"
#include "puzzles/sudoku_solver.hpp"

namespace trm {

namespace {

DraftGrid sudoku_draft(const SudokuGrid& g) {
    DraftGrid d;
    d.rows = d.cols = 9;
    d.cells.assign(g.begin(), g.end());
    return d;
}

// "2 clashes remain", "3 blank cells", "1 given changed": the short reason a rejected answer gives.
std::string sudoku_critique(const SudokuVerdict& v) {
    std::vector<std::string> p;
    if (!v.clashes.empty()) p.push_back(plural(int(v.clashes.size()), "clash remains", "clashes remain"));
    if (v.blank_cells > 0) p.push_back(plural(v.blank_cells, "blank cell", "blank cells"));
    if (v.changed_givens > 0) p.push_back(plural(v.changed_givens, "given changed", "givens changed"));
    if (p.empty()) return "solved";
    std::string s = p[0];
    for (size_t i = 1; i < p.size(); i++) s += ", " + p[i];
    return s;
}

}  // namespace

std::vector<SudokuSolveResult> solve_sudoku_batch(Forward& fwd, std::vector<SudokuPuzzle> puzzles, size_t first_index,
                                                  const SolveOptions& opt) {
    const int B = int(puzzles.size());
    if (B == 0) return {};
    TRM_CHECK(fwd.model->cfg().seq_len == kSudokuCells);
    std::vector<SudokuSolveResult> out(static_cast<size_t>(B));
    std::vector<SolveOutcome*> outs(static_cast<size_t>(B));
    // a puzzle with no solution gets one view: no other could verify either
    std::vector<int> budget(static_cast<size_t>(B), opt.views);
    for (int b = 0; b < B; b++) {
        auto& r = out[size_t(b)];
        r.input = sudoku_draft(puzzles[size_t(b)].cells);
        r.diagnosis = sudoku_diagnosis(puzzles[size_t(b)].cells);
        if (r.diagnosis == "has no solution") budget[size_t(b)] = 1;
        outs[size_t(b)] = &r;
    }
    // per row: its views and their inverses, drawn when first needed (view 1, the identity, costs no draw)
    std::vector<std::vector<SudokuTransform>> views(static_cast<size_t>(B)), inverses(static_cast<size_t>(B));
    auto view = [&](int row, int v) -> const SudokuTransform& {
        auto& vs = views[size_t(row)];
        if (int(vs.size()) <= v) {
            vs = sudoku_views(puzzles[size_t(row)].cells, v == 0 ? 1 : opt.views);
            inverses[size_t(row)].clear();
            for (auto& t : vs) inverses[size_t(row)].push_back(invert_sudoku_transform(t));
        }
        return vs[size_t(v)];
    };
    auto answer = [&](int row, int v, const int32_t* tok) {  // the view's answer in the puzzle's own frame
        return apply_sudoku_transform(inverses[size_t(row)][size_t(v)],
                                      sudoku_decode(std::span<const int32_t>(tok, kSudokuCells)));
    };
    ViewHooks hooks;
    hooks.encode = [&](int row, int v, std::vector<int32_t>& tokens) {
        auto t = sudoku_encode(apply_sudoku_transform(view(row, v), puzzles[size_t(row)].cells));
        tokens.insert(tokens.end(), t.begin(), t.end());
    };
    hooks.check = [&](int row, int v, const int32_t* tok, DraftGrid& draft, bool& ok, std::string& chk,
                      std::string* critique) {
        SudokuGrid g = answer(row, v, tok);
        SudokuVerdict vd = verify_sudoku(puzzles[size_t(row)], g);
        draft = sudoku_draft(g);
        ok = vd.solved;
        chk = vd.summary();
        if (critique) *critique = sudoku_critique(vd);
    };
    hooks.name = [&](int row, int v) { return describe_sudoku_transform(view(row, v)); };
    auto answers = solve_through_views(fwd, opt, outs, budget, first_index, hooks);
    for (int b = 0; b < B; b++) {
        auto& r = out[size_t(b)];
        r.grid = answer(b, answers[size_t(b)].view, answers[size_t(b)].tokens.data());
        r.puzzle = std::move(puzzles[size_t(b)]);
        r.where = r.puzzle.where;
        r.verdict = verify_sudoku(r.puzzle, r.grid);
        r.verified = r.verdict.solved;
        r.check = r.verdict.summary();
        r.answer = sudoku_draft(r.grid);
    }
    return out;
}

namespace {

// Exact answers and the accuracy over the blank cells (the givens are no achievement).
class SudokuTally final : public TallyOf<SudokuSolveResult> {
public:
    using TallyOf::TallyOf;

private:
    bool score_result(const SudokuSolveResult& r) override {
        const SudokuGrid& sol = *r.puzzle.solution;
        const bool ok = r.grid == sol;
        int right = 0, blank = 0;
        for (int i = 0; i < kSudokuCells; i++) {
            if (r.puzzle.cells[size_t(i)] != 0) continue;
            blank++;
            right += r.grid[size_t(i)] == sol[size_t(i)];
        }
        exact_ += ok;
        cells_ += blank ? right / double(blank) : 1.0;
        return ok;
    }
    void metric_lines(std::vector<std::string>& l) const override {
        l.push_back(fmt::format("  exact accuracy  {:>6}  ({}, {}/{})", eval_percent(double(exact_) / double(n_)),
                                eval_ci(wilson95(exact_, n_)), exact_, n_));
        l.push_back(fmt::format("  cell accuracy   {:>6}  (the blank cells)", eval_percent(cells_ / double(n_))));
    }
    void metric_json(Json& j) const override {
        const Interval iv = wilson95(exact_, n_);
        j["exact"] = exact_;
        j["exact_accuracy"] = double(exact_) / double(n_);
        j["exact_ci95"] = {iv.lo, iv.hi};
        j["cell_accuracy"] = cells_ / double(n_);
    }
    const char* right_means() const override { return "exactly right"; }
    const char* views_measure() const override { return "exact accuracy"; }
    int64_t exact_ = 0;
    double cells_ = 0;
};

class SudokuDomain final : public PuzzleDomain<SudokuPuzzle, SudokuReader, SudokuSolveResult, solve_sudoku_batch> {
public:
    SudokuDomain()
        : PuzzleDomain(DomainInfo{.name = "sudoku", .title = "Sudoku", .kinds = "Sudoku", .noun = "puzzle",
                                  .nouns = "puzzles", .grid_style = "sudoku", .default_grid = 9,
                                  .checks_rules = true, .has_views = true, .has_tasks = false}) {}

    void configure_model(Config& c, int) const override {
        c.seq_len = kSudokuCells;
        c.vocab_size = kSudokuVocab;
        c.token_map = sudoku_token_map();
    }
    std::string model_mismatch(const Config& c) const override {
        if (c.seq_len == kSudokuCells && c.vocab_size == kSudokuVocab) return "";
        return fmt::format("model has seq_len {} and vocab_size {}; a Sudoku model has {} and {}", c.seq_len,
                           c.vocab_size, kSudokuCells, kSudokuVocab);
    }
    std::string model_summary(const Config& c) const override {
        return fmt::format("The loaded model takes 9x9 Sudoku; at most {} supervision steps by default.",
                           max_steps_for(0, HaltMode::Verified, c));
    }

    int detect(std::string_view) const override { return 1; }  // what is not a maze or JSON is read as Sudoku
    Item parse_arguments(const Json& a) const override {
        return parse_one_sudoku(a["puzzle"].get_ref<const std::string&>(), "puzzle");
    }
    void label(Item& item) const override {
        auto& p = std::any_cast<SudokuPuzzle&>(item);
        if (p.solution) return;
        SudokuGrid sol;
        if (solve_sudoku(p.cells, &sol, 1) == 0) fail("{}: puzzle has no solution", p.where);
        p.solution = sol;
    }

    Json draft_json(const DraftGrid& g) const override {
        std::string s;
        for (auto v : g.cells) s += v >= 1 && v <= 9 ? char('0' + v) : '.';
        return s;
    }
    // The answer written as the input wrote the puzzle: an 81-character line, a 9x9 grid, or a CSV row.
    std::string answer_text(const SolveOutcome& o, bool* csv_header_done) const override {
        const auto& r = as(o);
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
    Json result_json(const SolveOutcome& o) const override {
        const auto& r = as(o);
        Json j{{"answer", draft_json(r.answer)}};
        if (r.puzzle.solution) j["solution"] = sudoku_to_line(*r.puzzle.solution);
        return j;
    }
    ListingLine listing(const SolveOutcome& o) const override {
        const auto& r = as(o);
        return {sudoku_to_line(r.grid), r.verified ? "solved" : "unsolved: " + short_check(r.check, 60)};
    }

    std::optional<AnswerCheck> verify_answer(std::string_view puzzle, std::string_view answer) const override {
        const SudokuPuzzle p = parse_one_sudoku(puzzle, "puzzle");
        const SudokuVerdict v = verify_sudoku(p, parse_sudoku_answer(answer, "answer"));
        Json clashes = Json::array();
        for (const auto& c : v.clashes) clashes.push_back(c.text());
        return AnswerCheck{v.solved, v.summary(),
                           Json{{"blank_cells", v.blank_cells}, {"changed_givens", v.changed_givens},
                                {"clashes", clashes}}};
    }
    std::string answer_help() const override { return "Sudoku: 81 digits (a line or a 9x9 grid)."; }
    Json answer_fields_schema() const override {
        return Json{
            {"blank_cells", {{"type", "integer"}, {"description", "Sudoku: blank answer cells."}}},
            {"changed_givens", {{"type", "integer"}, {"description", "Sudoku: givens the answer does not keep."}}},
            {"clashes",
             {{"type", "array"}, {"items", {{"type", "string"}}}, {"description", "Sudoku: e.g. 'row 4: two 7s'."}}}};
    }

    ToolSpec mcp_tool() const override {
        ToolSpec t;
        t.name = "solve_sudoku";
        t.title = "Solve a Sudoku";
        t.description =
            "Solves a 9x9 Sudoku with trm's Tiny Recursive Model and checks the answer against the rules. Returns the "
            "answer, whether it verified (complete, givens kept, no clash), the supervision steps used, the model's "
            "halting confidence and a per-step trace. Only a verified answer is a solution.";
        t.input_properties = Json{
            {"puzzle",
             {{"type", "string"},
              {"minLength", 81},
              {"maxLength", 4096},
              {"description", "The puzzle: 81 cells in reading order on one line (digits 1-9, '.' or 0 for "
                              "blanks, e.g. '53..7....6..195...'), or a 9x9 grid text with one row per line "
                              "('|', '-', '+' and spaces are ignored)."}}}};
        t.input_required = Json{"puzzle"};
        Json props{{"answer", {{"type", "string"}, {"description", "81 cells in reading order, '.' where blank."}}},
                   {"verified", {{"type", "boolean"}, {"description", "Complete, keeps the givens, no clash."}}},
                   {"check", {{"type", "string"}, {"description", "'solved' or the clashes and blanks."}}}};
        Json required{"answer", "verified", "check"};
        add_run_outputs(props, required);
        add_view_outputs(props, required);
        t.output_schema = Json{{"type", "object"}, {"properties", props}, {"required", required}};
        return t;
    }
    ToolReply reply(const SudokuSolveResult& r, const ReplyOptions& o) const override {
        Json out{{"answer", sudoku_to_line(r.grid)}, {"verified", r.verified}, {"check", r.check}};
        const std::string run = run_fields(out, r, *this, o);
        std::string text = r.verified ? fmt::format("Sudoku solved and verified after {}.\n", run)
                                      : fmt::format("Sudoku NOT solved: the answer after {} fails the check: {}.\n{}\n",
                                                    run, short_check(r.check, 300), kNotSolvedNote);
        text += "answer: " + sudoku_to_line(r.grid) + "\n" + sudoku_to_grid_text(r.grid);
        if (o.trace != TraceDetail::Off) text += trace_text(r);
        return {std::move(out), std::move(text)};
    }

    std::unique_ptr<EvalTally> eval_tally(const EvalSetup& s) const override {
        return std::make_unique<SudokuTally>(s);
    }
};

}  // namespace

const Domain& sudoku_domain() {
    static const SudokuDomain d;
    return d;
}

}  // namespace trm
