// Backward passes of the TRM building blocks (see forward.hpp for the forward they invert).
// Gradients accumulate into the grad arena views (dw) and, for puzzle embeddings, into per-row local grads.
#pragma once
#include "core/forward.hpp"

namespace trm {

// Scratch for block_backward, sized once from (Config, batch). Training does not keep the SwiGLU activations
// (act, t_act): the backward recomputes them from the saved pre-activations in its SwiGLU pass.
struct BlockGradScratch {
    std::vector<float> d_h1, d_gu, d_act, act, d_qkv, d_att, att_scratch, t_dgu, t_dact, t_act, t_dy;
    BlockGradScratch(const Config& c, int B);
    size_t bytes() const;
};

// dh: on entry d(block output) [R, D]; on return d(block input) [R, D].
void block_backward(const BlockView<float>& dw, const BlockView<const float>& w, float* dh, int B, const Dims& d,
                    const Config& c, const float* cos, const float* sin, const BlockCache& k, BlockGradScratch& s);

// dlogits [B, S, V], dq [B, 2] -> dz_H [B, L, D] (overwritten), and lm_head / q_head grads.
void heads_backward(float* dz_H, const ModelView<float>& dw, const ModelView<const float>& w, const Dims& d,
                    const float* z_H, const float* dlogits, const float* dq);

// dx [B, L, D] (d of the scaled input embeddings) -> embed_tokens / embed_pos grads, and
// dpuzzle_local [B, E]: the gradient of each batch row's puzzle-embedding vector (official local_weights.grad).
void embed_backward(const ModelView<float>& dw, float* dpuzzle_local, const Config& c, const int32_t* tokens,
                    const float* dx, int B);

}  // namespace trm
