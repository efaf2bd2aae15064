#include "cli/mcp_tools.hpp"

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "cli/models.hpp"
#include "core/error.hpp"
#include "core/forward.hpp"
#include "core/model_io.hpp"
#include "core/safetensors.hpp"
#include "puzzles/present.hpp"

namespace trm::mcp {

namespace fs = std::filesystem;

namespace {

// ---- schemas --------------------------------------------------------------------------------------------------

// Options shared by the solve tools.
void add_solve_options(json& props) {
    props["max_steps"] = int_schema(1, kMaxStepsCap, "Supervision steps at most (default: the model's halt_max_steps, "
                                                     "at least 16 when halt is 'verified').");
    props["halt"] = json{{"type", "string"},
                         {"enum", {"auto", "model", "never", "verified"}},
                         {"default", "auto"},
                         {"description", "When to stop: 'auto' (as `trm solve`: 'verified' for Sudoku and mazes, "
                                         "'model' for ARC); 'model' at the first step whose halting head says halt; "
                                         "'never' after max_steps; 'verified' at the first draft the checker accepts."}};
    props["trace"] = json{{"type", "string"},
                          {"enum", {"summary", "drafts", "off"}},
                          {"default", "summary"},
                          {"description", "Per-step trace: 'summary' (halt confidence, cells changed, check), "
                                          "'drafts' (also each step's answer), 'off'."}};
}

// Sudoku and maze tools: the view budget (puzzles/solve.hpp "Views"); ARC votes over num_aug copies instead.
void add_views_option(json& props) {
    props["views"] = int_schema(1, kMaxMcpViews,
                                "When the answer does not verify, solve again through up to views-1 "
                                "symmetry-equivalent copies (Sudoku: digits relabelled, transposed, rows/columns "
                                "shuffled within bands/stacks; mazes: rotations and mirrors, 8 at most), each answer "
                                "mapped back, until one verifies (default 16; 1 = the puzzle as given only).");
}

// The input schema of a kind's solve tool: its own arguments, then the options every solve tool has.
json solve_input_schema(const Domain& d, const ToolSpec& spec) {
    json props = spec.input_properties;
    add_solve_options(props);
    if (d.has_views()) add_views_option(props);
    return json{{"type", "object"}, {"properties", props}, {"required", spec.input_required},
                {"additionalProperties", false}};
}

void add_model_outputs(json& props, json& required) {
    props["model"] = json{{"type", "string"}, {"description", "Model file used."}};
    props["max_steps"] = json{{"type", "integer"}};
    props["halt"] = json{{"type", "string"}, {"enum", {"model", "never", "verified"}}};
    props["seconds"] = json{{"type", "number"}};
    for (const char* k : {"model", "max_steps", "halt", "seconds"}) required.push_back(k);
}

json solve_output_schema(const ToolSpec& spec) {
    json s = spec.output_schema;
    add_model_outputs(s["properties"], s["required"]);
    return s;
}

std::vector<const Domain*> verifiable_kinds() {
    std::vector<const Domain*> v;
    for (const Domain* d : domains())
        if (!d->answer_help().empty()) v.push_back(d);
    return v;
}

json verify_input_schema() {
    json names = json::array();
    std::string tools, help;
    for (const Domain* d : verifiable_kinds()) {
        names.push_back(d->name());
        if (!tools.empty()) tools += " / ";
        tools += d->mcp_tool().name;
        help += ' ';
        help += d->answer_help();
    }
    json puzzle = string_rows_schema();
    puzzle["description"] = "The puzzle, as for " + tools + ".";
    json answer = string_rows_schema();
    answer["description"] = "The proposed answer." + help;
    return json{{"type", "object"},
                {"properties",
                 {{"domain", {{"type", "string"}, {"enum", names}, {"description", "Puzzle kind."}}},
                  {"puzzle", puzzle},
                  {"answer", answer}}},
                {"required", {"domain", "puzzle", "answer"}},
                {"additionalProperties", false}};
}

json verify_output_schema() {
    json names = json::array();
    json props{{"domain", {{"type", "string"}}}, {"verified", {{"type", "boolean"}}}, {"check", {{"type", "string"}}}};
    for (const Domain* d : verifiable_kinds()) {
        names.push_back(d->name());
        const json fields = d->answer_fields_schema();  // named: items() of a temporary would dangle in the loop
        for (auto& [k, v] : fields.items()) props[k] = v;
    }
    props["domain"]["enum"] = names;
    return json{{"type", "object"}, {"properties", props}, {"required", {"domain", "verified", "check"}}};
}

// ---- models ---------------------------------------------------------------------------------------------------

// Models shared read-only by every request (one per file: a kind with several shipped models, mazes, loads each
// when a call first needs it); each request runs one through its own Forward (the inference buffers and packed
// weights), made on its worker thread and freed with the request.
struct LoadedModel {
    std::string path;
    std::unique_ptr<const Model> model;
};

// Loads each model on first use and keeps it. Thread-safe: requests on several workers may ask at once.
class ModelCache {
public:
    ModelCache(std::string dir, LogFn log) : dir_(std::move(dir)), log_(std::move(log)) {}

