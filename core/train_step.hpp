// One training step of the official pretrain.train_batch: the ACT wrapper in training mode over a carried batch,
// forward with gradients through the last H cycle only, ACTLossHead loss, backward into a gradient arena.
//
//   rows that halted last step are refilled (carry reset to H_init/L_init, new puzzle);
//   H_cycles-1 cycles without saving activations; the last cycle saves every block application;
//   loss = lm_loss + 0.5 * q_halt_loss; backward; then halted = steps >= max | q_halt > 0 (with exploration).
#pragma once
#include <cstdint>
#include <vector>

#include "core/aligned.hpp"
#include "core/backward.hpp"
#include "core/forward.hpp"
#include "core/loss.hpp"
#include "core/rng.hpp"

namespace trm {

struct StepMetrics {
    double loss = 0, lm_loss = 0, q_halt_loss = 0;
    int count = 0;              // rows that halted this step with labels (official metrics.count)
    double accuracy = 0;        // sum over those rows of cell accuracy
    int exact = 0;              // of those, exactly right
    int q_halt_correct = 0;     // of those, (q_halt >= 0) == exact
    int steps = 0;              // sum of their step counts
};

struct TrainStep {
    Model* model;
    Layout grad_layout;
    std::vector<float> grads;        // same layout as model->arena (sum over shards)
    std::vector<std::vector<float>> shard_grads;  // shards 1.. accumulate here, then add into grads
    int B;
    Forward fwd;                     // x, carry z_H / z_L, inference scratch for the no-grad cycles
    AlignedVector<float> cache_mem;  // every block application of the last H cycle
    std::vector<BlockCache> caches;
    std::vector<BlockGradScratch> gscratch;  // one per shard
    std::vector<float> dz_H, dz_L, dx, dlogits, dq;
    std::vector<float> dpuzzle_local; // [B, E] gradient of each row's puzzle embedding

    // ACT carry (official TinyRecursiveReasoningModel_ACTV1Carry)
    std::vector<int32_t> tokens, labels, ids;  // current_data [B, S], [B, S], [B]
    std::vector<int32_t> steps;                // [B]
    std::vector<uint8_t> halted;               // [B], initially all 1

    TrainStep(Model& m, int batch);
    size_t activation_bytes() const;

    // Rows with halted[b] take (new_tokens, new_labels, new_ids)[b]: called with a fresh batch before each step.
    // Rows that did not halt keep their puzzle and carry. Returns the number of rows refilled.
    int refill(const int32_t* new_tokens, const int32_t* new_labels, const int32_t* new_ids);
    // Forward + backward on the current data; zeroes then fills `grads` and dpuzzle_local with
    // d(loss * grad_scale)/d(params). Updates the halting state (training-mode ACT) using `rng` for exploration.
    StepMetrics forward_backward(double grad_scale, Rng& rng, float exploration_prob);
    LossOut last_loss;
};

}  // namespace trm
