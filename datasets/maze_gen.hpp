// Maze-Hard-style maze generator: a perfect maze carved by randomized depth-first search, some inner walls
// knocked out to make loops (several routes), then S and G placed with a long shortest path between them.
//
// Layout: maze cells sit on a lattice of every other row and column; the cells between two lattice cells are
// walls or carved passages; the cells between four lattice cells are always walls. With an even size one
// row (column) is left as a wall border, on a side chosen at random. 11 x 11, lattice marked L:
//
//   L?L?L?L?L?L      ? wall or passage
//   ?#?#?#?#?#?      # always wall
//   L?L?L?L?L?L
//   ...
//
// Path length counts cells, S and G included (puzzles/maze.hpp). Maze-Hard keeps mazes whose shortest path is
// longer than 110 on 30 x 30; the default min_path = 110 matches that bound as a minimum.
#pragma once
#include <cstdint>

#include "puzzles/maze.hpp"

namespace trm {

struct MazeGenOptions {
    int rows = kMazeHardSize;    // grid rows, >= 5, e.g. 30
    int cols = kMazeHardSize;    // grid columns, >= 5, e.g. 30
    int min_path = 110;          // shortest S-G path in cells (S and G included), e.g. 110
    double loop_fraction = 0.05; // chance that each inner wall between two lattice cells is opened, e.g. 0.05
    int max_attempts = 200;      // mazes tried before giving up with an Error, e.g. 200
};

// The longest shortest path a maze of this size can have under this generator (all lattice cells and the
// passages between them on one corridor): 2 * lattice_rows * lattice_cols - 1 cells.
int maze_gen_max_path(int rows, int cols);

// One maze with its BFS answer (Maze::answer), fully determined by (options, seed): maze i of a data set is
// generate_maze(o, base_seed + i). Throws Error on a bad size or loop_fraction, and when min_path cannot be
// reached: at once when it exceeds maze_gen_max_path, else after max_attempts mazes fell short.
Maze generate_maze(const MazeGenOptions& o, uint64_t seed);

}  // namespace trm
