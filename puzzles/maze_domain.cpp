#include "puzzles/maze_domain.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/weights.hpp"
#include "puzzles/eval.hpp"
#include "puzzles/grid_transform.hpp"
#include "puzzles/present.hpp"

namespace trm {

namespace {

DraftGrid chars_draft(int rows, int cols, const std::vector<char>& cells) {
    DraftGrid d;
    d.rows = rows;
    d.cols = cols;
    d.cells.assign(cells.begin(), cells.end());
    return d;
}

}  // namespace

std::vector<MazeSolveResult> solve_maze_batch(Forward& fwd, std::vector<Maze> mazes, size_t first_index,
                                              const SolveOptions& opt) {
    const int B = int(mazes.size());
    if (B == 0) return {};
    const int side = model_grid_side(fwd.model->cfg());
    // A network whose weights fit any grid (rope2d) takes a larger maze on a canvas of the largest maze's side:
    // the smallest that fits, since a wider wall margin than the model trained with costs time and accuracy.
    if (weights_fit_any_grid(fwd.model->cfg())) {
        int need = 0;
        for (const Maze& m : mazes) {
            const int frame = maze_has_frame(m) ? 2 : 0;
            need = std::max({need, m.rows - frame, m.cols - frame});
        }
        need = std::min(need, kMazeMaxGrid);  // a larger maze is refused by the encoder, naming this canvas
        if (need > side) {
            const Model grown = model_on_grid(*fwd.model, need);
            Forward on_canvas(grown, fwd.max_batch);
            return solve_maze_batch(on_canvas, std::move(mazes), first_index, opt);
        }
    }
    const int S = side * side;
    std::vector<MazeSolveResult> out(static_cast<size_t>(B));
    std::vector<SolveOutcome*> outs(static_cast<size_t>(B));
    // what the model sees: the maze without its frame, if it has one (maze_has_frame), under the view's transform
    std::vector<Maze> seen(static_cast<size_t>(B));
    std::vector<std::vector<int>> views(static_cast<size_t>(B));
    std::vector<int> budget(static_cast<size_t>(B));
    for (int b = 0; b < B; b++) {
        const Maze& m = mazes[size_t(b)];
        auto& r = out[size_t(b)];
        seen[size_t(b)] = maze_has_frame(m) ? maze_without_frame(m) : m;
        views[size_t(b)] = maze_views(seen[size_t(b)], opt.views);
        budget[size_t(b)] = int(views[size_t(b)].size());
        if (maze_shortest_path(m).empty()) {  // no view could verify either
            r.diagnosis = "has no path from S to G";
            budget[size_t(b)] = 1;
        }
        r.input = chars_draft(m.rows, m.cols, m.cells);
        outs[size_t(b)] = &r;
    }
    // tokens of row b solved through view v -> the answer grid of the maze as given
    auto decode = [&](int b, int v, std::span<const int32_t> tok) {
        const Maze& m = mazes[size_t(b)];
        const int tid = views[size_t(b)][size_t(v)];
        const Maze& sm = seen[size_t(b)];
        std::vector<char> inner;
        if (tid == 0) {
            inner = decode_maze(tok, side, side, sm);
        } else {
            Maze tm = transform_maze(sm, tid);
            inner = inverse_dihedral_transform(decode_maze(tok, side, side, tm), tm.rows, tm.cols, tid);
        }
        return sm.rows == m.rows ? inner : cells_with_frame(inner, m);
    };
    ViewHooks hooks;
    hooks.encode = [&](int b, int v, std::vector<int32_t>& tokens) {
        const int tid = views[size_t(b)][size_t(v)];
        auto t = encode_maze(tid == 0 ? seen[size_t(b)] : transform_maze(seen[size_t(b)], tid), side, side);
        tokens.insert(tokens.end(), t.begin(), t.end());
    };
    hooks.check = [&](int row, int v, const int32_t* tok, DraftGrid& draft, bool& ok, std::string& chk,
                      std::string* critique) {
        const Maze& m = mazes[size_t(row)];
        auto path = decode(row, v, std::span<const int32_t>(tok, size_t(S)));
        MazeCheck mc = verify_maze(m, path);
        draft = chars_draft(m.rows, m.cols, path);
        ok = mc.verdict == MazeVerdict::Optimal;
        chk = describe(mc);
        if (critique) *critique = mc.verdict == MazeVerdict::Broken ? mc.detail : chk;
    };
    hooks.name = [&](int row, int v) { return std::string(dihedral_name(views[size_t(row)][size_t(v)])); };
    auto answers = solve_through_views(fwd, opt, outs, budget, first_index, hooks);
    for (int b = 0; b < B; b++) {
        auto& r = out[size_t(b)];
        r.path = decode(b, answers[size_t(b)].view, answers[size_t(b)].tokens);
        r.maze = std::move(mazes[size_t(b)]);
        r.where = r.maze.where;
        r.verdict = verify_maze(r.maze, r.path);
        r.verified = r.verdict.verdict == MazeVerdict::Optimal;
        r.check = describe(r.verdict);
        r.answer = chars_draft(r.maze.rows, r.maze.cols, r.path);
    }
    return out;
}

namespace {

// Optimal paths (the verdict), valid ones (optimal or longer) and exact matches with the reference path.
class MazeTally final : public TallyOf<MazeSolveResult> {
public:
    using TallyOf::TallyOf;

private:
    bool score_result(const MazeSolveResult& r) override {
        const bool ok = r.verdict.verdict == MazeVerdict::Optimal;
        optimal_ += ok;
        valid_ += r.verdict.verdict != MazeVerdict::Broken;
        match_ += !r.maze.answer.empty() && r.path == r.maze.answer;
        return ok;
    }
    void metric_lines(std::vector<std::string>& l) const override {
        const double n = double(n_);
        l.push_back(fmt::format("  optimal path    {:>6}  ({}, {}/{})", eval_percent(double(optimal_) / n),
                                eval_ci(wilson95(optimal_, n_)), optimal_, n_));
        l.push_back(fmt::format("  valid path      {:>6}  ({}; optimal or longer)", eval_percent(double(valid_) / n),
                                eval_ci(wilson95(valid_, n_))));
        l.push_back(fmt::format("  exact match     {:>6}  (same cells as the reference path)",
                                eval_percent(double(match_) / n)));
    }
    void metric_json(Json& j) const override {
        const Interval iv = wilson95(optimal_, n_), iv_valid = wilson95(valid_, n_);
        j["optimal"] = optimal_;
        j["optimal_rate"] = double(optimal_) / double(n_);
        j["optimal_ci95"] = {iv.lo, iv.hi};
        j["valid_rate"] = double(valid_) / double(n_);
        j["valid_ci95"] = {iv_valid.lo, iv_valid.hi};
        j["exact_match_rate"] = double(match_) / double(n_);
    }
    const char* right_means() const override { return "optimal"; }
    const char* views_measure() const override { return "optimal paths"; }
    int64_t optimal_ = 0, valid_ = 0, match_ = 0;
};

class MazeDomain final : public PuzzleDomain<Maze, MazeReader, MazeSolveResult, solve_maze_batch> {
public:
    MazeDomain()
        : PuzzleDomain(DomainInfo{.name = "maze", .title = "Maze", .kinds = "mazes", .noun = "maze",
                                  .nouns = "mazes", .grid_style = "maze", .default_grid = 15, .checks_rules = true,
                                  .has_views = true, .has_tasks = false}) {}

