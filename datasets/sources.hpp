// Training data sources (core/trainer.hpp DataSource) for each domain, and held-out evaluation sets.
// Every source is deterministic in (seed, example index), so a resumed run sees the same stream.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/trainer.hpp"
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

// A fixed evaluation set in model tokens.
struct EvalSet {
    int n = 0, seq_len = 0;
    std::vector<int32_t> tokens, labels, ids;
};
EvalSet make_eval_set(DataSource& src, int n, int seq_len, uint64_t first_index);

}  // namespace trm
