// trm's MCP tools (served by cli/mcp.cpp over cli/mcp_protocol.hpp):
//
//   solve_sudoku {puzzle, max_steps?, halt?, trace?, views?}  one Sudoku with the Sudoku model
//   solve_maze   {maze, max_steps?, halt?, trace?, views?}    one maze with the maze model
//   solve_arc    {task, task_id?, num_aug?, adapt_steps?, seed?, ...}
//                                                            every test input of one ARC task with the ARC model
//
// halt defaults to auto, as `trm solve`: verified for Sudoku and mazes, model for ARC. Solves report progress per
// supervision step (and adaptation step) and stop there when cancelled (ToolContext).
//   verify       {domain, puzzle, answer}                    checks a proposed answer, no model involved
//
// A solve result says what the model answered, whether the domain checker accepts it (`verified`; see
// puzzles/solve.hpp), the supervision steps run, the halting confidence sigmoid(q_halt) and a per-step trace
// (draft -> critique -> refine), as text for the reader and as structuredContent matching the tool's outputSchema.
// Input that cannot be read and a missing model are tool errors (isError) whose text names the problem and what
// to do; arguments that break the inputSchema are refused by the protocol layer (-32602) before a tool runs.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "cli/mcp_protocol.hpp"
#include "puzzles/maze.hpp"
#include "puzzles/sudoku.hpp"

namespace trm::mcp {

constexpr int kMaxStepsCap = 256;    // max_steps above this is refused (bounded time per call)
constexpr int kArcBatch = 16;        // rows per forward batch of the ARC model
constexpr int kMaxArcAug = 64;       // num_aug cap
constexpr int kMaxMcpViews = 64;     // views cap (bounded time per call)
constexpr int kMaxAdaptSteps = 2000;     // adapt_steps cap; 100 took 60-100 s with the official ARC model on 2 cores
constexpr int kDefaultAdaptSteps = 100;  // as `trm solve --adapt-steps`

struct ToolsOptions {
    std::string model_dir;  // models are <model_dir>/<domain>.safetensors; "" = the default lookup (cli/models.hpp)
};

// The four tools. Models load on the first call that needs them and stay loaded, shared read-only, for as long
// as any returned tool lives; each call makes its own inference buffers, so calls may run on several threads at
// once (each inside a core/parallel ScopedSolo). A load that fails is retried on the next call. `log` gets one
// line per model load.
std::vector<Tool> make_trm_tools(const ToolsOptions& opt, LogFn log = {});

// ---- argument readers (exposed for tests) ---------------------------------------------------------------------
// The one Sudoku of `text` (81 cells on a line or a 9x9 grid; the formats of SudokuReader). Throws Error naming
// `name`, the line and the cell, or when the text holds no puzzle or several.
SudokuPuzzle parse_one_sudoku(std::string_view text, const std::string& name);
// A proposed Sudoku answer: 81 cells in reading order, digits 1-9 and '.', '0', '_', '*' for blanks; whitespace
// and the grid separators '|', '-', '+' are ignored. Unlike parse_one_sudoku, clashes are allowed (the verifier
// reports them). Throws Error on another character or a cell count other than 81.
SudokuGrid parse_sudoku_answer(std::string_view text, const std::string& name);
// A grid argument as text: a string (with newlines), or an array of row strings joined with '\n'. Throws Error
// when a row string holds a line break.
std::string text_arg(const json& arg, const std::string& name);
// The one maze of `text` (MazeReader's text format). Throws Error when it holds no maze or several.
Maze parse_one_maze(std::string_view text, const std::string& name);
// A proposed maze answer for `m`: rows of '#', ' ' or '.', 'S', 'G', 'o'. On a shape mismatch returns an empty
// vector and sets *problem ("answer has 10 rows, the maze 11"); the verifier judges everything else.
std::vector<char> parse_maze_answer(std::string_view text, const Maze& m, std::string* problem);

}  // namespace trm::mcp
