#include "core/train_step.hpp"

#include <cstring>

#include "core/error.hpp"
#include "core/ops.hpp"
#include "core/parallel.hpp"

namespace trm {

namespace {
// Carves the buffers of one block application (the whole batch's rows) from p, each starting on a cache line (the
// pre-activations gu and t_gu are streamed there by the gemm kernel), and returns the floats taken. With p null it
// only counts.
size_t carve_cache(BlockCache& k, const Config& c, int B, float* p) {
    Dims d(c, B);
    const size_t R = d.R(), D = size_t(d.D);
    size_t used = 0;
    auto take = [&](size_t n) { float* r = p ? p + used : nullptr; used += whole_lines(n); return r; };
    k.training = true;
    k.x = take(R * D); k.h1 = take(R * D); k.h2 = take(R * D);
    k.gu = take(R * 2 * d.I); k.rms2 = take(R);  // act: the shard's scratch; the backward recomputes it from gu
    if (c.mlp_t) {
        k.t_gu = take(size_t(B) * 2 * d.It * D); k.rms1 = take(size_t(B) * D);
    } else {
        k.qkv = take(R * 3 * D); k.probs = take(size_t(B) * d.H * attention_probs_floats(d.L)); k.att = take(R * D); k.rms1 = take(R);
    }
    return used;
}

// The cache of rows [b0, ...) of a cache laid out for the whole batch.
BlockCache offset_cache(const BlockCache& k, const Config& c, int b0) {
    Dims d(c, 1);
    const size_t L = d.L, D = d.D, b = size_t(b0);
    BlockCache o = k;
    o.x += b * L * D; o.h1 += b * L * D; o.h2 += b * L * D;
    o.gu += b * L * 2 * d.I; o.rms2 += b * L;
    if (c.mlp_t) {
        o.t_gu += b * 2 * d.It * D; o.rms1 += b * D;
    } else {
        o.qkv += b * L * 3 * D; o.probs += b * d.H * attention_probs_floats(d.L); o.att += b * L * D; o.rms1 += b * L;
    }
    return o;
}
}  // namespace

TrainStep::TrainStep(Model& m, int batch)
    : model(&m), grad_layout(m.cfg()), grads(grad_layout.total, 0.0f), B(batch), fwd(m, batch) {
    const Config& c = m.cfg();
    Dims d(c, B);
    const size_t R = d.R(), D = size_t(d.D);
    const int apps = (c.L_cycles + 1) * c.L_layers;
    BlockCache k;
    const size_t per_app = carve_cache(k, c, B, nullptr);
    cache_mem.resize(per_app * size_t(apps));
    for (int a = 0; a < apps; a++) {
        carve_cache(k, c, B, cache_mem.data() + per_app * size_t(a));
        caches.push_back(k);
    }
    const int shards = shard_count(B);
    for (int i = 0; i < shards; i++) gscratch.emplace_back(c, max_shard_rows(B));
    for (int i = 1; i < shards; i++) shard_grads.emplace_back(grad_layout.total, 0.0f);
    dz_H.resize(R * D); dz_L.resize(R * D); dx.resize(R * D);
    dlogits.resize(size_t(B) * d.S * d.V); dq.resize(size_t(B) * 2);
    dpuzzle_local.resize(size_t(B) * std::max(0, c.puzzle_emb_ndim));
    tokens.resize(size_t(B) * d.S); labels.resize(size_t(B) * d.S); ids.resize(B);
    steps.assign(B, 0);
    halted.assign(B, 1);
}

size_t TrainStep::activation_bytes() const {
    size_t n = (cache_mem.size() + grads.size() * (1 + shard_grads.size()) + dz_H.size() * 3 + dlogits.size()) *
               sizeof(float) + fwd.bytes();
    for (auto& g : gscratch) n += g.bytes();
    return n;
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
    auto w = static_cast<const Model*>(model)->view();
    const float* cs = fwd.cos.empty() ? nullptr : fwd.cos.data();
    const float* sn = fwd.sin.empty() ? nullptr : fwd.sin.data();

    // ---- forward (each shard of rows independently) ----
    TRM_CHECK(max_shard_rows(B) <= fwd.scratch[0].rows);
    fwd.pack_weights();  // the optimizer changed them since the last step
    // the last cycle of attention models stays on OpenBLAS where it has its own vector kernels (it measured faster
    // than the packed path there), else it runs on the packed weights like every other cycle
    const bool packed_grad = c.mlp_t || products_on_trm_kernel();
    auto packed = [&](size_t l) { return fwd.packed.empty() || !packed_grad ? nullptr : &fwd.packed[l]; };
    parallel_shards(B, [&](int b0, int b1, int k) {
        const int nb = b1 - b0;
        Dims ds(c, nb);
        const size_t off = size_t(b0) * d.L * d.D, n = ds.R() * d.D;
        embed_forward(fwd.x.data() + off, w, c, tokens.data() + size_t(b0) * d.S, ids.data() + b0, nb);
        for (int hc = 0; hc + 1 < c.H_cycles; hc++) fwd.cycle_rows(b0, b1, fwd.scratch[k]);  // "with torch.no_grad()"
        float* z_H = fwd.z_H.data() + off;
        float* z_L = fwd.z_L.data() + off;
        const float* x = fwd.x.data() + off;
        auto cache = [&](int a) {  // the application's saved buffers, with the SwiGLU activations in shard scratch
            BlockCache kc = offset_cache(caches[size_t(a)], c, b0);
            kc.act = fwd.scratch[k].act.data();
            kc.t_act = fwd.scratch[k].tact.data();
            return kc;
        };
        int app = 0;
        latent_cycle(z_H, z_L, x, fwd.inj.data() + off, 0, n, c.L_cycles, [&](float* h) {
            for (size_t l = 0; l < w.blocks.size(); l++) {
                BlockCache kc = cache(app++);
                block_forward(w.blocks[l], packed(l), h, nb, ds, c, cs, sn, kc);
            }
        });
        heads_forward(fwd.logits.data() + size_t(b0) * d.S * d.V, fwd.q.data() + size_t(b0) * 2, w, ds, z_H);
    });

    // ---- loss ----
    last_loss = act_loss(fwd.logits.data(), labels.data(), fwd.q.data(), B, d.S, d.V, grad_scale, dlogits.data(), dq.data());

    // ---- backward (each shard into its own gradient arena, then summed) ----
    parallel_shards(B, [&](int b0, int b1, int k) {
        const int nb = b1 - b0;
        Dims ds(c, nb);
        const size_t off = size_t(b0) * d.L * d.D, n = ds.R() * d.D;
        std::vector<float>& g = k == 0 ? grads : shard_grads[size_t(k) - 1];
        std::fill(g.begin(), g.end(), 0.0f);
        auto dwk = grad_layout.view<float>(g.data());
        float* dzH = dz_H.data() + off;
        float* dzL = dz_L.data() + off;
        float* dxx = dx.data() + off;
        std::fill(dxx, dxx + n, 0.0f);
        heads_backward(dzH, dwk, w, ds, fwd.z_H.data() + off, dlogits.data() + size_t(b0) * d.S * d.V,
                       dq.data() + size_t(b0) * 2);
        int app = int(caches.size());
        for (int l = c.L_layers - 1; l >= 0; l--)
            block_backward(dwk.blocks[l], w.blocks[l], dzH, nb, ds, c, cs, sn, offset_cache(caches[--app], c, b0), gscratch[k]);
        std::memcpy(dzL, dzH, n * sizeof(float));           // d(z_H_prev + z_L): z_H_prev is detached
        for (int lc = c.L_cycles - 1; lc >= 0; lc--) {
            for (int l = c.L_layers - 1; l >= 0; l--)
                block_backward(dwk.blocks[l], w.blocks[l], dzL, nb, ds, c, cs, sn, offset_cache(caches[--app], c, b0), gscratch[k]);
            add_inplace(dxx, dzL, n);                         // injection z_H + x: only x carries a gradient
        }
        TRM_CHECK(app == 0);
        const int E = std::max(0, c.puzzle_emb_ndim);
        embed_backward(dwk, dpuzzle_local.data() + size_t(b0) * E, c, tokens.data() + size_t(b0) * d.S, dxx, nb);
    });
    for (auto& g : shard_grads) add_inplace(grads.data(), g.data(), grads.size());

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