    // The kind's model for these items (cli::resolve_model_path's pick among the kind's shipped models).
    const LoadedModel& get(const Domain& d, std::span<const Item> items) {
        const std::string path = model_path(d, items);
        std::lock_guard<std::mutex> l(mu_);  // a first load holds it: the other requests wait for the same file
        auto it = loaded_.find(path);
        if (it != loaded_.end()) return it->second;
        LoadedModel lm;
        lm.path = path;
        lm.model = std::make_unique<const Model>(cli::load_domain_model(path, d));
        if (log_) log_(fmt::format("loaded the {} model {} ({:.1f} MiB of weights)", d.name(), path,
                                   double(lm.model->arena.size()) * 4 / (1 << 20)));
        return loaded_.emplace(path, std::move(lm)).first->second;  // std::map: the reference outlives later inserts
    }

    // The config of the kind's widest model (the last of its shipped models found: what the tool accepts at
    // most), read from the safetensors header; empty when there is no model or it cannot be read. For tool
    // descriptions: no weights are loaded.
    std::optional<Config> config(const Domain& d) {
        try {
            const std::vector<std::string> found = found_models(d);
            if (found.empty()) return std::nullopt;
            return cli::read_model_config(found.back(), d);
        } catch (...) {
            return std::nullopt;
        }
    }

private:
    // the kind's shipped models that exist, in Domain::default_models order (in dir_ when given)
    std::vector<std::string> found_models(const Domain& d) const {
        if (dir_.empty()) return cli::found_default_models(d);
        std::vector<std::string> found;
        std::error_code ec;
        for (const std::string& name : d.default_models())
            if (auto p = (fs::path(dir_) / (name + ".safetensors")).string(); fs::is_regular_file(p, ec))
                found.push_back(p);
        return found;
    }

    std::string model_path(const Domain& d, std::span<const Item> items) const {
        if (dir_.empty()) return cli::resolve_model_path("", d, items);
        const std::vector<std::string> found = found_models(d);
        if (!found.empty()) return cli::first_model_taking(found, d, items);
        const char* n = d.name();
        const std::string p = (fs::path(dir_) / (std::string(n) + ".safetensors")).string();
        throw Error(fmt::format("no {} model in {} (looked for {})", n, dir_, p),
                    fmt::format("train one with `trm train {} -o {}`, or restart `trm mcp --model-dir DIR` with "
                                "a directory that holds {}.safetensors",
                                n, p, n));
    }

