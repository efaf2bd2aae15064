#include "core/weights.hpp"

#include <algorithm>
#include <fmt/ranges.h>

#include "core/error.hpp"

namespace trm {

Layout::Layout(const Config& c) : cfg(c) {
    c.validate();
    const int64_t D = c.hidden_size, L = c.total_seq(), V = c.vocab_size;
    const int64_t I = swiglu_inner(c.expansion, c.hidden_size), It = swiglu_inner(c.expansion, c.total_seq());
    // Order as the official state_dict: buffers, embeddings, heads, puzzle_emb, embed_pos, layers.
    auto add = [&](std::string name, std::vector<int64_t> shape, ParamKind kind = ParamKind::Dense) {
        ParamSpec p{std::move(name), std::move(shape), kind, total, 1};
        for (auto s : p.shape) p.numel *= size_t(s);
        total += p.numel;
        table.push_back(std::move(p));
    };
    add("inner.H_init", {D}, ParamKind::Buffer);
    add("inner.L_init", {D}, ParamKind::Buffer);
    add("inner.embed_tokens.embedding_weight", {V, D});
    add("inner.lm_head.weight", {V, D});
    add("inner.q_head.weight", {2, D});
    add("inner.q_head.bias", {2});
    if (c.puzzle_emb_ndim > 0) add("inner.puzzle_emb.weights", {c.num_puzzle_identifiers, c.puzzle_emb_ndim}, ParamKind::PuzzleEmb);
    if (c.pos_encodings == PosEncoding::Learned) add("inner.embed_pos.embedding_weight", {L, D});
    for (int l = 0; l < c.L_layers; l++) {
        std::string p = fmt::format("inner.L_level.layers.{}.", l);
        if (c.mlp_t) {
            add(p + "mlp_t.gate_up_proj.weight", {2 * It, L});
            add(p + "mlp_t.down_proj.weight", {L, It});
        } else {
            add(p + "self_attn.qkv_proj.weight", {3 * D, D});
            add(p + "self_attn.o_proj.weight", {D, D});
        }
        add(p + "mlp.gate_up_proj.weight", {2 * I, D});
        add(p + "mlp.down_proj.weight", {D, I});
    }
}

std::vector<std::string> copy_matching_weights(const Model& from, Model& to, const std::string& label) {
    std::vector<std::string> copied;
    for (const ParamSpec& p : to.layout.table) {
        const ParamSpec* q = from.layout.find(p.name);
        if (!q) fail("{}: has no '{}' (another architecture: mlp_t, pos_encodings, L_layers?)", label, p.name);
        if (q->shape != p.shape) {
            if (p.kind == ParamKind::PuzzleEmb && q->shape.back() == p.shape.back()) continue;  // other identifiers
            fail("{}: '{}' is [{}], this run needs [{}] (hidden_size, expansion, vocabulary, or a grid-sized "
                 "layer: mlp_t and learned positions are tied to one grid)",
                 label, p.name, fmt::join(q->shape, ", "), fmt::join(p.shape, ", "));
        }
        std::copy_n(from.arena.data() + q->offset, p.numel, to.arena.data() + p.offset);
        copied.push_back(p.name);
    }
    return copied;
}

bool weights_fit_any_grid(const Config& c) {
    // 1D RoPE would run too, but a row's offset in the flattened grid is the side: it would mean other cells.
    // Attention without positions would also run, but cannot tell cells apart: no grid model trains that way.
    return !c.mlp_t && c.pos_encodings == PosEncoding::Rope2d;
}

Model model_on_grid(const Model& m, int side) {
    const Config& c = m.cfg();
    if (!weights_fit_any_grid(c))
        fail("{} is tied to its {}-cell grid: only a rope2d attention network moves to a {}x{} canvas",
             c.mlp_t ? std::string("an mlp_t network")
                     : fmt::format("a network with pos_encodings {}", pos_encoding_name(c.pos_encodings)),
             c.seq_len, side, side);
    Config g = c;
    g.seq_len = side * side;
    Model out(g);
    TRM_CHECK(out.layout.total == m.layout.total);  // no tensor depends on seq_len
    out.arena = m.arena;
    return out;
}

const ParamSpec* Layout::find(const std::string& name) const {
    for (auto& p : table) if (p.name == name) return &p;
    return nullptr;
}

size_t Layout::dense_count() const {
    size_t n = 0;
    for (auto& p : table) if (p.kind == ParamKind::Dense) n += p.numel;
    return n;
}

template <typename T>
ModelView<T> Layout::view(T* arena) const {
    ModelView<T> v;
    auto at = [&](const std::string& name) -> T* {
        const ParamSpec* p = find(name);
        return p ? arena + p->offset : nullptr;
    };
    v.H_init = at("inner.H_init");
    v.L_init = at("inner.L_init");
    v.embed_tokens = at("inner.embed_tokens.embedding_weight");
    v.embed_pos = at("inner.embed_pos.embedding_weight");
    v.puzzle_emb = at("inner.puzzle_emb.weights");
    v.lm_head = at("inner.lm_head.weight");
    v.q_head_w = at("inner.q_head.weight");
    v.q_head_b = at("inner.q_head.bias");
    for (int l = 0; l < cfg.L_layers; l++) {
        std::string p = fmt::format("inner.L_level.layers.{}.", l);
        BlockView<T> b;
        b.qkv = at(p + "self_attn.qkv_proj.weight");
        b.o = at(p + "self_attn.o_proj.weight");
        b.mlp_t_gate_up = at(p + "mlp_t.gate_up_proj.weight");
        b.mlp_t_down = at(p + "mlp_t.down_proj.weight");
        b.gate_up = at(p + "mlp.gate_up_proj.weight");
        b.down = at(p + "mlp.down_proj.weight");
        v.blocks.push_back(b);
    }
    return v;
}
template ModelView<float> Layout::view<float>(float*) const;
template ModelView<const float> Layout::view<const float>(const float*) const;

float* Model::ptr(const std::string& name) {
    const ParamSpec* p = layout.find(name);
    if (!p) fail("model has no tensor '{}'", name);
    return arena.data() + p->offset;
}
const float* Model::ptr(const std::string& name) const {
    const ParamSpec* p = layout.find(name);
    if (!p) fail("model has no tensor '{}'", name);
    return arena.data() + p->offset;
}

}  // namespace trm
