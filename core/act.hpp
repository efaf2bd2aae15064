// The ACT wrapper (official TinyRecursiveReasoningModel_ACTV1.forward) in evaluation mode:
// every row starts halted, so step 1 resets the carry to H_init / L_init and loads the batch; each call runs one
// supervision step; rows halt when steps >= halt_max_steps (evaluation never halts early, so the batch stays
// aligned). A call after all rows halted resets them and repeats step 1, as the official code does.
#pragma once
#include <cstdint>
#include <vector>

#include "core/forward.hpp"
#include "core/tensor.hpp"

namespace trm {

struct ActEval {
    Forward fwd;
    int B;
    std::vector<int32_t> batch_tokens, batch_ids;      // the batch offered at every call
    std::vector<int32_t> cur_tokens, cur_ids;          // carry.current_data
    std::vector<int32_t> steps;                        // [B]
    std::vector<uint8_t> halted;                       // [B]

    ActEval(const Model& m, const int32_t* tokens, const int32_t* ids, int B);
    void step();
};

// Runs `steps` ACT steps and returns the tensors the official fixtures hold: step{s}.logits [B,S,V],
// step{s}.q_halt_logits, step{s}.q_continue_logits [B], step{s}.z_H, step{s}.z_L [B,L,D], step{s}.halted,
// step{s}.steps [B], plus input_embeddings [B,L,D].
TensorFile debug_forward(const Model& m, const std::vector<int32_t>& tokens, const std::vector<int32_t>& ids, int steps);

}  // namespace trm

namespace trm {
// One official train_batch step from a fresh carry on (inputs, puzzle_identifiers, labels), returning `loss`,
// `lm_loss`, `q_halt_loss`, `logits`, `q_halt_logits`, `q_continue_logits`, `seq_is_correct`, `halted`, `steps`, and
// `grad.<_orig_mod.model.key>` for every trained parameter plus `grad.puzzle_emb.local_weights` [B, E]: the
// gradients of the UN-scaled loss, under the names of the official fixtures' train_step.safetensors.
TensorFile debug_train_step(Model& m, const std::vector<int32_t>& tokens, const std::vector<int32_t>& ids,
                            const std::vector<int32_t>& labels);
}  // namespace trm
