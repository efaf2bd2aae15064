// The puzzle kinds trm knows, behind one interface. Each kind implements `Domain` in its file pair
// (puzzles/sudoku_domain.*, maze_domain.*, arc_domain.*, over the formats in sudoku.*, maze.*, arc.*) and is one line
// of the registry (puzzles/registry.cpp). Everything above puzzles/ -- `trm solve`, `eval`, `train`, `mcp`, the
// terminal and HTML traces -- loops over the registry and calls these hooks; nothing else names a kind.
//
// A kind provides (tdoku registers every solver behind one function type the same way):
//   identity      name, title and nouns for messages
//   model         the token layout of its models (configure_model), the fit check, a one-line summary
//   input         detection, a streaming reader of its text formats, the one puzzle of an MCP call, labelling
//   solving       a batch solver (views or augmented copies), whether its checker judges drafts by the rules
//   presentation  draft and result JSON, the --quiet answer, listing line, extra grids, notes, grid style
//   checking      verify a proposed answer without a model (MCP `verify`), when the kind can
//   MCP           the solve tool's schemas and reply
//   evaluation    a tally of its metrics (puzzles/eval.hpp)
// Its generator and training data (datasets/: generated or read from files, augmented) are registered by name in
// datasets/sources.cpp, beside the generators, since puzzles/ does not depend on datasets/.
#pragma once
#include <any>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "puzzles/input.hpp"
#include "puzzles/solve.hpp"

namespace trm {

class EvalTally;
struct EvalSetup;

using Json = nlohmann::ordered_json;  // JSON with keys in insertion order, as printed

// One puzzle of a kind in the kind's own type (SudokuPuzzle, Maze, ArcTask): only its domain looks inside.
using Item = std::any;

// A kind's puzzles read one at a time with bounded memory. next() throws Error naming the file and line of a
// puzzle it refuses; the reader stays usable and the next call reads the next puzzle.
class ItemReader {
public:
    virtual ~ItemReader() = default;
    virtual bool next(Item& out) = 0;  // false at the end of the input
};

// An ItemReader over a kind's own streaming reader (bool Reader::next(T&)), built in place from `args`.
template <typename T, typename Reader>
class ItemsOf final : public ItemReader {
public:
    template <typename... Args>
    explicit ItemsOf(Args&&... args) : reader_(std::forward<Args>(args)...) {}
    bool next(Item& out) override {
        T x;
        if (!reader_.next(x)) return false;
        out = std::move(x);
        return true;
    }

private:
    Reader reader_;
};

// The items of a batch as the kind's own type (moved out).
template <typename T>
std::vector<T> items_as(std::vector<Item>& items) {
    std::vector<T> out;
    out.reserve(items.size());
    for (auto& it : items) out.push_back(std::move(std::any_cast<T&>(it)));
    return out;
}

struct ReadOptions {
    std::string task;       // tasks: only this one (Domain::has_tasks)
    std::string solutions;  // tasks: a file of expected test outputs
};

// Results are handed over one at a time, in input order.
using ResultFn = std::function<void(std::unique_ptr<SolveOutcome>)>;

struct NamedGrid {
    std::string title;  // "input", "attempt 1 (5/9)", "expected"
    DraftGrid grid;
};

// The one-line form of a result in a listing of many: "<label>  ✓ <verdict>  3 steps  halt 98.1%".
struct ListingLine {
    std::string label;    // the answer line (Sudoku), else where the puzzle came from
    std::string verdict;  // "solved", "unsolved: row 1: two 3s", "optimal: 23 cells"
};

// A file of answers in a competition's format (ARC: the Kaggle submission JSON).
class Submission {
public:
    virtual ~Submission() = default;
    virtual void add(const SolveOutcome& r) = 0;
    virtual void write(const std::string& path) const = 0;
    virtual std::string what() const = 0;  // "3 tasks"
};

// A solve tool of the MCP server (cli/mcp_tools.cpp adds the common options and outputs to the schemas).
struct ToolSpec {
    std::string name, title, description;
    Json input_properties;   // the puzzle's own arguments
    Json input_required;     // names among them
    Json output_schema;      // the whole structuredContent schema (puzzles/present.hpp has the shared parts)
};

// What a solve tool returns for the results of one call.
struct ToolReply {
    Json structured;
    std::string text;
};

// How an MCP reply presents the run (the tool call's `trace` argument).
enum class TraceDetail { Summary, Drafts, Off };
struct ReplyOptions {
    HaltMode halt = HaltMode::Model;
    TraceDetail trace = TraceDetail::Summary;
};

// A proposed answer judged without a model (MCP `verify`).
struct AnswerCheck {
    bool verified = false;
    std::string check;  // the checker's summary
    Json fields;        // the kind's details ("clashes", "path_cells", ...)
};

// What a kind is, as data: its names and the traits the generic paths branch on.
struct DomainInfo {
    const char* name;          // "sudoku": the CLI's DOMAIN, Config::domain, models/<name>.safetensors
    const char* title;         // "Sudoku", "Maze", "ARC": a sentence's start
    const char* kinds;         // the kind in running text: "Sudoku", "mazes", "ARC tasks"
    const char* noun;          // one result: "puzzle", "maze", "test input"
    const char* nouns;         // several: "puzzles", "mazes", "test inputs"
    const char* grid_style;    // how terminal and HTML draw drafts: "sudoku" | "maze" | "palette" (colours 0-9)
    int default_grid;          // grid side of a new model
    bool checks_rules;         // the checker judges a draft by the rules alone: halt auto = verified
    bool has_views;            // re-solves through symmetric views (else it votes over augmented copies)
    bool has_tasks;            // items are tasks, read whole (ReadOptions apply) and solved in one batch
};

class Domain {
public:
    explicit Domain(const DomainInfo& info) : info_(info) {}
    virtual ~Domain() = default;

