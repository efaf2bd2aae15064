#include "cli/commands.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "core/cpu.hpp"

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

static size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); j++) prev[j] = j;
    for (size_t i = 1; i <= a.size(); i++) {
        cur[0] = i;
        for (size_t j = 1; j <= b.size(); j++)
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

std::string closest_subcommand(const CLI::App& app, const std::string& name) {
    std::string best;
    size_t best_d = 3;
    for (const CLI::App* s : app.get_subcommands({})) {
        const std::string& n = s->get_name();
        const size_t d = n.rfind(name, 0) == 0 && !name.empty() ? 0 : edit_distance(name, n);
        if (d < best_d) best_d = d, best = n;
    }
    return best;
}

void add_compute_options(CLI::App* sub) {
    // --isa before --precision: CLI11 runs the callbacks in this order, so "auto" sees the limit
    sub->add_option_function<std::string>(
           "--isa", [](const std::string& v) {
               const Isa want = parse_isa(v);
               if (want > cpu_isa()) throw CLI::ValidationError("--isa", fmt::format("this CPU's best is {}", isa_name(cpu_isa())));
               set_isa_limit(want);
           },
           "cap the kernels (portable, avx2, avx512, avx512bf16; default: the best this CPU has, or $TRM_ISA)")
        ->check(CLI::IsMember({"portable", "avx2", "avx512", "avx512bf16"}, CLI::ignore_case));
    sub->add_option_function<std::string>(
           "--precision", [](const std::string& v) {
               const Precision p = parse_precision(v);
               if (p == Precision::Bf16 && active_isa() < Isa::Avx512Bf16)
                   throw CLI::ValidationError("--precision", fmt::format("bf16 needs AVX512_BF16 (kernels: {})", isa_name(active_isa())));
               set_precision(p);
           },
           "matrix products in bf16 (fp32 accumulation) or fp32; auto = bf16 where its products measure faster here")
        ->check(CLI::IsMember({"auto", "bf16", "fp32"}, CLI::ignore_case));
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
