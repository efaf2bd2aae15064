#include "cli/commands.hpp"

#include <map>

namespace trm::cli {

namespace {
std::map<const CLI::App*, std::function<int()>>& actions() {
    static std::map<const CLI::App*, std::function<int()>> a;
    return a;
}
}  // namespace

void set_action(CLI::App* sub, std::function<int()> action) { actions()[sub] = std::move(action); }

int run_selected(CLI::App& app) {
    // Walk down to the deepest parsed subcommand that has an action.
    CLI::App* cur = &app;
    std::function<int()>* found = nullptr;
    while (true) {
        auto it = actions().find(cur);
        if (it != actions().end()) found = &it->second;
        CLI::App* next = nullptr;
        for (auto* s : cur->get_subcommands()) if (s->parsed()) next = s;
        if (!next) break;
        cur = next;
    }
    if (!found) throw CLI::CallForHelp();
    return (*found)();
}

void register_info(CLI::App& app);
void register_debug(CLI::App& app);
void register_bench(CLI::App& app);
void register_train(CLI::App& app);
void register_solve(CLI::App& app);
void register_eval(CLI::App& app);
void register_generate(CLI::App& app);
void register_import(CLI::App& app);
void register_mcp(CLI::App& app);

void register_commands(CLI::App& app) {
    register_info(app);
    register_debug(app);
    register_bench(app);
    register_train(app);
    register_solve(app);
    register_eval(app);
    register_generate(app);
    register_import(app);
    register_mcp(app);
}

}  // namespace trm::cli
