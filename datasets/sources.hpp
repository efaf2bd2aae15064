// Training data sources (core/trainer.hpp DataSource) for each domain, and held-out evaluation sets.
// Every source is deterministic in (seed, example index), so a resumed run sees the same stream.
#pragma once
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/trainer.hpp"
#include "datasets/arc_builder.hpp"
#include "datasets/maze_gen.hpp"
#include "datasets/sudoku_gen.hpp"
#include "puzzles/domain.hpp"

namespace trm {

// A fixed evaluation set in model tokens.
struct EvalSet {
    int n = 0, seq_len = 0;
    std::vector<int32_t> tokens, labels, ids;
};

// The data options of a training run (`trm train` flags); each kind's source reads the ones that concern it.
struct TrainData {
    std::string data_file;        // train on these puzzles (augmented); empty = generate
    std::string mix = "easy";     // generated Sudoku difficulty mix, e.g. "easy:1,medium:1"
    uint64_t curriculum = 0;      // examples over which the mix phases in from all-easy
    int maze_size = 0;            // generated mazes: side length (0 = the model's grid)
    int maze_min_path = 0;        // generated mazes: minimum shortest-path length (0 = maze_min_path_ratio x side)
    double maze_min_path_ratio = 1.5;  // generated mazes without maze_min_path: shortest path >= this x side
    int maze_min_size = 0;        // generated mazes: sides drawn from [maze_min_size, maze_size] (0 = one size)
    std::string arc_eval_file;    // ARC: evaluation challenges whose demonstrations are also trained on
    std::string arc_eval_solutions;  // ARC: test outputs of the evaluation tasks (for the held-out evaluation)
    int arc_num_aug = 100;        // ARC: augmented copies per task
};

// A kind's training stream, with what a run needs besides the examples.
struct TrainingSource : DataSource {
    // Puzzle identifiers of the data, index 0 = <blank> (ARC: one per task and augmentation); empty = none.
    virtual std::vector<std::string> identifiers() const { return {}; }
    // n held-out examples that no training draw uses: by default the same stream under another seed (`twin`),
    // from example `first_held_out` on (past a curriculum's ramp); ARC: the evaluation tasks' test pairs.
    virtual EvalSet held_out(int n, int seq_len, uint64_t seed) const;
    std::function<std::unique_ptr<DataSource>(uint64_t seed)> twin;
    uint64_t first_held_out = 0;
    nlohmann::json provenance = nlohmann::json::object();  // the options that made the stream (a run's history)
};

// The source of kind `d` for a model grid of side `grid` (datasets/sources.cpp holds one line per kind: its
// generator, or its files). Throws Error for a kind that cannot be trained, or options it cannot use.
std::unique_ptr<TrainingSource> make_training_source(const Domain& d, const TrainData& o, int grid, uint64_t seed);

// Sudoku difficulty mix, e.g. "easy:2,medium:1" (weights). Empty or "easy" = only easy.
struct SudokuMix {
    std::vector<std::pair<SudokuDifficulty, double>> parts;
    static SudokuMix parse(const std::string& s);  // throws Error on unknown names / bad weights
    SudokuDifficulty pick(double u) const;           // u in [0, 1)
    std::string str() const;
};

// Generated Sudoku with unique solutions. With curriculum_examples > 0 the first examples are easy and the mix
// phases in linearly over that many examples (a curriculum from many givens to few).
struct SudokuGenSource : TrainingSource {
    SudokuMix mix;
    uint64_t seed;
    uint64_t curriculum_examples;
    SudokuGenSource(SudokuMix m, uint64_t seed, uint64_t curriculum_examples = 0)
        : mix(std::move(m)), seed(seed), curriculum_examples(curriculum_examples) {}
    void example(uint64_t index, int32_t* tokens, int32_t* labels, int32_t* puzzle_id) override;
};

// Puzzles from a file (solutions computed by the exact solver when the file has none), each draw augmented with a
// random official shuffle (digits, bands, rows, stacks, columns, transpose).
struct SudokuFileSource : TrainingSource {
    std::vector<SudokuPuzzle> puzzles;
    uint64_t seed;
    SudokuFileSource(const std::string& path, uint64_t seed);
    void example(uint64_t index, int32_t* tokens, int32_t* labels, int32_t* puzzle_id) override;
};

// Generated mazes (Maze-Hard style) on a model grid of side `grid`, answer = the BFS path. Each example's side is
// drawn from min_size, min_size + 2, ..., size (one size when equal; steps of 2 keep the parity: generated mazes of
// odd side are corridor mazes, even sides add a half-frame that models learn separately); smaller mazes sit
// top-left, padded with walls, as at solve time. min_path 0: about 1.5 x the side, capped by what the side allows.
struct MazeGenSource : TrainingSource {
    MazeGenOptions gen;
    int min_size, grid;
    double min_path_ratio;  // with gen.min_path 0: each maze's shortest path is at least this x its side
    uint64_t seed;
    MazeGenSource(int min_size, int size, int min_path, double min_path_ratio, int grid, uint64_t seed);
    void example(uint64_t index, int32_t* tokens, int32_t* labels, int32_t* puzzle_id) override;
};

// Mazes from a file (answers from BFS when missing), each draw under a random dihedral transform.
struct MazeFileSource : TrainingSource {
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
struct ArcSource : TrainingSource {
    ArcSplits splits;
    uint64_t seed;
    ArcSource(const std::string& train_file, const std::string& eval_file, const std::string& eval_solutions,
              int canvas, int num_aug, uint64_t seed);
    void example(uint64_t index, int32_t* tokens, int32_t* labels, int32_t* puzzle_id) override;
    std::vector<std::string> identifiers() const override { return splits.train.identifiers; }
    EvalSet held_out(int n, int seq_len, uint64_t seed) const override;
};

EvalSet make_eval_set(DataSource& src, int n, int seq_len, uint64_t first_index);
// ARC: up to n_max test pairs with a known output (an all-pad label scores nothing), spread evenly over the tasks;
// n = 0 when no output is known.
EvalSet make_arc_eval_set(const ArcDataset& test, int n_max);

}  // namespace trm