    void configure_model(Config& c, int grid) const override {
        if (grid < 5 || grid > kMazeMaxGrid) fail("maze grid side {}: maze models need 5..{}", grid, kMazeMaxGrid);
        c.seq_len = grid * grid;
        c.vocab_size = kMazeVocab;
        c.token_map = maze_token_map();
    }
    std::string model_mismatch(const Config& c) const override {
        if (c.vocab_size == kMazeVocab && square_side(c.seq_len) != 0) return "";
        return fmt::format("model has seq_len {} and vocab_size {}; a maze model has a square seq_len "
                           "(e.g. 900 = 30x30) and vocab_size {}", c.seq_len, c.vocab_size, kMazeVocab);
    }
    std::string model_summary(const Config& c) const override {
        const int n = model_grid_side(c);
        if (weights_fit_any_grid(c))
            return fmt::format("The loaded model trained on a {}x{} canvas; its weights fit any grid ({} positions), "
                               "so it also takes larger mazes, up to {}x{} cells ({}x{} drawn with a closed wall "
                               "frame); at most {} supervision steps by default.", n, n,
                               pos_encoding_name(c.pos_encodings), kMazeMaxGrid, kMazeMaxGrid, kMazeMaxGrid + 2,
                               kMazeMaxGrid + 2, max_steps_for(0, HaltMode::Verified, c));
        // solve_maze_batch strips a closed wall frame (puzzles/maze.hpp maze_has_frame): 2 more cells then
        return fmt::format("The loaded model takes mazes up to {}x{} cells ({}x{} drawn with a closed wall frame); "
                           "at most {} supervision steps by default.", n, n, n + 2, n + 2,
                           max_steps_for(0, HaltMode::Verified, c));
    }

