// The TRM forward pass (official TinyRecursiveReasoningModel_ACTV1_Inner) over a batch of B puzzles.
//
//   x   = input embeddings                    [B, L, D]   (puzzle prefix rows, then token rows)
//   per supervision step, from the carry (z_H = y, z_L = z):
//     repeat H_cycles:  repeat L_cycles: z_L = net(z_L, z_H + x)     "critique"
//                       z_H = net(z_H, z_L)                          "refine"
//     logits = lm_head(z_H)[:, P:]            [B, S, V]               "draft"
//     q      = q_head(z_H[:, 0])              [B, 2]  (q_halt, q_continue)
//   net(h, inj) = blocks(h + inj); block = post-norm attention (or mlp_t over the sequence axis) + SwiGLU MLP.
//
// All buffers are sized once from (Config, max_batch); nothing is allocated inside the recursion.
#pragma once
#include <functional>
#include <vector>

#include "core/gemm.hpp"
#include "core/ops.hpp"
#include "core/parallel.hpp"
#include "core/weights.hpp"

namespace trm {

// Buffers of one block application. In inference they point into shared scratch; in training each application of
// the last H cycle has its own, kept for backward.
struct BlockCache {
    float* x = nullptr;      // [R, D] saved block input (training only; the block itself works in place)
    float* qkv = nullptr;    // [R, 3D] q, k after RoPE
    float* probs = nullptr;  // [B, H, L, L] (training) or [L, L] scratch (inference)
    float* att = nullptr;    // [R, D] attention output before o_proj
    float* t_gu = nullptr;   // [B, 2It, D] mlp_t gate|up rows (inference: [2It, D])
    float* t_act = nullptr;  // [It, D] scratch (not kept for training: the backward recomputes it from t_gu)
    float* h1 = nullptr;     // [R, D] saved output of the first post-norm (training only)
    float* rms1 = nullptr;   // [R] (attention) or [B, D] (mlp_t, per column)
    float* gu = nullptr;     // [R, 2I]
    float* act = nullptr;    // [R, I] scratch (a team: down's packed A operand); training recomputes it from gu
    float* h2 = nullptr;     // [R, D] saved block output (training only)
    float* rms2 = nullptr;   // [R]
    bool training = false;
};

// A block's weights packed once for trm's own gemm (core/gemm.hpp); empty where the block has no such weight.
struct PackedBlock {
    PackedLinear qkv, o, gate_up, down;    // B operands of x @ w^T (gate_up packed for the fused SwiGLU)
    std::vector<float> t_gate_up, t_down;  // mlp_t weights as A operands: [2It, L] (gate/up row pairs) and [L, It]
};

// Sizes of everything, derived from the config.
struct Dims {
    int B, S, P, L, D, H, hd, I, It, V;
    Dims(const Config& c, int batch);
    size_t R() const { return size_t(B) * L; }
};

// Inference scratch for one shard of rows (see core/parallel.hpp).
struct Scratch {
    int rows = 0;  // puzzles it is sized for
    std::vector<float> qkv, probs, att, gu, act, tgu, tact, rms;
    Scratch(const Config& c, int rows);
    BlockCache cache();
    size_t bytes() const;
};

struct Forward {
    const Model* model;
    int max_batch;
    std::vector<float> cos, sin;     // [L, hd] RoPE table
    std::vector<float> x;            // [B, L, D] input embeddings
    std::vector<float> z_H, z_L;     // [B, L, D] carry
    std::vector<float> inj;          // [B, L, D] input injection scratch
    std::vector<float> logits;       // [B, S, V]
    std::vector<float> q;            // [B, 2] (q_halt, q_continue)
    std::vector<Scratch> scratch;    // one per shard
    std::vector<PackedBlock> packed; // per block, when trm's gemm is compiled for this CPU (else empty: OpenBLAS)
    Precision packed_precision = Precision::Fp32;  // what `packed` holds

    Forward(const Model& m, int max_batch);
    // Re-packs the model's weights for the gemm: call after the weights change (training does, every step).
    void pack_weights();
    size_t bytes() const;  // activation memory held

    // x[b] = input embeddings of (tokens[b, :S], puzzle_ids[b]) for b < B.
    void embed(const int32_t* tokens, const int32_t* puzzle_ids, int B);
    // z_H[b], z_L[b] = H_init, L_init for rows with reset[b] (all rows when reset is null).
    void reset_carry(int B, const uint8_t* reset = nullptr);
    // One supervision step on rows [0, B): updates z_H, z_L, writes logits and q. on_cycle (optional) is called
    // after every H cycle with the cycle index, so a trace can decode intermediate answers from z_H.
    void step(int B, const std::function<void(int)>& on_cycle = {});
    // Runs `cycles` H cycles (each L_cycles z-updates + 1 y-update) without heads, without saving activations.
    void run_cycles(int B, int cycles, const std::function<void(int)>& on_cycle = {});
    // Decodes z_H rows into logits [B, S, V] and q [B, 2] (also done by step()).
    void heads(int B);
    // One H cycle on rows [b0, b1) with the given scratch; a team shares the work of the same rows.
    // use_packed = false runs the products through OpenBLAS (threaded, for a lone shard of an attention model).
    void cycle_rows(int b0, int b1, Scratch& s, const Team& team = Team{}, bool use_packed = true);
    // Moves row `from` to row `to` (x, carry): used to compact the batch when rows halt.
    void move_row(int to, int from);
};

// ---- building blocks shared with training ----
// pk: the same block's packed weights (Forward::packed), or null to run the products through OpenBLAS.
// team: threads sharing this call (packed mlp_t inference only); each takes its columns / rows of the work.
void block_forward(const BlockView<const float>& w, const PackedBlock* pk, float* hs, int B, const Dims& d,
                   const Config& c, const float* cos, const float* sin, BlockCache& cache, const Team& team = Team{});
// input embeddings: out [B, L, D]
void embed_forward(float* out, const ModelView<const float>& w, const Config& c, const int32_t* tokens,
                   const int32_t* puzzle_ids, int B);
// lm_head on rows P.. and q_head on row 0 of each puzzle.
void heads_forward(float* logits, float* q, const ModelView<const float>& w, const Dims& d, const float* z_H);

// One H cycle of the latent recursion, the one written for inference and training alike (official
// TinyRecursiveReasoningModel_ACTV1_Inner):
//   for _L_step in range(L_cycles): z_L = L_level(z_L, z_H + input_embeddings)
//   z_H = L_level(z_H, z_L)
// with L_level(h, injection) = layers(h + injection). inj is scratch for z_H + x; the element-wise adds cover
// elements [e0, e0 + en) (a team member's share; the whole rows otherwise) and `layers(h)` runs the blocks on h in
// place (a team's blocks meet at their own barriers first).
template <class Layers>
void latent_cycle(float* zH, float* zL, const float* x, float* inj, size_t e0, size_t en, int L_cycles,
                  Layers&& layers) {
    for (int lc = 0; lc < L_cycles; lc++) {
        add_into(inj + e0, zH + e0, x + e0, en);
        add_inplace(zL + e0, inj + e0, en);
        layers(zL);
    }
    add_inplace(zH + e0, zL + e0, en);
    layers(zH);
}

// FLOPs of one supervision step for one puzzle (matmuls and attention; element-wise work not counted).
double flops_per_step(const Config& c);

}  // namespace trm
