#include "puzzles/solve.hpp"
#include "puzzles/sudoku_solver.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numeric>
#include <set>
#include <unordered_map>
#include <unistd.h>

#include "core/error.hpp"
#include "core/names.hpp"
#include "core/file_io.hpp"
#include "core/loss.hpp"
#include "core/session.hpp"
#include "puzzles/arc_vote.hpp"
#include "puzzles/grid_transform.hpp"

namespace trm {

// ---- names ----------------------------------------------------------------------------------------------------

constexpr NameTable<HaltMode, 3> kHaltModeNames{
    {{HaltMode::Model, "model"}, {HaltMode::Never, "never"}, {HaltMode::Verified, "verified"}}};
constexpr NameTable<TraceMode, 3> kTraceModeNames{
    {{TraceMode::Off, "off"}, {TraceMode::Steps, "steps"}, {TraceMode::Cycles, "cycles"}}};

const char* halt_mode_name(HaltMode h) { return name_of(kHaltModeNames, h); }
bool halt_mode_from_name(std::string_view s, HaltMode* out) { return from_name(kHaltModeNames, s, out); }
const char* trace_mode_name(TraceMode t) { return name_of(kTraceModeNames, t); }
bool trace_mode_from_name(std::string_view s, TraceMode* out) { return from_name(kTraceModeNames, s, out); }

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

int count_changed(const DraftGrid& prev, const DraftGrid& cur) {
    if (prev.rows != cur.rows || prev.cols != cur.cols) return int(cur.cells.size());
    int n = 0;
    for (size_t i = 0; i < cur.cells.size(); i++) n += prev.cells[i] != cur.cells[i];
    return n;
}

std::vector<uint8_t> changed_mask(const DraftGrid& prev, const DraftGrid& cur) {
    std::vector<uint8_t> m(cur.cells.size(), 1);
    if (prev.rows == cur.rows && prev.cols == cur.cols)
        for (size_t i = 0; i < cur.cells.size(); i++) m[i] = prev.cells[i] != cur.cells[i];
    return m;
}

Interval wilson95(int64_t k, int64_t n) {
    if (n <= 0) return {0, 1};
    const double z = 1.959963984540054, p = double(k) / double(n), nn = double(n);
    const double den = 1 + z * z / nn;
    const double centre = (p + z * z / (2 * nn)) / den;
    const double half = z * std::sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn)) / den;
    // exactly 0 and 1 at the ends (the formula gives 0.9999999999999998 there)
    return {k == 0 ? 0.0 : std::max(0.0, centre - half), k == n ? 1.0 : std::min(1.0, centre + half)};
}

// ---- models ---------------------------------------------------------------------------------------------------

int model_grid_side(const Config& c) {
    int s = square_side(c.seq_len);
    if (s == 0) fail("model seq_len {} is not a square grid", c.seq_len);
    return s;
}

void check_model_domain(const Config& c, DomainKind d, const std::string& label) {
    const std::string want = domain_name(d);
    const std::string hint =
        fmt::format("pass --model with a {} model, e.g. one made by `trm train {} -o {}.safetensors`", want, want, want);
    if (!c.domain.empty() && c.domain != want)
        throw Error(fmt::format("{}: this is a {} model, not a {} model", label, c.domain, want), hint);
    auto bad = [&](const std::string& what) { throw Error(fmt::format("{}: {}", label, what), hint); };
    switch (d) {
        case DomainKind::Sudoku:
            if (c.seq_len != kSudokuCells || c.vocab_size != kSudokuVocab)
                bad(fmt::format("model has seq_len {} and vocab_size {}; a Sudoku model has {} and {}", c.seq_len,
                                c.vocab_size, kSudokuCells, kSudokuVocab));
            break;
        case DomainKind::Maze:
            if (c.vocab_size != kMazeVocab || square_side(c.seq_len) == 0)
                bad(fmt::format("model has seq_len {} and vocab_size {}; a maze model has a square seq_len "
                                "(e.g. 900 = 30x30) and vocab_size {}", c.seq_len, c.vocab_size, kMazeVocab));
            break;
        case DomainKind::Arc: {
            int s = square_side(c.seq_len);
            if (c.vocab_size != kArcVocab || s == 0 || s > kArcMaxGridSize)
                bad(fmt::format("model has seq_len {} and vocab_size {}; an ARC model has a square seq_len up to "
                                "900 (30x30) and vocab_size {}", c.seq_len, c.vocab_size, kArcVocab));
            break;
        }
    }
}

