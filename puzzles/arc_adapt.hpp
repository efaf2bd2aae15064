// Test-time adaptation for ARC tasks the model has never seen.
//
// A TRM knows a task through its puzzle-embedding rows (one per augmented copy, named `ID|||t<k>|||<perm>`).
// For an unseen task there is no row, so we add 1 + num_aug rows (the identity and num_aug augmentations, named
// as the official builder would), freeze the network, and fit only those rows on the task's demonstration pairs
// under the same augmentations (random translation inside the canvas, as in training) with the official sign-SGD,
// deep supervision and ACT carry. solve_arc_tasks then finds the task's copies in the model's identifier table
// and votes over them like for a task seen in training.
#pragma once
#include <functional>
#include <vector>

#include "core/trainer.hpp"
#include "puzzles/arc.hpp"

namespace trm {

struct ArcAdaptOptions {
    int num_aug = 8;     // augmented copies besides the identity (match --num-aug of the solve)
    int steps = 100;     // sign-SGD steps per task
    int batch = 16;      // demonstration rows in flight
    double lr = 1e-2;    // sign-SGD step (official puzzle_emb_lr for ARC)
    uint64_t seed = 0;
    // After each optimizer step: steps done and planned over all unseen tasks; may throw to stop adapting.
    std::function<void(int done, int total)> on_step;
};

struct ArcAdaptReport {
    std::string task_id;
    int rows = 0;            // puzzle-embedding rows added
    int demos = 0;           // demonstration pairs x copies fitted on
    double final_loss = 0;   // mean lm_loss of the last steps
};

// Returns a copy of `m` with rows for every task in `tasks` that `m` does not know by name (tasks it knows are left
// alone), fitted on their demonstrations. The model must have puzzle embeddings.
Model adapt_arc_tasks(const Model& m, const std::vector<ArcTask>& tasks, const ArcAdaptOptions& o,
                      std::vector<ArcAdaptReport>* report = nullptr);

}  // namespace trm
