// `--html FILE`: a self-contained page (inline CSS and JS, no network) that replays solve traces step by step.
// The traces go in as one JSON document inside <script type="application/json">; the page draws each draft as
// coloured cells (Sudoku digits, maze walls/path, ARC in its palette) with a step slider, play button and the
// critique of every step.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "puzzles/domain.hpp"
#include "puzzles/solve.hpp"

namespace trm::cli {

struct HtmlPuzzle {
    std::string title;                                      // e.g. "puzzle 1 · sudoku.txt:2"
    SolveOutcome outcome;                                   // input, trace, answer, verdict (a copy of the common part)
    std::vector<std::pair<std::string, DraftGrid>> extra;   // more grids to show (ARC: attempt 2, expected)
};
constexpr size_t kHtmlMaxPuzzles = 200;  // --html keeps the first this many puzzles

// The page as a string. `puzzles` keep their order; `subtitle` names the model and options.
std::string trace_html(const Domain& d, const std::string& subtitle, const std::vector<HtmlPuzzle>& puzzles);
void write_trace_html(const std::string& path, const Domain& d, const std::string& subtitle,
                      const std::vector<HtmlPuzzle>& puzzles);

}  // namespace trm::cli
