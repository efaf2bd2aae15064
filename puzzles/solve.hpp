// Solving puzzles with a model: parse -> encode -> run_session -> decode -> verify, for every domain, with a
// per-step trace. A library (no printing) shared by `trm solve`, `trm eval` and `trm mcp`.
//
// Every supervision step of every row is seen by a callback (core/session.hpp). What a trace records per step:
//   draft     the answer decoded from the step's logits by argmax (DraftGrid)
//   critique  sigmoid(q_halt) and the halting decision, plus the domain check of the draft:
//               Sudoku  verify_sudoku clashes by unit ("row 4: two 7s; 3 blank cells")
//               maze    verify_maze ("broken: path breaks at r5c2: 3 neighbours", "optimal: 12 cells")
//               ARC     shape and colours consistent with the demonstrations (arc_consistency)
//   refine    how many cells the next entry changed (TraceStep::changed of the next entry)
//
// Halting (SolveOptions::halt):
//   model     stop a row at the first step with q_halt > 0 (StepInfo::model_halts), else at max_steps
//   never     run every row for max_steps
//   verified  stop at the first draft the domain checker accepts (Sudoku: solved; maze: optimal path;
//             ARC: consistent with the demonstrations -- ARC has no verifier without the expected output)
//
// A result is `verified` only when the domain checker accepts the FINAL answer: a Sudoku answer that is solved
// (complete, givens kept, no clash), a maze path that is optimal, an ARC attempt (of two) equal to the expected
// output. An answer that fails is reported unsolved, whatever the model's confidence.
//
// Views (SolveOptions::views, Sudoku and mazes): a puzzle whose final answer the checker rejects is solved again
// through a symmetry-equivalent copy (sudoku_views: digit relabelling, transpose, band/stack and row/column
// shuffles; maze_views: the 8 dihedral transforms), the answer mapped back and checked against the puzzle as
// given, until one verifies or the budget is spent. View 1 is the puzzle as given, so views = 1 is a plain solve.
// The re-solves of a batch run as one batch per view; rows that verified have left it. Every answer still comes
// from the model: the checker only accepts or rejects it, and its verdict on a complete Sudoku is exact.
#pragma once
#include <cstdint>
#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/forward.hpp"
#include "puzzles/arc.hpp"
#include "puzzles/domain.hpp"
#include "puzzles/maze.hpp"
#include "puzzles/sudoku.hpp"

