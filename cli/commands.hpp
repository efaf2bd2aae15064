// Subcommand registry: each cli/<name>.cpp defines register_<name>(CLI::App&) which adds its subcommand with an
// options struct and a callback that calls one library function.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>

namespace trm::cli {

constexpr int kExitOk = 0;         // every puzzle solved and verified
constexpr int kExitError = 1;      // bad input, bad model file, I/O failure
constexpr int kExitUsage = 2;      // bad command line
constexpr int kExitUnverified = 3; // some answer did not verify

// Help footers name only the exit codes the command can return: 3 comes from `trm solve` alone (eval counts wrong
// answers in its accuracy; generate, train, debug ... check no answers).
constexpr const char* kExitCodesHelp =  // trm solve
    "Exit codes: 0 every puzzle solved and verified, 1 error (bad input or model file), 2 usage error,\n"
    "            3 some answer did not verify.";
constexpr const char* kExitCodesEvalHelp =
    "Exit codes: 0 evaluated (wrong answers count in the accuracy, not in the exit code), 1 error (bad input or\n"
    "            model file), 2 usage error.";
constexpr const char* kExitCodesAppHelp =  // bare `trm`, `trm --help`
    "Exit codes: 0 success, 1 error (bad input or model file), 2 usage error, 3 some answer did not verify\n"
    "            (trm solve).";

// Sets the function the selected subcommand runs after parsing; returns its exit code.
void set_action(CLI::App* sub, std::function<int()> action);
int run_selected(CLI::App& app);

void register_commands(CLI::App& app);

// The subcommand of `app` nearest to a mistyped `name` (edit distance <= 2, or a prefix), or "" when none is.
std::string closest_subcommand(const CLI::App& app, const std::string& name);

// --precision auto|bf16|fp32 and --isa on a subcommand that runs the model; applied as the command line is parsed
// (the default, auto, is set by main before parsing: bf16 where the CPU has bf16 products, else fp32).
void add_compute_options(CLI::App* sub);

}  // namespace trm::cli
