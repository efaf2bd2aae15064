// Presentation shared by `trm solve` and `trm mcp`: short check summaries, grid JSON, and the parts of a solve
// result's JSON and text that every kind has (run, views, trace). No terminal codes (cli/render.hpp draws).
#pragma once
#include <string>
#include <vector>

#include "puzzles/domain.hpp"

namespace trm {

// A check summary ("row 1: two 3s; row 2: ...") cut at a "; " boundary to about `max` characters, ending in
// "; ... (N more)" when parts were left out.
std::string short_check(const std::string& s, size_t max = 96);
std::string percent(double p);     // 0.981 -> "98.1%"
std::string steps_text(int n);     // "1 step", "3 steps"
std::string plural(int n, const char* one, const char* many);  // "1 cell", "2 cells" (the number included)

// A grid as JSON rows: strings of the cells' characters (chars), or arrays of the cells' numbers.
enum class CellJson { Chars, Numbers };
Json grid_rows_json(const DraftGrid& g, CellJson cells);

// A grid argument of an MCP call as text: a string (with newlines), or an array of row strings joined with '\n'.
// Throws Error when a row string holds a line break.
std::string text_arg(const Json& arg, const std::string& name);

// ---- solve results (MCP structuredContent and text) ---------------------------------------------------------
// What ended the run: "model" (the halting head), "verified" (a verified draft) or "max_steps".
const char* stopped_by(const SolveOutcome& r, HaltMode halt);
// Fills the fields every solve result has (steps, stopped_by, halt_probability, trace, views, diagnosis) and
// returns the headline's run part: "3 supervision steps (stopped at the first verified draft; halt confidence 97.0%)".
std::string run_fields(Json& out, const SolveOutcome& r, const Domain& d, const ReplyOptions& o);
// "Trace, one line per supervision step ...:" and one line per step, with the critique where a view ended.
std::string trace_text(const SolveOutcome& r);
constexpr const char* kNotSolvedNote = "The answer fails the check: do not present it as a solution.";

// ---- schema parts (JSON Schema of tool outputs) ---------------------------------------------------------------
Json int_schema(int lo, int hi, const char* description);
Json string_rows_schema();  // a string with newlines, or an array of row strings
void add_run_outputs(Json& props, Json& required);   // what run_fields writes
void add_view_outputs(Json& props, Json& required);  // the views of a kind with views

}  // namespace trm
