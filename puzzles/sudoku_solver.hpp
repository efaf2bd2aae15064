// Exact Sudoku solver: depth-first search over 9-bit candidate masks (one per cell) with constraint
// propagation after every assignment: naked singles through a queue, hidden singles in the units whose cells
// changed. It branches on a cell with the fewest candidates, ties to the one with the most open peers.
// Measured (g++ 12 -O3 -march=native, one core, CPU time): forum_hardest_1106 ~8,200 puzzles/s with 172 guesses
// per puzzle, top1465 ~38,000 puzzles/s (35 guesses).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "puzzles/sudoku.hpp"

namespace trm {

struct Rng;

struct SudokuSolveStats {
    int64_t guesses = 0;  // branch assignments tried (added to, not reset)
};

// Searches the solutions of `cells` (0 blank, 1..9 given; clashing givens have no solution) and stops after
// `limit` (>= 1) of them. Returns how many it found, 0..limit; the first goes to *solution (when not null).
// With `rng`, each branch tries its digits in random order (used to draw random full grids).
int solve_sudoku(const SudokuGrid& cells, SudokuGrid* solution, int limit = 1, SudokuSolveStats* stats = nullptr,
                 Rng* rng = nullptr);

// 0 (no solution), 1 (unique) or 2 (two or more) with the default limit; in general min(count, limit).
int count_sudoku_solutions(const SudokuGrid& cells, int limit = 2);

// What a user should know before the model tries `cells`: "" for a proper puzzle (exactly one solution), else
// "has no solution", "has several solutions" or "is blank: every full grid is a solution". Microseconds to
// milliseconds (the exact solver stops at the second solution).
std::string sudoku_diagnosis(const SudokuGrid& cells);

// Throughput of solve_sudoku (first solution, limit 1) on `puzzles`, in puzzles per second, tdoku style:
// a warm-up pass solves every puzzle and checks that the answer verifies and keeps the givens (throws Error
// naming the puzzle when one has no solution or a wrong one), then a window of at least `seconds` cycles
// through the list without checks, ending at the end of a pass (or at 2 x seconds for long lists).
// `puzzles` must not be empty.
double sudoku_solver_bench(const std::vector<SudokuPuzzle>& puzzles, double seconds);

}  // namespace trm