// ---- input ----------------------------------------------------------------------------------------------------

constexpr size_t kPeekBytes = size_t(1) << 16;

// Serves `prefix` (bytes already read from src) and then the rest of src.
struct PuzzleInput::Buf : std::streambuf {
    std::streambuf* src = nullptr;  // a file
    int fd = -1;                    // or stdin, read with read(2): one Ctrl-D at a terminal ends the input
    bool at_eof = false;            // the end was seen: never read again (a terminal would wait for another Ctrl-D)
    std::string prefix;
    bool peeked = false, prefix_served = false;
    std::vector<char> chunk = std::vector<char>(kPeekBytes);

    // Up to n bytes; 0 at the end of the input. A terminal's read returns a line at a time, so reads are short.
    size_t read_some(char* p, size_t n) {
        if (at_eof || n == 0) return 0;
        if (fd < 0) {
            const std::streamsize got = src->sgetn(p, std::streamsize(n));
            if (got <= 0) at_eof = true;
            return got > 0 ? size_t(got) : 0;
        }
        while (true) {
            const ssize_t got = ::read(fd, p, n);
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) fail("stdin: read failed: {}", std::strerror(errno));
            if (got == 0) at_eof = true;
            return size_t(got);
        }
    }

    int_type underflow() override {
        if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
        if (!prefix_served) {
            prefix_served = true;
            if (!prefix.empty()) {
                setg(prefix.data(), prefix.data(), prefix.data() + prefix.size());
                return traits_type::to_int_type(*gptr());
            }
        }
        const size_t n = read_some(chunk.data(), chunk.size());
        if (n == 0) return traits_type::eof();
        setg(chunk.data(), chunk.data(), chunk.data() + n);
        return traits_type::to_int_type(*gptr());
    }
};

PuzzleInput::PuzzleInput(const std::string& path) : buf_(std::make_unique<Buf>()) {
    if (path.empty() || path == "-") {
        name_ = "stdin";
        buf_->fd = STDIN_FILENO;
    } else {
        name_ = path;
        std::error_code ec;
        if (std::filesystem::is_directory(path, ec)) fail("{}: is a directory, expected a puzzle file", path);
        auto f = std::make_unique<std::ifstream>(path, std::ios::binary);
        if (!*f) fail("{}: cannot open ({})", path, std::strerror(errno));
        buf_->src = f->rdbuf();
        file_ = std::move(f);
    }
    stream_ = std::make_unique<std::istream>(buf_.get());
}

PuzzleInput::~PuzzleInput() = default;

std::string_view PuzzleInput::peek() {
    Buf& b = *buf_;
    if (!b.peeked) {
        TRM_CHECK(!b.prefix_served);
        b.peeked = true;
        b.prefix.resize(kPeekBytes);
        size_t got = 0;
        while (got < kPeekBytes) {
            const size_t n = b.read_some(b.prefix.data() + got, kPeekBytes - got);
            if (n == 0) break;
            got += n;
        }
        b.prefix.resize(got);
    }
    return b.prefix;
}

std::istream& PuzzleInput::stream() { return *stream_; }

std::string PuzzleInput::read_all(uint64_t max_bytes) {
    std::string text;
    char tmp[1 << 16];
    while (true) {
        stream_->read(tmp, sizeof tmp);
        std::streamsize n = stream_->gcount();
        if (n <= 0) break;
        if (text.size() + size_t(n) > max_bytes)
            fail("{}: input is larger than {} MiB", name_, max_bytes >> 20);
        text.append(tmp, size_t(n));
    }
    return inflate_if_gzip(std::move(text), name_, max_bytes);  // the ARC data in datasets/arc/ is .json.gz
}

// ---- the row engine -------------------------------------------------------------------------------------------