    // The 9x9 model first: on the mazes it takes it is the better one (models/README.md); then the any-size one.
    std::vector<std::string> default_models() const override { return {"maze-small", "maze"}; }
    bool model_takes(const Config& c, const Item& x) const override {
        const auto& m = std::any_cast<const Maze&>(x);
        const int frame = maze_has_frame(m) ? 2 : 0;  // solve_maze_batch strips a closed wall frame
        const int limit = weights_fit_any_grid(c) ? kMazeMaxGrid : model_grid_side(c);
        return m.rows - frame <= limit && m.cols - frame <= limit;
    }

    // '#' walls in runs and one S and one G in the first 64 KiB
    int detect(std::string_view text) const override {
        bool has_s = false, has_g = false, has_wall_run = false;
        int run = 0;
        for (char c : text.substr(0, size_t(1) << 16)) {
            has_s = has_s || c == 'S';
            has_g = has_g || c == 'G';
            run = c == '#' ? run + 1 : 0;
            has_wall_run = has_wall_run || run >= 3;
        }
        return has_s && has_g && has_wall_run ? 2 : 0;
    }
    Item parse_arguments(const Json& a) const override { return parse_one_maze(text_arg(a["maze"], "maze"), "maze"); }
    void label(Item& item) const override {
        auto& m = std::any_cast<Maze&>(item);
        if (m.answer.empty()) m.answer = maze_solve(m);  // the reference path: the file's, else BFS
    }

    Json draft_json(const DraftGrid& g) const override { return grid_rows_json(g, CellJson::Chars); }
    // The answer drawn as the input drew its maze (open cells ' ' or '.'), a blank line after it.
    std::string answer_text(const SolveOutcome& o, bool*) const override {
        const auto& r = as(o);
        std::string s;
        for (int i = 0; i < r.maze.rows; i++) {
            for (int j = 0; j < r.maze.cols; j++) {
                const char c = r.path[size_t(i) * r.maze.cols + j];
                s += c == ' ' ? r.maze.open : c;
            }
            s += '\n';
        }
        return s + "\n";
    }
    Json result_json(const SolveOutcome& o) const override {
        const auto& r = as(o);
        return Json{{"answer", draft_json(r.answer)}, {"path_cells", r.verdict.path_cells},
                    {"shortest_cells", r.verdict.shortest_cells}, {"verdict", maze_verdict_name(r.verdict.verdict)}};
    }

