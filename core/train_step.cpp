#include "core/train_step.hpp"

#include <cstring>

#include "core/error.hpp"
#include "core/ops.hpp"

namespace trm {

namespace {
// Floats one block application saves for backward.
size_t cache_floats(const Config& c, int B) {
    Dims d(c, B);
    const size_t R = d.R(), D = size_t(d.D);
    size_t n = 3 * R * D + R * 2 * d.I + R * d.I + R;  // x, h1, h2, gu, act, rms2
    if (c.mlp_t) n += size_t(B) * 2 * d.It * D + size_t(B) * d.It * D + size_t(B) * D;
    else n += R * 3 * D + size_t(B) * d.H * d.L * d.L + R * D + R;
    return n;
}
}  // namespace

TrainStep::TrainStep(Model& m, int batch)
    : model(&m), grad_layout(m.cfg()), grads(grad_layout.total, 0.0f), B(batch), fwd(m, batch), gscratch(m.cfg(), batch) {
    const Config& c = m.cfg();
    Dims d(c, B);
    const size_t R = d.R(), D = size_t(d.D);
    const int apps = (c.L_cycles + 1) * c.L_layers;
    cache_mem.resize(cache_floats(c, B) * size_t(apps));
    float* p = cache_mem.data();
    auto take = [&](size_t n) { float* r = p; p += n; return r; };
    for (int a = 0; a < apps; a++) {
        BlockCache k;
        k.training = true;
        k.x = take(R * D); k.h1 = take(R * D); k.h2 = take(R * D);
        k.gu = take(R * 2 * d.I); k.act = take(R * d.I); k.rms2 = take(R);
        if (c.mlp_t) {
            k.t_gu = take(size_t(B) * 2 * d.It * D); k.t_act = take(size_t(B) * d.It * D); k.rms1 = take(size_t(B) * D);
        } else {
            k.qkv = take(R * 3 * D); k.probs = take(size_t(B) * d.H * d.L * d.L); k.att = take(R * D); k.rms1 = take(R);
        }
        caches.push_back(k);
    }
    TRM_CHECK(p == cache_mem.data() + cache_mem.size());
    dz_H.resize(R * D); dz_L.resize(R * D); dx.resize(R * D);
    dlogits.resize(size_t(B) * d.S * d.V); dq.resize(size_t(B) * 2);
    dpuzzle_local.resize(size_t(B) * std::max(0, c.puzzle_emb_ndim));
    tokens.resize(size_t(B) * d.S); labels.resize(size_t(B) * d.S); ids.resize(B);
    steps.assign(B, 0);
    halted.assign(B, 1);
}

size_t TrainStep::activation_bytes() const {
    return (cache_mem.size() + grads.size() + dz_H.size() * 3 + dlogits.size()) * sizeof(float) + fwd.bytes() +
           (gscratch.d_h1.size() + gscratch.d_gu.size() + gscratch.d_act.size() + gscratch.d_qkv.size() +
            gscratch.d_att.size() + gscratch.att_scratch.size() + gscratch.t_dgu.size() + gscratch.t_dact.size() +
            gscratch.t_dy.size()) * sizeof(float);
}

int TrainStep::refill(const int32_t* new_tokens, const int32_t* new_labels, const int32_t* new_ids) {
    const int S = model->cfg().seq_len;
    int n = 0;
    // new_inner_carry = reset_carry(halted); new_steps = where(halted, 0, steps); current_data = where(halted, batch, ..)
    fwd.reset_carry(B, halted.data());
    for (int b = 0; b < B; b++) {
        if (!halted[b]) continue;
        n++;
        steps[b] = 0;
        std::memcpy(&tokens[size_t(b) * S], new_tokens + size_t(b) * S, size_t(S) * sizeof(int32_t));
        std::memcpy(&labels[size_t(b) * S], new_labels + size_t(b) * S, size_t(S) * sizeof(int32_t));
        ids[b] = new_ids ? new_ids[b] : 0;
    }
    return n;
}

StepMetrics TrainStep::forward_backward(double grad_scale, Rng& rng, float exploration_prob) {
    const Config& c = model->cfg();
    Dims d(c, B);
    const size_t n = d.R() * d.D;
    auto w = static_cast<const Model*>(model)->view();
    auto dw = grad_layout.view<float>(grads.data());
    const float* cs = fwd.cos.empty() ? nullptr : fwd.cos.data();
    const float* sn = fwd.sin.empty() ? nullptr : fwd.sin.data();

    // ---- forward ----
    fwd.embed(tokens.data(), ids.data(), B);
    if (c.H_cycles > 1) fwd.run_cycles(B, c.H_cycles - 1);   // "with torch.no_grad()"
    float* z_H = fwd.z_H.data();
    float* z_L = fwd.z_L.data();
    int app = 0;
    for (int lc = 0; lc < c.L_cycles; lc++) {                 // z_L = L_level(z_L, z_H + input_embeddings)
        add_inplace(z_L, z_H, n);
        add_inplace(z_L, fwd.x.data(), n);
        for (auto& bw : w.blocks) block_forward(bw, z_L, B, d, c, cs, sn, caches[app++]);
    }
    add_inplace(z_H, z_L, n);                                  // z_H = L_level(z_H, z_L)
    for (auto& bw : w.blocks) block_forward(bw, z_H, B, d, c, cs, sn, caches[app++]);
    fwd.heads(B);

    // ---- loss ----
    last_loss = act_loss(fwd.logits.data(), labels.data(), fwd.q.data(), B, d.S, d.V, grad_scale, dlogits.data(), dq.data());

    // ---- backward ----
    std::fill(grads.begin(), grads.end(), 0.0f);
    std::fill(dx.begin(), dx.end(), 0.0f);
    heads_backward(dz_H.data(), dw, w, d, z_H, dlogits.data(), dq.data());
    for (int l = c.L_layers - 1; l >= 0; l--)
        block_backward(dw.blocks[l], w.blocks[l], dz_H.data(), B, d, c, cs, sn, caches[--app], gscratch);
    std::memcpy(dz_L.data(), dz_H.data(), n * sizeof(float));  // d(z_H_prev + z_L): z_H_prev is detached
    for (int lc = c.L_cycles - 1; lc >= 0; lc--) {
        for (int l = c.L_layers - 1; l >= 0; l--)
            block_backward(dw.blocks[l], w.blocks[l], dz_L.data(), B, d, c, cs, sn, caches[--app], gscratch);
        add_inplace(dx.data(), dz_L.data(), n);                // injection z_H + x: only x carries a gradient
    }
    TRM_CHECK(app == 0);
    embed_backward(dw, dpuzzle_local.data(), c, tokens.data(), dx.data(), B);

    // ---- halting (training mode) and metrics ----
    StepMetrics m;
    m.loss = last_loss.loss; m.lm_loss = last_loss.lm_loss; m.q_halt_loss = last_loss.q_halt_loss;
    for (int b = 0; b < B; b++) {
        steps[b] += 1;
        const bool last = steps[b] >= c.halt_max_steps;
        bool h = last;
        const float qh = fwd.q[size_t(b) * 2];
        if (c.halt_max_steps > 1) {
            h = h || (c.no_ACT_continue ? qh > 0 : qh > fwd.q[size_t(b) * 2 + 1]);
            // min_halt_steps = (rand < p) * randint(2, max + 1); halted &= steps >= min_halt_steps
            int min_steps = 0;
            if (rng.uniform() < exploration_prob) min_steps = rng.range(2, c.halt_max_steps);
            h = h && steps[b] >= min_steps;
        }
        halted[b] = h;
        if (h && last_loss.label_count[b] > 0) {
            m.count++;
            m.accuracy += double(last_loss.correct_cells[b]) / last_loss.label_count[b];
            m.exact += last_loss.seq_is_correct[b];
            m.q_halt_correct += (qh >= 0) == bool(last_loss.seq_is_correct[b]);
            m.steps += steps[b];
        }
    }
    return m;
}

}  // namespace trm
