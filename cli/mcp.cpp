// `trm mcp`: a Model Context Protocol server on stdin/stdout, so that an LLM client (Claude Desktop, an agent
// framework, the MCP inspector) can delegate Sudoku, mazes and ARC tasks to trm and have answers checked.
// Protocol: cli/mcp_protocol.hpp. Tools: cli/mcp_tools.hpp. Client configuration (Claude Desktop style):
//   {"mcpServers": {"trm": {"command": "trm", "args": ["mcp", "--model-dir", "/path/to/models"]}}}
//
// stdout carries protocol messages only: the protocol writes to a private copy of the descriptor and fd 1 is
// pointed at stderr, so a stray print anywhere cannot corrupt the stream. Logs go to stderr, one line per tool
// call (id, tool, outcome, seconds). SIGPIPE is ignored: a client that goes away ends the server with exit code 0.
//
// Threads: one reader (answers ping, tools/list, verify at once) and --threads workers (default: one per core),
// each running one request at a time single-threaded inside a ScopedSolo, with OpenBLAS at one thread. Why not
// one request at a time over all cores (the pool behind parallel_team, serialised by a lock)? TRM's recursion
// never mixes puzzles, so requests are independent shards of work just as batch rows are: one per core keeps
// every core busy without a barrier per operation, a long ARC adaptation cannot stall a Sudoku behind it, and
// cancellation needs nothing from the pool. The cost is a lone request's latency (one core instead of all);
// measurements are in the commit that made this choice.
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <algorithm>
#include <fmt/core.h>
#include <thread>
#include <unistd.h>

#include "cli/commands.hpp"
#include "cli/mcp_protocol.hpp"
#include "cli/mcp_tools.hpp"
#include "core/error.hpp"
#include "core/ops.hpp"
#include "core/parallel.hpp"

namespace trm::cli {

namespace {

struct McpCliOptions {
    std::string model_dir;
    int threads = 0;
    bool quiet = false;
};

constexpr const char* kInstructions =
    "trm solves puzzles with Tiny Recursive Models on the CPU and checks every answer. solve_sudoku, solve_maze and "
    "solve_arc run a model; verify checks a proposed Sudoku or maze answer without one. An answer is a solution "
    "only when `verified` is true; halt_probability is the model's own confidence, not a proof.";

int run_mcp(const McpCliOptions& o) {
    std::error_code ec;
    if (!o.model_dir.empty() && !std::filesystem::is_directory(o.model_dir, ec))
        throw Error(fmt::format("{}: not a directory (--model-dir)", o.model_dir),
                    "pass the directory that holds sudoku.safetensors, maze.safetensors (and maze-small) and/or arc.safetensors");
    const int workers = o.threads > 0 ? o.threads : int(std::max(1u, std::thread::hardware_concurrency()));
    set_threads(1);  // workers run solo (ScopedSolo); OpenBLAS, called from every worker, must not start its own
    std::signal(SIGPIPE, SIG_IGN);
    const int proto_out = dup(STDOUT_FILENO);
    if (proto_out < 0) fail("cannot duplicate stdout: {}", std::strerror(errno));
    dup2(STDERR_FILENO, STDOUT_FILENO);

    auto log = [quiet = o.quiet](const std::string& line) {
        if (!quiet) fmt::print(stderr, "trm mcp: {}\n", line);
    };
    mcp::ToolsOptions topt;
    topt.model_dir = o.model_dir;
    mcp::Server server(mcp::ServerInfo{"trm", TRM_VERSION, "trm: Tiny Recursive Models", kInstructions},
                       mcp::make_trm_tools(topt, log), log);
    log(fmt::format("serving MCP on stdin/stdout (models: {}; {} worker{})",
                    o.model_dir.empty() ? "default locations" : o.model_dir, workers, workers == 1 ? "" : "s"));
    mcp::ServeOptions so;
    so.workers = workers;
    so.worker_scope = [](const std::function<void()>& loop) {
        ScopedSolo solo;  // the model code runs on this thread only: the shared pool is never entered
        loop();
    };
    const mcp::ServeEnd end = mcp::serve(server, STDIN_FILENO, proto_out, so);
    close(proto_out);
    switch (end) {
        case mcp::ServeEnd::InputClosed: log("end of input, exiting"); return kExitOk;
        case mcp::ServeEnd::OutputClosed: log("the client stopped reading, exiting"); return kExitOk;
        case mcp::ServeEnd::ReadError: fail("reading stdin failed: {}", std::strerror(errno));
    }
    return kExitOk;
}

}  // namespace

void register_mcp(CLI::App& app) {
    auto o = std::make_shared<McpCliOptions>();
    auto* sub = app.add_subcommand("mcp", "Serve the Model Context Protocol on stdin/stdout (tools: solve_sudoku, "
                                          "solve_maze, solve_arc, verify)");
    add_compute_options(sub);
    sub->add_option("--model-dir", o->model_dir,
                    "directory of <domain>.safetensors models, and maze-small.safetensors (default: the models/ trm solve uses)");
    sub->add_option("--threads", o->threads, "requests run at once, one thread each (default: one per core)")
        ->check(CLI::Range(1, 4096));
    sub->add_flag("-q,--quiet", o->quiet, "no log lines on stderr");
    sub->footer(
        "Register with an MCP client, e.g. Claude Desktop's claude_desktop_config.json:\n"
        "  {\"mcpServers\": {\"trm\": {\"command\": \"trm\", \"args\": [\"mcp\", \"--model-dir\", \"/path/to/models\"]}}}\n"
        "Messages are newline-delimited JSON-RPC 2.0; models load on first use and stay loaded.");
    set_action(sub, [o] { return run_mcp(*o); });
}

}  // namespace trm::cli