    // ---- identity and traits ----
    const char* name() const { return info_.name; }
    const char* title() const { return info_.title; }
    std::string kinds() const { return info_.kinds; }
    std::string noun(int n) const { return n == 1 ? info_.noun : info_.nouns; }
    const char* grid_style() const { return info_.grid_style; }
    int default_grid() const { return info_.default_grid; }
    bool checks_rules() const { return info_.checks_rules; }
    bool has_views() const { return info_.has_views; }
    bool has_tasks() const { return info_.has_tasks; }

    // ---- model ----
    virtual void configure_model(Config& c, int grid) const = 0;   // seq_len, vocab_size, token_map
    virtual std::string model_mismatch(const Config& c) const = 0; // "" when c fits, else what does not
    virtual std::string model_summary(const Config& c) const = 0;  // "The loaded model takes 9x9 Sudoku"
    // The shipped models (models/<name>.safetensors) in the order a default is picked: the first one found that
    // takes every item of the input (cli/models.hpp). One per kind but mazes: a small model and an any-size one.
    virtual std::vector<std::string> default_models() const { return {name()}; }
    // Whether a model of config c takes item x as it is (no "larger than the model's grid"): how a default is picked.
    virtual bool model_takes(const Config& c, const Item& x) const {
        (void)c, (void)x;
        return true;
    }

    // ---- input ----
    virtual int detect(std::string_view text) const = 0;  // how surely `text` is this kind: 0 no, 1 fallback, 2 yes
    virtual std::unique_ptr<ItemReader> reader(PuzzleInput& in, const ReadOptions& o) const = 0;
    virtual int results_of(const Item&) const { return 1; }  // results an item gives (ARC: its test inputs)
    virtual Item parse_arguments(const Json& args) const = 0;  // the puzzle of an MCP solve call (ToolSpec)
    // The reference answer, for eval, when the input has none (the exact solver, BFS); throws when there is none.
    virtual void label(Item&) const {}

    // ---- solving ----
    // Model rows an item needs at once (ARC: test inputs x copies); the Forward's batch is their sum, at most o.batch.
    virtual int model_rows(const Item&, const SolveOptions&) const { return 1; }
    int forward_rows(const std::vector<Item>& items, const SolveOptions& o) const;
    // Solves `items` (at most o.batch, or all tasks); results come in order with index = first_index + position.
    virtual void solve(Forward& fwd, std::vector<Item> items, size_t first_index, const SolveOptions& o,
                       const ResultFn& on_result) const = 0;

