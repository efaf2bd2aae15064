// Training loop (official pretrain.py + ACTLossHead): deep supervision over a carried batch, AdamATan2 with
// cosine schedule, sign-SGD puzzle embeddings, EMA weights; resumable from a training-state file.
#pragma once
#include <functional>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/optimizer.hpp"
#include "core/rng.hpp"
#include "core/train_step.hpp"

namespace trm {

// Where training examples come from. Deterministic in `index`, so a resumed run sees the same stream.
struct DataSource {
    virtual ~DataSource() = default;
    // tokens [S] model input, labels [S] target tokens (kIgnoreLabel = not scored), puzzle identifier.
    virtual void example(uint64_t index, int32_t* tokens, int32_t* labels, int32_t* puzzle_id) = 0;
};

constexpr int kMaxTrainBatch = 1 << 16;  // rows in flight; a training state claiming more is refused

struct TrainOptions {
    OptimConfig optim;
    int batch_size = 64;            // rows in flight, e.g. 64 (official global_batch_size 768)
    uint64_t seed = 0;              // init weights, exploration
    float halt_exploration_prob = 0.1f;
};
nlohmann::json train_options_to_json(const TrainOptions& o);
TrainOptions train_options_from_json(const nlohmann::json& j, const std::string& label);

// Official init: LeCun truncated normal (std 1/sqrt(fan_in), cut at 2 std), embeddings std 1/sqrt(D),
// H_init/L_init truncated normal std 1, q_head weight 0 and bias -5, puzzle embeddings 0.
void init_weights(Model& m, uint64_t seed);

struct Trainer {
    TrainOptions opt;
    Model model;                    // live weights
    std::vector<float> ema;         // EMA of the dense weights (same layout)
    std::vector<float> adam_m, adam_v;
    int64_t step = 0;               // optimizer steps taken
    uint64_t cursor = 0;            // examples drawn from the data source
    Rng rng;
    std::unique_ptr<TrainStep> ts;
    std::vector<int32_t> new_tokens, new_labels, new_ids;
    // Free-form provenance kept with the state (metadata "note.<key>"), e.g. the data options of each stretch of
    // the run; the trainer itself never reads them.
    std::map<std::string, std::string> notes;

    Trainer(Model m, const TrainOptions& o);
    Trainer(const Trainer&) = delete;  // ts points into model
    Trainer& operator=(const Trainer&) = delete;
    // One optimizer step: refill halted rows from `data`, forward/backward, AdamATan2 + sign-SGD + EMA.
    StepMetrics train_step(DataSource& data);
    double current_lr() const;
    // The weights to ship: EMA of the dense weights (when enabled) with the live puzzle embeddings and buffers.
    Model export_model() const;

    // Training state: weights, EMA, moments, carry, step, cursor, RNG. Written atomically (tmp + fsync + rename).
    void save_state(const std::string& path) const;
    static std::unique_ptr<Trainer> load_state(const std::string& path);
};

// Test-time adaptation: fits the puzzle-embedding rows used by `data` with the network frozen (official sign-SGD
// on the rows, deep supervision with the ACT carry as in training). `data` should only produce identifiers whose
// rows are to be fitted (e.g. rows appended for an unseen task). Returns the mean lm_loss of the last 10 steps.
struct AdaptOptions {
    int steps = 200;         // optimizer steps
    int batch = 16;          // rows in flight
    double lr = 1e-2;        // sign-SGD step
    double weight_decay = 0.1;
    uint64_t seed = 0;
    std::function<void(int step)> on_step;  // after each optimizer step (1-based); may throw to stop adapting
};
double adapt_puzzle_embeddings(Model& m, DataSource& data, const AdaptOptions& o);

// Returns a copy of `m` with `extra` zero-initialised puzzle-embedding rows appended (ids N..N+extra-1), named
// `names` when given.
Model with_extra_puzzle_rows(const Model& m, int extra, const std::vector<std::string>& names = {});

// Evaluation with all rows running halt_max_steps steps (official eval). Also records what `--halt model` would
// give: the answer at the first step with q_halt > 0 (or the last step).
struct EvalStats {
    int n = 0;
    int exact = 0;                  // exactly right after all steps
    double cell_acc = 0;            // mean over puzzles of labelled-cell accuracy after all steps
    int exact_model_halt = 0;       // exactly right at the model's halting step
    double mean_halt_steps = 0;     // mean of that step
    int q_halt_agree = 0;           // final step: (q_halt > 0) == exactly right
};
EvalStats evaluate(const Model& m, const int32_t* tokens, const int32_t* labels, const int32_t* ids, int n, int batch);

}  // namespace trm
