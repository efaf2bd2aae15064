// Generated puzzles as an item stream (puzzles/domain.hpp ItemReader), for `trm eval --generate`: the same
// puzzles as `trm generate` with the same options and seed, made as they are read (bounded memory).
#pragma once
#include <memory>

#include "datasets/maze_gen.hpp"
#include "datasets/sudoku_gen.hpp"
#include "puzzles/domain.hpp"

namespace trm {

std::unique_ptr<ItemReader> generated_sudoku(SudokuDifficulty d, int64_t count, uint64_t seed);
// Maze i uses seed + i, as `trm generate maze`.
std::unique_ptr<ItemReader> generated_mazes(const MazeGenOptions& g, int64_t count, uint64_t seed);

}  // namespace trm
