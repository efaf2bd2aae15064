// `trm debug forward|train-step`: run the model on a batch from a safetensors file and write every tensor the
// official fixtures hold, under the same names, for parity checks against the PyTorch reference.
#include <fmt/core.h>

#include "cli/commands.hpp"
#include "core/act.hpp"
#include "core/error.hpp"
#include "core/model_io.hpp"
#include "core/safetensors.hpp"

namespace trm::cli {

struct DebugForwardOptions {
    std::string model, inputs, out;
    int steps = 4;
};

static std::vector<int32_t> read_i32(const TensorFile& f, const std::string& name, const std::string& label) {
    auto v = f.at(name, label).to_i64();
    return std::vector<int32_t>(v.begin(), v.end());
}

static int run_debug_forward(const DebugForwardOptions& o) {
    Model m = load_model(o.model);
    TensorFile in = read_safetensors(o.inputs);
    auto tokens = read_i32(in, "inputs", o.inputs);
    auto ids = in.has("puzzle_identifiers") ? read_i32(in, "puzzle_identifiers", o.inputs)
                                            : std::vector<int32_t>(tokens.size() / size_t(m.cfg().seq_len), 0);
    if (o.steps < 1) fail("--steps must be at least 1");
    TensorFile out = debug_forward(m, tokens, ids, o.steps);
    write_safetensors(o.out, out);
    fmt::print(stderr, "wrote {} tensors to {}\n", out.tensors.size(), o.out);
    return kExitOk;
}



struct DebugTrainStepOptions {
    std::string model, batch, out;
};

static int run_debug_train_step(const DebugTrainStepOptions& o) {
    Model m = load_model(o.model);
    TensorFile in = read_safetensors(o.batch);
    auto tokens = read_i32(in, "inputs", o.batch);
    auto labels = read_i32(in, "labels", o.batch);
    auto ids = in.has("puzzle_identifiers") ? read_i32(in, "puzzle_identifiers", o.batch)
                                            : std::vector<int32_t>(tokens.size() / size_t(m.cfg().seq_len), 0);
    TensorFile out = debug_train_step(m, tokens, ids, labels);
    write_safetensors(o.out, out);
    fmt::print(stderr, "wrote {} tensors to {}\n", out.tensors.size(), o.out);
    return kExitOk;
}

void register_debug(CLI::App& app) {
    auto* dbg = app.add_subcommand("debug", "Parity tools: run the model on a batch and dump tensors");
    dbg->require_subcommand(1);
    auto fo = std::make_shared<DebugForwardOptions>();
    auto* f = dbg->add_subcommand("forward", "Write step{s}.logits/q_halt_logits/q_continue_logits/z_H/z_L for ACT steps");
    add_compute_options(f);
    f->add_option("model", fo->model, "model file")->required();
    f->add_option("--inputs", fo->inputs, "safetensors with `inputs` [B,S] and `puzzle_identifiers` [B]")->required();
    f->add_option("--steps", fo->steps, "ACT steps to run")->capture_default_str();
    f->add_option("-o,--out", fo->out, "output safetensors")->required();
    f->footer("Example: trm debug forward tests/data/official-trm/sudoku_mlp/step_100 \\\n"
              "             --inputs tests/data/official-trm/sudoku_mlp/forward.safetensors --steps 4 -o ours.safetensors");
    set_action(f, [fo] { return run_debug_forward(*fo); });

    auto to = std::make_shared<DebugTrainStepOptions>();
    auto* t = dbg->add_subcommand("train-step", "One training step from a fresh carry: write losses and every gradient");
    add_compute_options(t);
    t->add_option("model", to->model, "model file")->required();
    t->add_option("--batch", to->batch, "safetensors with `inputs`, `puzzle_identifiers`, `labels` (-100 = ignored)")->required();
    t->add_option("-o,--out", to->out, "output safetensors")->required();
    t->footer("Example: trm debug train-step tests/data/official-trm/sudoku_mlp/step_100 \\\n"
              "             --batch tests/data/official-trm/sudoku_mlp/train_step.safetensors -o grads.safetensors");
    set_action(t, [to] { return run_debug_train_step(*to); });
}

}  // namespace trm::cli
