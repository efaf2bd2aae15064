// Evaluation: a model's accuracy on a stream of puzzles, as a report the CLI prints (text lines or one JSON
// object). The loop is the same for every kind (read a batch, label it, solve it, tally it); what is counted is
// the kind's (Domain::eval_tally): exact answers and cells for Sudoku, optimal and valid paths for mazes, pass@k
// per task for ARC. Kinds scored per puzzle share PuzzleTally: steps, the halting head, accuracy by views and
// throughput.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "puzzles/domain.hpp"

namespace trm {

struct EvalSetup {
    const Domain* domain = nullptr;
    const Config* model = nullptr;  // the model evaluated
    std::string model_path;
    std::string source;             // the input file, or what generated the puzzles
    std::string solutions;          // tasks: the file of expected outputs, when apart from `source`
    std::string halt;               // the halting rule's name, as given
    SolveOptions solve;             // how each batch is solved
    float halt_threshold = 0;       // the logit above which the halting head says "halt"
    int max_steps() const { return max_steps_for(solve.max_steps, solve.halt, *model); }
};

struct EvalReport {
    std::vector<std::string> lines;  // the text report
    Json json;                       // the same as one object
};

class EvalTally {
public:
    virtual ~EvalTally() = default;
    // Before an item is solved: false leaves it out (ARC: a grid larger than the canvas); may throw Error.
    virtual bool admit(Item&) { return true; }
    virtual void add(const SolveOutcome& r) = 0;
    virtual int64_t count() const = 0;  // results tallied
    // seconds_solving: the results' own times; seconds_total: the whole evaluation, adaptation included.
    virtual EvalReport report(double seconds_solving, double seconds_total) const = 0;
};

// Accuracy by views allowed: right[k] = puzzles answered right through view k+1 (1-based views).
struct ViewTally {
    std::vector<int64_t> right;
    int64_t views_used = 0, steps_first = 0, steps_all = 0;
    void add(const SolveOutcome& r, bool ok);
    std::vector<int64_t> cumulative() const;  // accuracy with 1, 2, ..., N views allowed
    double extra_steps() const;               // model steps over the first view's, as a fraction
};

// The tally of kinds scored per puzzle; a kind adds its metrics in metric_lines / metric_json.
class PuzzleTally : public EvalTally {
public:
    explicit PuzzleTally(const EvalSetup& s) : setup_(s) {}
    void add(const SolveOutcome& r) final;
    int64_t count() const final { return n_; }
    EvalReport report(double seconds_solving, double seconds_total) const final;

protected:
    virtual bool score(const SolveOutcome& r) = 0;  // tallies the kind's metrics; true when the answer is right
    virtual void metric_lines(std::vector<std::string>& lines) const = 0;
    virtual void metric_json(Json& j) const = 0;
    virtual const char* right_means() const = 0;    // "exactly right", "optimal": what the halting head predicts
    virtual const char* views_measure() const = 0;  // "exact accuracy", "optimal paths"
    EvalSetup setup_;
    int64_t n_ = 0;

private:
    int64_t steps_ = 0, halt_ok_ = 0;
    ViewTally views_;
};

// PuzzleTally over a kind's own result type.
template <typename Result>
class TallyOf : public PuzzleTally {
public:
    using PuzzleTally::PuzzleTally;

protected:
    virtual bool score_result(const Result& r) = 0;  // as PuzzleTally::score

private:
    bool score(const SolveOutcome& r) final { return score_result(static_cast<const Result&>(r)); }
};

std::string eval_percent(double x);        // "97.7%"
std::string eval_ci(const Interval& i);    // "95% CI 95.3-98.9%"

struct EvalOptions {
    int64_t limit = 0;  // items at most (0 = all)
    std::function<void(int64_t results)> on_progress;  // after each result: results tallied so far
};

// Evaluates the model on the items of `items` (each labelled by the kind first) and returns the report. Throws
// Error when no item could be evaluated.
EvalReport evaluate(const Model& model, ItemReader& items, const EvalSetup& setup, const EvalOptions& o);

}  // namespace trm