    // ---- presentation (no terminal codes: cli/render.cpp draws by grid_style) ----
    virtual Json draft_json(const DraftGrid& g) const = 0;
    virtual std::string answer_text(const SolveOutcome& r, bool* header_done) const = 0;  // --quiet, input's format
    virtual Json result_json(const SolveOutcome& r) const = 0;  // --format json: "answer" and the kind's fields
    virtual ListingLine listing(const SolveOutcome& r) const;
    virtual std::vector<NamedGrid> final_grids(const SolveOutcome&) const { return {}; }  // shown for the answer
    virtual std::string note(const SolveOutcome&) const { return ""; }  // a line for stderr before the result
    virtual std::unique_ptr<Submission> submission() const { return nullptr; }  // none: no competition format

    // ---- checking a proposed answer ----
    virtual std::optional<AnswerCheck> verify_answer(std::string_view puzzle, std::string_view answer) const {
        (void)puzzle, (void)answer;
        return std::nullopt;  // this kind has no checker without the expected output
    }
    virtual std::string answer_help() const { return ""; }     // the answer's format, for the verify tool
    virtual Json answer_fields_schema() const { return Json::object(); }  // AnswerCheck::fields, as JSON Schema

    // ---- MCP ----
    virtual ToolSpec mcp_tool() const = 0;
    virtual int mcp_batch() const { return 1; }
    virtual ToolReply mcp_reply(const std::vector<std::unique_ptr<SolveOutcome>>& results,
                                const ReplyOptions& o) const = 0;

    // ---- evaluation ----
    virtual std::unique_ptr<EvalTally> eval_tally(const EvalSetup& setup) const = 0;

private:
    DomainInfo info_;
};

// The kinds solved one puzzle per model row through views (Sudoku, mazes): reader, solver and the single-result
// MCP reply from the kind's own types. Reader::next(Puzzle&) streams the input; solve_batch is the kind's solver.
template <typename Puzzle, typename Reader, typename Result,
          std::vector<Result> (*solve_batch)(Forward&, std::vector<Puzzle>, size_t, const SolveOptions&)>
class PuzzleDomain : public Domain {
public:
    using Domain::Domain;
    std::unique_ptr<ItemReader> reader(PuzzleInput& in, const ReadOptions&) const override {
        return std::make_unique<ItemsOf<Puzzle, Reader>>(in.stream(), in.name());
    }
    void solve(Forward& fwd, std::vector<Item> items, size_t first_index, const SolveOptions& o,
               const ResultFn& on_result) const override {
        for (auto& r : solve_batch(fwd, items_as<Puzzle>(items), first_index, o))
            on_result(std::make_unique<Result>(std::move(r)));
    }
    ToolReply mcp_reply(const std::vector<std::unique_ptr<SolveOutcome>>& results,
                        const ReplyOptions& o) const final {
        return reply(static_cast<const Result&>(*results.at(0)), o);
    }

protected:
    static const Result& as(const SolveOutcome& r) { return static_cast<const Result&>(r); }
    virtual ToolReply reply(const Result& r, const ReplyOptions& o) const = 0;  // the tool's answer for one puzzle
};

// ---- the registry (puzzles/registry.cpp) ------------------------------------------------------------------------
const std::vector<const Domain*>& domains();       // every kind, in the order help texts list them
const Domain* find_domain(std::string_view name);  // nullptr when no kind has that name
const Domain& domain_named(std::string_view name); // throws Error naming the kinds there are
std::string domain_names(std::string_view sep = ", ");  // "sudoku, maze, arc"

// The kind an input text most surely is (Domain::detect); nullptr when the text is blank.
const Domain* detect_domain(std::string_view text);

// Throws Error (with a hint) unless the model fits the kind: Config::domain equal or empty (official
// checkpoints) and Domain::model_mismatch empty.
void check_model_domain(const Config& c, const Domain& d, const std::string& model_label);

// The side of a square grid of n cells (900 -> 30), or 0 when n is not a positive square.
int square_side(long long n);

}  // namespace trm
