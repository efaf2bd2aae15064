// Solving puzzles with a model, domain-neutral: the options, the outcome every domain's result extends, and the
// row engine the domains' solvers share (encode -> run_session -> decode -> check, per supervision step). A library
// (no printing) under `trm solve`, `trm eval` and `trm mcp`; each domain's solver is in puzzles/<kind>_domain.*.
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
// Views (SolveOptions::views, domains with Domain::has_views): a puzzle whose final answer the checker rejects is
// solved again through a symmetry-equivalent copy (Sudoku: digit relabelling, transpose, band/stack and row/column
// shuffles; mazes: the 8 dihedral transforms), the answer mapped back and checked against the puzzle as given,
// until one verifies or the budget is spent. View 1 is the puzzle as given, so views = 1 is a plain solve. The
// re-solves of a batch run as one batch per view; rows that verified have left it. Every answer still comes from
// the model: the checker only accepts or rejects it, and its verdict on a complete Sudoku is exact.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/forward.hpp"

namespace trm {

// Views `trm solve`, `trm eval` and the MCP tools try per puzzle by default (see "Views" above); mazes stop at
// 8. Chosen where the hardest Sudoku lists stop gaining (README, "Critique from another view"); puzzles that
// verify at once, or that cannot (no solution: one view), cost nothing more.
constexpr int kDefaultViews = 64;
constexpr int kMaxViews = 1000;  // --views above this is refused

enum class HaltMode { Model, Never, Verified };
enum class TraceMode { Off, Steps, Cycles };
const char* halt_mode_name(HaltMode h);  // "model", "never", "verified"
bool halt_mode_from_name(std::string_view s, HaltMode* out);
const char* trace_mode_name(TraceMode t);  // "off", "steps", "cycles"
bool trace_mode_from_name(std::string_view s, TraceMode* out);
// The supervision steps a solve runs at most: max_steps when given (> 0), else the model's halt_max_steps, raised
// to kVerifiedMinSteps when halting is HaltMode::Verified.
int max_steps_for(int max_steps, HaltMode halt, const Config& c);

// Where halting waits for a draft the checker accepts, a draft that has not verified keeps refining to at least
// this many supervision steps, even for a model trained with fewer (16: the paper's halt_max_steps). The 20x20
// maze network, trained to 8, solved 20 of 50 15x15 mazes in 8 steps, 25 in 16 and 26 in 32 (the same mazes;
// every maze verified by step 8 stops there, so the longer budget can only add). Costs time only where it fails.
constexpr int kVerifiedMinSteps = 16;

struct SolveOptions {
    int max_steps = 0;                 // supervision steps at most; 0 = the default (max_steps_for)
    HaltMode halt = HaltMode::Model;
    TraceMode trace = TraceMode::Off;  // Cycles also records every inner H cycle (SessionOptions::trace_cycles)
    int batch = 64;                    // model rows per forward batch (Forward::max_batch must be >= this)
    std::optional<float> halt_threshold;  // HaltMode::Model stops at q_halt > this; unset = the model's
    int views = 1;                     // views per puzzle at most (1 = as given only; mazes: <= 8)
    // Called once per supervision step of a batch (1-based step, the batch's step limit), before its rows are
    // judged; it may throw to abandon the batch (a cancelled MCP request). Unset = nothing.
    std::function<void(int step, int max_steps)> on_step;

    // Domains that vote over augmented copies instead of views (ARC):
    int num_aug = 8;                   // augmented copies per test input besides the identity
    uint64_t seed = 0;                 // draws of the augmentations of tasks the model does not know
    int adapt_steps = 0;               // test-time adaptation steps per unseen task before solving (0 = none)
    // After each adaptation step (steps done, planned); may throw to stop. Unset = nothing.
    std::function<void(int done, int total)> on_adapt_step;
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

// What every domain's result holds; each domain extends it with its own fields (SudokuSolveResult, ...). Results
// travel through the generic paths (solve, eval, MCP) as SolveOutcome& and back to their domain's hooks.
struct SolveOutcome {
    virtual ~SolveOutcome() = default;
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
    int views_used = 1;        // views run (1 for domains that vote over copies instead)
    int view = 1;              // the view whose answer is reported: the verified one, else view 1
    int views_budget = 1;      // views this puzzle was allowed (SolveOptions::views; mazes at most 8)
    std::vector<ViewRun> views;    // one per view run (empty for domains without views)
    std::string diagnosis;     // what the exact checks say of the input before solving: "" (one solution, a path),
                               // else e.g. "has no solution" (Sudoku, then one view only: none could verify)
    int total_steps() const;       // supervision steps over every view (without views: steps)
};

// Side of a maze/ARC model's square grid (sqrt(seq_len)); throws Error when seq_len is not a square.
int model_grid_side(const Config& c);

// ---- The row engine ---------------------------------------------------------------------------------------------

// One model row's run: steps, the final halting logit and the argmax tokens at its stopping step.
struct RowRun {
    int steps = 0;
    float q_halt = 0;
    std::vector<int32_t> tokens;   // [S] argmax at the stopping step
    std::vector<TraceStep> trace;  // only for traced rows
};

// Decodes one row's argmax tokens [S] into a draft and checks it.
using RowChecker = std::function<void(int row, const int32_t* tokens, DraftGrid& draft, bool& ok, std::string& check)>;

// Runs rows [0, B) of tokens [B, S] / ids [B] in one session under opt's halting rule. traced[b] selects the
// rows whose trace is kept; inputs[b] is the draft each trace starts from.
std::vector<RowRun> run_rows(Forward& fwd, const std::vector<int32_t>& tokens, const std::vector<int32_t>& ids, int B,
                             const SolveOptions& opt, const std::vector<uint8_t>& traced,
                             const std::vector<const DraftGrid*>& inputs, const RowChecker& check);

// How a domain with views encodes, judges and names its rows under a view (0-based; view 0 = as given).
struct ViewHooks {
    // Appends the S tokens of row `row` under view `view`.
    std::function<void(int row, int view, std::vector<int32_t>& tokens)> encode;
    // Decodes tokens [S] of row `row` solved through `view`, maps the draft back to the puzzle's frame and checks
    // it; critique (when not null) receives the short reason a rejected answer gives the trace.
    std::function<void(int row, int view, const int32_t* tokens, DraftGrid& draft, bool& ok, std::string& check,
                       std::string* critique)>
        check;
    std::function<std::string(int row, int view)> name;  // "as given", "transpose, digits 4<->7", ...
};

// Solves the rows of `outs` (one per puzzle; input and diagnosis filled in) through view 0 in one session, then
// the rows whose final answer is rejected through view 1, 2, ... until each verifies or spends budget[row] views.
// Fills every generic field of each outcome except where/verified/check/answer (the domain's judgement of the
// reported answer) and returns, per row, the view reported (0-based) and its tokens.
struct ViewAnswer {
    int view = 0;
    std::vector<int32_t> tokens;
};
std::vector<ViewAnswer> solve_through_views(Forward& fwd, const SolveOptions& opt, const std::vector<SolveOutcome*>& outs,
                                            const std::vector<int>& budget, size_t first_index, const ViewHooks& hooks);

// ---- Statistics -----------------------------------------------------------------------------------------------
struct Interval {
    double lo = 0, hi = 0;
};
// 95% Wilson score interval of k successes in n trials (n = 0: [0, 1]).
Interval wilson95(int64_t k, int64_t n);

}  // namespace trm
