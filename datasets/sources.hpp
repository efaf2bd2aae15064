// Training data sources (core/trainer.hpp DataSource) for each domain, and held-out evaluation sets.
// Every source is deterministic in (seed, example index), so a resumed run sees the same stream.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/trainer.hpp"
#include "datasets/arc_builder.hpp"
#include "datasets/maze_gen.hpp"
#include "datasets/sudoku_gen.hpp"

namespace trm {

// Sudoku difficulty mix, e.g. "easy:2,medium:1" (weights). Empty or "easy" = only easy.
struct SudokuMix {
    std::vector<std::pair<SudokuDifficulty, double>> parts;
    static SudokuMix parse(const std::string& s);  // throws Error on unknown names / bad weights
    SudokuDifficulty pick(double u) const;           // u in [0, 1)
    std::string str() const;
};

// Generated Sudoku with unique solutions. With curriculum_examples > 0 the first examples are easy and the mix
// phases in linearly over that many examples (a curriculum from many givens to few).
struct SudokuGenSource : DataSource {
    SudokuMix mix;
    uint64_t seed;
    uint64_t curriculum_examples;
    SudokuGenSource(SudokuMix m, uint64_t seed, uint64_t curriculum_examples = 0)
        : mix(std::move(m)), seed(seed), curriculum_examples(curriculum_examples) {}
    void example(uint64_t index, int32_t* tokens, int32_t* labels, int32_t* puzzle_id) override;
};

// Puzzles from a file (solutions computed by the exact solver when the file has none), each draw augmented with a
// random official shuffle (digits, bands, rows, stacks, columns, transpose).
struct SudokuFileSource : DataSource {
    std::vector<SudokuPuzzle> puzzles;
    uint64_t seed;
    SudokuFileSource(const std::string& path, uint64_t seed);
    void example(uint64_t index, int32_t* tokens, int32_t* labels, int32_t* puzzle_id) override;
};

// Generated mazes (Maze-Hard style) on a model grid of side `grid`, answer = the BFS path. Each example's side is
// drawn from min_size, min_size + 2, ..., size (one size when equal; steps of 2 keep the parity: generated mazes of
// odd side are corridor mazes, even sides add a half-frame that models learn separately); smaller mazes sit
// top-left, padded with walls, as at solve time. min_path 0: about 1.5 x the side, capped by what the side allows.
struct MazeGenSource : DataSource {
    MazeGenOptions gen;
    int min_size, grid;
    uint64_t seed;
    MazeGenSource(int min_size, int size, int min_path, int grid, uint64_t seed);
    void example(uint64_t index, int32_t* tokens, int32_t* labels, int32_t* puzzle_id) override;
};

// Mazes from a file (answers from BFS when missing), each draw under a random dihedral transform.
struct MazeFileSource : DataSource {
    std::vector<Maze> mazes;
    int grid;
    uint64_t seed;
    MazeFileSource(const std::string& path, int grid, uint64_t seed);
    void example(uint64_t index, int32_t* tokens, int32_t* labels, int32_t* puzzle_id) override;
};

// ARC examples built the official way (datasets/arc_builder.hpp): every demonstration pair of every task plus
// the test pairs of the training tasks, each task under num_aug augmentations with its own puzzle identifier.
// Draws pick a random example of the train split; labels of pad cells are ignored. eval_solutions ("" = none)
// supplies the evaluation tasks' test outputs when the challenges file lacks them (arc-agi_*_solutions.json).
struct ArcSource : DataSource {
    ArcSplits splits;
    uint64_t seed;
    ArcSource(const std::string& train_file, const std::string& eval_file, const std::string& eval_solutions,
              int canvas, int num_aug, uint64_t seed);
    void example(uint64_t index, int32_t* tokens, int32_t* labels, int32_t* puzzle_id) override;
};

// A fixed evaluation set in model tokens.
struct EvalSet {
    int n = 0, seq_len = 0;
    std::vector<int32_t> tokens, labels, ids;
};
EvalSet make_eval_set(DataSource& src, int n, int seq_len, uint64_t first_index);
// ARC: up to n_max test pairs with a known output (an all-pad label scores nothing), spread evenly over the tasks;
// n = 0 when no output is known.
EvalSet make_arc_eval_set(const ArcDataset& test, int n_max);

}  // namespace trm
