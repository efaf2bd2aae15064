// The official optimisers (pretrain.py): AdamATan2 for dense weights, sign-SGD for the puzzle embeddings of the
// rows a batch used, cosine learning-rate schedule with linear warm-up, and an EMA copy of the weights.
#pragma once
#include <cstddef>
#include <cstdint>

namespace trm {

struct OptimConfig {
    double lr = 1e-4;                  // peak learning rate, e.g. 1e-4
    double lr_min_ratio = 1.0;         // floor of the cosine as a fraction of lr, e.g. 1.0 (constant after warm-up)
    int64_t lr_warmup_steps = 2000;    // linear warm-up, e.g. 2000
    int64_t total_steps = 100000;      // cosine horizon, e.g. epochs * examples / batch
    double weight_decay = 0.1;         // decoupled, e.g. 1.0 (official Sudoku) or 0.1
    double beta1 = 0.9, beta2 = 0.95;  // Adam moments
    double puzzle_emb_lr = 1e-2;       // sign-SGD lr, e.g. 1e-4 (Sudoku) or 1e-2 (ARC)
    double puzzle_emb_weight_decay = 0.1;
    double ema_rate = 0.999;           // 0 disables the EMA
};

// official cosine_schedule_with_warmup_lr_lambda (num_cycles 0.5)
double cosine_lr(int64_t step, double base_lr, int64_t warmup, int64_t total, double min_ratio);

// AdamATan2 (decoupled weight decay; update without epsilon):
//   p *= 1 - lr * wd;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= lr / (1 - b1^t) * atan2(m, sqrt(v) / sqrt(1 - b2^t))
void adam_atan2_update(float* p, float* m, float* v, const float* g, size_t n, double lr, double wd, double b1,
                       double b2, int64_t t);

// Sign-SGD on the rows used by a batch (official CastedSparseEmbeddingSignSGD): gradients of rows with the same id
// are summed first; then weights[id] = weights[id] * (1 - lr * wd) - lr * sign(grad).
// weights [N, E], local_grad [B, E], ids [B].
void sign_sgd_rows(float* weights, const float* local_grad, const int32_t* ids, int B, int E, double lr, double wd);

// ema = rate * ema + (1 - rate) * p
void ema_update(float* ema, const float* p, size_t n, double rate);

}  // namespace trm
