// Sudoku generation and grading.
//
// Difficulty is graded by the techniques a human-style logic solver needs (grade_sudoku); the generator also
// aims at a clue range per difficulty:
//   easy     naked singles only                                                          36..45 clues
//   medium   + hidden singles and locked candidates (pointing / claiming), no search      27..35 clues
//   hard     + naked/hidden pairs and triples, X-wing, no search                         24..30 clues
//   extreme  the logic above stalls: solving needs a guess (backtracking)                17..25 clues
// Every generated puzzle has a unique solution and carries it.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "puzzles/sudoku.hpp"

namespace trm {

struct Rng;

enum class SudokuDifficulty { Easy, Medium, Hard, Extreme };

const char* sudoku_difficulty_name(SudokuDifficulty d);  // "easy", "medium", "hard", "extreme"
bool sudoku_difficulty_from_name(std::string_view s, SudokuDifficulty* out);
std::vector<SudokuDifficulty> all_sudoku_difficulties();

struct SudokuClueRange {
    int min, max;
};
SudokuClueRange sudoku_clue_range(SudokuDifficulty d);  // the generator's target, from the table above

// Hardest technique level the logic solver needs for `cells`, using levels up to max_level (1..3):
//   1 naked singles, 2 + hidden singles and locked candidates, 3 + pairs/triples and X-wing;
//   4 when it stalls or meets a contradiction (no solution), or when the puzzle has several solutions.
// A result <= 3 means the solution is unique (it was deduced); it then goes to *deduced when not null.
int sudoku_logic_level(const SudokuGrid& cells, int max_level = 3, SudokuGrid* deduced = nullptr);

// Easy/medium/hard/extreme from sudoku_logic_level 1/2/3/4 (a full grid is easy). Technique only: clue counts
// are not looked at. Puzzles with no or several solutions grade extreme.
SudokuDifficulty grade_sudoku(const SudokuGrid& cells);

// A random complete grid (random digit order in the exact solver's branches).
SudokuGrid random_sudoku_solution(Rng& rng);

// One puzzle of difficulty `d`, retrying until one grades `d` inside d's clue range:
//   easy, medium  clues of a random complete grid removed in random order while the puzzle stays solvable
//                 within d's techniques, stopping at a random clue target once it grades d;
//   extreme       removed while the solution stays unique, stopping at the target once the logic stalls;
//   hard          removed as for extreme down to a minimal puzzle; when the logic stalls on it, clues are put
//                 back in random order until the logic solves it (usually just at level 3).
// The result has its solution, source "trm-<name>" and rating = the exact solver's guesses (Sudoku-Extreme's
// rating counts tdoku's backtracks).
SudokuPuzzle generate_sudoku_one(SudokuDifficulty d, Rng& rng);

// Puzzles first_index .. first_index+count-1 of the stream named by (d, seed): puzzle i uses its own Rng
// seeded from (seed, d, i), so the list is the same however it is split into chunks or threads.
// where = "generated:<name>:<seed>:<i>", line = i + 1.
std::vector<SudokuPuzzle> generate_sudoku(int count, SudokuDifficulty d, uint64_t seed, uint64_t first_index = 0);

}  // namespace trm
