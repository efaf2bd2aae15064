// Inference over a batch of puzzles with per-step callbacks: the engine behind `trm solve` and `trm eval`.
// Rows that halt leave the batch (the last active row moves into the freed slot), so the remaining rows run on
// fewer rows; callbacks always see the caller's row index.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>

#include "core/forward.hpp"

namespace trm {

struct StepInfo {
    int row = 0;                   // index in the caller's batch
    int step = 0;                  // supervision step, 1-based
    int cycle = -1;                // H cycle inside the step (0-based) for cycle traces; -1 = end of step
    const float* logits = nullptr; // [S, V] answer logits decoded from z_H ("draft")
    float q_halt = 0, q_continue = 0;
    bool model_halts = false;      // q_halt > threshold (the halting head's decision; see SessionOptions)
    bool last = false;             // step == max_steps
};

struct SessionOptions {
    int max_steps = 0;             // 0 = the model's halt_max_steps
    bool trace_cycles = false;     // also report after every inner H cycle (cycle >= 0)
    std::optional<float> halt_threshold;  // model_halts when q_halt > this logit; unset = the model's halt_threshold
};

// Runs rows [0, B) of (tokens [B, S], ids [B]) until every row stopped. `on_step` is called for every active row
// after each supervision step (cycle == -1) and, with trace_cycles, after each H cycle (its return value is then
// ignored); it returns true to stop that row. `fwd` must have max_batch >= B.
void run_session(Forward& fwd, const int32_t* tokens, const int32_t* ids, int B, const SessionOptions& opt,
                 const std::function<bool(const StepInfo&)>& on_step);

}  // namespace trm
