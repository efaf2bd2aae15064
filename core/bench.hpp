// Throughput measurements for `trm bench`: sgemm peak on this machine, and the model's inference / training
// speed at a given shape, all timed in the same process so ratios are meaningful on a noisy machine.
#pragma once
#include "core/config.hpp"

namespace trm {

double sgemm_peak_gflops(double seconds);  // best of square 1024/2048 sgemm runs (OpenBLAS or trm's kernel)

struct SpeedResult {
    double flops_per_step = 0;  // per puzzle (inference) or per example-step incl. backward (training)
    double ms_per_step = 0;     // per batch supervision step
    double per_second = 0;      // puzzles/s at halt_max_steps steps (inference) or example-steps/s (training)
    double gflops = 0;          // achieved
    size_t activation_bytes = 0;
};

// Random weights of the given shape; warms up, then times whole supervision steps for about `seconds`.
SpeedResult bench_inference(const Config& c, int batch, double seconds);
SpeedResult bench_training(const Config& c, int batch, double seconds);

// Training FLOPs of one example through one supervision step: the no-grad cycles forward, plus forward and
// backward (2x forward) of the last cycle.
double train_flops_per_step(const Config& c);

}  // namespace trm