    std::string dir_;
    LogFn log_;
    std::mutex mu_;
    std::map<std::string, LoadedModel> loaded_;  // by path
};

// ---- calls ----------------------------------------------------------------------------------------------------

struct RunArgs {
    SolveOptions so;
    TraceDetail trace = TraceDetail::Summary;
};

RunArgs run_args(const json& a, const Domain& d) {
    RunArgs r;
    r.so.max_steps = a.value("max_steps", 0);
    std::string halt = a.value("halt", std::string("auto"));
    // auto, as `trm solve --halt auto` (cli/solve.cpp): where the checker judges by the rules (Sudoku, mazes) stop
    // at the first draft it accepts, else when the halting head says so (ARC)
    if (halt == "auto") halt = d.checks_rules() ? "verified" : "model";
    halt_mode_from_name(halt, &r.so.halt);
    r.so.trace = TraceMode::Steps;  // always recorded: stopped_by and the text need it
    r.so.batch = d.mcp_batch();
    r.so.views = a.value("views", kDefaultViews);
    r.so.num_aug = a.value("num_aug", 8);
    r.so.seed = a.value("seed", uint64_t(0));
    r.so.adapt_steps = a.value("adapt_steps", kDefaultAdaptSteps);
    const std::string t = a.value("trace", std::string("summary"));
    r.trace = t == "off" ? TraceDetail::Off : t == "drafts" ? TraceDetail::Drafts : TraceDetail::Summary;
    return r;
}

int effective_max_steps(const SolveOptions& so, const Model& m) {
    return max_steps_for(so.max_steps, so.halt, m.cfg());
}

// One solve tool call: the kind's puzzle from the arguments, solved with its model, answered by its reply. Every
// supervision step (and adaptation step) is reported as progress, and a cancelled request stops there.
ToolResult solve_tool(ModelCache& models, const Domain& d, const json& a, ToolContext& ctx) {
    std::vector<Item> items;
    items.push_back(d.parse_arguments(a));
    const LoadedModel& lm = models.get(d, items);
    RunArgs ra = run_args(a, d);
    const int steps = effective_max_steps(ra.so, *lm.model);
    const int rows = d.model_rows(items[0], ra.so), batch = ra.so.batch;
    const int solve_total = (rows + batch - 1) / batch * steps;
    int adapt_total = 0;  // adaptation steps planned, known once adaptation starts
    ra.so.on_adapt_step = [&](int done, int total) {
        adapt_total = total;
        ctx.progress(done, total + solve_total, fmt::format("test-time adaptation: step {} of {}", done, total));
    };
    ra.so.on_step = [&ctx, &adapt_total, solve_total, what = "solving", base = 0, last = 0,
                     n = 1](int step, int max_steps) mutable {
        if (step <= last) base += last, n++;  // a new batch started
        last = step;
        ctx.progress(adapt_total + base + step, adapt_total + solve_total,
                     n == 1 ? fmt::format("{}: supervision step {} of at most {}", what, step, max_steps)
                            : fmt::format("{}: batch {}, supervision step {} of at most {}", what, n, step,
                                          max_steps));
    };
    const auto t0 = std::chrono::steady_clock::now();
    Forward fwd(*lm.model, d.forward_rows(items, ra.so));
    std::vector<std::unique_ptr<SolveOutcome>> results;
    d.solve(fwd, std::move(items), 0, ra.so, [&](std::unique_ptr<SolveOutcome> r) { results.push_back(std::move(r)); });
    ToolReply reply = d.mcp_reply(results, ReplyOptions{ra.so.halt, ra.trace});
    reply.structured["model"] = lm.path;
    reply.structured["max_steps"] = steps;
    reply.structured["halt"] = halt_mode_name(ra.so.halt);
    reply.structured["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return ToolResult{std::move(reply.text), std::move(reply.structured), false};
}

ToolResult verify_tool(const json& a, ToolContext&) {
    const std::string domain = a["domain"].get<std::string>();
    const Domain& d = domain_named(domain);
    const std::string puzzle = text_arg(a["puzzle"], "puzzle"), answer = text_arg(a["answer"], "answer");
    const std::optional<AnswerCheck> c = d.verify_answer(puzzle, answer);
    if (!c) fail("{} answers cannot be checked without the expected output", d.title());
    json out{{"domain", domain}, {"verified", c->verified}, {"check", c->check}};
    for (auto& [k, v] : c->fields.items()) out[k] = v;
    std::string text = fmt::format("{} answer {}: {}", d.title(), c->verified ? "verified" : "NOT verified", c->check);
    return ToolResult{text, std::move(out), false};
}

json read_only() {
    return json{{"readOnlyHint", true}, {"destructiveHint", false}, {"idempotentHint", true}, {"openWorldHint", false}};
}

// The tool's description plus what its model accepts, re-read at every tools/list (models may be installed or
// replaced while the server runs; reading a config is a header read, not a weight load).
void describe_with_model(Tool& t, const std::shared_ptr<ModelCache>& models, const Domain& d) {
    t.describe = [base = t.description, models, &d] {
        const std::optional<Config> c = models->config(d);
        if (!c)
            return fmt::format("{} No {} model is available yet: calls fail with a hint until one is installed.", base,
                               d.name());
        return base + " " + d.model_summary(*c);
    };
}

}  // namespace

std::vector<Tool> make_trm_tools(const ToolsOptions& opt, LogFn log) {
    auto models = std::make_shared<ModelCache>(opt.model_dir, std::move(log));
    std::vector<Tool> tools;
    for (const Domain* d : domains()) {
        const ToolSpec spec = d->mcp_tool();
        tools.push_back(Tool{spec.name, spec.title, spec.description, solve_input_schema(*d, spec),
                             solve_output_schema(spec), read_only(),
                             [models, d](const json& a, ToolContext& ctx) { return solve_tool(*models, *d, a, ctx); }});
        describe_with_model(tools.back(), models, *d);
    }
    tools.push_back(Tool{
        "verify", "Check a proposed Sudoku or maze answer",
        "Checks a proposed answer without running a model. Sudoku: complete, keeps the givens, no digit twice in a "
        "row, column or box. Maze: the 'o' cells form one path from S to G through open cells, and it is a "
        "shortest one. Returns verified and the problems found.",
        verify_input_schema(), verify_output_schema(), read_only(),
        [](const json& a, ToolContext& ctx) { return verify_tool(a, ctx); }, /*quick=*/true});
    return tools;
}

}  // namespace trm::mcp
