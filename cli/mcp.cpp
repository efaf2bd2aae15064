// `trm mcp`: a Model Context Protocol server on stdin/stdout, so that an LLM client (Claude Desktop, an agent
// framework, the MCP inspector) can delegate Sudoku, mazes and ARC tasks to trm and have answers checked.
// Protocol: cli/mcp_protocol.hpp. Tools: cli/mcp_tools.hpp. Client configuration (Claude Desktop style):
//   {"mcpServers": {"trm": {"command": "trm", "args": ["mcp", "--model-dir", "/path/to/models"]}}}
//
// stdout carries protocol messages only: the protocol writes to a private copy of the descriptor and fd 1 is
// pointed at stderr, so a stray print anywhere cannot corrupt the stream. Logs go to stderr. SIGPIPE is ignored:
// a client that goes away ends the server with exit code 0.
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fmt/core.h>
#include <unistd.h>

#include "cli/commands.hpp"
#include "cli/mcp_protocol.hpp"
#include "cli/mcp_tools.hpp"
#include "core/error.hpp"
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
                    "pass the directory that holds sudoku.safetensors, maze.safetensors and/or arc.safetensors");
    if (o.threads > 0) set_threads(o.threads);
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
    log(fmt::format("serving MCP on stdin/stdout (models: {})",
                    o.model_dir.empty() ? "default locations" : o.model_dir));
    const mcp::ServeEnd end = mcp::serve(server, STDIN_FILENO, proto_out);
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
                    "directory of <domain>.safetensors models (default: the models/ trm solve uses)");
    sub->add_option("--threads", o->threads, "CPU threads (default: all cores)")->check(CLI::Range(1, 4096));
    sub->add_flag("-q,--quiet", o->quiet, "no log lines on stderr");
    sub->footer(
        "Register with an MCP client, e.g. Claude Desktop's claude_desktop_config.json:\n"
        "  {\"mcpServers\": {\"trm\": {\"command\": \"trm\", \"args\": [\"mcp\", \"--model-dir\", \"/path/to/models\"]}}}\n"
        "Messages are newline-delimited JSON-RPC 2.0; models load on first use and stay loaded.");
    set_action(sub, [o] { return run_mcp(*o); });
}

}  // namespace trm::cli
