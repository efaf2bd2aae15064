// Sudoku as a puzzle kind (puzzles/domain.hpp): its solver over the shared row engine, and the Domain hooks. The
// formats, encoding and verification are in puzzles/sudoku.hpp, the exact solver in puzzles/sudoku_solver.hpp.
#pragma once
#include <vector>

#include "puzzles/domain.hpp"
#include "puzzles/sudoku.hpp"

namespace trm {

struct SudokuSolveResult : SolveOutcome {
    SudokuPuzzle puzzle;
    SudokuGrid grid{};         // the answer, 0 for cells the model left blank / padded
    SudokuVerdict verdict;
};

// Solves a batch in one session per view (puzzles.size() <= opt.batch <= fwd.max_batch); results in input order
// with index = first_index + position. The model must pass check_model_domain.
std::vector<SudokuSolveResult> solve_sudoku_batch(Forward& fwd, std::vector<SudokuPuzzle> puzzles, size_t first_index,
                                                  const SolveOptions& opt);

const Domain& sudoku_domain();

}  // namespace trm