namespace {

// Decodes one row's argmax tokens [S] into a draft and checks it.
using RowChecker = std::function<void(int row, const int32_t* tokens, DraftGrid& draft, bool& ok, std::string& check)>;

struct RowRun {
    int steps = 0;
    float q_halt = 0;
    std::vector<int32_t> tokens;   // [S] argmax at the stopping step
    std::vector<TraceStep> trace;  // only for traced rows
};

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Runs rows [0, B) of tokens [B, S] / ids [B] in one session. traced[b] selects the rows whose trace is kept;
// inputs[b] is the draft each trace starts from.
std::vector<RowRun> run_rows(Forward& fwd, const std::vector<int32_t>& tokens, const std::vector<int32_t>& ids, int B,
                             const SolveOptions& opt, const std::vector<uint8_t>& traced,
                             const std::vector<const DraftGrid*>& inputs, const RowChecker& check) {
    const Config& c = fwd.model->cfg();
    const int S = c.seq_len, V = c.vocab_size;
    TRM_CHECK(B <= fwd.max_batch);
    std::vector<RowRun> runs(static_cast<size_t>(B));
    std::vector<int32_t> tok(static_cast<size_t>(S));
    SessionOptions so;
    so.max_steps = opt.max_steps;
    so.trace_cycles = opt.trace == TraceMode::Cycles;
    so.halt_threshold = opt.halt_threshold;
    const int max_steps = opt.max_steps > 0 ? opt.max_steps : c.halt_max_steps;
    int reported = 0;  // last step given to opt.on_step: the callback runs once per step, not once per row
    run_session(fwd, tokens.data(), ids.data(), B, so, [&](const StepInfo& in) -> bool {
        if (opt.on_step && in.cycle < 0 && in.step > reported) opt.on_step(reported = in.step, max_steps);
        RowRun& r = runs[size_t(in.row)];
        const bool trace = traced[size_t(in.row)] != 0;
        if (in.cycle >= 0 && !trace) return false;
        const bool need_check = trace || opt.halt == HaltMode::Verified;
        bool stop = in.cycle < 0 && (in.last || (opt.halt == HaltMode::Model && in.model_halts));
        if (!need_check && !stop) {
            r.steps = in.step;
            return false;
        }
        for (int s = 0; s < S; s++) tok[size_t(s)] = argmax(in.logits + size_t(s) * V, V);
        DraftGrid draft;
        bool ok = false;
        std::string chk;
        if (need_check) check(in.row, tok.data(), draft, ok, chk);
        if (in.cycle < 0 && opt.halt == HaltMode::Verified && ok) stop = true;
        if (trace) {
            TraceStep t;
            t.step = in.step;
            t.cycle = in.cycle;
            t.q_halt = in.q_halt;
            t.model_halts = in.model_halts;
            t.stopped = stop;
            t.verified = ok;
            t.check = std::move(chk);
            t.changed = count_changed(r.trace.empty() ? *inputs[size_t(in.row)] : r.trace.back().draft, draft);
            t.draft = std::move(draft);
            r.trace.push_back(std::move(t));
        }
        if (in.cycle < 0) {
            r.steps = in.step;
            r.q_halt = in.q_halt;
            if (stop) r.tokens = tok;
        }
        return stop;
    });
    for (auto& r : runs) TRM_CHECK(int(r.tokens.size()) == S);
    return runs;
}

DraftGrid sudoku_draft(const SudokuGrid& g) {
    DraftGrid d;
    d.rows = d.cols = 9;
    d.cells.assign(g.begin(), g.end());
    return d;
}

DraftGrid chars_draft(int rows, int cols, const std::vector<char>& cells) {
    DraftGrid d;
    d.rows = rows;
    d.cols = cols;
    d.cells.assign(cells.begin(), cells.end());
    return d;
}

DraftGrid arc_draft(const ArcGrid& g) {
    DraftGrid d;
    d.rows = g.rows;
    d.cols = g.cols;
    d.cells = g.cells;
    return d;
}

template <typename R>
void fill_common(R& out, const RowRun& run, size_t index, double seconds) {
    out.index = index;
    out.steps = run.steps;
    out.q_halt = run.q_halt;
    out.seconds = seconds;
    out.trace = run.trace;
}

// What a view's final answer is worth: decoded (in the puzzle's own frame), checked and summed up.
struct ViewVerdict {
    bool ok = false;
    std::string check, critique;
};

// Encodes row `row` under its view `view` (0-based), appending S tokens.
using ViewEncoder = std::function<void(int row, int view, std::vector<int32_t>& tokens)>;
// Decodes tokens [S] of row `row` solved through view `view`, maps the draft back to the puzzle's frame and checks
// it; critique (only when asked: non-null) is the short reason a rejected answer gives the trace.
using ViewChecker = std::function<void(int row, int view, const int32_t* tokens, DraftGrid& draft, bool& ok,
                                       std::string& check, std::string* critique)>;

// Runs rows [0, B) through view 0 in one session, then the rows whose final answer is rejected through view 1,
// 2, ... (one session per view, rows that verified have left) until each verifies or spends views[row] views.
// Returns, per row, the run of every view it went through; trace entries carry their view (1-based).
std::vector<std::vector<RowRun>> run_views(Forward& fwd, int B, const std::vector<int>& views, const SolveOptions& opt,
                                           const std::vector<const DraftGrid*>& inputs, const ViewEncoder& encode,
                                           const ViewChecker& check, std::vector<std::vector<ViewRun>>& view_runs,
                                           const std::function<std::string(int row, int view)>& view_name) {
    std::vector<std::vector<RowRun>> out(static_cast<size_t>(B));
    view_runs.assign(size_t(B), {});
    std::vector<int> pending(static_cast<size_t>(B));
    std::iota(pending.begin(), pending.end(), 0);
    const int S = fwd.model->cfg().seq_len;
    for (int v = 0; !pending.empty(); v++) {
        std::vector<int32_t> tokens, ids(pending.size(), 0);
        tokens.reserve(pending.size() * size_t(S));
        std::vector<const DraftGrid*> sub_inputs;
        for (int row : pending) {
            encode(row, v, tokens);
            sub_inputs.push_back(inputs[size_t(row)]);
        }
        std::vector<uint8_t> traced(pending.size(), opt.trace != TraceMode::Off);
        auto sub_check = [&](int b, const int32_t* tok, DraftGrid& draft, bool& ok, std::string& chk) {
            check(pending[size_t(b)], v, tok, draft, ok, chk, nullptr);
        };
        auto runs = run_rows(fwd, tokens, ids, int(pending.size()), opt, traced, sub_inputs, sub_check);
        std::vector<int> still;
        for (size_t b = 0; b < pending.size(); b++) {
            const int row = pending[b];
            RowRun& run = runs[b];
            for (auto& t : run.trace) t.view = v + 1;
            ViewRun vr;
            vr.name = view_name(row, v);
            vr.steps = run.steps;
            DraftGrid draft;
            check(row, v, run.tokens.data(), draft, vr.verified, vr.check, &vr.critique);
            out[size_t(row)].push_back(std::move(run));
            const bool ok = vr.verified;
            view_runs[size_t(row)].push_back(std::move(vr));
            if (!ok && v + 1 < views[size_t(row)]) still.push_back(row);
        }
        pending = std::move(still);
    }
    return out;
}

// Fills the view fields of a result from its view runs and returns the index of the reported view: the last
// (the only one that can have verified), else the first.
template <typename R>
size_t fill_views(R& out, std::vector<RowRun>& runs, std::vector<ViewRun>& views, int budget, size_t index,
                  double seconds) {
    const size_t k = views.back().verified ? views.size() - 1 : 0;
    out.index = index;
    out.steps = runs[k].steps;
    out.q_halt = runs[k].q_halt;
    out.seconds = seconds;
    for (auto& r : runs)
        for (auto& t : r.trace) out.trace.push_back(std::move(t));
    out.views_used = int(views.size());
    out.view = int(k) + 1;
    out.views_budget = budget;
    out.views = std::move(views);
    return k;
}

// "2 clashes remain", "3 blank cells", "1 given changed": the short reason a rejected Sudoku answer gives.
std::string sudoku_critique(const SudokuVerdict& v) {
    auto n = [](int k, const char* one, const char* many) { return fmt::format("{} {}", k, k == 1 ? one : many); };
    std::vector<std::string> p;
    if (!v.clashes.empty()) p.push_back(n(int(v.clashes.size()), "clash remains", "clashes remain"));
    if (v.blank_cells > 0) p.push_back(n(v.blank_cells, "blank cell", "blank cells"));
    if (v.changed_givens > 0) p.push_back(n(v.changed_givens, "given changed", "givens changed"));
    if (p.empty()) return "solved";
    std::string s = p[0];
    for (size_t i = 1; i < p.size(); i++) s += ", " + p[i];
    return s;
}

}  // namespace

