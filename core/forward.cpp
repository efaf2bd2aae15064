#include "core/forward.hpp"

#include <cmath>
#include <cstring>

#include "core/error.hpp"
#include "core/ops.hpp"
#include "core/parallel.hpp"

namespace trm {

Dims::Dims(const Config& c, int batch)
    : B(batch), S(c.seq_len), P(c.P()), L(c.total_seq()), D(c.hidden_size), H(c.num_heads), hd(c.head_dim()),
      I(swiglu_inner(c.expansion, c.hidden_size)), It(swiglu_inner(c.expansion, c.total_seq())), V(c.vocab_size) {}

Scratch::Scratch(const Config& c, int n) : rows(n) {
    Dims d(c, n);
    const size_t R = d.R();
    if (c.mlp_t) {
        tgu.resize(size_t(2) * d.It * d.D);
        tact.resize(size_t(d.It) * d.D);
        rms.resize(std::max<size_t>(R, size_t(d.D)));
    } else {
        qkv.resize(R * 3 * d.D);
        probs.resize(attention_probs_floats(d.L));
        att.resize(R * d.D);
        rms.resize(R);
    }
    gu.resize(R * 2 * d.I);
    act.resize(packed_a_floats(int(R), d.I));  // a team's act is down's packed A operand: rows padded to tiles
}

BlockCache Scratch::cache() {
    BlockCache k;
    k.qkv = qkv.data(); k.probs = probs.data(); k.att = att.data();
    k.t_gu = tgu.data(); k.t_act = tact.data(); k.rms1 = rms.data(); k.rms2 = rms.data();
    k.gu = gu.data(); k.act = act.data();
    return k;
}

size_t Scratch::bytes() const {
    return (qkv.size() + probs.size() + att.size() + gu.size() + act.size() + tgu.size() + tact.size() + rms.size()) *
           sizeof(float);
}

Forward::Forward(const Model& m, int mb) : model(&m), max_batch(mb) {
    const Config& c = m.cfg();
    Dims d(c, mb);
    const size_t R = d.R();
    if (c.pos_encodings == PosEncoding::Rope || c.pos_encodings == PosEncoding::Rope2d) {
        cos.resize(size_t(d.L) * d.hd);
        sin.resize(size_t(d.L) * d.hd);
        if (c.pos_encodings == PosEncoding::Rope) rope_table(cos.data(), sin.data(), d.L, d.hd, c.rope_theta);
        else rope_table_2d(cos.data(), sin.data(), c.P(), c.grid_side(), d.hd, c.rope_theta);
    }
    x.resize(R * d.D);
    z_H.resize(R * d.D);
    z_L.resize(R * d.D);
    inj.resize(R * d.D);
    logits.resize(size_t(mb) * d.S * d.V);
    q.resize(size_t(mb) * 2);
    const int shards = shard_count(mb), rows = max_shard_rows(mb);
    for (int i = 0; i < shards; i++) scratch.emplace_back(c, rows);
    pack_weights();
}

void Forward::pack_weights() {
    packed_precision = precision();
    if (!fast_gemm_compiled()) { packed.clear(); return; }
    const Config& c = model->cfg();
    Dims d(c, 1);
    auto w = model->view();
    packed.resize(w.blocks.size());
    for (size_t l = 0; l < w.blocks.size(); l++) {
        const auto& bw = w.blocks[l];
        PackedBlock& p = packed[l];
        if (c.mlp_t) {
            p.t_gate_up.resize(packed_a_gated_rows_floats(d.It, d.L));
            pack_a_gated_rows(p.t_gate_up.data(), bw.mlp_t_gate_up, d.It, d.L);
            p.t_down.resize(packed_a_floats(d.L, d.It));
            pack_a(p.t_down.data(), bw.mlp_t_down, d.It, false, d.L, d.It);
        } else {
            p.qkv.pack(bw.qkv, d.D, 3 * d.D, false);
            p.o.pack(bw.o, d.D, d.D, false);
        }
        p.gate_up.pack(bw.gate_up, d.D, 2 * d.I, true);
        p.down.pack(bw.down, d.I, d.D, false);
    }
}

size_t Forward::bytes() const {
    size_t n = (cos.size() + sin.size() + x.size() + z_H.size() + z_L.size() + inj.size() + logits.size() + q.size()) *
               sizeof(float);
    for (auto& s : scratch) n += s.bytes();
    return n;
}

// official _input_embeddings: cat(puzzle_emb (zero-padded to P*D, viewed [P, D]), embed_tokens(inputs));
// learned: 0.707106781 * (emb + embed_pos); then * sqrt(hidden_size)
void embed_forward(float* out, const ModelView<const float>& w, const Config& c, const int32_t* tokens,
                   const int32_t* puzzle_ids, int B) {
    const int S = c.seq_len, P = c.P(), L = c.total_seq(), D = c.hidden_size, E = c.puzzle_emb_ndim;
    const float scale = float(std::sqrt(double(D)));
    for (int b = 0; b < B; b++) {
        float* o = out + size_t(b) * L * D;
        std::memset(o, 0, size_t(P) * D * sizeof(float));
        if (E > 0) {
            const int id = puzzle_ids ? puzzle_ids[b] : 0;
            if (id < 0 || id >= c.num_puzzle_identifiers)
                fail("puzzle identifier {} out of range (model has {})", id, c.num_puzzle_identifiers);
            std::memcpy(o, w.puzzle_emb + size_t(id) * E, size_t(E) * sizeof(float));
        }
        for (int s = 0; s < S; s++) {
            const int t = tokens[size_t(b) * S + s];
            if (t < 0 || t >= c.vocab_size) fail("token {} at position {} out of range (vocab_size {})", t, s, c.vocab_size);
            std::memcpy(o + size_t(P + s) * D, w.embed_tokens + size_t(t) * D, size_t(D) * sizeof(float));
        }
        if (c.pos_encodings == PosEncoding::Learned) {
            const float k = 0.707106781f;
            for (size_t i = 0; i < size_t(L) * D; i++) o[i] = k * (o[i] + w.embed_pos[i]);
        }
        for (size_t i = 0; i < size_t(L) * D; i++) o[i] *= scale;
    }
}

// official Block.forward (post-norm):
//   mlp_t:  h = rms_norm((h^T + mlp_t(h^T)))^T   (norm over the sequence axis)
//   else :  h = rms_norm(h + self_attn(h))
//           h = rms_norm(h + mlp(h))
void block_forward(const BlockView<const float>& w, const PackedBlock* pk, float* hs, int B, const Dims& d,
                   const Config& c, const float* cos, const float* sin, BlockCache& k, const Team& team) {
    TRM_CHECK(team.T == 1 || (pk && c.mlp_t && !k.training));  // teams split only the packed mlp_t inference
    const size_t R = size_t(B) * d.L;
    const int D = d.D;
    // Everything runs in place in hs, as in inference; training also saves the block's input and both post-norm
    // outputs for the backward, written past the caches (read back only after every other block has run).
    if (k.training) copy_past_caches(k.x, hs, R * D);
    float* h1 = hs;
    if (c.mlp_t) {
        // Per puzzle b: x_b [L, D]; G = Wgu [2It, L] @ x_b -> [2It, D] (gate rows | up rows);
        // A = silu(G_gate) * G_up [It, D]; O = Wd [L, It] @ A [It, D]; y = rms_cols(x_b + O).
        // Every column is independent here, so a team splits the D columns.
        team.sync();
        const auto [c0, c1] = team.part(D, kNR);
        const int nc = c1 - c0;
        float* xp = pk ? gemm_workspace(Workspace::MlpTInput, packed_b_floats(d.L, D)) : nullptr;  // x_b packed (when not in place)
        float* ap = pk ? gemm_workspace(Workspace::ActPacked, packed_b_floats(d.It, D)) : nullptr;  // act packed (when not in place)
        for (int b = 0; b < B && nc > 0; b++) {
            const float* xb = hs + size_t(b) * d.L * D;
            float* gu = k.t_gu + (k.training ? size_t(b) * 2 * d.It * D : 0);
            float* act = k.t_act;  // scratch for one puzzle, also in training (the backward recomputes it)
            float* yb = h1 + size_t(b) * d.L * D;  // = xb: y = x_b + O in place
            float* rms = k.rms1 + (k.training ? size_t(b) * D : 0);
            if (pk) {
                // SwiGLU fused into the gate_up product (act rows straight from gate/up row pairs); x_b and act
                // are read in place when D is whole panels, else packed first
                // (at D = 512 rows 2 KiB apart alias in L1, so packing them first is faster there)
                const bool in_place = precision() == Precision::Fp32 && D % kNR == 0 && D % 512 != 0;
                float* gus = k.training ? gu + c0 : nullptr;
                if (in_place) {
                    gemm_packed(d.It, nc, d.L, pk->t_gate_up.data(), xb + c0, act + c0, D, Epilogue::SwiGLURows, gus,
                                D, D);
                    gemm_packed(d.L, nc, d.It, pk->t_down.data(), act + c0, yb + c0, D, Epilogue::Add, nullptr, 0, D);
                } else {  // act goes straight from the epilogue into the packed B operand of down
                    pack_b(xp, xb + c0, D, false, d.L, nc);
                    gemm_packed(d.It, nc, d.L, pk->t_gate_up.data(), xp, ap, d.It, Epilogue::SwiGLURowsPackB, gus, D);
                    gemm_packed(d.L, nc, d.It, pk->t_down.data(), ap, yb + c0, D, Epilogue::Add);
                }
                rmsnorm_cols_forward(yb + c0, rms + c0, yb + c0, d.L, nc, c.rms_norm_eps, D);
            } else {
                gemm(false, false, 2 * d.It, D, d.L, 1.0f, w.mlp_t_gate_up, d.L, xb, D, 0.0f, gu, D);
                swiglu_rows_forward(act, gu, d.It, D);
                gemm(false, false, d.L, D, d.It, 1.0f, w.mlp_t_down, d.It, act, D, 1.0f, yb, D);
                rmsnorm_cols_forward(yb, rms, yb, d.L, D, c.rms_norm_eps);
            }
        }
        team.sync();
    } else {
        if (pk) linear_packed(k.qkv, hs, int(R), pk->qkv, Epilogue::Store);
        else linear_forward(k.qkv, hs, w.qkv, int(R), D, 3 * D);
        if (cos) rope_forward(k.qkv, cos, sin, int(R), d.L, d.H, d.hd);
        attention_forward(k.att, k.probs, k.qkv, B, d.L, d.H, d.hd, k.training);
        if (pk) linear_packed(h1, k.att, int(R), pk->o, Epilogue::Add);
        else linear_forward(h1, k.att, w.o, int(R), D, D, /*accumulate=*/true);
        rmsnorm_forward(h1, k.rms1, h1, int(R), D, c.rms_norm_eps);
    }
    if (k.training) copy_past_caches(k.h1, h1, R * D);
    float* h2 = hs;
    if (pk && team.T > 1) {
        // A team splits columns: its own act columns (and gate_up panels), written into down's packed A operand
        // that the team shares, then its own output columns of down (and down panels) over all of act, so each
        // thread streams only its share of the weights; rows get the norm.
        const auto [i0, i1] = team.part(d.I, kNR / 2);
        linear_packed(k.act, h1, int(R), pk->gate_up, Epilogue::SwiGLUPackA, nullptr, i0, i1);
        team.sync();
        const auto [d0, d1] = team.part(D, kNR);
        if (d0 < d1)
            gemm_packed(int(R), d1 - d0, d.I, k.act, pk->down.from_column(d0), h2 + d0, D, Epilogue::Add);
        team.sync();
        const auto [r0, r1] = team.part(int(R), kMR);
        rmsnorm_forward(h2 + size_t(r0) * D, k.rms2 + r0, h2 + size_t(r0) * D, r1 - r0, D, c.rms_norm_eps);
    } else if (pk) {
        // gate_up with SwiGLU fused, down and the norm on chunks of rows, so gu never exists in inference and
        // each chunk's act stays in L2 between the two products: gate_up's epilogue writes it straight into down's
        // packed A operand (training too: the backward recomputes act from gu).
        const int rows = int(R), chunk = row_chunk(rows, d.I);  // one thread here: teams took the branch above
        float* ap = gemm_workspace(Workspace::ActPacked, packed_a_floats(chunk, d.I));
        for (int r0 = 0; r0 < rows; r0 += chunk) {
            const int n = std::min(chunk, rows - r0);
            float* h = h2 + size_t(r0) * D;
            linear_packed(ap, h1 + size_t(r0) * D, n, pk->gate_up, Epilogue::SwiGLUPackA,
                          k.training ? k.gu + size_t(r0) * 2 * d.I : nullptr);
            gemm_packed(n, D, d.I, ap, pk->down.from_column(0), h, D, Epilogue::Add);
            rmsnorm_forward(h, k.rms2 + r0, h, n, D, c.rms_norm_eps);
        }
    } else {
        linear_forward(k.gu, h1, w.gate_up, int(R), D, 2 * d.I);
        swiglu_forward(k.act, k.gu, int(R), d.I);
        linear_forward(h2, k.act, w.down, int(R), d.I, D, /*accumulate=*/true);
        rmsnorm_forward(h2, k.rms2, h2, int(R), D, c.rms_norm_eps);
    }
    if (k.training) copy_past_caches(k.h2, h2, R * D);
}

void heads_forward(float* logits, float* q, const ModelView<const float>& w, const Dims& d, const float* z_H) {
    for (int b = 0; b < d.B; b++) {
        const float* zb = z_H + size_t(b) * d.L * d.D;
        // output = lm_head(z_H)[:, P:]
        linear_forward(logits + size_t(b) * d.S * d.V, zb + size_t(d.P) * d.D, w.lm_head, d.S, d.D, d.V);
        // q_logits = q_head(z_H[:, 0])
        for (int j = 0; j < 2; j++) {
            float acc = w.q_head_b[j];
            for (int i = 0; i < d.D; i++) acc += w.q_head_w[size_t(j) * d.D + i] * zb[i];
            q[size_t(b) * 2 + j] = acc;
        }
    }
}

void Forward::embed(const int32_t* tokens, const int32_t* puzzle_ids, int B) {
    TRM_CHECK(B <= max_batch);
    embed_forward(x.data(), model->view(), model->cfg(), tokens, puzzle_ids, B);
}

void Forward::reset_carry(int B, const uint8_t* reset) {
    const Config& c = model->cfg();
    const int L = c.total_seq(), D = c.hidden_size;
    auto w = model->view();
    for (int b = 0; b < B; b++) {
        if (reset && !reset[b]) continue;
        for (int l = 0; l < L; l++) {
            std::memcpy(&z_H[(size_t(b) * L + l) * D], w.H_init, size_t(D) * sizeof(float));
            std::memcpy(&z_L[(size_t(b) * L + l) * D], w.L_init, size_t(D) * sizeof(float));
        }
    }
}

void Forward::step(int B, const std::function<void(int)>& on_cycle) {
    const int H = model->cfg().H_cycles;
    run_cycles(B, H, on_cycle);
    heads(B);
    if (on_cycle) on_cycle(H - 1);
}

void Forward::cycle_rows(int b0, int b1, Scratch& s, const Team& team, bool use_packed) {
    const Config& c = model->cfg();
    const int B = b1 - b0;
    TRM_CHECK(B <= s.rows);
    Dims d(c, B);
    auto w = model->view();
    const size_t off = size_t(b0) * d.L * d.D;
    float* zH = z_H.data() + off;
    float* zL = z_L.data() + off;
    float* in = inj.data() + off;
    const float* xx = x.data() + off;
    BlockCache k = s.cache();
    const float* cs = cos.empty() ? nullptr : cos.data();
    const float* sn = sin.empty() ? nullptr : sin.data();
    // Element-wise passes take the same row slice as the blocks' row-wise work, so they need no barrier.
    const auto [r0, r1] = team.part(int(d.R()), kMR);
    latent_cycle(zH, zL, xx, in, size_t(r0) * d.D, size_t(r1 - r0) * d.D, c.L_cycles, [&](float* h) {
        for (size_t l = 0; l < w.blocks.size(); l++)
            block_forward(w.blocks[l], use_packed && !packed.empty() ? &packed[l] : nullptr, h, B, d, c, cs, sn, k, team);
    });
}

void Forward::run_cycles(int B, int cycles, const std::function<void(int)>& on_cycle) {
    TRM_CHECK(B <= max_batch);
    if (packed_precision != precision()) pack_weights();  // the precision was switched since the last step
    const Config& c = model->cfg();
    // Fewer puzzles than threads (one at a time): for mlp_t the threads work on every operation together (a
    // team); attention keeps OpenBLAS threading each product of the single shard (not split into a team yet),
    // except where OpenBLAS has no vector kernels: there the shard runs on the packed weights on one thread.
    const bool few = shard_count(B) < num_threads();
    const bool team = few && !packed.empty() && c.mlp_t;
    const bool blas_slow = products_on_trm_kernel();  // OpenBLAS's threads on SSE3 kernels lose to one packed thread
    auto run = [&](int n) {
        if (team) parallel_team([&](const Team& t) { for (int hc = 0; hc < n; hc++) cycle_rows(0, B, scratch[0], t); });
        else parallel_shards(B, [&](int b0, int b1, int k) {
            for (int hc = 0; hc < n; hc++) cycle_rows(b0, b1, scratch[k], Team{}, /*use_packed=*/!few || blas_slow);
        });
    };
    if (!on_cycle) {  // whole recursion inside one parallel region
        run(cycles);
        return;
    }
    for (int hc = 0; hc < cycles; hc++) {
        run(1);
        if (hc + 1 < c.H_cycles) { heads(B); on_cycle(hc); }
    }
}

void Forward::heads(int B) {
    Dims d(model->cfg(), B);
    heads_forward(logits.data(), q.data(), model->view(), d, z_H.data());
}

void Forward::move_row(int to, int from) {
    if (to == from) return;
    const Config& c = model->cfg();
    const size_t row = size_t(c.total_seq()) * c.hidden_size;
    std::memcpy(&x[size_t(to) * row], &x[size_t(from) * row], row * sizeof(float));
    std::memcpy(&z_H[size_t(to) * row], &z_H[size_t(from) * row], row * sizeof(float));
    std::memcpy(&z_L[size_t(to) * row], &z_L[size_t(from) * row], row * sizeof(float));
    const size_t lrow = size_t(c.seq_len) * c.vocab_size;
    std::memcpy(&logits[size_t(to) * lrow], &logits[size_t(from) * lrow], lrow * sizeof(float));
    q[size_t(to) * 2] = q[size_t(from) * 2];
    q[size_t(to) * 2 + 1] = q[size_t(from) * 2 + 1];
}

double flops_per_step(const Config& c) {
    Dims d(c, 1);
    const double L = d.L, D = d.D;
    double block = 0;
    if (c.mlp_t) block += 2.0 * D * (2.0 * d.It * L) + 2.0 * D * (L * d.It);
    else block += 2.0 * L * D * 3 * D + 2.0 * L * D * D + 2.0 * 2 * L * L * D;  // qkv, o, scores + PV
    block += 2.0 * L * D * 2 * d.I + 2.0 * L * d.I * D;
    const double apps = double(c.H_cycles) * (c.L_cycles + 1) * c.L_layers;
    return apps * block + 2.0 * d.S * D * d.V + 4.0 * D;
}

}  // namespace trm
