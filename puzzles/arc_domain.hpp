// ARC-AGI as a puzzle kind (puzzles/domain.hpp): tasks of demonstration pairs and test inputs, solved by voting
// over augmented copies (official names) after an optional test-time adaptation, and the Domain hooks. Grids,
// augmentations and files are in puzzles/arc.hpp, voting in puzzles/arc_vote.hpp, adaptation in arc_adapt.hpp.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "puzzles/arc.hpp"
#include "puzzles/arc_adapt.hpp"
#include "puzzles/domain.hpp"

namespace trm {

struct ArcSolveResult : SolveOutcome {
    std::string task_id;
    int test_index = 0;                 // index into task.test
    ArcGrid test_input;
    std::optional<ArcGrid> expected;    // the test output when known
    std::vector<ArcGrid> attempts;      // ranked by votes, at most 2 (fewer when fewer distinct predictions)
    std::vector<int> attempt_votes;     // copies that voted for each attempt
    int copies = 0;                     // augmented copies run (identity included)
    bool known_task = false;            // the model's Config::identifiers hold this task's names (adapted included)
    std::optional<ArcAdaptReport> adapted;  // the task was unseen and fitted by test-time adaptation
    bool pass_at_1 = false, pass_at_2 = false;  // false when expected is unknown
};

// ARC shape/colour consistency of a prediction for `test_input` with the task's demonstrations: the shape
// follows when every demo keeps its input's shape, or every demo output has one shape, or every demo scales
// its input by the same factors; colours must appear in a demo output or the test input. Returns a summary,
// e.g. "shape 3x3 as the input, colours ok" or "shape 4x3, demos suggest 3x3"; *ok tells whether it fits.
std::string arc_consistency(const ArcTask& task, const ArcGrid& test_input, const ArcGrid& pred, bool* ok);

// Solves every test input of `tasks`: each runs as 1 + opt.num_aug augmented copies (official names). Tasks the
// model knows (names in Config::identifiers, i.e. it trained on their demonstrations) use the model's own
// augmentations and identifiers, up to 1 + num_aug of them; other tasks use choose_arc_augmentations and
// identifier 0 (ArcSolveResult::known_task false). With opt.adapt_steps > 0 and puzzle embeddings, the unseen
// tasks are first fitted by test-time adaptation (a copy of the model; fwd's stays as it is). Predictions are
// cropped, mapped back and voted (puzzles/arc_vote.hpp); the trace follows the identity copy. Rows of several
// tasks share batches; on_result receives the test inputs in order as soon as their task is done. Grids larger
// than the model's canvas throw.
void solve_arc_tasks(Forward& fwd, const std::vector<ArcTask>& tasks, const SolveOptions& opt,
                     const std::function<void(ArcSolveResult&)>& on_result);

const Domain& arc_domain();

}  // namespace trm
