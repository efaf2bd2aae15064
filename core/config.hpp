// Model configuration. Field names are the official TinyRecursiveReasoningModel_ACTV1Config names.
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace trm {

// rope2d: RoPE over (row, column) of a square grid, half of each head's pairs per axis (not in the official code):
// relative offsets are the same on any canvas, so a network trained on a small grid runs on a larger one.
enum class PosEncoding { Rope, Rope2d, Learned, None };
const char* pos_encoding_name(PosEncoding p);
PosEncoding parse_pos_encoding(const std::string& s, const std::string& label);  // "" = none; else throws naming label

struct Config {
    // architecture (official `arch:` section)
    int hidden_size = 512;          // D, e.g. 512
    float expansion = 4.0f;         // SwiGLU width factor, e.g. 4
    int num_heads = 8;              // attention heads, e.g. 8 (head_dim = D / num_heads)
    int L_layers = 2;               // blocks in the one reasoning module, e.g. 2
    int H_cycles = 3;               // T: y-updates per supervision step, e.g. 3
    int L_cycles = 6;               // n: z-updates per y-update, e.g. 6
    int halt_max_steps = 16;        // supervision steps, e.g. 16
    float halt_exploration_prob = 0.1f;  // training: chance of a random minimum step count, e.g. 0.1
    int puzzle_emb_ndim = 512;      // puzzle-embedding width, e.g. 512 (0: no puzzle embedding)
    int puzzle_emb_len = 16;        // P, prefix positions, e.g. 16 (0: ceil(ndim / D))
    bool mlp_t = false;             // MLP over the sequence axis instead of attention, e.g. true for Sudoku
    PosEncoding pos_encodings = PosEncoding::Rope;  // rope | rope2d | learned | none
    float rms_norm_eps = 1e-5f;     // e.g. 1e-5
    float rope_theta = 10000.0f;    // e.g. 10000
    bool no_ACT_continue = true;    // only q_halt is trained, e.g. true
    std::string forward_dtype = "bfloat16";  // recorded as given; trm always computes in float32

    // dataset-derived (official dataset.json)
    int seq_len = 81;               // S, tokens per puzzle, e.g. 81
    int vocab_size = 11;            // V, e.g. 11
    int num_puzzle_identifiers = 1; // rows of puzzle_emb.weights, e.g. 1

    // trm additions
    std::string domain;                   // "sudoku" | "maze" | "arc" | "" (unknown)
    std::vector<std::string> token_map;   // token id -> meaning, e.g. ["<pad>", ".", "1", ...]
    std::vector<std::string> identifiers; // puzzle identifier id -> name (ARC: "ID|||t3|||0213...")
    float halt_threshold = 0.0f;          // inference: a row halts when q_halt > this logit (0: the official rule;
                                          // a model may carry a stricter one calibrated on validation data)

    int P() const { return puzzle_emb_len == 0 ? (puzzle_emb_ndim + hidden_size - 1) / hidden_size : puzzle_emb_len; }
    int total_seq() const { return seq_len + P(); }  // S + P, rows per puzzle inside the model
    int head_dim() const { return hidden_size / num_heads; }
    int grid_side() const;  // sqrt(seq_len) when seq_len is a square, else -1

    void validate() const;  // throws Error on impossible values
};

// SwiGLU inner width: official `_find_multiple(round(expansion * in * 2 / 3), 256)` with Python's round-half-even.
int swiglu_inner(float expansion, int in);

nlohmann::json config_to_json(const Config& c);
Config config_from_json(const nlohmann::json& j, const std::string& label);
// A JSON number that is an exact integer within int range (512 or 512.0); otherwise throws naming label and key.
int json_int(const nlohmann::json& v, const char* key, const std::string& label);

// Official training output: `all_config.yaml` (its `arch:` section) plus the three dataset fields from
// `dataset.json` when given. Missing dataset fields stay at -1 for the caller to infer from tensor shapes.
Config config_from_official(const std::string& yaml_path, const std::string& dataset_json_path);

}  // namespace trm
