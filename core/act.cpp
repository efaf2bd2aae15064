#include "core/act.hpp"

#include <cstring>

#include "core/error.hpp"

namespace trm {

ActEval::ActEval(const Model& m, const int32_t* tokens, const int32_t* ids, int B_)
    : fwd(m, B_), B(B_), batch_tokens(tokens, tokens + size_t(B_) * m.cfg().seq_len), batch_ids(ids, ids + B_),
      cur_tokens(batch_tokens.size()), cur_ids(size_t(B_)), steps(size_t(B_), 0), halted(size_t(B_), 1) {}

void ActEval::step() {
    const Config& c = fwd.model->cfg();
    const int S = c.seq_len;
    // new_inner_carry = reset_carry(carry.halted, ...); new_steps = where(halted, 0, steps);
    // new_current_data = where(halted, batch, current_data)
    fwd.reset_carry(B, halted.data());
    bool any_reset = false;
    for (int b = 0; b < B; b++) {
        if (!halted[b]) continue;
        any_reset = true;
        steps[b] = 0;
        std::memcpy(&cur_tokens[size_t(b) * S], &batch_tokens[size_t(b) * S], size_t(S) * sizeof(int32_t));
        cur_ids[b] = batch_ids[b];
    }
    if (any_reset) fwd.embed(cur_tokens.data(), cur_ids.data(), B);
    fwd.step(B);
    // new_steps += 1; halted = new_steps >= halt_max_steps (eval: no early halting)
    for (int b = 0; b < B; b++) {
        steps[b] += 1;
        halted[b] = steps[b] >= c.halt_max_steps;
    }
}

TensorFile debug_forward(const Model& m, const std::vector<int32_t>& tokens, const std::vector<int32_t>& ids, int nsteps) {
    const Config& c = m.cfg();
    const int B = int(ids.size());
    if (B <= 0) fail("debug forward: empty batch");
    if (tokens.size() != size_t(B) * c.seq_len)
        fail("debug forward: inputs hold {} tokens, expected {} x {}", tokens.size(), B, c.seq_len);
    ActEval act(m, tokens.data(), ids.data(), B);
    const int64_t L = c.total_seq(), D = c.hidden_size, S = c.seq_len, V = c.vocab_size;
    TensorFile out;
    for (int s = 1; s <= nsteps; s++) {
        act.step();
        if (s == 1) out.tensors["input_embeddings"] = Tensor::from_f32({B, L, D}, act.fwd.x.data());
        std::vector<float> qh(B), qc(B);
        for (int b = 0; b < B; b++) { qh[b] = act.fwd.q[2 * b]; qc[b] = act.fwd.q[2 * b + 1]; }
        std::vector<int32_t> halted(act.halted.begin(), act.halted.end());
        auto p = fmt::format("step{}.", s);
        out.tensors[p + "logits"] = Tensor::from_f32({B, S, V}, act.fwd.logits.data());
        out.tensors[p + "q_halt_logits"] = Tensor::from_f32({B}, qh.data());
        out.tensors[p + "q_continue_logits"] = Tensor::from_f32({B}, qc.data());
        out.tensors[p + "z_H"] = Tensor::from_f32({B, L, D}, act.fwd.z_H.data());
        out.tensors[p + "z_L"] = Tensor::from_f32({B, L, D}, act.fwd.z_L.data());
        out.tensors[p + "halted"] = Tensor::from_i32({B}, halted.data());
        out.tensors[p + "steps"] = Tensor::from_i32({B}, act.steps.data());
    }
    return out;
}

}  // namespace trm

#include "core/train_step.hpp"

namespace trm {

TensorFile debug_train_step(Model& m, const std::vector<int32_t>& tokens, const std::vector<int32_t>& ids,
                            const std::vector<int32_t>& labels) {
    const Config& c = m.cfg();
    const int B = int(ids.size());
    if (B <= 0) fail("debug train-step: empty batch");
    if (tokens.size() != size_t(B) * c.seq_len || labels.size() != tokens.size())
        fail("debug train-step: inputs/labels hold {}/{} values, expected {} x {}", tokens.size(), labels.size(), B, c.seq_len);
    TrainStep ts(m, B);
    ts.refill(tokens.data(), labels.data(), ids.data());
    Rng rng(0);
    ts.forward_backward(1.0, rng, c.halt_exploration_prob);
    const int64_t S = c.seq_len, V = c.vocab_size, E = c.puzzle_emb_ndim;
    TensorFile out;
    const LossOut& l = ts.last_loss;
    out.tensors["loss"] = Tensor::from_f64({}, &l.loss);
    out.tensors["lm_loss"] = Tensor::from_f64({}, &l.lm_loss);
    float qhl = float(l.q_halt_loss);
    out.tensors["q_halt_loss"] = Tensor::from_f32({}, &qhl);
    out.tensors["logits"] = Tensor::from_f32({B, S, V}, ts.fwd.logits.data());
    std::vector<float> qh(B), qc(B);
    std::vector<int32_t> correct(B), halted(B);
    for (int b = 0; b < B; b++) {
        qh[b] = ts.fwd.q[2 * b]; qc[b] = ts.fwd.q[2 * b + 1];
        correct[b] = l.seq_is_correct[b]; halted[b] = ts.halted[b];
    }
    out.tensors["q_halt_logits"] = Tensor::from_f32({B}, qh.data());
    out.tensors["q_continue_logits"] = Tensor::from_f32({B}, qc.data());
    out.tensors["seq_is_correct"] = Tensor::from_i32({B}, correct.data());
    out.tensors["halted"] = Tensor::from_i32({B}, halted.data());
    out.tensors["steps"] = Tensor::from_i32({B}, ts.steps.data());
    for (auto& p : ts.grad_layout.table) {
        if (p.kind != ParamKind::Dense) continue;
        out.tensors["grad." + std::string(kOfficialPrefix) + p.name] = Tensor::from_f32(p.shape, ts.grads.data() + p.offset);
    }
    if (E > 0) out.tensors["grad.puzzle_emb.local_weights"] = Tensor::from_f32({B, E}, ts.dpuzzle_local.data());
    return out;
}

}  // namespace trm