namespace trm {

// Views `trm solve`, `trm eval` and the MCP tools try per Sudoku or maze by default (see "Views" above); mazes
// stop at 8. Chosen by measurement (README: accuracy by views on the forum-hardest and 17-clue lists): the
// forum-hardest list was still gaining at 16 views and passed 90% at 64, and puzzles that verify at once, or
// that cannot (no solution: one view), cost nothing more.
constexpr int kDefaultViews = 64;
constexpr int kMaxViews = 1000;  // --views above this is refused

enum class HaltMode { Model, Never, Verified };
enum class TraceMode { Off, Steps, Cycles };
const char* halt_mode_name(HaltMode h);  // "model", "never", "verified"
bool halt_mode_from_name(std::string_view s, HaltMode* out);
const char* trace_mode_name(TraceMode t);  // "off", "steps", "cycles"
bool trace_mode_from_name(std::string_view s, TraceMode* out);

struct SolveOptions {
    int max_steps = 0;                 // supervision steps at most; 0 = the model's halt_max_steps
    HaltMode halt = HaltMode::Model;
    TraceMode trace = TraceMode::Off;  // Cycles also records every inner H cycle (SessionOptions::trace_cycles)
    int batch = 64;                    // model rows per forward batch (Forward::max_batch must be >= this)
    std::optional<float> halt_threshold;  // HaltMode::Model stops at q_halt > this; unset = the model's
    int views = 1;                     // Sudoku/maze: views per puzzle at most (1 = as given only; mazes: <= 8)
    // Called once per supervision step of a batch (1-based step, the batch's step limit), before its rows are
    // judged; it may throw to abandon the batch (a cancelled MCP request). Unset = nothing.
    std::function<void(int step, int max_steps)> on_step;
};

// A decoded answer, domain-neutral for traces, rendering and HTML. cells are row-major, rows * cols:
//   Sudoku  9 x 9 digits 0..9 (0 blank)
//   maze    the maze's own size, characters '#', ' ', 'S', 'G', 'o', '?' (unknown token)
//   ARC     the cropped prediction in the task's frame, colours 0..9 (may be 0 x 0)
struct DraftGrid {
    int rows = 0, cols = 0;
    std::vector<uint8_t> cells;
    bool operator==(const DraftGrid&) const = default;
};

// Cells of `cur` that differ from `prev`; every cell of `cur` when the shapes differ.
int count_changed(const DraftGrid& prev, const DraftGrid& cur);
// Per cell of `cur`: 1 when it differs from `prev` (all 1 when the shapes differ).
std::vector<uint8_t> changed_mask(const DraftGrid& prev, const DraftGrid& cur);

struct TraceStep {
    int step = 0;              // supervision step, 1-based
    int cycle = -1;            // H cycle inside the step (0-based, TraceMode::Cycles); -1 = the step's end
    DraftGrid draft;           // argmax answer of this entry's logits
    float q_halt = 0;          // halting logit; halt probability = sigmoid(q_halt)
    bool model_halts = false;  // q_halt > 0
    bool stopped = false;      // the row stopped after this entry (halting rule or last step)
    bool verified = false;     // the domain checker accepts the draft
    std::string check;         // the domain checker's one-line summary
    int changed = 0;           // cells that differ from the previous entry's draft (first entry: the input)
    int view = 1;              // the view this entry belongs to (1 = as given); its draft is mapped back already
};

// One view a puzzle was solved through (see "Views" above).
struct ViewRun {
    std::string name;          // "as given", or the transform: "transpose, digits 4<->7", "rotate left"
    int steps = 0;             // supervision steps the view ran
    bool verified = false;     // the checker accepts the view's final answer, mapped back
    std::string check;         // the checker's summary of that answer
    std::string critique;      // why it was rejected, short: "2 clashes remain", "path breaks at r5c2: 3 neighbours"
};

double sigmoid(double x);

// What every domain's result holds.
struct SolveOutcome {
    size_t index = 0;          // 0-based position in the input (ARC: test input across the whole input)
    std::string where;         // "file:line" (ARC: "task <id> test <k>")
    int steps = 0;             // supervision steps run (of the reported view; total_steps() over all views)
    float q_halt = 0;          // halting logit at the final step (ARC: of the identity copy)
    bool verified = false;     // the final answer passed the domain checker (see the top of this file)
    std::string check;         // summary of the final check
    double seconds = 0;        // wall time of its batch divided by the puzzles in that batch
    DraftGrid input;           // the puzzle as a draft (the trace's step 0)
    DraftGrid answer;          // the final answer as a draft (ARC: attempt 1)
    std::vector<TraceStep> trace;  // empty unless SolveOptions::trace; entries of every view run, in order
    int views_used = 1;        // views run (Sudoku, mazes; 1 for ARC, whose copies vote instead)
    int view = 1;              // the view whose answer is reported: the verified one, else view 1
    int views_budget = 1;      // views this puzzle was allowed (SolveOptions::views; mazes at most 8)
    std::vector<ViewRun> views;    // one per view run (empty for ARC)
    std::string diagnosis;     // what the exact checks say of the input before solving: "" (one solution, a path),
                               // else e.g. "has no solution" (Sudoku, then one view only: none could verify)
    int total_steps() const;       // supervision steps over every view (ARC: steps)
};

struct SudokuSolveResult : SolveOutcome {
    SudokuPuzzle puzzle;
    SudokuGrid grid{};         // the answer, 0 for cells the model left blank / padded
    SudokuVerdict verdict;
};

struct MazeSolveResult : SolveOutcome {
    Maze maze;
    std::vector<char> path;    // answer grid, maze.rows * maze.cols characters (see decode_maze)
    MazeCheck verdict;
};

struct ArcSolveResult : SolveOutcome {
    std::string task_id;
    int test_index = 0;                 // index into task.test
    ArcGrid test_input;
    std::optional<ArcGrid> expected;    // the test output when known
    std::vector<ArcGrid> attempts;      // ranked by votes, at most 2 (fewer when fewer distinct predictions)
    std::vector<int> attempt_votes;     // copies that voted for each attempt
    int copies = 0;                     // augmented copies run (identity included)
    bool known_task = false;            // the model's Config::identifiers hold this task's names
    bool pass_at_1 = false, pass_at_2 = false;  // false when expected is unknown
};

// ---- Models ---------------------------------------------------------------------------------------------------
// Throws Error (with a hint) unless the model fits the domain: Config::domain equal or empty (official
// checkpoints), Sudoku seq_len 81 vocab 11, maze square seq_len vocab 6, ARC square seq_len <= 900 vocab 12.
void check_model_domain(const Config& c, DomainKind d, const std::string& model_label);
// Side of a maze/ARC model's square grid (sqrt(seq_len)).
int model_grid_side(const Config& c);

// ---- Input --------------------------------------------------------------------------------------------------
// An input stream ("-" = standard input) whose first bytes can be looked at before a reader consumes it all,
// so the domain can be detected on a pipe. Memory: the peeked prefix (<= 64 KiB) plus one read buffer.
class PuzzleInput {
public:
    explicit PuzzleInput(const std::string& path);  // Throws Error if the file cannot be opened
    ~PuzzleInput();
    PuzzleInput(const PuzzleInput&) = delete;
    PuzzleInput& operator=(const PuzzleInput&) = delete;
    const std::string& name() const { return name_; }  // the path, or "stdin"
    std::string_view peek();                          // up to the first 64 KiB, without consuming them
    std::istream& stream();                           // the whole input, peeked bytes first
    // The rest of the input as text (for ARC JSON), inflated when it is gzip; throws Error naming the input past
    // max_bytes.
    std::string read_all(uint64_t max_bytes);

private:
    struct Buf;
    std::string name_;
    std::unique_ptr<std::istream> file_;
    std::unique_ptr<Buf> buf_;
    std::unique_ptr<std::istream> stream_;
};

// ---- Solving ------------------------------------------------------------------------------------------------
// Each solves a batch in one session (puzzles.size() <= opt.batch <= fwd.max_batch). Results come in input
// order with index = first_index + position. The model must pass check_model_domain.
std::vector<SudokuSolveResult> solve_sudoku_batch(Forward& fwd, std::vector<SudokuPuzzle> puzzles, size_t first_index,
                                                  const SolveOptions& opt);
std::vector<MazeSolveResult> solve_maze_batch(Forward& fwd, std::vector<Maze> mazes, size_t first_index,
                                              const SolveOptions& opt);

struct ArcSolveOptions {
    int num_aug = 8;     // augmented copies per test input besides the identity (see solve_arc_tasks)
    uint64_t seed = 0;   // draws of the augmentations of tasks the model does not know
};

// ARC shape/colour consistency of a prediction for `test_input` with the task's demonstrations: the shape
// follows when every demo keeps its input's shape, or every demo output has one shape, or every demo scales
// its input by the same factors; colours must appear in a demo output or the test input. Returns a summary,
// e.g. "shape 3x3 as the input, colours ok" or "shape 4x3, demos suggest 3x3"; *ok tells whether it fits.
std::string arc_consistency(const ArcTask& task, const ArcGrid& test_input, const ArcGrid& pred, bool* ok);

// Solves every test input of `tasks`: each runs as 1 + num_aug augmented copies (official names). Tasks the
// model knows (names in Config::identifiers, i.e. it trained on their demonstrations) use the model's own
// augmentations and identifiers, up to 1 + num_aug of them; other tasks use choose_arc_augmentations and
// identifier 0 (ArcSolveResult::known_task false). Predictions are cropped, mapped back and voted
// (puzzles/arc_vote.hpp); the trace follows the identity copy. Rows of several tasks share batches; on_result
// receives the test inputs in order as soon as their task is done. Grids larger than the model's canvas throw.
// TODO(test-time adaptation): unknown tasks would be better served by fitting a fresh puzzle embedding on their
// demonstrations before solving; today they use identifier 0.
void solve_arc_tasks(Forward& fwd, const std::vector<ArcTask>& tasks, const SolveOptions& opt,
                     const ArcSolveOptions& aopt, const std::function<void(ArcSolveResult&)>& on_result);

// ---- Statistics -----------------------------------------------------------------------------------------------
struct Interval {
    double lo = 0, hi = 0;
};
// 95% Wilson score interval of k successes in n trials (n = 0: [0, 1]).
Interval wilson95(int64_t k, int64_t n);

}  // namespace trm