    std::optional<AnswerCheck> verify_answer(std::string_view puzzle, std::string_view answer) const override {
        const Maze m = parse_one_maze(puzzle, "puzzle");
        std::string problem;
        const std::vector<char> cells = parse_maze_answer(answer, m, &problem);
        MazeCheck c;
        if (problem.empty()) c = verify_maze(m, cells);
        else c.detail = problem;
        return AnswerCheck{c.verdict == MazeVerdict::Optimal, describe(c),
                           Json{{"verdict", maze_verdict_name(c.verdict)}, {"path_cells", c.path_cells},
                                {"shortest_cells", problem.empty() ? c.shortest_cells
                                                                   : int(maze_shortest_path(m).size())}}};
    }
    std::string answer_help() const override {
        return "Maze: the maze with the path from S to G marked 'o', same size and rows as the puzzle.";
    }
    Json answer_fields_schema() const override {
        return Json{{"verdict", {{"type", "string"}, {"enum", {"optimal", "valid but longer", "broken"}}}},
                    {"path_cells", {{"type", "integer"}}},
                    {"shortest_cells", {{"type", "integer"}}}};
    }

    ToolSpec mcp_tool() const override {
        ToolSpec t;
        t.name = "solve_maze";
        t.title = "Find a shortest path through a maze";
        t.description =
            "Marks a path from S to G with 'o' using trm's maze model and checks that it is a shortest path. Returns "
            "the marked maze, whether it verified, the verdict (optimal / valid but longer / broken), the steps used, "
            "the halting confidence and a per-step trace.";
        Json maze = string_rows_schema();
        maze["description"] = "The maze: rows of '#' (wall), '.' or ' ' (open), one 'S' (start) and one 'G' (goal), "
                              "all the same width, as an array of row strings or one string with newlines. It must "
                              "fit the loaded model's grid (the tool description says which; 30x30 for the official "
                              "models). A maze drawn with a closed wall frame is solved without it, so it may be 2 "
                              "cells wider.";
        t.input_properties = Json{{"maze", maze}};
        t.input_required = Json{"maze"};
        Json props{{"answer", {{"type", "array"}, {"items", {{"type", "string"}}},
                               {"description", "The maze rows with the predicted path marked 'o'."}}},
                   {"verified", {{"type", "boolean"}, {"description", "The path is a shortest S-G path."}}},
                   {"verdict", {{"type", "string"}, {"enum", {"optimal", "valid but longer", "broken"}}}},
                   {"check", {{"type", "string"}}},
                   {"path_cells", {{"type", "integer"}, {"description", "Cells on the path, S and G included."}}},
                   {"shortest_cells", {{"type", "integer"}, {"description", "Shortest path length; 0 = unsolvable."}}}};
        Json required{"answer", "verified", "verdict", "check", "path_cells", "shortest_cells"};
        add_run_outputs(props, required);
        add_view_outputs(props, required);
        t.output_schema = Json{{"type", "object"}, {"properties", props}, {"required", required}};
        return t;
    }
    ToolReply reply(const MazeSolveResult& r, const ReplyOptions& o) const override {
        Json rows = draft_json(r.answer);
        Json out{{"answer", rows},
                 {"verified", r.verified},
                 {"verdict", maze_verdict_name(r.verdict.verdict)},
                 {"check", r.check},
                 {"path_cells", r.verdict.path_cells},
                 {"shortest_cells", r.verdict.shortest_cells}};
        const std::string run = run_fields(out, r, *this, o);
        std::string text = r.verified
                               ? fmt::format("Maze solved: a shortest path ({}), verified, after {}.\n", r.check, run)
                               : fmt::format("Maze NOT solved: the path after {} is {}.\n{}\n", run, r.check,
                                             kNotSolvedNote);
        text += "answer ('o' marks the path):\n";
        for (const auto& row : rows) text += row.get<std::string>() + "\n";
        if (o.trace != TraceDetail::Off) text += trace_text(r);
        return {std::move(out), std::move(text)};
    }

    std::unique_ptr<EvalTally> eval_tally(const EvalSetup& s) const override { return std::make_unique<MazeTally>(s); }
};

}  // namespace

const Domain& maze_domain() {
    static const MazeDomain d;
    return d;
}

}  // namespace trm
