// A whole training run: model from flags (or a config file, or resumed state), data source of the domain,
// periodic evaluation on a held-out set, crash-safe state saves, EMA weights written out.
#pragma once
#include <atomic>
#include <functional>
#include <optional>
#include <string>

#include "core/trainer.hpp"
#include "datasets/sources.hpp"
#include "puzzles/domain.hpp"

namespace trm {

struct TrainJobOptions {
    const Domain* domain = &domain_named("sudoku");
    TrainData data;               // what to train on (datasets/sources.hpp)
    int grid = 0;                 // model grid side (seq_len = grid^2), e.g. 30 (0 = the kind's default)

    Config model;                 // architecture (domain fields are filled in from the domain)
    TrainOptions train;
    int64_t steps = 1000;         // total optimizer steps of the run
    int64_t cosine_steps = 0;     // cosine horizon of a new run (0 = steps); kept in the training state on --resume
    double time_limit_min = 0;    // stop (and save) after this many minutes of this session; 0 = none
    std::string out;              // weights (EMA) written here at every save and at the end
    std::string state;            // training state; default <out>.state
    bool resume = false;          // continue from `state` (architecture and options come from it)
    bool force = false;           // a new run may replace an existing `out` (never replaced otherwise)
    std::string init_from;        // a new run starts from this model's weights (same network, any grid for rope2d)
    int save_every = 200;         // steps between state saves
    int keep_every = 0;           // also keep the weights at every multiple of this step as <out>-step<N> (0 = off)
    int eval_every = 200;         // steps between evaluations (0 = only at the end)
    int eval_count = 256;         // held-out puzzles per evaluation
    std::string log;              // metrics as JSON lines (appended)
    int threads = 0;
};

struct TrainProgress {
    int64_t step = 0, total = 0;
    double loss = 0, lm_loss = 0, q_halt_loss = 0;  // mean per example over the interval
    double exact = 0, accuracy = 0, q_halt_acc = 0, mean_steps = 0;  // over halted rows in the interval
    double examples_per_s = 0, example_steps_per_s = 0, lr = 0, elapsed_s = 0;
    std::optional<EvalStats> eval;
    bool saved = false;
    int evaluating = 0;  // > 0: a held-out evaluation of this many puzzles starts now (the report follows)
};

// Runs until `steps`, the time limit or `stop` becomes true; saves state and weights before returning.
// on_progress is called every `report_every` steps and after each evaluation.
void run_training(const TrainJobOptions& o, int report_every, const std::function<void(const TrainProgress&)>& on_progress,
                  const std::atomic<bool>& stop);

// Where --keep-every keeps the weights of `step`: runs/m.safetensors -> runs/m-step5000.safetensors.
std::string kept_weights_path(const std::string& out, int64_t step);

// Fills seq_len / vocab_size / token_map / domain of a config for a kind (Domain::configure_model; Sudoku: 81
// tokens, vocab 11; maze: grid^2 tokens, vocab 6; ARC: canvas^2 tokens, vocab 12).
void apply_domain(Config& c, const Domain& d, int grid);

// The ARC data `trm train arc` would train on, written instead of training (for scripts/gpu): train.inputs,
// train.labels [N, S] int32 (label 0 = not scored), train.puzzle_identifiers [N]; the evaluation tasks' test pairs
// as test.* (labels 0 where no solution was given); the model config it would build (identifiers, token map) as
// trm_config metadata. Same options, builder and seed as training, so identifiers match a model trained here.
void export_arc_data(const TrainJobOptions& o, const std::string& path);

}  // namespace trm
