// Parameters in one arena. A table of {name, shape} whose names are the official state_dict keys (without the
// `_orig_mod.model.` prefix) drives sizing, loading, saving, gradients and optimizer moments; gradients and
// moments use the same layout over arenas of their own.
//
// Dims: D hidden_size, L = S + P rows per puzzle, V vocab_size, I = swiglu_inner(expansion, D),
//       It = swiglu_inner(expansion, L) (mlp_t), N num_puzzle_identifiers, E puzzle_emb_ndim.
#pragma once
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/tensor.hpp"

namespace trm {

enum class ParamKind {
    Dense,      // trained by Adam-atan2
    PuzzleEmb,  // puzzle_emb.weights: trained by sign-SGD on the rows a batch uses
    Buffer,     // H_init / L_init: persistent, never trained
};

struct ParamSpec {
    std::string name;            // e.g. "inner.L_level.layers.0.mlp.gate_up_proj.weight"
    std::vector<int64_t> shape;  // PyTorch (out, in) layout
    ParamKind kind = ParamKind::Dense;
    size_t offset = 0;           // into the arena, in floats
    size_t numel = 0;
};

// Views of one block's weights (null where the variant has no such tensor).
template <typename T>
struct BlockView {
    T* qkv = nullptr;          // [3D, D]   self_attn.qkv_proj.weight
    T* o = nullptr;            // [D, D]    self_attn.o_proj.weight
    T* mlp_t_gate_up = nullptr;// [2It, L]  mlp_t.gate_up_proj.weight
    T* mlp_t_down = nullptr;   // [L, It]   mlp_t.down_proj.weight
    T* gate_up = nullptr;      // [2I, D]   mlp.gate_up_proj.weight
    T* down = nullptr;         // [D, I]    mlp.down_proj.weight
};

template <typename T>
struct ModelView {
    T* H_init = nullptr;       // [D]
    T* L_init = nullptr;       // [D]
    T* embed_tokens = nullptr; // [V, D]
    T* embed_pos = nullptr;    // [L, D] (learned positions only)
    T* puzzle_emb = nullptr;   // [N, E] (E > 0 only)
    T* lm_head = nullptr;      // [V, D]
    T* q_head_w = nullptr;     // [2, D]
    T* q_head_b = nullptr;     // [2]
    std::vector<BlockView<T>> blocks;
};

struct Layout {
    Config cfg;
    std::vector<ParamSpec> table;
    size_t total = 0;  // floats in an arena

    explicit Layout(const Config& c);
    const ParamSpec* find(const std::string& name) const;
    template <typename T> ModelView<T> view(T* arena) const;
    size_t dense_count() const;  // trainable values outside puzzle_emb and buffers
};

// A model: config, layout and one float32 arena with every tensor.
struct Model {
    Layout layout;
    std::vector<float> arena;

    explicit Model(const Config& c) : layout(c), arena(layout.total, 0.0f) {}
    const Config& cfg() const { return layout.cfg; }
    ModelView<const float> view() const { return layout.view<const float>(arena.data()); }
    ModelView<float> view() { return layout.view<float>(arena.data()); }
    float* ptr(const std::string& name);
    const float* ptr(const std::string& name) const;
};

// Copies every tensor of `from` into the same-named tensor of `to` (fine-tuning on another grid, e.g. a rope2d
// network trained on 12x12 mazes continued on 30x30 ones). The networks must agree on every shape; only a puzzle
// embedding with another number of identifiers is left as `to` has it. Returns the names copied.
std::vector<std::string> copy_matching_weights(const Model& from, Model& to, const std::string& label);

// True when no tensor of the network depends on its grid and its positions are (row, column) pairs (rope2d
// attention): the same weights then run on a square canvas of any side.
bool weights_fit_any_grid(const Config& c);
// The same network on a square canvas of `side` cells a side, every tensor copied unchanged (a rope2d network
// trained on 12x12 mazes solving a 30x30 one). Throws unless weights_fit_any_grid.
Model model_on_grid(const Model& m, int side);

constexpr const char* kOfficialPrefix = "_orig_mod.model.";

}  // namespace trm
