// trm: solve Sudoku, mazes and ARC-AGI grids with Tiny Recursive Models.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <fmt/core.h>

#include "cli/commands.hpp"
#include "core/cpu.hpp"
#include "core/error.hpp"

int main(int argc, char** argv) {
    trm::set_precision(trm::parse_precision("auto"));  // --precision / --isa override it while parsing
    CLI::App app{"trm: Tiny Recursive Models on the CPU (Sudoku, mazes, ARC-AGI)", "trm"};
    app.set_version_flag("--version", std::string(TRM_VERSION) + "\n" + trm::compute_summary());
    app.require_subcommand(1);
    trm::cli::register_commands(app);
    app.footer(trm::cli::kExitCodesAppHelp);  // after registering: CLI11 copies a parent's footer into new subcommands
    if (argc < 2) {  // bare `trm`: what it can do, as a usage error
        fmt::print(stderr, "{}", app.help());
        return trm::cli::kExitUsage;
    }
    const auto subs = app.get_subcommands({});
    if (argv[1][0] != '-' && std::none_of(subs.begin(), subs.end(), [&](const CLI::App* s) { return s->check_name(argv[1]); })) {
        const std::string near = trm::cli::closest_subcommand(app, argv[1]);
        fmt::print(stderr, "error: unknown command '{}'{}\nRun `trm --help` for the list of commands.\n", argv[1],
                   near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near));
        return trm::cli::kExitUsage;
    }
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
