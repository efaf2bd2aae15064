// ARC voting over augmented copies, pass@k and the Kaggle submission file.
//
// Mirrors TRM evaluators/arc.py: every augmented copy of a test input yields one prediction (argmax tokens,
// cropped, mapped back to the original frame) and its q_halt logit. Identical grids form one group; groups
// rank by vote count, then by the mean of sigmoid(q_halt) over their votes (computed in double), then by
// first appearance (Python's sort is stable). The first two are attempt_1 and attempt_2.
#pragma once
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "puzzles/arc.hpp"

namespace trm {

struct ArcCandidate {
    ArcGrid grid;              // in the original task frame
    float q_halt_logit = 0.f;  // model's halt logit for this prediction; NaN counts as sigmoid 0
};

struct ArcVoteGroup {
    ArcGrid grid;
    int count = 0;
    double sum_q = 0;  // sum of sigmoid(q_halt_logit)
    double mean_q() const { return count ? sum_q / count : 0.0; }
};

// Votes for one test input. Groups stay in first-seen order; ranked() sorts them.
struct ArcVotes {
    std::vector<ArcVoteGroup> groups;
    std::unordered_map<std::string, size_t> index;  // arc_grid_key -> groups[i]
    void add(const ArcGrid& grid, float q_halt_logit);
    std::vector<ArcVoteGroup> ranked() const;  // count desc, mean_q desc, first seen first
};

// Ranked distinct grids, at most top_k (no padding; fewer when fewer distinct predictions).
std::vector<ArcGrid> arc_vote(const std::vector<ArcCandidate>& candidates, int top_k);

// One model row -> candidate: crops `pred_tokens` (canvas^2 tokens) and undoes the augmentation named by
// `identifier` (official name, see parse_arc_aug_name).
ArcCandidate arc_candidate(std::string_view identifier, const int32_t* pred_tokens, float q_halt_logit,
                           int canvas = kArcCanvas);

// Collects predictions of a whole evaluation run, keyed like the official evaluator by (task id, original-frame
// test input), so rows may arrive in any order and from any augmented copy.
struct ArcVoteBook {
    std::unordered_map<std::string, ArcVotes> by_input;  // task id + '\0' + arc_grid_key(input)
    // input_tokens / pred_tokens: canvas^2 tokens of the model input and its argmax prediction.
    void add(std::string_view identifier, const int32_t* input_tokens, const int32_t* pred_tokens,
             float q_halt_logit, int canvas = kArcCanvas);
    // Ranked attempts for one original test input (empty when no prediction was added for it).
    std::vector<ArcGrid> attempts(const std::string& task_id, const ArcGrid& test_input, int top_k) const;
};

// True when `expected` is among the first k grids of `ranked` (official pass@k per test input).
bool arc_pass_at_k(const std::vector<ArcGrid>& ranked, const ArcGrid& expected, int k);
// Official per-task score: the fraction of the task's test inputs passed at k. ranked_per_test[i] belongs to
// task.test[i]; every test pair needs an output (Error otherwise).
double arc_task_score(const ArcTask& task, const std::vector<std::vector<ArcGrid>>& ranked_per_test, int k);

// Kaggle submission: task id -> one entry per test input, each holding that input's ranked grids.
using ArcAttempts = std::map<std::string, std::vector<std::vector<ArcGrid>>>;
// {"<task id>": [{"attempt_1": grid, "attempt_2": grid}, ...], ...} with `attempts` attempts per test input.
// Missing attempts repeat attempt_1 (official padding); an input with no prediction gets [[0]] everywhere, so
// the file always has an entry per test input as Kaggle requires.
std::string arc_submission_json(const ArcAttempts& attempts, int num_attempts = 2);
void write_arc_submission(const std::string& path, const ArcAttempts& attempts, int num_attempts = 2);

}  // namespace trm
