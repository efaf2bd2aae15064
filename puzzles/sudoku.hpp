// Sudoku: text formats, token encoding, verification and augmentation (the solver is in sudoku_solver.hpp).
//
// A grid is 81 cells in row-major order, 0 for blank and 1..9 for digits:
//
//        c1 c2 c3   c4 c5 c6   c7 c8 c9
//   r1 [  0  1  2 |  3  4  5 |  6  7  8 ]     cell index = 9*(r-1) + (c-1)
//   r2 [  9 10 11 | 12 13 14 | 15 16 17 ]     box b (1..9) covers rows 3*((b-1)/3)+1.. and
//   r3 [ 18 19 20 | 21 22 23 | 24 25 26 ]     columns 3*((b-1)%3)+1.., numbered row-major
//      ----------+-----------+---------
//   ...                                80
//
// Tokens are those of the official TRM builder (dataset/build_sudoku_dataset.py: digits + 1):
//   0 <pad>, 1 blank, 2..10 the digits 1..9.  Inputs and labels both use this map; seq_len 81, vocab 11.
#pragma once
#include <array>
#include <cstdint>
#include <istream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace trm {

struct Rng;

constexpr int kSudokuCells = 81;
constexpr int kSudokuVocab = 11;
constexpr int32_t kSudokuPadToken = 0;
constexpr int32_t kSudokuBlankToken = 1;
constexpr size_t kSudokuMaxLineBytes = size_t(1) << 20;  // longer input lines are rejected
constexpr const char* kSudokuCsvHeader = "source,question,answer,rating";

using SudokuGrid = std::array<uint8_t, kSudokuCells>;  // row-major, 0 blank, 1..9

struct SudokuPuzzle {
    SudokuGrid cells{};                  // the givens, 0 for blank
    std::optional<SudokuGrid> solution;  // a complete grid when known (CSV answer column, generator)
    std::string where;                   // "file:line" of the puzzle's first line, for messages
    int line = 0;                        // that line (1-based); 0 when the puzzle came from no file
    std::string source;                  // CSV `source` column, "" when none
    int rating = -1;                     // CSV `rating` column, -1 when none
    enum class Form { Line, Grid, Csv } form = Form::Line;  // how the input wrote it (answers come back alike)
};

// {"<pad>", ".", "1", ..., "9"}: the text of each token id.
std::vector<std::string> sudoku_token_map();

// ---- reading -----------------------------------------------------------------------------------------------
// Formats, detected per file (CSV) and per line (the rest):
//   - 81 cells on one line: digits 1-9, and '.', '0', '_' or '*' for blanks; '|', '-', '+', spaces and tabs
//     between cells are ignored ("53..7....6..195..." or "530 070 000 ...").
//   - 9x9 grids: nine lines of 9 cells each, with or without separators ("5 3 . | . 7 . | . . ."); separator-only
//     lines ("------+-------+------") are skipped; a blank line ends a grid early (an error).
//   - CSV with a header line naming the columns, as the public Sudoku-Extreme data
//     (`source,question,answer,rating`): `question` is required, `answer` becomes the solution (checked against
//     the givens and the rules), `source` and `rating` are kept. Fields may be quoted (RFC 4180).
//   '#' starts a comment to the end of the line; blank lines separate puzzles. Givens that clash are an error.
// Every error is one line naming file, line and the cell/column:
//   `p.txt:3: expected 81 cells, found 80`, `p.txt:2: cell r4c5: '7' clashes with r4c9 in row 4`.
class SudokuReader {
public:
    // `name` is the file name used in messages and in SudokuPuzzle::where. `in` must outlive the reader.
    SudokuReader(std::istream& in, std::string name);
    // Parses the next puzzle into `out`; false at the end of input. Throws Error on bad input. Memory is
    // bounded by one line (kSudokuMaxLineBytes), whatever the input size.
    bool next(SudokuPuzzle& out);

private:
    bool next_puzzle(SudokuPuzzle& out);
    bool read_line();
    void parse_csv_header(std::string_view text);
    void parse_csv_row(std::string_view text, SudokuPuzzle& out);
    [[noreturn]] void fail_here(const std::string& what) const;

    std::istream& in_;
    std::string name_;
    std::string line_;
    long line_no_ = 0;
    bool eof_ = false;
    enum class Mode { Unknown, Text, Csv } mode_ = Mode::Unknown;
    int csv_fields_ = 0, csv_source_ = -1, csv_question_ = -1, csv_answer_ = -1, csv_rating_ = -1;
    // a 9x9 grid being read: rows so far, their cells and line numbers
    int grid_rows_ = 0;
    SudokuGrid grid_{};
    std::array<int, 9> grid_lines_{};
};

// All puzzles of `text`; `name` is used in messages. Throws Error on bad input or when there is no puzzle.
std::vector<SudokuPuzzle> parse_sudoku_text(std::string_view text, const std::string& name);
// All puzzles of the file at `path` (streamed); throws Error when it cannot be read, holds more than
// max_puzzles puzzles, or holds none.
std::vector<SudokuPuzzle> read_sudoku_file(const std::string& path, size_t max_puzzles = size_t(1) << 24);

// The first pair of equal givens that share a unit, as "cell r4c5: '7' clashes with r4c9 in row 4" (cells in
// row-major order, units checked row, column, box); "" when there is none. *cell receives the first cell.
std::string sudoku_given_clash(const SudokuGrid& cells, int* cell = nullptr);

