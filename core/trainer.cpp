#include "core/trainer.hpp"

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/forward.hpp"
#include "core/loss.hpp"
#include "core/model_io.hpp"
#include "core/safetensors.hpp"

namespace trm {

using nlohmann::json;

json train_options_to_json(const TrainOptions& o) {
    const auto& p = o.optim;
    return json{{"lr", p.lr}, {"lr_min_ratio", p.lr_min_ratio}, {"lr_warmup_steps", p.lr_warmup_steps},
                {"total_steps", p.total_steps}, {"weight_decay", p.weight_decay}, {"beta1", p.beta1},
                {"beta2", p.beta2}, {"puzzle_emb_lr", p.puzzle_emb_lr},
                {"puzzle_emb_weight_decay", p.puzzle_emb_weight_decay}, {"ema_rate", p.ema_rate},
                {"batch_size", o.batch_size}, {"seed", o.seed}, {"halt_exploration_prob", o.halt_exploration_prob}};
}

TrainOptions train_options_from_json(const json& j, const std::string& label) {
    TrainOptions o;
    auto& p = o.optim;
    j.at("lr").get_to(p.lr); j.at("lr_min_ratio").get_to(p.lr_min_ratio); j.at("lr_warmup_steps").get_to(p.lr_warmup_steps);
    j.at("total_steps").get_to(p.total_steps); j.at("weight_decay").get_to(p.weight_decay); j.at("beta1").get_to(p.beta1);
    j.at("beta2").get_to(p.beta2); j.at("puzzle_emb_lr").get_to(p.puzzle_emb_lr);
    j.at("puzzle_emb_weight_decay").get_to(p.puzzle_emb_weight_decay); j.at("ema_rate").get_to(p.ema_rate);
    o.batch_size = json_int(j.at("batch_size"), "batch_size", label);
    j.at("seed").get_to(o.seed);
    j.at("halt_exploration_prob").get_to(o.halt_exploration_prob);
    return o;
}

static float trunc_normal(Rng& rng, float std) {
    // standard normal cut at +-2, rescaled so the result has the requested std (JAX-style truncated normal)
    constexpr float kTruncStd = 0.87962566f;
    float z;
    do { z = rng.normal(); } while (std::fabs(z) > 2.0f);
    return z * std / kTruncStd;
}

void init_weights(Model& m, uint64_t seed) {
    Rng rng(seed * 0x9e3779b97f4a7c15ull + 17);
    const Config& c = m.cfg();
    for (auto& p : m.layout.table) {
        float* w = m.arena.data() + p.offset;
        float std;
        if (p.name == "inner.H_init" || p.name == "inner.L_init") std = 1.0f;
        else if (p.name.find("embed_tokens") != std::string::npos || p.name.find("embed_pos") != std::string::npos)
            std = 1.0f / std::sqrt(float(c.hidden_size));
        else if (p.name == "inner.q_head.weight" || p.name == "inner.puzzle_emb.weights") std = 0.0f;
        else if (p.name == "inner.q_head.bias") { std::fill(w, w + p.numel, -5.0f); continue; }
        else std = 1.0f / std::sqrt(float(p.shape.back()));  // CastedLinear: 1 / sqrt(in_features)
        for (size_t i = 0; i < p.numel; i++) w[i] = std == 0.0f ? 0.0f : trunc_normal(rng, std);
    }
}

Trainer::Trainer(Model m, const TrainOptions& o)
    : opt(o), model(std::move(m)), ema(model.arena), adam_m(model.arena.size(), 0.0f), adam_v(model.arena.size(), 0.0f),
      rng(o.seed ^ 0x5eedull) {
    ts = std::make_unique<TrainStep>(model, opt.batch_size);
    const int S = model.cfg().seq_len;
    new_tokens.resize(size_t(opt.batch_size) * S);
    new_labels.resize(size_t(opt.batch_size) * S);
    new_ids.resize(opt.batch_size);
}

double Trainer::current_lr() const {
    return cosine_lr(step, opt.optim.lr, opt.optim.lr_warmup_steps, opt.optim.total_steps, opt.optim.lr_min_ratio);
}

StepMetrics Trainer::train_step(DataSource& data) {
    const int B = opt.batch_size, S = model.cfg().seq_len;
    for (int b = 0; b < B; b++)
        if (ts->halted[b]) data.example(cursor++, &new_tokens[size_t(b) * S], &new_labels[size_t(b) * S], &new_ids[b]);
    ts->refill(new_tokens.data(), new_labels.data(), new_ids.data());
    // pretrain.py backprops loss / global_batch_size
    StepMetrics m = ts->forward_backward(1.0 / B, rng, opt.halt_exploration_prob);
    step++;
    const double lr = current_lr();
    const auto& o = opt.optim;
    for (auto& p : model.layout.table) {
        if (p.kind != ParamKind::Dense) continue;
        adam_atan2_update(model.arena.data() + p.offset, adam_m.data() + p.offset, adam_v.data() + p.offset,
                          ts->grads.data() + p.offset, p.numel, lr, o.weight_decay, o.beta1, o.beta2, step);
    }
    const Config& c = model.cfg();
    if (c.puzzle_emb_ndim > 0) {
        const double plr = cosine_lr(step, o.puzzle_emb_lr, o.lr_warmup_steps, o.total_steps, o.lr_min_ratio);
        sign_sgd_rows(model.ptr("inner.puzzle_emb.weights"), ts->dpuzzle_local.data(), ts->ids.data(), B,
                      c.puzzle_emb_ndim, plr, o.puzzle_emb_weight_decay);
    }
    if (o.ema_rate > 0) {
        // EMA with a warm-up of its rate (as TensorFlow's ExponentialMovingAverage with num_updates): the official
        // fixed 0.999 needs tens of thousands of steps to forget the random init; short CPU runs do not have them.
        const double rate = std::min(o.ema_rate, (1.0 + double(step)) / (10.0 + double(step)));
        for (auto& p : model.layout.table)
            if (p.kind == ParamKind::Dense)
                ema_update(ema.data() + p.offset, model.arena.data() + p.offset, p.numel, rate);
    }
    return m;
}

Model Trainer::export_model() const {
    Model out = model;
    if (opt.optim.ema_rate > 0)
        for (auto& p : model.layout.table)
            if (p.kind == ParamKind::Dense)
                std::memcpy(out.arena.data() + p.offset, ema.data() + p.offset, p.numel * sizeof(float));
    return out;
}

// ---- training state ----
static constexpr const char* kStateFormat = "trm-train-state/1";

void Trainer::save_state(const std::string& path) const {
    TensorFile f;
    const int64_t n = int64_t(model.arena.size());
    f.tensors["weights"] = Tensor::from_f32({n}, model.arena.data());
    f.tensors["ema"] = Tensor::from_f32({n}, ema.data());
    f.tensors["adam_m"] = Tensor::from_f32({n}, adam_m.data());
    f.tensors["adam_v"] = Tensor::from_f32({n}, adam_v.data());
    const int64_t B = opt.batch_size, S = model.cfg().seq_len, R = int64_t(ts->fwd.z_H.size());
    f.tensors["carry.z_H"] = Tensor::from_f32({R}, ts->fwd.z_H.data());
    f.tensors["carry.z_L"] = Tensor::from_f32({R}, ts->fwd.z_L.data());
    f.tensors["carry.tokens"] = Tensor::from_i32({B, S}, ts->tokens.data());
    f.tensors["carry.labels"] = Tensor::from_i32({B, S}, ts->labels.data());
    f.tensors["carry.ids"] = Tensor::from_i32({B}, ts->ids.data());
    f.tensors["carry.steps"] = Tensor::from_i32({B}, ts->steps.data());
    std::vector<int32_t> halted(ts->halted.begin(), ts->halted.end());
    f.tensors["carry.halted"] = Tensor::from_i32({B}, halted.data());
    f.metadata["format"] = kStateFormat;
    f.metadata["trm_config"] = config_to_json(model.cfg()).dump();
    f.metadata["train_options"] = train_options_to_json(opt).dump();
    json rs = json::array();
    for (auto w : rng.s) rs.push_back(std::to_string(w));
    for (auto& [k, v] : notes) f.metadata["note." + k] = v;
    f.metadata["progress"] = json{{"step", step}, {"cursor", std::to_string(cursor)}, {"rng", rs}}.dump();
    write_safetensors(path, f);
}

std::unique_ptr<Trainer> Trainer::load_state(const std::string& path) {
    TensorFile f = read_safetensors(path);
    auto meta = [&](const char* k) -> const std::string& {
        auto it = f.metadata.find(k);
        if (it == f.metadata.end()) fail("{}: not a trm training state (no '{}' metadata)", path, k);
        return it->second;
    };
    if (meta("format") != kStateFormat) fail("{}: training state format '{}', expected '{}'", path, meta("format"), kStateFormat);
    try {
        Config c = config_from_json(json::parse(meta("trm_config")), path);
        TrainOptions o = train_options_from_json(json::parse(meta("train_options")), path);
        // sizes checked before anything of those sizes is allocated
        const Layout layout(c);
        if (o.batch_size < 1 || o.batch_size > kMaxTrainBatch)
            fail("{}: batch_size {} is outside 1..{}", path, o.batch_size, kMaxTrainBatch);
        for (const char* name : {"weights", "ema", "adam_m", "adam_v"})
            if (uint64_t(f.at(name, path).numel()) != layout.total)
                fail("{}: '{}' holds {} values, the model config needs {}", path, name, f.at(name, path).numel(),
                     layout.total);
        for (const char* name : {"carry.tokens", "carry.labels"})
            if (f.at(name, path).numel() != int64_t(o.batch_size) * c.seq_len)
                fail("{}: '{}' holds {} values, batch_size {} x seq_len {} needs {}", path, name,
                     f.at(name, path).numel(), o.batch_size, c.seq_len, int64_t(o.batch_size) * c.seq_len);
        auto tp = std::make_unique<Trainer>(Model(c), o);
        Trainer& t = *tp;
        auto load = [&](const char* name, std::vector<float>& dst) {
            auto v = f.at(name, path).to_f32();
            if (v.size() != dst.size()) fail("{}: '{}' holds {} values, expected {}", path, name, v.size(), dst.size());
            dst = std::move(v);
        };
        auto load_i = [&](const char* name, auto& dst) {
            auto v = f.at(name, path).to_i64();
            if (v.size() != dst.size()) fail("{}: '{}' holds {} values, expected {}", path, name, v.size(), dst.size());
            for (size_t i = 0; i < v.size(); i++) dst[i] = decltype(+dst[0])(v[i]);
        };
        load("weights", t.model.arena);
        load("ema", t.ema);
        load("adam_m", t.adam_m);
        load("adam_v", t.adam_v);
        load("carry.z_H", t.ts->fwd.z_H);
        load("carry.z_L", t.ts->fwd.z_L);
        load_i("carry.tokens", t.ts->tokens);
        load_i("carry.labels", t.ts->labels);
        load_i("carry.ids", t.ts->ids);
        load_i("carry.steps", t.ts->steps);
        load_i("carry.halted", t.ts->halted);
        for (auto& [k, v] : f.metadata)
            if (k.rfind("note.", 0) == 0) t.notes[k.substr(5)] = v;
        json p = json::parse(meta("progress"));
        t.step = p.at("step").get<int64_t>();
        t.cursor = std::stoull(p.at("cursor").get<std::string>());
        for (int i = 0; i < 4; i++) t.rng.s[i] = std::stoull(p.at("rng").at(i).get<std::string>());
        return tp;
    } catch (const json::exception& e) {
        fail("{}: bad training state metadata: {}", path, e.what());
    } catch (const std::invalid_argument&) {
        fail("{}: bad training state progress numbers", path);
    } catch (const std::out_of_range&) {
        fail("{}: bad training state progress numbers", path);
    }
}

// ---- test-time adaptation ----
double adapt_puzzle_embeddings(Model& m, DataSource& data, const AdaptOptions& o) {
    const Config& c = m.cfg();
    if (c.puzzle_emb_ndim <= 0) fail("this model has no puzzle embeddings to adapt");
    TrainStep ts(m, o.batch);
    const int S = c.seq_len;
    std::vector<int32_t> tok(size_t(o.batch) * S), lab(tok.size()), ids(o.batch);
    Rng rng(o.seed ^ 0xada9ull);
    uint64_t cursor = 0;
    double tail = 0;
    int tail_n = 0;
    for (int step = 0; step < o.steps; step++) {
        for (int b = 0; b < o.batch; b++)
            if (ts.halted[b]) data.example(cursor++, &tok[size_t(b) * S], &lab[size_t(b) * S], &ids[b]);
        ts.refill(tok.data(), lab.data(), ids.data());
        StepMetrics sm = ts.forward_backward(1.0 / o.batch, rng, c.halt_exploration_prob);
        sign_sgd_rows(m.ptr("inner.puzzle_emb.weights"), ts.dpuzzle_local.data(), ts.ids.data(), o.batch,
                      c.puzzle_emb_ndim, o.lr, o.weight_decay);
        if (step >= o.steps - 10) { tail += sm.lm_loss / o.batch; tail_n++; }
        if (o.on_step) o.on_step(step + 1);
    }
    return tail_n ? tail / tail_n : 0.0;
}

Model with_extra_puzzle_rows(const Model& m, int extra, const std::vector<std::string>& names) {
    Config c = m.cfg();
    const int old_n = c.num_puzzle_identifiers;
    c.num_puzzle_identifiers += extra;
    if (!c.identifiers.empty() || !names.empty()) {
        if (c.identifiers.empty()) c.identifiers.assign(size_t(old_n), "");
        for (int i = 0; i < extra; i++) c.identifiers.push_back(i < int(names.size()) ? names[i] : "");
    }
    Model out(c);
    for (auto& p : m.layout.table) {
        const float* src = m.arena.data() + p.offset;
        float* dst = out.ptr(p.name);
        std::memcpy(dst, src, p.numel * sizeof(float));  // the old rows; appended rows stay zero
    }
    return out;
}

// ---- evaluation ----
EvalStats evaluate(const Model& m, const int32_t* tokens, const int32_t* labels, const int32_t* ids, int n, int batch) {
    const Config& c = m.cfg();
    const int S = c.seq_len, V = c.vocab_size;
    EvalStats st;
    Forward fwd(m, std::max(1, std::min(batch, n)));
    std::vector<int32_t> halt_step(fwd.max_batch), halt_exact(fwd.max_batch);
    std::vector<int32_t> zero_ids(fwd.max_batch, 0);
    double halt_steps_sum = 0;
    for (int start = 0; start < n; start += fwd.max_batch) {
        const int B = std::min(fwd.max_batch, n - start);
        fwd.embed(tokens + size_t(start) * S, ids ? ids + start : zero_ids.data(), B);
        fwd.reset_carry(B);
        std::fill(halt_step.begin(), halt_step.end(), 0);
        for (int s = 1; s <= c.halt_max_steps; s++) {
            fwd.step(B);
            LossOut l = act_loss(fwd.logits.data(), labels + size_t(start) * S, fwd.q.data(), B, S, V, 0, nullptr, nullptr);
            for (int b = 0; b < B; b++) {
                const bool halts = fwd.q[size_t(b) * 2] > 0 || s == c.halt_max_steps;
                if (!halt_step[b] && halts) { halt_step[b] = s; halt_exact[b] = l.seq_is_correct[b]; }
                if (s == c.halt_max_steps) {
                    st.exact += l.seq_is_correct[b];
                    st.cell_acc += l.label_count[b] ? double(l.correct_cells[b]) / l.label_count[b] : 1.0;
                    st.q_halt_agree += (fwd.q[size_t(b) * 2] > 0) == bool(l.seq_is_correct[b]);
                }
            }
        }
        for (int b = 0; b < B; b++) { st.exact_model_halt += halt_exact[b]; halt_steps_sum += halt_step[b]; }
        st.n += B;
    }
    if (st.n) { st.cell_acc /= st.n; st.mean_halt_steps = halt_steps_sum / st.n; }
    return st;
}

}  // namespace trm