int SolveOutcome::total_steps() const {
    if (views.empty()) return steps;
    int n = 0;
    for (const auto& v : views) n += v.steps;
    return n;
}

// ---- Sudoku ---------------------------------------------------------------------------------------------------

std::vector<SudokuSolveResult> solve_sudoku_batch(Forward& fwd, std::vector<SudokuPuzzle> puzzles, size_t first_index,
                                                  const SolveOptions& opt) {
    const int B = int(puzzles.size());
    if (B == 0) return {};
    TRM_CHECK(fwd.model->cfg().seq_len == kSudokuCells);
    if (opt.views < 1) fail("views must be 1 or more, got {}", opt.views);
    const auto t0 = Clock::now();
    std::vector<SudokuSolveResult> out(static_cast<size_t>(B));
    std::vector<const DraftGrid*> inputs(static_cast<size_t>(B));
    // per row: its views and their inverses
    std::vector<std::vector<SudokuTransform>> views(static_cast<size_t>(B)), inverses(static_cast<size_t>(B));
    for (int b = 0; b < B; b++) {
        out[size_t(b)].input = sudoku_draft(puzzles[size_t(b)].cells);
        inputs[size_t(b)] = &out[size_t(b)].input;
    }
    auto view = [&](int row, int v) -> const SudokuTransform& {
        auto& vs = views[size_t(row)];
        if (int(vs.size()) <= v) {  // view 1 (identity) alone costs no draw; the rest come when first needed
            vs = sudoku_views(puzzles[size_t(row)].cells, v == 0 ? 1 : opt.views);
            inverses[size_t(row)].clear();
            for (auto& t : vs) inverses[size_t(row)].push_back(invert_sudoku_transform(t));
        }
        return vs[size_t(v)];
    };
    auto encode = [&](int row, int v, std::vector<int32_t>& tokens) {
        auto t = sudoku_encode(apply_sudoku_transform(view(row, v), puzzles[size_t(row)].cells));
        tokens.insert(tokens.end(), t.begin(), t.end());
    };
    auto answer = [&](int row, int v, const int32_t* tok) {  // the view's answer in the puzzle's own frame
        return apply_sudoku_transform(inverses[size_t(row)][size_t(v)],
                                      sudoku_decode(std::span<const int32_t>(tok, kSudokuCells)));
    };
    auto check = [&](int row, int v, const int32_t* tok, DraftGrid& draft, bool& ok, std::string& chk,
                     std::string* critique) {
        SudokuGrid g = answer(row, v, tok);
        SudokuVerdict vd = verify_sudoku(puzzles[size_t(row)], g);
        draft = sudoku_draft(g);
        ok = vd.solved;
        chk = vd.summary();
        if (critique) *critique = sudoku_critique(vd);
    };
    auto name = [&](int row, int v) { return describe_sudoku_transform(view(row, v)); };
    // a puzzle with no solution gets one view: no other could verify either
    std::vector<int> budget(static_cast<size_t>(B), opt.views);
    for (int b = 0; b < B; b++) {
        out[size_t(b)].diagnosis = sudoku_diagnosis(puzzles[size_t(b)].cells);
        if (out[size_t(b)].diagnosis == "has no solution") budget[size_t(b)] = 1;
    }
    std::vector<std::vector<ViewRun>> view_runs;
    auto runs = run_views(fwd, B, budget, opt, inputs, encode, check, view_runs, name);
    const double secs = seconds_since(t0) / B;
    for (int b = 0; b < B; b++) {
        auto& r = out[size_t(b)];
        const size_t k = fill_views(r, runs[size_t(b)], view_runs[size_t(b)], budget[size_t(b)], first_index + size_t(b), secs);
        r.grid = answer(b, int(k), runs[size_t(b)][k].tokens.data());
        r.puzzle = std::move(puzzles[size_t(b)]);
        r.where = r.puzzle.where;
        r.verdict = verify_sudoku(r.puzzle, r.grid);
        r.verified = r.verdict.solved;
        r.check = r.verdict.summary();
        r.answer = sudoku_draft(r.grid);
    }
    return out;
}

