// `trm info MODEL`: config, parameter count, tensors, FLOPs per supervision step.
#include <cmath>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "core/forward.hpp"
#include "core/model_io.hpp"
#include "core/safetensors.hpp"
#include "core/weights.hpp"

namespace trm::cli {

struct InfoOptions {
    std::string model, config, dataset;
    bool tensors = false;
};

// The data options each stretch of training used, as `trm train` records them ("training_data" metadata).
static void print_training_data(const std::string& path) {
    const auto metadata = read_safetensors_metadata(path);
    if (auto from = metadata.find("init_from"); from != metadata.end())
        fmt::print("started    from the weights of {}\n", from->second);  // trm train --init-from
    auto it = metadata.find("training_data");
    if (it == metadata.end()) return;
    nlohmann::json h = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
    if (!h.is_array()) return;
    for (size_t i = 0; i < h.size(); i++) {
        if (!h[i].is_object()) continue;
        std::string opts;
        const nlohmann::json options = h[i].value("options", nlohmann::json::object());
        for (auto& [k, v] : options.items()) {
            if (k == "domain" || v == "" || v == 0) continue;  // unset: the option's default (0 = the grid, off, auto)
            opts += fmt::format(" {}={}", k, v.is_string() ? v.get<std::string>() : v.dump());
        }
        fmt::print("{}from step {}:{}\n", i == 0 ? "trained on " : "           ", h[i].value("from_step", 0), opts);
    }
}

static int run_info(const InfoOptions& o) {
    LoadOptions lo;
    lo.config_yaml = o.config;
    lo.dataset_json = o.dataset;
    const ModelFormat fmt_ = detect_model_format(o.model);
    Model m = load_model(o.model, lo);
    const Config& c = m.cfg();
    size_t dense = 0, emb = 0, buf = 0;
    for (auto& p : m.layout.table)
        (p.kind == ParamKind::Dense ? dense : p.kind == ParamKind::PuzzleEmb ? emb : buf) += p.numel;
    fmt::print("model      {} ({})\n", o.model, fmt_ == ModelFormat::TorchZip ? "official torch checkpoint" : "trm safetensors");
    fmt::print("domain     {}\n", c.domain.empty() ? "(unknown)" : c.domain);
    const bool rope = c.pos_encodings == PosEncoding::Rope || c.pos_encodings == PosEncoding::Rope2d;
    fmt::print("block      {}, pos_encodings {}{}, hidden_size {}, num_heads {}, expansion {}, L_layers {}\n",
               c.mlp_t ? "mlp_t (MLP over the sequence)" : "attention", pos_encoding_name(c.pos_encodings),
               rope ? fmt::format(" (theta {:g})", c.rope_theta) : "", c.hidden_size, c.num_heads, c.expansion,
               c.L_layers);
    fmt::print("recursion  H_cycles {} x (L_cycles {} z-updates + 1 y-update), halt_max_steps {}\n", c.H_cycles,
               c.L_cycles, c.halt_max_steps);
    if (c.halt_threshold != 0.0f)
        fmt::print("halting    q_halt > {:g} (sigmoid {:.4g}), calibrated; the official rule is q_halt > 0\n",
                   c.halt_threshold, 1 / (1 + std::exp(-double(c.halt_threshold))));
    const int side = c.grid_side();
    fmt::print("sequence   seq_len {} + puzzle_emb_len {} = {} rows, vocab_size {}{}\n", c.seq_len, c.P(),
               c.total_seq(), c.vocab_size,
               side > 0 && weights_fit_any_grid(c)
                   ? fmt::format(" ({}x{} grid; the weights fit any square grid)", side, side) : "");
    fmt::print("puzzles    puzzle_emb_ndim {}, num_puzzle_identifiers {}{}\n", c.puzzle_emb_ndim,
               c.num_puzzle_identifiers, c.identifiers.empty() ? "" : " (named)");
    fmt::print("swiglu     inner {} (mlp){}\n", swiglu_inner(c.expansion, c.hidden_size),
               c.mlp_t ? fmt::format(", {} (mlp_t)", swiglu_inner(c.expansion, c.total_seq())) : "");
    fmt::print("parameters {} ({:.2f} M) + puzzle embeddings {} + buffers {}\n", dense, dense / 1e6, emb, buf);
    const double f = flops_per_step(c);
    fmt::print("FLOPs      {:.3f} GFLOP per puzzle per supervision step; {:.2f} GFLOP for all {} steps\n", f / 1e9,
               f * c.halt_max_steps / 1e9, c.halt_max_steps);
    if (!c.token_map.empty()) {
        std::string t;
        for (size_t i = 0; i < c.token_map.size(); i++) t += fmt::format("{}{}='{}'", i ? " " : "", i, c.token_map[i]);
        fmt::print("tokens     {}\n", t);
    }
    if (fmt_ == ModelFormat::Safetensors) print_training_data(o.model);
    fmt::print("tensors    {}\n", m.layout.table.size());
    if (o.tensors)
        for (auto& p : m.layout.table) fmt::print("  {:<58} {}\n", p.name, shape_str(p.shape));
    return kExitOk;
}

void register_info(CLI::App& app) {
    auto opt = std::make_shared<InfoOptions>();
    auto* sub = app.add_subcommand("info", "Show a model's config, parameters, tensors and FLOPs per step");
    sub->add_option("model", opt->model, "model file (trm .safetensors or official step_N)")->required();
    sub->add_option("--config", opt->config, "official all_config.yaml (default: beside the checkpoint)");
    sub->add_option("--dataset", opt->dataset, "official dataset.json (default: beside the checkpoint)");
    sub->add_flag("--tensors", opt->tensors, "list every tensor with its shape");
    sub->footer("Example: trm info models/sudoku.safetensors --tensors");
    set_action(sub, [opt] { return run_info(*opt); });
}

}  // namespace trm::cli
