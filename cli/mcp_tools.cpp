#include "cli/mcp_tools.hpp"

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>

#include "cli/models.hpp"
#include "core/error.hpp"
#include "core/forward.hpp"
#include "core/model_io.hpp"
#include "core/safetensors.hpp"
#include "puzzles/arc_adapt.hpp"
#include "puzzles/solve.hpp"

namespace trm::mcp {

namespace fs = std::filesystem;

// ---- argument readers -----------------------------------------------------------------------------------------

SudokuPuzzle parse_one_sudoku(std::string_view text, const std::string& name) {
    std::istringstream in{std::string(text)};
    SudokuReader reader(in, name);
    SudokuPuzzle p, extra;
    if (!reader.next(p)) fail("{}: no Sudoku found (81 cells: digits 1-9 and '.' or 0 for blanks)", name);
    if (reader.next(extra)) fail("{}: holds more than one Sudoku (a second starts at {}); pass one", name, extra.where);
    return p;
}

static std::string printable(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f ? std::string(1, c) : fmt::format("\\x{:02x}", u);
}

SudokuGrid parse_sudoku_answer(std::string_view text, const std::string& name) {
    SudokuGrid g{};
    size_t n = 0;
    for (char c : text) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '|' || c == '-' || c == '+') continue;
        uint8_t v;
        if (c >= '1' && c <= '9') v = uint8_t(c - '0');
        else if (c == '.' || c == '0' || c == '_' || c == '*') v = 0;
        else fail("{}: unexpected character '{}' at cell {} (digits 1-9, '.' or 0 for blanks)", name, printable(c), n + 1);
        if (n < g.size()) g[n] = v;
        n++;
    }
    if (n != g.size()) fail("{}: expected 81 cells, found {}", name, n);
    return g;
}

std::string text_arg(const json& arg, const std::string& name) {
    if (arg.is_string()) return arg.get<std::string>();
    std::string text;
    for (size_t i = 0; i < arg.size(); i++) {
        const std::string& row = arg[i].get_ref<const std::string&>();
        if (row.find('\n') != std::string::npos) fail("{}[{}]: holds a line break; pass one row per string", name, i);
        text += row;
        text += '\n';
    }
    return text;
}

Maze parse_one_maze(std::string_view text, const std::string& name) {
    std::istringstream in{std::string(text)};
    MazeReader reader(in, name, MazeFormat::Text);
    Maze m, extra;
    if (!reader.next(m)) fail("{}: no maze found (rows of '#' walls, '.' or ' ' open cells, one S, one G)", name);
    if (reader.next(extra)) fail("{}: holds more than one maze (a second starts at {}); pass one", name, extra.where);
    return m;
}

std::vector<char> parse_maze_answer(std::string_view text, const Maze& m, std::string* problem) {
    std::vector<std::string_view> rows;
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view row = text.substr(0, nl);
        if (!row.empty() && row.back() == '\r') row.remove_suffix(1);
        rows.push_back(row);
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
    while (!rows.empty() && rows.back().empty()) rows.pop_back();
    size_t first = 0;
    while (first < rows.size() && rows[first].empty()) first++;
    rows.erase(rows.begin(), rows.begin() + long(first));
    if (int(rows.size()) != m.rows) {
        *problem = fmt::format("answer has {} rows, the maze {}", rows.size(), m.rows);
        return {};
    }
    std::vector<char> out;
    out.reserve(size_t(m.rows) * size_t(m.cols));
    for (size_t r = 0; r < rows.size(); r++) {
        if (int(rows[r].size()) != m.cols) {
            *problem = fmt::format("answer row {} has {} cells, the maze {} columns (use '.' for open cells)", r + 1,
                                   rows[r].size(), m.cols);
            return {};
        }
        for (char c : rows[r]) out.push_back(c == '.' ? ' ' : c);
    }
    return out;
}

