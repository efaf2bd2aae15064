// Mazes as a puzzle kind (puzzles/domain.hpp): the solver over the shared row engine (the 8 dihedral views; a
// maze drawn with a closed wall frame is solved without it), and the Domain hooks. Formats, encoding, BFS and
// verification are in puzzles/maze.hpp.
#pragma once
#include <vector>

#include "puzzles/domain.hpp"
#include "puzzles/maze.hpp"

namespace trm {

struct MazeSolveResult : SolveOutcome {
    Maze maze;
    std::vector<char> path;    // answer grid, maze.rows * maze.cols characters (see decode_maze)
    MazeCheck verdict;
};

// Solves a batch in one session per view (mazes.size() <= opt.batch <= fwd.max_batch); results in input order
// with index = first_index + position. The model must pass check_model_domain; a maze larger than its grid throws.
std::vector<MazeSolveResult> solve_maze_batch(Forward& fwd, std::vector<Maze> mazes, size_t first_index,
                                              const SolveOptions& opt);

const Domain& maze_domain();

}  // namespace trm