// ---- mazes ----------------------------------------------------------------------------------------------------

std::vector<MazeSolveResult> solve_maze_batch(Forward& fwd, std::vector<Maze> mazes, size_t first_index,
                                              const SolveOptions& opt) {
    const int B = int(mazes.size());
    if (B == 0) return {};
    if (opt.views < 1) fail("views must be 1 or more, got {}", opt.views);
    const int side = model_grid_side(fwd.model->cfg());
    const int S = side * side;
    const auto t0 = Clock::now();
    std::vector<MazeSolveResult> out(static_cast<size_t>(B));
    std::vector<const DraftGrid*> inputs(static_cast<size_t>(B));
    // what the model sees: the maze without its frame, if it has one (maze_has_frame), under the view's transform
    std::vector<Maze> seen(static_cast<size_t>(B));
    std::vector<std::vector<int>> views(static_cast<size_t>(B));
    std::vector<int> budget(static_cast<size_t>(B));
    for (int b = 0; b < B; b++) {
        const Maze& m = mazes[size_t(b)];
        seen[size_t(b)] = maze_has_frame(m) ? maze_without_frame(m) : m;
        views[size_t(b)] = maze_views(seen[size_t(b)], opt.views);
        budget[size_t(b)] = int(views[size_t(b)].size());
        if (maze_shortest_path(m).empty()) {  // no view could verify either
            out[size_t(b)].diagnosis = "has no path from S to G";
            budget[size_t(b)] = 1;
        }
        out[size_t(b)].input = chars_draft(m.rows, m.cols, m.cells);
        inputs[size_t(b)] = &out[size_t(b)].input;
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
    auto encode = [&](int b, int v, std::vector<int32_t>& tokens) {
        const int tid = views[size_t(b)][size_t(v)];
        auto t = encode_maze(tid == 0 ? seen[size_t(b)] : transform_maze(seen[size_t(b)], tid), side, side);
        tokens.insert(tokens.end(), t.begin(), t.end());
    };
    auto check = [&](int row, int v, const int32_t* tok, DraftGrid& draft, bool& ok, std::string& chk,
                     std::string* critique) {
        const Maze& m = mazes[size_t(row)];
        auto path = decode(row, v, std::span<const int32_t>(tok, size_t(S)));
        MazeCheck mc = verify_maze(m, path);
        draft = chars_draft(m.rows, m.cols, path);
        ok = mc.verdict == MazeVerdict::Optimal;
        chk = describe(mc);
        if (critique) *critique = mc.verdict == MazeVerdict::Broken ? mc.detail : chk;
    };
    auto name = [&](int row, int v) { return std::string(dihedral_name(views[size_t(row)][size_t(v)])); };
    std::vector<std::vector<ViewRun>> view_runs;
    auto runs = run_views(fwd, B, budget, opt, inputs, encode, check, view_runs, name);
    const double secs = seconds_since(t0) / B;
    for (int b = 0; b < B; b++) {
        auto& r = out[size_t(b)];
        const size_t k = fill_views(r, runs[size_t(b)], view_runs[size_t(b)], budget[size_t(b)],
                                    first_index + size_t(b), secs);
        r.path = decode(b, int(k), runs[size_t(b)][k].tokens);
        r.maze = std::move(mazes[size_t(b)]);
        r.where = r.maze.where;
        r.verdict = verify_maze(r.maze, r.path);
        r.verified = r.verdict.verdict == MazeVerdict::Optimal;
        r.check = describe(r.verdict);
        r.answer = chars_draft(r.maze.rows, r.maze.cols, r.path);
    }
    return out;
}

// ---- ARC ------------------------------------------------------------------------------------------------------

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

void solve_arc_tasks(Forward& fwd, const std::vector<ArcTask>& tasks, const SolveOptions& opt,
                     const ArcSolveOptions& aopt, const std::function<void(ArcSolveResult&)>& on_result) {
    const Config& c = fwd.model->cfg();
    const int canvas = model_grid_side(c);
    if (canvas > kArcMaxGridSize) fail("model grid {}x{} is larger than ARC's 30x30", canvas, canvas);
    const int batch = std::max(1, std::min(opt.batch, fwd.max_batch));
    if (aopt.num_aug < 0) fail("the number of augmented copies must be 0 or more, got {}", aopt.num_aug);

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
                             it->second.begin() + std::min<size_t>(it->second.size(), size_t(aopt.num_aug) + 1));
        } else {
            Rng rng = content_rng(t.id, aopt.seed);
            for (auto& a : choose_arc_augmentations(without_test_outputs(t), aopt.num_aug, rng))
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
            fill_common(r, run, result_index++, st.seconds[i]);
            r.where = fmt::format("task {} test {}", t.id, i);
            r.task_id = t.id;
            r.test_index = int(i);
            r.test_input = t.test[i].input;
            r.expected = t.test[i].output;
            r.copies = int(st.copies.size());
            r.known_task = st.known;
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
        const double secs = seconds_since(t0) / B;
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

}  // namespace trm
