// Terminal rendering of puzzles and drafts: colour and Unicode boxes on a terminal, plain ASCII otherwise.
//
// Colour is decided once per run (make_style): --color always / never, or auto = the stream is a terminal,
// NO_COLOR is unset or empty (https://no-color.org) and TERM is not "dumb". Unicode box drawing goes with colour.
// Without colour, cells changed since the previous draft carry a marker instead:
//   Sudoku  `| 5*3 4 |`  '*' before a changed digit
//   maze    '*' a new path cell, '-' a cell that changed to open (e.g. left the path)
//   ARC     `3*` a changed colour
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "puzzles/domain.hpp"
#include "puzzles/solve.hpp"

namespace trm::cli {

enum class ColorMode { Auto, Always, Never };
bool color_mode_from_name(std::string_view s, ColorMode* out);  // "auto", "always", "never"

struct Style {
    bool color = false;    // ANSI SGR colours
    bool unicode = false;  // box drawing and block characters
    int palette = 16;      // colours the terminal shows: 16, 256 or 16777216 (COLORTERM=truecolor / 24bit)
};
Style make_style(ColorMode m, int fd);

// text wrapped in ESC[<sgr>m ... ESC[0m when colour is on, else text as is.
std::string paint(const Style& s, std::string_view sgr, std::string_view text);
// Terminal columns of s: UTF-8 code points, ANSI escape sequences excluded.
size_t visible_width(std::string_view s);
std::vector<std::string> split_lines(std::string_view text);  // without the '\n's; no empty last line
// left lines, padded to one width, then `gap` spaces and the right lines; as many lines as the longer side.
// width > 0: right lines are wrapped at spaces to fit `width` columns (continuations indented under their text);
// when fewer than kMinRightColumns would be left beside the grid, the right lines go below it instead.
std::vector<std::string> side_by_side(const std::vector<std::string>& left, const std::vector<std::string>& right,
                                      int gap = 3, int width = 0);
constexpr int kMinRightColumns = 36;
// Columns of the terminal on fd (TIOCGWINSZ), else $COLUMNS, else 0 (unlimited: a pipe or a file).
int terminal_columns(int fd);
// `line` cut at spaces into pieces of at most `width` visible columns. Pieces after the first start with `indent`
// spaces, or, when the line itself is indented, 2 more than it (under its text). A longer word stays whole.
std::vector<std::string> wrap_line(const std::string& line, int width, int indent);

// A draft as lines. `input` is the puzzle (Sudoku givens are drawn bold, the model's digits in colour; maze and
// ARC ignore it); `prev`, when not null, marks the cells changed since that draft. Sudoku cells that clash are
// drawn red.
// Drawn by the kind's grid style (Domain::grid_style): Sudoku boxes, maze blocks, or palette colours 0-9.
std::vector<std::string> render_draft(const Domain& d, const DraftGrid& g, const DraftGrid& input,
                                      const DraftGrid* prev, const Style& s);
// Legend line for the change markers and colours of render_draft.
std::string change_legend(const Domain& d, const Style& s);
// Grids side by side under their titles (ARC: input, attempts, expected), trailing spaces trimmed.
std::string render_named_grids(const Domain& d, const std::vector<NamedGrid>& grids, const Style& s);

// "✓" / "✗" (or "OK" / "NO" without Unicode), painted green / red.
std::string verdict_mark(bool ok, const Style& s);

}  // namespace trm::cli
