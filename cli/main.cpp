// trm: solve Sudoku, mazes and ARC-AGI grids with Tiny Recursive Models.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "cli/commands.hpp"
#include "core/cpu.hpp"
#include "core/error.hpp"

int main(int argc, char** argv) {
    trm::set_precision(trm::parse_precision("auto"));  // --precision / --isa override it while parsing
    CLI::App app{"trm: Tiny Recursive Models on the CPU (Sudoku, mazes, ARC-AGI)", "trm"};
    app.set_version_flag("--version", std::string(TRM_VERSION) + "\n" + trm::compute_summary());
    app.require_subcommand(1);
    app.footer(trm::cli::kExitCodesHelp);
    trm::cli::register_commands(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int rc = app.exit(e);
        return rc == 0 ? 0 : trm::cli::kExitUsage;
    }
    try {
        return trm::cli::run_selected(app);
    } catch (const trm::Error& e) {
        fmt::print(stderr, "error: {}\n", e.what());
        if (!e.hint.empty()) fmt::print(stderr, "hint: {}\n", e.hint);
        return trm::cli::kExitError;
    } catch (const std::bad_alloc&) {
        fmt::print(stderr, "error: out of memory\n");
        return trm::cli::kExitError;
    } catch (const std::exception& e) {
        fmt::print(stderr, "error: {}\n", e.what());
        return trm::cli::kExitError;
    }
}
