// Losses of the official ACTLossHead (models/losses.py) with their gradients.
//   stablemax: s(x) = x + 1 (x >= 0), 1 / (1 - x) (x < 0); log p_i = log(s_i / sum_j s_j), computed in float64.
//   lm_loss   = sum over rows of (sum over labelled positions of -log p[label]) / max(1, labelled count)
//   q_halt_loss = sum over rows of BCE-with-logits(q_halt, seq_is_correct)
//   loss      = lm_loss + 0.5 * q_halt_loss     (no q_continue term: no_ACT_continue)
#pragma once
#include <cstdint>
#include <vector>

namespace trm {

constexpr int32_t kIgnoreLabel = -100;

struct LossOut {
    double loss = 0, lm_loss = 0, q_halt_loss = 0;
    std::vector<uint8_t> seq_is_correct;  // [B]
    std::vector<int32_t> correct_cells;   // [B] labelled positions predicted right
    std::vector<int32_t> label_count;     // [B] labelled positions
};

// logits [B, S, V], labels [B, S] (kIgnoreLabel = not counted), q_halt [B].
// Writes d(loss * grad_scale)/d(logits) into dlogits [B, S, V] and into dq [B, 2] (column 1 stays 0) when non-null.
LossOut act_loss(const float* logits, const int32_t* labels, const float* q, int B, int S, int V, double grad_scale,
                 float* dlogits, float* dq);

// argmax with ties to the lowest index (torch.argmax on CPU)
int argmax(const float* x, int n);

}  // namespace trm
