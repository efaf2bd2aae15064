// `trm bench`: sgemm peak, then inference (and with --train, training) throughput at the reference shapes,
// measured in the same run so the percentages compare like with like.
#include <algorithm>
#include <fmt/core.h>
#include <thread>

#include "cli/commands.hpp"
#include "core/bench.hpp"
#include "core/error.hpp"
#include "core/gemm.hpp"
#include "core/ops.hpp"
#include "core/parallel.hpp"
#include "puzzles/sudoku.hpp"
#include "puzzles/sudoku_solver.hpp"

namespace trm::cli {

struct BenchOptions {
    bool train = false;
    double seconds = 3.0;
    int threads = 0;
    std::string only;  // run only shapes whose name contains this
    std::vector<std::string> solver_files;  // benchmark the exact Sudoku solver on these puzzle files instead
};

static int run_solver_bench(const BenchOptions& o) {
    fmt::print("exact Sudoku solver (bitmask DFS + naked/hidden singles), 1 thread, compiler {}\n", __VERSION__);
    for (auto& f : o.solver_files) {
        auto puzzles = read_sudoku_file(f);
        if (puzzles.empty()) fail("{}: no puzzles", f);
        const double rate = sudoku_solver_bench(puzzles, o.seconds);
        fmt::print("  {:<50} {:>6} puzzles  {:>10.0f} puzzles/s (all verified in the warm-up pass)\n", f, puzzles.size(), rate);
    }
    return kExitOk;
}

struct Shape {
    const char* name;
    Config cfg;
    std::vector<int> batches;
};

// puzzle_emb_len 0: P = ceil(puzzle_emb_ndim / hidden) = 1 row of puzzle embedding
static Config shape(int hidden, int heads, bool mlp_t, int seq, int vocab, int H, int L, int puzzle_emb_len = 16) {
    Config c;
    c.hidden_size = hidden; c.num_heads = heads; c.expansion = 4; c.L_layers = 2; c.H_cycles = H; c.L_cycles = L;
    c.halt_max_steps = 16; c.puzzle_emb_ndim = hidden; c.puzzle_emb_len = puzzle_emb_len; c.mlp_t = mlp_t;
    c.pos_encodings = mlp_t ? PosEncoding::None : PosEncoding::Rope;
    c.seq_len = seq; c.vocab_size = vocab; c.num_puzzle_identifiers = 1;
    return c;
}

static Config rope2d(Config c) {
    c.pos_encodings = PosEncoding::Rope2d;
    c.rope_theta = 16;
    return c;
}

static int run_bench(const BenchOptions& o) {
    if (!o.solver_files.empty()) return run_solver_bench(o);
    int threads = o.threads > 0 ? o.threads : int(std::max(1u, std::thread::hardware_concurrency()));
    set_threads(threads);
    fmt::print("trm bench: {}; {} thread(s), products on {}, compiler {} {}\n", compute_summary(), threads,
               products_on_trm_kernel()
                   ? fmt::format("trm's packed kernel only (OpenBLAS's core here is {}, {})", blas_core_name(),
                                 blas_has_vector_kernels() ? "slower on training's products" : "without vector kernels")
                   : fast_gemm_compiled() ? fmt::format("trm's packed kernel (weights packed once) and OpenBLAS ({})",
                                                        blas_core_name())
                                          : fmt::format("OpenBLAS ({})", blas_core_name()),
#if defined(__clang__)
               "clang", __clang_version__
#else
               "g++", __VERSION__
#endif
    );
    // The cores are shared: each row's %peak is against sgemm measured right before and right after that row
    // (the better of the two), so a neighbour's burst shifts both numbers of a ratio together.
    const double peak_seconds = std::min(1.0, o.seconds / 2);
    fmt::print("{} gemm peak (1024/2048 square, the better of OpenBLAS and trm's kernel) at start: {:.1f} GFLOP/s; "
               "each row's %peak uses the peak measured around it in the same precision (column 'peak')\n\n",
               precision_name(precision()), sgemm_peak_gflops(peak_seconds));
    std::vector<Shape> shapes = {
        {"sudoku-mlp-512 (official: hidden 512, mlp_t, seq 81, P 16, H3 L6)", shape(512, 8, true, 81, 11, 3, 6), {1, 64}},
        // the CPU-sized model trm ships and `trm train` makes by default (models/sudoku.safetensors): P = 1, so
        // L = 82 and mlp_t's inner width 256; 3.39 GFLOP per example-step of training
        {"sudoku-mlp-128 (shipped CPU model: hidden 128, P 1, mlp_t, H3 L6)", shape(128, 4, true, 81, 11, 3, 6, 0),
         {1, 64}},
        // the same with the official P 16: L = 97 rounds mlp_t's inner width up to 512, 5.34 GFLOP per example-step
        {"sudoku-mlp-128-p16 (hidden 128 with the official P 16)", shape(128, 4, true, 81, 11, 3, 6), {1, 64}},
        {"maze-att-512 (official 30x30: hidden 512, 8 heads, seq 900, H3 L4)", shape(512, 8, false, 900, 6, 3, 4), {1, 8}},
        // the 30x30 maze model trm trains on CPU (scripts/train-models.sh maze30): head width 16, so the softmax over
        // 900 keys costs about as much as the two attention products around it
        {"maze30-64 (trm's 30x30 maze run: hidden 64, 4 heads, seq 900, P 1, H2 L3)", shape(64, 4, false, 900, 6, 2, 3, 1),
         {1, 16}},
        // its 16x16 curriculum stage (scripts/train-models.sh maze30-g16), rope2d, at the stage's batch
        {"maze16-64 (the 16x16 stage of that run: seq 256, rope2d)", rope2d(shape(64, 4, false, 256, 6, 2, 3, 1)), {32}},
    };
    fmt::print("{:<70} {:>5} {:>14} {:>10} {:>12} {:>9} {:>7} {:>7}\n", o.train ? "training" : "inference", "batch",
               "MFLOP/step", "ms/step", o.train ? "ex-steps/s" : "puzzles/s", "GFLOP/s", "peak", "%peak");
    for (auto& s : shapes) {
        if (!o.only.empty() && std::string(s.name).find(o.only) == std::string::npos) continue;
        for (int b : s.batches) {
            if (o.train && b == 1) continue;
            const double before = sgemm_peak_gflops(peak_seconds);
            SpeedResult r = o.train ? bench_training(s.cfg, b, o.seconds) : bench_inference(s.cfg, b, o.seconds);
            const double peak = std::max(before, sgemm_peak_gflops(peak_seconds));
            fmt::print("{:<70} {:>5} {:>14.1f} {:>10.2f} {:>12.1f} {:>9.1f} {:>7.1f} {:>6.1f}%\n", s.name, b,
                       r.flops_per_step / 1e6, r.ms_per_step, r.per_second, r.gflops, peak, 100.0 * r.gflops / peak);
            std::fflush(stdout);
        }
    }
    if (!o.train) fmt::print("\npuzzles/s assume 16 supervision steps per puzzle (halt_max_steps, no early halting).\n");
    return kExitOk;
}

void register_bench(CLI::App& app) {
    auto o = std::make_shared<BenchOptions>();
    auto* sub = app.add_subcommand("bench", "Measure sgemm peak and model throughput (inference, or training with --train)");
    add_compute_options(sub);
    sub->add_flag("--train", o->train, "benchmark training steps (forward + backward) instead of inference");
    sub->add_option("--seconds", o->seconds, "time per measurement")->capture_default_str();
    sub->add_option("--threads", o->threads, "CPU threads (default: all cores)")->check(CLI::Range(1, 4096));
    sub->add_option("--only", o->only, "run only shapes whose name contains this text");
    sub->add_option("--solver", o->solver_files, "benchmark the exact Sudoku solver on these puzzle files");
    sub->footer("Examples:\n"
                "  trm bench --train --only shipped         training steps of the shipped Sudoku model's shape\n"
                "  trm bench --solver datasets/sudoku/forum_hardest_1106.txt");
    set_action(sub, [o] { return run_bench(*o); });
}

}  // namespace trm::cli