namespace {

// ---- schemas --------------------------------------------------------------------------------------------------

json int_schema(int lo, int hi, const char* description) {
    return json{{"type", "integer"}, {"minimum", lo}, {"maximum", hi}, {"description", description}};
}

// Options shared by the solve tools.
void add_solve_options(json& props) {
    props["max_steps"] = int_schema(1, kMaxStepsCap, "Supervision steps at most (default: the model's halt_max_steps, "
                                                     "16 for the official models).");
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

const json& string_rows_schema() {
    static const json s = json{{"anyOf",
                                {json{{"type", "string"}, {"maxLength", 1 << 20}},
                                 json{{"type", "array"},
                                      {"minItems", 1},
                                      {"maxItems", 4096},
                                      {"items", {{"type", "string"}, {"maxLength", 4096}}}}}}};
    return s;
}

json sudoku_input_schema() {
    json props{{"puzzle",
                {{"type", "string"},
                 {"minLength", 81},
                 {"maxLength", 4096},
                 {"description", "The puzzle: 81 cells in reading order on one line (digits 1-9, '.' or 0 for "
                                 "blanks, e.g. '53..7....6..195...'), or a 9x9 grid text with one row per line "
                                 "('|', '-', '+' and spaces are ignored)."}}}};
    add_solve_options(props);
    add_views_option(props);
    return json{{"type", "object"}, {"properties", props}, {"required", {"puzzle"}}, {"additionalProperties", false}};
}

json maze_input_schema() {
    json maze = string_rows_schema();
    maze["description"] = "The maze: rows of '#' (wall), '.' or ' ' (open), one 'S' (start) and one 'G' (goal), all "
                          "the same width, as an array of row strings or one string with newlines. It must fit the "
                          "loaded model's grid (the tool description says which; 30x30 for the official models). A "
                          "maze drawn with a closed wall frame is solved without it, so it may be 2 cells wider.";
    json props{{"maze", maze}};
    add_solve_options(props);
    add_views_option(props);
    return json{{"type", "object"}, {"properties", props}, {"required", {"maze"}}, {"additionalProperties", false}};
}

json arc_grid_schema() {
    return json{{"type", "array"},
                {"minItems", 1},
                {"maxItems", 30},
                {"items",
                 {{"type", "array"},
                  {"minItems", 1},
                  {"maxItems", 30},
                  {"items", {{"type", "integer"}, {"minimum", 0}, {"maximum", 9}}}}}};
}

json arc_input_schema() {
    const json grid = arc_grid_schema();
    const json train_pair{{"type", "object"},
                          {"properties", {{"input", grid}, {"output", grid}}},
                          {"required", {"input", "output"}}};
    const json test_pair{{"type", "object"}, {"properties", {{"input", grid}, {"output", grid}}}, {"required", {"input"}}};
    json props{
        {"task",
         {{"type", "object"},
          {"description", "One ARC task as in the ARC-AGI JSON files: {\"train\": [{\"input\": grid, \"output\": grid}, "
                          "...], \"test\": [{\"input\": grid}, ...]}; a grid is a list of rows of colours 0-9, 1x1 to "
                          "30x30. A test output, when given, is used to verify the attempts."},
          {"properties",
           {{"train", {{"type", "array"}, {"minItems", 1}, {"maxItems", 100}, {"items", train_pair}}},
            {"test", {{"type", "array"}, {"minItems", 1}, {"maxItems", 20}, {"items", test_pair}}}}},
          {"required", {"train", "test"}}}},
        {"task_id",
         {{"type", "string"},
          {"minLength", 1},
          {"maxLength", 200},
          {"description", "The task's ARC id (e.g. '6150a2bd'): a model trained on this task uses its learned "
                          "puzzle embedding."}}},
        {"num_aug", int_schema(0, kMaxArcAug, "Augmented copies (rotations, reflections, recolourings) voted with the "
                                              "original (default 8).")},
        {"adapt_steps", int_schema(0, kMaxAdaptSteps,
                                   "Test-time adaptation for a task the model does not know: sign-SGD steps fitting "
                                   "its puzzle embedding on the demonstrations before solving (default 100, as `trm "
                                   "solve`; 0 = none). Slow: report progress with a progressToken.")},
        {"seed", json{{"type", "integer"},
                      {"minimum", 0},
                      {"maximum", 9007199254740991.0},  // 2^53 - 1: exact in every JSON reader
                      {"description", "Seed of the augmentations (default 0)."}}}};
    add_solve_options(props);
    return json{{"type", "object"}, {"properties", props}, {"required", {"task"}}, {"additionalProperties", false}};
}

json verify_input_schema() {
    json puzzle = string_rows_schema();
    puzzle["description"] = "The puzzle, as for solve_sudoku / solve_maze.";
    json answer = string_rows_schema();
    answer["description"] = "The proposed answer. Sudoku: 81 digits (a line or a 9x9 grid). Maze: the maze with the "
                            "path from S to G marked 'o', same size and rows as the puzzle.";
    return json{{"type", "object"},
                {"properties",
                 {{"domain", {{"type", "string"}, {"enum", {"sudoku", "maze"}}, {"description", "Puzzle kind."}}},
                  {"puzzle", puzzle},
                  {"answer", answer}}},
                {"required", {"domain", "puzzle", "answer"}},
                {"additionalProperties", false}};
}

json trace_item_schema() {
    return json{{"type", "object"},
                {"properties",
                 {{"step", {{"type", "integer"}, {"description", "Supervision step, 1-based."}}},
                  {"view", {{"type", "integer"}, {"description", "The view the step belongs to, 1-based (1 = the "
                                                                 "puzzle as given); its draft is mapped back."}}},
                  {"changed", {{"type", "integer"}, {"description", "Cells of the draft that changed since the "
                                                                    "previous step (step 1: since the input)."}}},
                  {"halt_probability", {{"type", "number"}, {"minimum", 0}, {"maximum", 1}}},
                  {"model_halts", {{"type", "boolean"}, {"description", "The halting head says stop."}}},
                  {"stopped", {{"type", "boolean"}}},
                  {"verified", {{"type", "boolean"}, {"description", "The checker accepts this step's draft."}}},
                  {"check", {{"type", "string"}, {"description", "The checker's verdict on the draft."}}},
                  {"draft", {{"description", "This step's answer (trace 'drafts' only), in the answer's form."}}}}},
                {"required", {"step", "changed", "halt_probability", "model_halts", "stopped", "verified", "check"}}};
}

// Properties every solve result has (ARC: per test input).
void add_run_outputs(json& props, json& required) {
    props["steps"] = json{{"type", "integer"}, {"description", "Supervision steps run."}};
    props["stopped_by"] = json{{"type", "string"},
                               {"enum", {"model", "verified", "max_steps"}},
                               {"description", "What ended the run: the halting head, a verified draft, the limit."}};
    props["halt_probability"] = json{{"type", "number"},
                                     {"minimum", 0},
                                     {"maximum", 1},
                                     {"description", "sigmoid(q_halt) at the last step: the model's confidence."}};
    props["trace"] = json{{"type", "array"}, {"items", trace_item_schema()}};
    props["diagnosis"] = json{{"type", "string"},
                              {"description", "What the exact checks say of the input before solving, when it is not "
                                              "a proper puzzle: 'has no solution', 'has several solutions', 'has no "
                                              "path from S to G'."}};
    for (const char* k : {"steps", "stopped_by", "halt_probability"}) required.push_back(k);
}

void add_model_outputs(json& props, json& required) {
    props["model"] = json{{"type", "string"}, {"description", "Model file used."}};
    props["max_steps"] = json{{"type", "integer"}};
    props["halt"] = json{{"type", "string"}, {"enum", {"model", "never", "verified"}}};
    props["seconds"] = json{{"type", "number"}};
    for (const char* k : {"model", "max_steps", "halt", "seconds"}) required.push_back(k);
}

// Sudoku and maze results: the views tried.
void add_view_outputs(json& props, json& required) {
    props["views_used"] = json{{"type", "integer"}, {"description", "Views solved (1 = only the puzzle as given)."}};
    props["view"] = json{{"type", "integer"}, {"description", "The view whose answer is reported: the verified one, "
                                                              "else view 1."}};
    props["views"] = json{{"type", "array"},
                          {"items", {{"type", "object"},
                                     {"properties", {{"name", {{"type", "string"}}}, {"steps", {{"type", "integer"}}},
                                                     {"verified", {{"type", "boolean"}}},
                                                     {"check", {{"type", "string"}}}}},
                                     {"required", {"name", "steps", "verified", "check"}}}},
                          {"description", "Every view run, in order: its transform, steps and verdict."}};
    for (const char* k : {"views_used", "view", "views"}) required.push_back(k);
}

json sudoku_output_schema() {
    json props{{"answer", {{"type", "string"}, {"description", "81 cells in reading order, '.' where blank."}}},
               {"verified", {{"type", "boolean"}, {"description", "Complete, keeps the givens, no clash."}}},
               {"check", {{"type", "string"}, {"description", "'solved' or the clashes and blanks."}}}};
    json required{"answer", "verified", "check"};
    add_run_outputs(props, required);
    add_view_outputs(props, required);
    add_model_outputs(props, required);
    return json{{"type", "object"}, {"properties", props}, {"required", required}};
}

json maze_output_schema() {
    json props{{"answer", {{"type", "array"}, {"items", {{"type", "string"}}},
                           {"description", "The maze rows with the predicted path marked 'o'."}}},
               {"verified", {{"type", "boolean"}, {"description", "The path is a shortest S-G path."}}},
               {"verdict", {{"type", "string"}, {"enum", {"optimal", "valid but longer", "broken"}}}},
               {"check", {{"type", "string"}}},
               {"path_cells", {{"type", "integer"}, {"description", "Cells on the path, S and G included."}}},
               {"shortest_cells", {{"type", "integer"}, {"description", "Shortest path length; 0 = unsolvable."}}}};
    json required{"answer", "verified", "verdict", "check", "path_cells", "shortest_cells"};
    add_run_outputs(props, required);
    add_view_outputs(props, required);
    add_model_outputs(props, required);
    return json{{"type", "object"}, {"properties", props}, {"required", required}};
}

json arc_output_schema() {
    json item{{"test_index", {{"type", "integer"}}},
              {"attempts", {{"type", "array"}, {"maxItems", 2}, {"items", {{"type", "array"}}},
                            {"description", "Up to two predicted grids, most voted first."}}},
              {"attempt_votes", {{"type", "array"}, {"items", {{"type", "integer"}}}}},
              {"copies", {{"type", "integer"}, {"description", "Augmented copies that voted."}}},
              {"known_task", {{"type", "boolean"}, {"description", "The model was trained on this task."}}},
              {"expected_known", {{"type", "boolean"}}},
              {"verified", {{"type", "boolean"}, {"description", "An attempt equals the given test output."}}},
              {"pass_at_1", {{"type", "boolean"}}},
              {"check", {{"type", "string"}}}};
    json item_required{"test_index", "attempts", "attempt_votes", "copies", "known_task", "expected_known", "verified",
                       "check"};
    add_run_outputs(item, item_required);
    json props{{"task_id", {{"type", "string"}}},
               {"verified", {{"type", "boolean"}, {"description", "Every test input verified."}}},
               {"results", {{"type", "array"},
                            {"items", {{"type", "object"}, {"properties", item}, {"required", item_required}}}}}};
    json required{"task_id", "verified", "results"};
    add_model_outputs(props, required);
    return json{{"type", "object"}, {"properties", props}, {"required", required}};
}

json verify_output_schema() {
    return json{
        {"type", "object"},
        {"properties",
         {{"domain", {{"type", "string"}, {"enum", {"sudoku", "maze"}}}},
          {"verified", {{"type", "boolean"}}},
          {"check", {{"type", "string"}}},
          {"blank_cells", {{"type", "integer"}, {"description", "Sudoku: blank answer cells."}}},
          {"changed_givens", {{"type", "integer"}, {"description", "Sudoku: givens the answer does not keep."}}},
          {"clashes", {{"type", "array"}, {"items", {{"type", "string"}}}, {"description", "Sudoku: e.g. 'row 4: two 7s'."}}},
          {"verdict", {{"type", "string"}, {"enum", {"optimal", "valid but longer", "broken"}}}},
          {"path_cells", {{"type", "integer"}}},
          {"shortest_cells", {{"type", "integer"}}}}},
        {"required", {"domain", "verified", "check"}}};
}

// ---- models ---------------------------------------------------------------------------------------------------

// One model per domain, shared read-only by every request; each request runs it through its own Forward (the
// inference buffers and packed weights), made on its worker thread and freed with the request.
struct LoadedModel {
    std::string path;
    std::unique_ptr<const Model> model;
};

// Loads each domain's model on first use and keeps it. Thread-safe: requests on several workers may ask at once.
class ModelCache {
public:
    ModelCache(std::string dir, LogFn log) : dir_(std::move(dir)), log_(std::move(log)) {}

    const LoadedModel& get(DomainKind d) {
        std::lock_guard<std::mutex> l(mu_);  // a first load holds it: the other requests wait for the same file
        auto it = loaded_.find(d);
        if (it != loaded_.end()) return it->second;
        const std::string path = model_path(d);
        LoadedModel lm;
        lm.path = path;
        lm.model = std::make_unique<const Model>(cli::load_domain_model(path, d));
        if (log_) log_(fmt::format("loaded the {} model {} ({:.1f} MiB of weights)", domain_name(d), path,
                                   double(lm.model->arena.size()) * 4 / (1 << 20)));
        return loaded_.emplace(d, std::move(lm)).first->second;  // std::map: the reference outlives later inserts
    }

    // The config of the domain's model without loading its weights (the loaded one, else the safetensors
    // header); empty when there is no model or it cannot be read. For tool descriptions.
    std::optional<Config> config(DomainKind d) {
        {
            // try: a worker may hold the lock for a whole load, and tools/list must not wait for it
            std::unique_lock<std::mutex> l(mu_, std::try_to_lock);
            if (l.owns_lock())
                if (auto it = loaded_.find(d); it != loaded_.end()) return it->second.model->cfg();
        }
        try {
            const std::string path = model_path(d);
            if (detect_model_format(path) != ModelFormat::Safetensors) return std::nullopt;
            const auto meta = read_safetensors_metadata(path);
            auto it = meta.find("trm_config");
            if (it == meta.end()) return std::nullopt;
            Config c = config_from_json(nlohmann::json::parse(it->second), path);
            check_model_domain(c, d, path);
            return c;
        } catch (...) {
            return std::nullopt;
        }
    }

private:
    std::string model_path(DomainKind d) const {
        const char* n = domain_name(d);
        if (dir_.empty()) return cli::resolve_model_path("", d);
        const std::string p = (fs::path(dir_) / (std::string(n) + ".safetensors")).string();
        std::error_code ec;
        if (!fs::is_regular_file(p, ec))
            throw Error(fmt::format("no {} model in {} (looked for {})", n, dir_, p),
                        fmt::format("train one with `trm train {} -o {}`, or restart `trm mcp --model-dir DIR` with "
                                    "a directory that holds {}.safetensors",
                                    n, p, n));
        return p;
    }

    std::string dir_;
    LogFn log_;
    std::mutex mu_;
    std::map<DomainKind, LoadedModel> loaded_;
};

// ---- results --------------------------------------------------------------------------------------------------

enum class TraceOut { Summary, Drafts, Off };

struct RunArgs {
    SolveOptions so;
    TraceOut trace = TraceOut::Summary;
};

RunArgs run_args(const json& a, int batch, DomainKind d) {
    RunArgs r;
    r.so.max_steps = a.value("max_steps", 0);
    std::string halt = a.value("halt", std::string("auto"));
    // auto, as `trm solve --halt auto` (cli/solve.cpp): where a checker of the rules exists (Sudoku, mazes) stop at
    // the first draft it accepts, else when the halting head says so (ARC)
    if (halt == "auto") halt = d == DomainKind::Arc ? "model" : "verified";
    halt_mode_from_name(halt, &r.so.halt);
    r.so.trace = TraceMode::Steps;  // always recorded: stopped_by and the text need it
    r.so.batch = batch;
    r.so.views = a.value("views", kDefaultViews);
    const std::string t = a.value("trace", std::string("summary"));
    r.trace = t == "off" ? TraceOut::Off : t == "drafts" ? TraceOut::Drafts : TraceOut::Summary;
    return r;
}

int effective_max_steps(const SolveOptions& so, const Model& m) {
    return so.max_steps > 0 ? so.max_steps : m.cfg().halt_max_steps;
}

const char* stopped_by(const SolveOutcome& r, HaltMode halt) {
    if (r.trace.empty()) return "max_steps";
    const TraceStep& last = r.trace.back();
    if (halt == HaltMode::Model && last.model_halts) return "model";
    if (halt == HaltMode::Verified && last.verified) return "verified";
    return "max_steps";
}

std::string stopped_text(const char* by) {
    const std::string s = by;
    return s == "model" ? "the halting head stopped it" : s == "verified" ? "stopped at the first verified draft"
                                                                          : "step limit reached";
}

json draft_json(DomainKind d, const DraftGrid& g) {
    if (d == DomainKind::Sudoku) {
        std::string s;
        for (auto v : g.cells) s += v >= 1 && v <= 9 ? char('0' + v) : '.';
        return s;
    }
    json rows = json::array();
    for (int r = 0; r < g.rows; r++) {
        auto b = g.cells.begin() + long(r) * g.cols, e = b + g.cols;
        if (d == DomainKind::Maze) rows.push_back(std::string(b, e));
        else rows.push_back(std::vector<int>(b, e));
    }
    return rows;
}

std::string percent(double p) { return fmt::format("{:.1f}%", 100 * p); }

// A check summary ("row 1: two 3s; row 2: ...") cut at a "; " boundary to about `max` characters, ending in
// "; ... (N more)" when parts were left out.
std::string short_check(const std::string& s, size_t max = 120) {
    if (s.size() <= max) return s;
    size_t parts = 1, keep_end = std::string::npos, kept = 0;
    for (size_t i = s.find("; "); i != std::string::npos; i = s.find("; ", i + 2)) {
        parts++;
        if (i <= max) keep_end = i, kept++;
    }
    if (keep_end == std::string::npos) return s.substr(0, max) + "...";
    return fmt::format("{}; ... ({} more)", s.substr(0, keep_end), parts - kept);
}

json trace_json(DomainKind d, const std::vector<TraceStep>& trace, TraceOut out) {
    json steps = json::array();
    for (const auto& t : trace) {
        if (t.cycle >= 0) continue;
        json s{{"step", t.step},           {"view", t.view}, {"changed", t.changed}, {"halt_probability", sigmoid(t.q_halt)},
               {"model_halts", t.model_halts}, {"stopped", t.stopped}, {"verified", t.verified},
               {"check", short_check(t.check)}};
        if (out == TraceOut::Drafts) s["draft"] = draft_json(d, t.draft);
        steps.push_back(std::move(s));
    }
    return steps;
}

// "Trace (draft -> critique -> refine):" and one line per supervision step, with a critique line where a view's
// answer was rejected and the next view begins.
std::string trace_text(const SolveOutcome& r) {
    const std::vector<TraceStep>& trace = r.trace;
    std::string s = "Trace, one line per supervision step (draft: cells changed; critique: halt confidence and check):\n";
    for (size_t i = 0; i < trace.size(); i++) {
        const TraceStep& t = trace[i];
        if (i > 0 && trace[i - 1].view != t.view && size_t(t.view) <= r.views.size())
            s += fmt::format("  critique: {} -> view {}/{}: {}\n", r.views[size_t(trace[i - 1].view - 1)].critique,
                             t.view, r.views_budget, r.views[size_t(t.view - 1)].name);
        if (t.cycle >= 0) continue;
        s += fmt::format("  step {}: {} cell{} changed{}; halt {} -> {}; {}\n", t.step, t.changed,
                         t.changed == 1 ? "" : "s", t.step == 1 ? " from the input" : "", percent(sigmoid(t.q_halt)),
                         t.stopped ? "stop" : "continue", short_check(t.check));
    }
    return s;
}

// Fills the per-run fields shared by the domains and returns the headline's run part.
std::string run_fields(json& out, const SolveOutcome& r, const RunArgs& ra, DomainKind d) {
    const char* by = stopped_by(r, ra.so.halt);
    out["steps"] = r.steps;
    out["stopped_by"] = by;
    out["halt_probability"] = sigmoid(r.q_halt);
    if (ra.trace != TraceOut::Off) out["trace"] = trace_json(d, r.trace, ra.trace);
    if (!r.views.empty()) {
        out["views_used"] = r.views_used;
        out["view"] = r.view;
        json vs = json::array();
        for (const auto& v : r.views)
            vs.push_back({{"name", v.name}, {"steps", v.steps}, {"verified", v.verified}, {"check", short_check(v.check)}});
        out["views"] = std::move(vs);
    }
    std::string text = fmt::format("{} supervision step{} ({}; halt confidence {})", r.steps,
                                   r.steps == 1 ? "" : "s", stopped_text(by), percent(sigmoid(r.q_halt)));
    if (!r.diagnosis.empty()) {
        out["diagnosis"] = r.diagnosis;
        text = fmt::format("Note: the input {}. {}", r.diagnosis, text);
    }
    if (r.views_used > 1)
        text += r.verified ? fmt::format(" of view {} of {} tried ({})", r.view, r.views_used,
                                         r.views[size_t(r.view - 1)].name)
                           : fmt::format(" of view 1; {} views tried, none verified", r.views_used);
    return text;
}

// Reports each supervision step of a run as progress and stops it when the request was cancelled. ARC runs
// several batches and may adapt first: `before` steps were reported already, `total` is the whole plan.
std::function<void(int, int)> step_progress(ToolContext& ctx, int before, int total, const char* what) {
    return [&ctx, before, total, what, base = 0, last = 0, batch = 1](int step, int max_steps) mutable {
        if (step <= last) base += last, batch++;  // a new batch started
        last = step;
        ctx.progress(before + base + step, total,
                     batch == 1 ? fmt::format("{}: supervision step {} of at most {}", what, step, max_steps)
                                : fmt::format("{}: batch {}, supervision step {} of at most {}", what, batch, step,
                                              max_steps));
    };
}

void model_fields(json& out, const LoadedModel& lm, const RunArgs& ra, double seconds) {
    out["model"] = lm.path;
    out["max_steps"] = effective_max_steps(ra.so, *lm.model);
    out["halt"] = halt_mode_name(ra.so.halt);
    out["seconds"] = seconds;
}

constexpr const char* kNotSolvedNote = "The answer fails the check: do not present it as a solution.";

ToolResult solve_sudoku_tool(ModelCache& models, const json& a, ToolContext& ctx) {
    SudokuPuzzle p = parse_one_sudoku(a["puzzle"].get_ref<const std::string&>(), "puzzle");
    const LoadedModel& lm = models.get(DomainKind::Sudoku);
    RunArgs ra = run_args(a, 1, DomainKind::Sudoku);
    const int steps = effective_max_steps(ra.so, *lm.model);
    ra.so.on_step = step_progress(ctx, 0, steps, "Sudoku");
    std::vector<SudokuPuzzle> batch;
    batch.push_back(std::move(p));
    Forward fwd(*lm.model, 1);
    const auto r = std::move(solve_sudoku_batch(fwd, std::move(batch), 0, ra.so).at(0));
    json out{{"answer", sudoku_to_line(r.grid)}, {"verified", r.verified}, {"check", r.check}};
    const std::string run = run_fields(out, r, ra, DomainKind::Sudoku);
    model_fields(out, lm, ra, r.seconds);
    std::string text = r.verified ? fmt::format("Sudoku solved and verified after {}.\n", run)
                                  : fmt::format("Sudoku NOT solved: the answer after {} fails the check: {}.\n{}\n",
                                                run, short_check(r.check, 300), kNotSolvedNote);
    text += "answer: " + sudoku_to_line(r.grid) + "\n" + sudoku_to_grid_text(r.grid);
    if (ra.trace != TraceOut::Off) text += trace_text(r);
    return ToolResult{text, std::move(out), false};
}

ToolResult solve_maze_tool(ModelCache& models, const json& a, ToolContext& ctx) {
    Maze m = parse_one_maze(text_arg(a["maze"], "maze"), "maze");
    const LoadedModel& lm = models.get(DomainKind::Maze);
    RunArgs ra = run_args(a, 1, DomainKind::Maze);
    const int steps = effective_max_steps(ra.so, *lm.model);
    ra.so.on_step = step_progress(ctx, 0, steps, "maze");
    std::vector<Maze> batch;
    batch.push_back(std::move(m));
    Forward fwd(*lm.model, 1);
    const auto r = std::move(solve_maze_batch(fwd, std::move(batch), 0, ra.so).at(0));
    json rows = draft_json(DomainKind::Maze, r.answer);
    json out{{"answer", rows},
             {"verified", r.verified},
             {"verdict", maze_verdict_name(r.verdict.verdict)},
             {"check", r.check},
             {"path_cells", r.verdict.path_cells},
             {"shortest_cells", r.verdict.shortest_cells}};
    const std::string run = run_fields(out, r, ra, DomainKind::Maze);
    model_fields(out, lm, ra, r.seconds);
    std::string text = r.verified ? fmt::format("Maze solved: a shortest path ({}), verified, after {}.\n", r.check, run)
                                  : fmt::format("Maze NOT solved: the path after {} is {}.\n{}\n", run, r.check,
                                                kNotSolvedNote);
    text += "answer ('o' marks the path):\n";
    for (const auto& row : rows) text += row.get<std::string>() + "\n";
    if (ra.trace != TraceOut::Off) text += trace_text(r);
    return ToolResult{text, std::move(out), false};
}

ToolResult solve_arc_tool(ModelCache& models, const json& a, ToolContext& ctx) {
    std::vector<ArcTask> tasks = parse_arc_tasks(a["task"].dump(), "arguments.task", a.value("task_id", std::string("unnamed")));
    const LoadedModel& lm = models.get(DomainKind::Arc);
    RunArgs ra = run_args(a, kArcBatch, DomainKind::Arc);
    ArcSolveOptions ao;
    ao.num_aug = a.value("num_aug", 8);
    ao.seed = a.value("seed", uint64_t(0));
    const int adapt_steps = a.value("adapt_steps", kDefaultAdaptSteps);
    const auto t0 = std::chrono::steady_clock::now();
    // Test-time adaptation as `trm solve` does it (cli/solve.cpp): a copy of the model, private to this request,
    // with fitted puzzle-embedding rows for the tasks it does not know.
    std::unique_ptr<const Model> adapted;
    const int rows = int(tasks.at(0).test.size()) * (ao.num_aug + 1);
    const int solve_total = (rows + kArcBatch - 1) / kArcBatch * effective_max_steps(ra.so, *lm.model);
    int adapt_total = 0;
    if (adapt_steps > 0 && lm.model->cfg().puzzle_emb_ndim > 0) {
        ArcAdaptOptions ad;
        ad.num_aug = ao.num_aug;
        ad.steps = adapt_steps;
        ad.seed = ao.seed;
        ad.on_step = [&](int done, int total) {
            adapt_total = total;
            ctx.progress(done, total + solve_total,
                         fmt::format("test-time adaptation: step {} of {}", done, total));
        };
        adapted = std::make_unique<const Model>(adapt_arc_tasks(*lm.model, tasks, ad));
    }
    const Model& model = adapted ? *adapted : *lm.model;
    ra.so.on_step = step_progress(ctx, adapt_total, adapt_total + solve_total, "solving");
    Forward fwd(model, std::min(rows, kArcBatch));
    json results = json::array();
    std::string text;
    bool all = true;
    solve_arc_tasks(fwd, tasks, ra.so, ao, [&](ArcSolveResult& r) {
        json item{{"test_index", r.test_index}};
        json attempts = json::array();
        for (const auto& g : r.attempts) attempts.push_back(draft_json(DomainKind::Arc, DraftGrid{g.rows, g.cols, g.cells}));
        item["attempts"] = attempts;
        item["attempt_votes"] = r.attempt_votes;
        item["copies"] = r.copies;
        item["known_task"] = r.known_task;
        item["expected_known"] = r.expected.has_value();
        item["verified"] = r.verified;
        if (r.expected) item["pass_at_1"] = r.pass_at_1;
        item["check"] = r.check;
        const std::string run = run_fields(item, r, ra, DomainKind::Arc);
        all = all && r.verified;
        text += fmt::format("Test input {} ({}x{}): {} after {}; {} copies (original + augmentations) voted.\n",
                            r.test_index, r.test_input.rows, r.test_input.cols,
                            r.verified ? "VERIFIED" : r.expected ? "NOT solved" : "unverified", run, r.copies);
        for (size_t k = 0; k < r.attempts.size(); k++)
            text += fmt::format("  attempt {} ({} of {} votes): {}\n", k + 1, r.attempt_votes[k], r.copies,
                                arc_grid_json(r.attempts[k]));
        text += "  check: " + r.check + "\n";
        if (ra.trace != TraceOut::Off) text += trace_text(r);
        results.push_back(std::move(item));
    });
    json out{{"task_id", tasks.at(0).id}, {"verified", all}, {"results", std::move(results)}};
    model_fields(out, lm, ra, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    text = fmt::format("ARC task {}: {} test input{}, {}.\n", tasks[0].id, out["results"].size(),
                       out["results"].size() == 1 ? "" : "s",
                       all ? "all verified against the given outputs"
                           : "not verified (a test output must be given to verify; otherwise treat the attempts as "
                             "guesses)") +
           text;
    return ToolResult{text, std::move(out), false};
}

ToolResult verify_tool(const json& a, ToolContext&) {
    const std::string domain = a["domain"].get<std::string>();
    const std::string puzzle = text_arg(a["puzzle"], "puzzle"), answer = text_arg(a["answer"], "answer");
    json out{{"domain", domain}};
    if (domain == "sudoku") {
        const SudokuPuzzle p = parse_one_sudoku(puzzle, "puzzle");
        const SudokuVerdict v = verify_sudoku(p, parse_sudoku_answer(answer, "answer"));
        json clashes = json::array();
        for (const auto& c : v.clashes) clashes.push_back(c.text());
        out["verified"] = v.solved;
        out["check"] = v.summary();
        out["blank_cells"] = v.blank_cells;
        out["changed_givens"] = v.changed_givens;
        out["clashes"] = clashes;
    } else {
        const Maze m = parse_one_maze(puzzle, "puzzle");
        std::string problem;
        const std::vector<char> cells = parse_maze_answer(answer, m, &problem);
        MazeCheck c;
        if (problem.empty()) c = verify_maze(m, cells);
        else c.detail = problem;
        out["verified"] = c.verdict == MazeVerdict::Optimal;
        out["check"] = describe(c);
        out["verdict"] = maze_verdict_name(c.verdict);
        out["path_cells"] = c.path_cells;
        out["shortest_cells"] = problem.empty() ? c.shortest_cells : int(maze_shortest_path(m).size());
    }
    const bool ok = out["verified"].get<bool>();
    std::string text = fmt::format("{} answer {}: {}", domain == "sudoku" ? "Sudoku" : "Maze",
                                   ok ? "verified" : "NOT verified", out["check"].get<std::string>());
    return ToolResult{text, std::move(out), false};
}

json read_only() {
    return json{{"readOnlyHint", true}, {"destructiveHint", false}, {"idempotentHint", true}, {"openWorldHint", false}};
}

// What the domain's model accepts, read from the model file (its config), for the tool's description.
std::string model_sentence(ModelCache& models, DomainKind d) {
    const std::optional<Config> c = models.config(d);
    if (!c) return fmt::format(" No {} model is available yet: calls fail with a hint until one is installed.",
                               domain_name(d));
    const std::string steps = fmt::format("at most {} supervision steps by default", c->halt_max_steps);
    switch (d) {
        case DomainKind::Sudoku: return fmt::format(" The loaded model takes 9x9 Sudoku; {}.", steps);
        case DomainKind::Maze: {
            const int n = model_grid_side(*c);
            // solve_maze_batch strips a closed wall frame (puzzles/maze.hpp maze_has_frame): 2 more cells then
            return fmt::format(" The loaded model takes mazes up to {}x{} cells ({}x{} drawn with a closed wall frame); "
                               "{}.", n, n, n + 2, n + 2, steps);
        }
        case DomainKind::Arc: {
            const int n = model_grid_side(*c);
            return fmt::format(" The loaded model takes grids up to {}x{}; {}; {}.", n, n, steps,
                               c->puzzle_emb_ndim > 0 ? "unseen tasks can be adapted to (adapt_steps)"
                                                      : "it has no puzzle embeddings, so adapt_steps does nothing");
        }
    }
    return "";
}

// The tool's description plus what its model accepts, re-read at every tools/list (models may be installed or
// replaced while the server runs; reading a config is a header read, not a weight load).
void describe_with_model(Tool& t, const std::shared_ptr<ModelCache>& models, DomainKind d) {
    t.describe = [base = t.description, models, d] { return base + model_sentence(*models, d); };
}

}  // namespace

std::vector<Tool> make_trm_tools(const ToolsOptions& opt, LogFn log) {
    auto models = std::make_shared<ModelCache>(opt.model_dir, std::move(log));
    std::vector<Tool> tools;
    tools.push_back(Tool{
        "solve_sudoku", "Solve a Sudoku",
        "Solves a 9x9 Sudoku with trm's Tiny Recursive Model and checks the answer against the rules. Returns the "
        "answer, whether it verified (complete, givens kept, no clash), the supervision steps used, the model's "
        "halting confidence and a per-step trace. Only a verified answer is a solution.",
        sudoku_input_schema(), sudoku_output_schema(), read_only(),
        [models](const json& a, ToolContext& ctx) { return solve_sudoku_tool(*models, a, ctx); }});
    describe_with_model(tools.back(), models, DomainKind::Sudoku);
    tools.push_back(Tool{
        "solve_maze", "Find a shortest path through a maze",
        "Marks a path from S to G with 'o' using trm's maze model and checks that it is a shortest path. Returns the "
        "marked maze, whether it verified, the verdict (optimal / valid but longer / broken), the steps used, the "
        "halting confidence and a per-step trace.",
        maze_input_schema(), maze_output_schema(), read_only(),
        [models](const json& a, ToolContext& ctx) { return solve_maze_tool(*models, a, ctx); }});
    describe_with_model(tools.back(), models, DomainKind::Maze);
    tools.push_back(Tool{
        "solve_arc", "Predict the test outputs of an ARC-AGI task",
        "Runs trm's ARC model on every test input of an ARC task (with augmented copies voting) and returns up to "
        "two attempts per test input with their votes, the steps used and the halting confidence. Attempts are "
        "verified only when the task gives the test output; otherwise the check says whether the attempt's shape "
        "and colours are consistent with the demonstrations.",
        arc_input_schema(), arc_output_schema(), read_only(),
        [models](const json& a, ToolContext& ctx) { return solve_arc_tool(*models, a, ctx); }});
    describe_with_model(tools.back(), models, DomainKind::Arc);
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
