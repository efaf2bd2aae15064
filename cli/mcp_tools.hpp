// trm's MCP tools (served by cli/mcp.cpp over cli/mcp_protocol.hpp), one solve tool per puzzle kind of the registry
// (puzzles/domain.hpp: each kind gives its tool's arguments, output schema and reply) and `verify`:
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
#include "puzzles/domain.hpp"

namespace trm::mcp {

constexpr int kMaxStepsCap = 256;    // max_steps above this is refused (bounded time per call)
constexpr int kMaxMcpViews = 64;     // views cap (bounded time per call)
constexpr int kDefaultAdaptSteps = 100;  // as `trm solve --adapt-steps` (the ARC tool's caps: puzzles/arc_domain.cpp)

struct ToolsOptions {
    std::string model_dir;  // models are <model_dir>/<domain>.safetensors; "" = the default lookup (cli/models.hpp)
};

// The tools: one per kind, then verify. Models load on the first call that needs them and stay loaded, shared
// read-only, for as long as any returned tool lives; each call makes its own inference buffers, so calls may run
// on several threads at once (each inside a core/parallel ScopedSolo). A load that fails is retried on the next call. `log` gets one
// line per model load.
std::vector<Tool> make_trm_tools(const ToolsOptions& opt, LogFn log = {});

}  // namespace trm::mcp
