// `trm train DOMAIN`: train a TRM with the official recipe (deep supervision, ACT, AdamATan2, EMA) on generated
// or file data; resumable, interrupt-safe (SIGINT/SIGTERM save the state first).
#include <atomic>
#include <csignal>
#include <fmt/core.h>
#include <unistd.h>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "datasets/train_job.hpp"

namespace trm::cli {

namespace {
std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop.store(true); }

struct TrainCliOptions {
    std::string domain;
    std::string pos = "none";
    TrainJobOptions job;
    int report_every = 20;
    std::string export_data;  // write the ARC training data here instead of training
};
}  // namespace

static int run_train(TrainCliOptions& o) {
    o.job.domain = find_domain(o.domain);
    if (!o.job.domain) fail("unknown domain '{}' ({})", o.domain, domain_names());
    o.job.model.pos_encodings = parse_pos_encoding(o.pos, "--pos");
    if (!o.export_data.empty()) {
        export_arc_data(o.job, o.export_data);
        fmt::print(stderr, "ARC training data written to {}\n", o.export_data);
        return kExitOk;
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    const bool tty = isatty(STDERR_FILENO);
    run_training(o.job, o.report_every, [&](const TrainProgress& p) {
        if (p.evaluating) {
            if (tty) fmt::print(stderr, "\r\x1b[Kstep {:>6}/{}: evaluating {} held-out puzzles...", p.step, p.total,
                                p.evaluating);
            return;
        }
        std::string line = fmt::format(
            "step {:>6}/{} loss {:.4f} (lm {:.4f} q {:.4f}) train exact {:5.1f}% cells {:5.1f}% q-acc {:5.1f}% "
            "steps {:4.1f} | {:.0f} ex-steps/s lr {:.2e} {:.0f}s",
            p.step, p.total, p.loss, p.lm_loss, p.q_halt_loss, 100 * p.exact, 100 * p.accuracy, 100 * p.q_halt_acc,
            p.mean_steps, p.example_steps_per_s, p.lr, p.elapsed_s);
        if (p.eval)
            line += fmt::format(" | eval exact {:.1f}% cells {:.1f}% (model-halt {:.1f}% at {:.1f} steps)",
                                100.0 * p.eval->exact / p.eval->n, 100 * p.eval->cell_acc,
                                100.0 * p.eval->exact_model_halt / p.eval->n, p.eval->mean_halt_steps);
        if (p.saved) line += " [saved]";
        fmt::print(stderr, "{}{}{}", tty ? "\r\x1b[K" : "", line, tty && !p.eval && !p.saved ? "\r" : "\n");
    }, g_stop);
    fmt::print(stderr, "\n{} written to {}\n", g_stop.load() ? "interrupted; state and weights" : "weights", o.job.out);
    return kExitOk;
}

void register_train(CLI::App& app) {
    auto o = std::make_shared<TrainCliOptions>();
    auto& j = o->job;
    auto& c = j.model;
    // CPU-sized defaults (see models/README.md)
    c.hidden_size = 128; c.num_heads = 4; c.expansion = 4; c.L_layers = 2; c.H_cycles = 3; c.L_cycles = 6;
    c.halt_max_steps = 16; c.mlp_t = true; c.puzzle_emb_ndim = 128; c.puzzle_emb_len = 0; c.forward_dtype = "float32";
    j.train.optim.lr = 1e-3; j.train.optim.lr_warmup_steps = 100; j.train.optim.weight_decay = 1.0;
    j.train.optim.lr_min_ratio = 0.1; j.train.optim.puzzle_emb_lr = 1e-3; j.train.optim.puzzle_emb_weight_decay = 1.0;
    auto* sub = app.add_subcommand("train", "Train a model (official TRM recipe) on generated or file data");
    add_compute_options(sub);
    sub->add_option("domain", o->domain, domain_names(" | "))->required();
    sub->add_option("--data", j.data.data_file, "train on the puzzles of this file (with augmentation) instead of generating");
    sub->add_option("--mix", j.data.mix, "generated Sudoku difficulty mix, e.g. easy:1,medium:1")->capture_default_str();
    sub->add_option("--curriculum", j.data.curriculum, "examples over which the mix phases in, starting all easy");
    sub->add_option("--grid", j.grid, "maze: model grid side (default 15); arc: canvas side (default 30)");
    sub->add_option("--maze-size", j.data.maze_size, "generated mazes: side (default: the grid)");
    sub->add_option("--min-path", j.data.maze_min_path, "generated mazes: minimum shortest path in cells");
    sub->add_option("--min-path-ratio", j.data.maze_min_path_ratio,
                    "generated mazes without --min-path: shortest path >= this x each maze's side (default 1.5; "
                    "3.6667 = Maze-Hard's 110 cells at 30x30, at every side)");
    sub->add_option("--maze-min-size", j.data.maze_min_size,
                    "generated mazes: draw each side from this, this + 2, ..., --maze-size; smaller ones padded "
                    "with walls as at solve time (default: one size)");
    sub->add_option("--arc-eval", j.data.arc_eval_file, "ARC: evaluation challenges (demonstrations trained on, test pairs held out)");
    sub->add_option("--arc-eval-solutions", j.data.arc_eval_solutions,
                    "ARC: solutions of the --arc-eval tasks; without them the held-out evaluation is skipped");
    sub->add_option("--num-aug", j.data.arc_num_aug, "ARC: augmented copies per task")->capture_default_str();
    sub->add_option("-o,--out", j.out, "weights file to write (EMA copy); required unless --export-data");
    sub->add_option("--export-data", o->export_data,
                    "ARC: write the training data (and the evaluation tasks' test pairs) with the model config to this "
                    "safetensors file instead of training (for scripts/gpu)");
    sub->add_option("--state", j.state, "training-state file (default: OUT.state)");
    sub->add_flag("--resume", j.resume, "continue from the training state");
    sub->add_option("--init-from", j.init_from,
                    "a new run starts from this model's weights (same network; with --pos rope2d any grid size)");
    sub->add_flag("--force", j.force, "a new run may replace an existing weights file (-o)");
    sub->add_option("--steps", j.steps, "optimizer steps in the whole run")->capture_default_str();
    sub->add_option("--cosine-steps", j.cosine_steps,
                    "cosine horizon of a new run (default: --steps); later steps stay at the floor lr. A resumed run "
                    "keeps its state's horizon")
        ->check(CLI::PositiveNumber);
    sub->add_option("--time-limit", j.time_limit_min, "stop after this many minutes (state saved; --resume later)");
    sub->add_option("--batch", j.train.batch_size, "rows in flight")->check(CLI::Range(1, kMaxTrainBatch))->capture_default_str();
    sub->add_option("--seed", j.train.seed, "seed of weights, data and exploration")->capture_default_str();
    sub->add_option("--hidden", c.hidden_size, "hidden_size")->capture_default_str();
    sub->add_option("--heads", c.num_heads, "num_heads (attention)")->capture_default_str();
    sub->add_option("--expansion", c.expansion, "SwiGLU expansion")->capture_default_str();
    sub->add_option("--L-layers", c.L_layers, "L_layers")->capture_default_str();
    sub->add_option("--H-cycles", c.H_cycles, "H_cycles (T)")->capture_default_str();
    sub->add_option("--L-cycles", c.L_cycles, "L_cycles (n)")->capture_default_str();
    sub->add_option("--halt-max-steps", c.halt_max_steps, "supervision steps")->capture_default_str();
    sub->add_option("--mlp-t", c.mlp_t, "MLP over the sequence instead of attention (true/false)")->capture_default_str();
    sub->add_option("--pos", o->pos, "rope | rope2d (row and column: the network runs on any square grid) | learned | none")->capture_default_str();
    sub->add_option("--rope-theta", c.rope_theta, "RoPE base (small bases resolve neighbouring cells with few head dims)")
        ->check(CLI::PositiveNumber)->capture_default_str();
    sub->add_option("--puzzle-emb-ndim", c.puzzle_emb_ndim, "puzzle embedding width (0 = none)")->capture_default_str();
    sub->add_option("--puzzle-emb-len", c.puzzle_emb_len, "puzzle prefix rows (0 = ceil(ndim/hidden))")->capture_default_str();
    sub->add_option("--lr", j.train.optim.lr, "peak learning rate")->capture_default_str();
    sub->add_option("--lr-min-ratio", j.train.optim.lr_min_ratio, "cosine floor as a fraction of lr")->capture_default_str();
    sub->add_option("--warmup", j.train.optim.lr_warmup_steps, "linear warm-up steps")->capture_default_str();
    sub->add_option("--weight-decay", j.train.optim.weight_decay, "decoupled weight decay")->capture_default_str();
    sub->add_option("--puzzle-emb-lr", j.train.optim.puzzle_emb_lr, "sign-SGD lr of puzzle embeddings")->capture_default_str();
    sub->add_option("--ema", j.train.optim.ema_rate, "EMA rate (0 = off)")->capture_default_str();
    sub->add_option("--halt-exploration", j.train.halt_exploration_prob, "probability of a random minimum step count")->capture_default_str();
    sub->add_option("--save-every", j.save_every, "steps between state saves")->capture_default_str();
    sub->add_option("--keep-every", j.keep_every,
                    "also keep the weights every N steps as OUT-stepN.safetensors, for curves measured later (0 = off)")
        ->check(CLI::NonNegativeNumber)->capture_default_str();
    sub->add_option("--eval-every", j.eval_every, "steps between held-out evaluations")->capture_default_str();
    sub->add_option("--eval-count", j.eval_count, "held-out puzzles per evaluation")->capture_default_str();
    sub->add_option("--log", j.log, "append metrics as JSON lines to this file");
    sub->add_option("--report-every", o->report_every, "steps between progress lines")->capture_default_str();
    sub->add_option("--threads", j.threads, "CPU threads (default: all cores)")->check(CLI::Range(1, 4096));
    sub->footer("Example: trm train sudoku --mix easy:1,medium:1 --steps 20000 --time-limit 110 -o my-sudoku.safetensors\n"
                "         trm train sudoku -o my-sudoku.safetensors --resume     (continue a run)");
    set_action(sub, [o] { return run_train(*o); });
}

}  // namespace trm::cli