// ---- writing ------------------------------------------------------------------------------------------------
std::string sudoku_to_line(const SudokuGrid& g);       // 81 characters, '.' for blank, no newline
std::string sudoku_to_grid_text(const SudokuGrid& g);  // 11 lines, "5 3 . | . 7 . | . . .", "------+-------+------"
// "source,question,answer,rating" (no newline): source "" becomes "trm", rating -1 becomes 0. Throws Error
// when the puzzle has no solution or the source holds ',' or a newline.
std::string sudoku_to_csv_line(const SudokuPuzzle& p);

// ---- tokens -------------------------------------------------------------------------------------------------
std::vector<int32_t> sudoku_encode(const SudokuGrid& g);  // [81] tokens: blank -> 1, digit d -> d + 1
std::vector<int32_t> sudoku_encode_inputs(const SudokuPuzzle& p);  // = sudoku_encode(p.cells)
std::vector<int32_t> sudoku_encode_labels(const SudokuPuzzle& p);  // = sudoku_encode(*p.solution); throws if none
// tokens [81] (e.g. the argmax of model logits, 0..10) -> cells: token t in 2..10 -> t - 1, anything else
// (pad, blank, out of range) -> 0 so that the verifier counts the cell as blank. Throws Error unless size 81.
SudokuGrid sudoku_decode(std::span<const int32_t> tokens);

// ---- verification -------------------------------------------------------------------------------------------
struct SudokuClash {
    std::string unit;         // "row 4", "column 9", "box 5"
    int digit = 0;            // 1..9
    std::vector<int> cells;   // the cells (0..80) of the unit holding that digit, two or more
    std::string text() const; // "row 4: two 7s"
};

struct SudokuVerdict {
    bool solved = false;               // no blank, every given kept, no clash
    int blank_cells = 0;               // answer cells that are 0
    int changed_givens = 0;            // givens the answer holds a different digit in (blank ones count as blank)
    int clash_cells = 0;               // distinct cells that take part in a clash
    int wrong_cells = -1;              // filled cells differing from the known solution; -1 when none is known
    std::vector<SudokuClash> clashes;  // rows 1..9, then columns, then boxes
    std::string summary() const;       // "solved" or e.g. "row 4: two 7s; box 5: two 7s; 3 blank cells"
};

// Checks `answer` against the givens of `puzzle` and the rules (and counts wrong_cells against
// puzzle.solution when it is known). A valid complete answer that keeps the givens is `solved` even when it
// differs from puzzle.solution (possible only for puzzles with several solutions).
SudokuVerdict verify_sudoku(const SudokuPuzzle& puzzle, const SudokuGrid& answer);
SudokuVerdict verify_sudoku(const SudokuGrid& givens, const SudokuGrid& answer);

// ---- augmentation -------------------------------------------------------------------------------------------
// A validity-preserving relabelling as in the official build_sudoku_dataset.py `shuffle_sudoku`:
//   digit_map  permutation of 1..9 (0, blank, stays 0)
//   transpose  with probability 1/2
//   rows       bands permuted, then the rows within each band: row_perm = concat(3*b + perm3() for b in perm3())
//   columns    the same with stacks: col_perm
//   out[i][j]  = digit_map[X[row_perm[i]][col_perm[j]]] where X = transpose ? in^T : in
// Random draws come in the official order (digit map, transpose, bands, 3 row perms, stacks, 3 col perms)
// from trm::Rng, so the distribution is the official one though the streams differ from numpy's.
struct SudokuTransform {
    std::array<uint8_t, 10> digit_map{};  // digit_map[0] = 0
    bool transpose = false;
    std::array<uint8_t, 9> row_perm{}, col_perm{};
    std::array<uint8_t, 81> source{};     // out cell i takes in cell source[i] (derived from the above)
};

SudokuTransform random_sudoku_transform(Rng& rng);
SudokuTransform identity_sudoku_transform();
// The transform that undoes t: apply(invert(t), apply(t, g)) == g. Its row/col perms and flag describe it in
// the same form (an inverse of such a map is again one).
SudokuTransform invert_sudoku_transform(const SudokuTransform& t);
SudokuGrid apply_sudoku_transform(const SudokuTransform& t, const SudokuGrid& g);
// Draws one transform and applies it to the givens and (when present) the solution alike.
void shuffle_sudoku(SudokuPuzzle& p, Rng& rng);

// ---- views --------------------------------------------------------------------------------------------------
// The views a solve tries for a puzzle whose answer does not verify (SolveOptions::views): view 1 is the puzzle
// as given (identity), views 2..n are random_sudoku_transform draws from content_rng(sudoku_to_line(givens)),
// so the same givens always get the same views. A view that is the identity again is drawn anew.
std::vector<SudokuTransform> sudoku_views(const SudokuGrid& givens, int n);
// One line for traces, e.g. "transpose, rows 213 456 978, cols 123 645 789, digits 4<->7 1->2->9->1";
// "as given" for the identity. Rows/cols list, per output position, the source row/column (1-based, grouped by
// band/stack, printed only when permuted); digits print the cycles of the relabelling.
std::string describe_sudoku_transform(const SudokuTransform& t);

// ---- one puzzle, one answer (MCP arguments) ---------------------------------------------------------------
// The one Sudoku of `text` (81 cells on a line or a 9x9 grid; the formats of SudokuReader). Throws Error naming
// `name`, the line and the cell, or when the text holds no puzzle or several.
SudokuPuzzle parse_one_sudoku(std::string_view text, const std::string& name);
// A proposed Sudoku answer: 81 cells in reading order, digits 1-9 and '.', '0', '_', '*' for blanks; whitespace
// and the grid separators '|', '-', '+' are ignored. Unlike parse_one_sudoku, clashes are allowed (the verifier
// reports them). Throws Error on another character or a cell count other than 81.
SudokuGrid parse_sudoku_answer(std::string_view text, const std::string& name);

}  // namespace trm
