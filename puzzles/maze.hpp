// Mazes: text and CSV formats, token encoding, BFS shortest path, path verification, dihedral augmentation.
//
// Cells and tokens follow the official TRM maze builder (dataset/build_maze_dataset.py, CHARSET "# SGo",
// token = 1 + index in the charset, 0 = pad):
//
//   char  token  meaning
//         0      <pad> (never produced by encode_maze; read back as '?')
//   '#'   1      wall
//   ' '   2      open cell ('.' is accepted on input)
//   'S'   3      start
//   'G'   4      goal
//   'o'   5      path cell, only in answers
//
// A sequence is the MODEL's grid, row-major: grid_rows x grid_cols tokens (30 x 30 = 900 for the official
// Maze-Hard models). A smaller maze sits in the top-left corner, padded with walls to the right and below;
// decoding crops back to the maze's own size. Rows and columns in messages count from 1 (r1c1 = top left).
//
// Path length is counted in CELLS, S and G included: S next to G has length 2. Maze-Hard's "longer than 110"
// and the generator's min_path use this count.
#pragma once
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace trm {

constexpr int32_t kMazePad = 0, kMazeWall = 1, kMazeOpen = 2, kMazeStart = 3, kMazeGoal = 4, kMazePath = 5;
constexpr int kMazeVocab = 6;
constexpr int kMazeHardSize = 30;                      // official Maze-Hard grid: 30 x 30
constexpr int kMazeMaxGrid = 64;                       // largest canvas a model trains or solves on
constexpr size_t kMazeMaxLineBytes = size_t(1) << 20;  // longer input lines are refused
constexpr size_t kMazeMaxCells = size_t(1) << 24;      // larger mazes are refused (bounded memory)

struct Maze {
    int rows = 0, cols = 0;
    std::vector<char> cells;   // rows * cols, row-major, each '#', ' ', 'S' or 'G'; exactly one S and one G
    std::string where;         // origin for messages: "file:line" of the first row, or "generated ..."
    std::vector<char> answer;  // empty, or rows * cols: cells with 'o' on the path between S and G
    char open = ' ';           // how the input drew open cells (' ' or '.'), so that answers come back alike
};

// Token id -> meaning: {"<pad>", "#", " ", "S", "G", "o"}.
std::vector<std::string> maze_token_map();

// The square model grid for a sequence length (900 -> 30 x 30). Throws Error unless seq_len is a square.
int maze_grid_side(int seq_len);

// Index of the single 'S' / 'G' in m.cells.
int maze_start(const Maze& m);
int maze_goal(const Maze& m);

// ---------------------------------------------------------------------------------------------------------
// Reading. Text format: one maze is a block of consecutive rows of "# .SGo" characters, all the same width;
// mazes are separated by empty lines. A line of only spaces is a row of open cells when it has the width of
// the maze it touches (next to its rows, or just above its first row), else a separator like a line of tabs.
// Lines starting with ';' or "//" are comments and also end a maze. A line of '#' is a maze row, never a
// comment. 'o' cells are accepted: the maze gets them as open cells and keeps the grid as its answer. Use '.'
// for open cells where an editor might strip trailing spaces. '\r' line ends and a UTF-8 BOM are accepted.
//
// CSV format (public Maze-Hard): header `source,question,answer,rating`, then one maze per line; question and
// answer are rows*cols characters row-major over "# SGo" for a square maze (900 = 30 x 30). The answer column
// is optional; when present it must keep every wall, S and G of the question and mark the path with 'o'.
//
// Errors name the file, line and (where it helps) column: `mazes.txt:7:12: unknown character 'x' ...`.
enum class MazeFormat { Auto, Text, Csv };  // Auto: CSV when the first line starts with "source,question"

class MazeReader {
public:
    // path "-" reads standard input. Throws Error if the file cannot be opened.
    explicit MazeReader(const std::string& path, MazeFormat format = MazeFormat::Auto);
    // Reads from `in` (which must outlive the reader); `name` is the file name used in messages.
    MazeReader(std::istream& in, std::string name, MazeFormat format = MazeFormat::Auto);
    ~MazeReader();
    MazeReader(const MazeReader&) = delete;
    MazeReader& operator=(const MazeReader&) = delete;

    // Reads the next maze into `out`; false at the end of the input. Holds one maze in memory at a time.
    bool next(Maze& out);

private:
    bool read_line();  // into line_; false at EOF
    void detect_format();
    bool next_text(Maze& out);
    bool next_csv(Maze& out);

    std::unique_ptr<std::istream> owned_;
    std::istream* in_ = nullptr;
    std::string name_;
    MazeFormat format_;
    std::string line_;
    long line_no_ = 0;
    bool pending_ = false;  // line_ holds a line read but not consumed yet
    bool eof_ = false;
    int csv_fields_ = 0, csv_question_ = -1, csv_answer_ = -1;
};

// Whole-input helpers (tests, small files).
std::vector<Maze> read_mazes(const std::string& path, MazeFormat format = MazeFormat::Auto);
std::vector<Maze> parse_mazes(std::string_view text, const std::string& name, MazeFormat format = MazeFormat::Auto);

// ---------------------------------------------------------------------------------------------------------
// Writing.
// The maze (or its answer when with_answer and present) as text rows, each ending in '\n'; open cells are
// written as `open` (' ' as in the official charset, or '.').
std::string maze_to_text(const Maze& m, bool with_answer = false, char open = ' ');
// "source,question,answer,rating\n"
std::string maze_csv_header();
// One CSV line (with '\n') for a maze with an answer: question, answer, rating = path length in cells.
// `source` is quoted when it holds a comma or quote.
std::string maze_to_csv_line(const Maze& m, std::string_view source);

// ---------------------------------------------------------------------------------------------------------
// Tokens.
// grid_rows * grid_cols tokens of the maze padded with walls. Throws Error `<where>: maze is 31x30, larger
// than the model's 30x30 grid` when it does not fit.
std::vector<int32_t> encode_maze(const Maze& m, int grid_rows, int grid_cols);
// Same for the answer (the training label); throws Error if the maze has none.
std::vector<int32_t> encode_maze_answer(const Maze& m, int grid_rows, int grid_cols);
// A model output (grid_rows * grid_cols tokens) as an answer grid cropped to m.rows x m.cols. Token ids
// outside 1..5 (pad, garbage) become '?', which the verifier reports.
std::vector<char> decode_maze(std::span<const int32_t> tokens, int grid_rows, int grid_cols, const Maze& m);

// ---------------------------------------------------------------------------------------------------------
// Solving and verification.
// Cell indices (r * cols + c) of one shortest 4-connected path of open cells from S to G, S and G included;
// empty when G cannot be reached ("unsolvable"). Ties are broken deterministically.
std::vector<int> maze_shortest_path(const Maze& m);
// The maze with 'o' on the cells of maze_shortest_path between S and G; empty when unsolvable.
std::vector<char> maze_solve(const Maze& m);

enum class MazeVerdict { Optimal, Longer, Broken };
const char* maze_verdict_name(MazeVerdict v);  // "optimal", "valid but longer", "broken"

struct MazeCheck {
    MazeVerdict verdict = MazeVerdict::Broken;
    int path_cells = 0;      // cells on the predicted path, S and G included (0 when broken)
    int shortest_cells = 0;  // BFS shortest path length (0 when unsolvable)
    std::string detail;      // where it breaks, e.g. "path cell r3c7 is on a wall"
};

// Checks a predicted answer grid (m.rows * m.cols chars). It must keep every wall, open cell, S and G of the
// maze except open cells marked 'o', and {S, G, 'o' cells} must form one simple 4-connected path: S and G
// with one path neighbour each, every 'o' with exactly two. Then optimal when its length equals the BFS
// shortest path, else valid but longer. Broken details:
//   "answer has N cells, expected M"        "walls or S/G changed at r2c5"
//   "path cell r3c7 is on a wall"           "cell r4c4 holds unknown token '?'"
//   "no path cell next to S" (or G)         "path breaks at S r1c2: 2 neighbours" (or G)
//   "path breaks at r5c2: 3 neighbours"     "path cell r6c6 is not on the path from S to G"
MazeCheck verify_maze(const Maze& m, std::span<const char> answer);
// "optimal: 12 cells", "valid but longer: 14 cells, shortest 12", "broken: path breaks at r5c2: 3 neighbours"
std::string describe(const MazeCheck& c);

// ---------------------------------------------------------------------------------------------------------
// Augmentation: the maze (and its answer) under official dihedral transform tid (puzzles/grid_transform.hpp).
Maze transform_maze(const Maze& m, int tid);

// Views a solve tries for a maze whose answer does not verify (SolveOptions::views): dihedral transform ids, 0
// (the maze as given) first, then the other 7 in an order drawn from content_rng(maze text); min(n, 8) of them.
// Every dihedral transform keeps walls, S, G and path lengths, so an optimal path of a view maps back to an
// optimal path of the maze.
constexpr int kMazeMaxViews = 8;
std::vector<int> maze_views(const Maze& m, int n);
// "as given", "rotate left" (numpy's rot90, counter-clockwise), "rotate 180", "rotate right", "mirror left-right",
// "mirror up-down", "transpose", "anti-transpose": tids 0..7 of puzzles/grid_transform.hpp.
const char* dihedral_name(int tid);

// A maze drawn with a closed frame (every border cell a wall, at least 3x3) says nothing in its frame; models are
// trained on frameless mazes (as generated), so solving strips the frame and puts it back around the answer.
bool maze_has_frame(const Maze& m);
Maze maze_without_frame(const Maze& m);                                    // requires maze_has_frame(m)
std::vector<char> cells_with_frame(std::span<const char> inner, const Maze& framed);  // inner: (rows-2) x (cols-2)

// ---- one maze, one answer (MCP arguments) -------------------------------------------------------------------
// The one maze of `text` (MazeReader's text format). Throws Error when it holds no maze or several.
Maze parse_one_maze(std::string_view text, const std::string& name);
// A proposed maze answer for `m`: rows of '#', ' ' or '.', 'S', 'G', 'o'. On a shape mismatch returns an empty
// vector and sets *problem ("answer has 10 rows, the maze 11"); the verifier judges everything else.
std::vector<char> parse_maze_answer(std::string_view text, const Maze& m, std::string* problem);

}  // namespace trm
