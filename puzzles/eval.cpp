#include "puzzles/eval.hpp"

#include <chrono>
#include <fmt/format.h>

#include "core/error.hpp"
#include "puzzles/present.hpp"

namespace trm {

std::string eval_percent(double x) { return fmt::format("{:.1f}%", 100 * x); }
std::string eval_ci(const Interval& i) { return fmt::format("95% CI {:.1f}-{:.1f}%", 100 * i.lo, 100 * i.hi); }

// ---- views ----------------------------------------------------------------------------------------------------

void ViewTally::add(const SolveOutcome& r, bool ok) {
    if (right.size() < size_t(r.views_budget)) right.resize(size_t(r.views_budget));
    if (ok) right[size_t(r.view - 1)]++;
    views_used += r.views_used;
    steps_first += r.views.empty() ? r.steps : r.views[0].steps;
    steps_all += r.total_steps();
}

std::vector<int64_t> ViewTally::cumulative() const {
    std::vector<int64_t> c(right.size());
    int64_t k = 0;
    for (size_t i = 0; i < right.size(); i++) c[i] = k += right[i];
    return c;
}

double ViewTally::extra_steps() const {
    return steps_first ? double(steps_all - steps_first) / double(steps_first) : 0.0;
}

// The text lines of a ViewTally: the curve at 1, 2, 4, 8, ... and N views, views used and the extra compute.
static void view_lines(const ViewTally& v, int64_t n, const char* what, std::vector<std::string>& lines) {
    if (v.right.size() <= 1) return;
    const auto c = v.cumulative();
    std::string curve;
    for (size_t k = 1; k <= c.size(); k = k * 2 > c.size() && k < c.size() ? c.size() : k * 2)
        curve += fmt::format("{}{}: {:.1f}%", curve.empty() ? "" : "  ", k, 100.0 * double(c[k - 1]) / double(n));
    lines.push_back(fmt::format("  by views        {}  ({} by the number of views allowed)", curve, what));
    lines.push_back(fmt::format("  views used      {:>6.2f}  per puzzle on average (of {})",
                                double(v.views_used) / double(n), v.right.size()));
    lines.push_back(fmt::format("  extra compute   {:>+5.1f}%  model steps over the first view's ({} vs {})",
                                100 * v.extra_steps(), v.steps_all, v.steps_first));
}

static void view_json(const ViewTally& v, int64_t n, Json& j) {
    Json curve = Json::array();
    for (auto k : v.cumulative()) curve.push_back(double(k) / double(n));
    j["views"] = v.right.size();
    j["accuracy_by_views"] = curve;
    j["mean_views_used"] = double(v.views_used) / double(n);
    j["steps_first_view"] = v.steps_first;
    j["steps_all_views"] = v.steps_all;
    j["extra_steps"] = v.extra_steps();
}

// ---- kinds scored per puzzle ----------------------------------------------------------------------------------

void PuzzleTally::add(const SolveOutcome& r) {
    const bool ok = score(r);
    n_++;
    steps_ += r.steps;
    halt_ok_ += (r.q_halt > setup_.halt_threshold) == ok;
    views_.add(r, ok);
}

EvalReport PuzzleTally::report(double secs, double) const {
    const Domain& d = *setup_.domain;
    const int64_t n = n_;
    if (n == 0) fail("{}: no {} found", setup_.source, d.noun(1));
    const double per_s = secs > 0 ? double(n) / secs : 0.0;
    EvalReport rep;
    rep.json = Json{{"domain", d.name()}, {"model", setup_.model_path}, {"source", setup_.source},
                    {"halt", setup_.halt}, {"n", n}};
    metric_json(rep.json);
    rep.json["mean_steps"] = double(steps_) / double(n);
    rep.json["max_steps"] = setup_.max_steps();
    rep.json["halt_accuracy"] = double(halt_ok_) / double(n);
    rep.json["halt_threshold"] = setup_.halt_threshold;
    rep.json["seconds"] = secs;
    rep.json[d.noun(2) + "_per_s"] = per_s;
    view_json(views_, n, rep.json);

    auto& l = rep.lines;
    l.push_back(fmt::format("{} eval: {} {} ({}) · model {} · halt {}", d.name(), n, d.noun(int(n)), setup_.source,
                            setup_.model_path, setup_.halt));
    metric_lines(l);
    l.push_back(fmt::format("  mean steps      {:>6.2f}  (of {})", double(steps_) / double(n), setup_.max_steps()));
    l.push_back(fmt::format("  halting head    {:>6}  ((q_halt > {:g}) == {}, at the halting step)",
                            eval_percent(double(halt_ok_) / double(n)), setup_.halt_threshold, right_means()));
    view_lines(views_, n, views_measure(), l);
    l.push_back(fmt::format("  throughput      {:>6.1f}  {}/s ({:.2f} s solving, {:.3f} s per {})", per_s, d.noun(2),
                            secs, secs / double(n), d.noun(1)));
    return rep;
}

// ---- the loop -------------------------------------------------------------------------------------------------

EvalReport evaluate(const Model& model, ItemReader& items, const EvalSetup& setup, const EvalOptions& o) {
    const Domain& d = *setup.domain;
    const auto t0 = std::chrono::steady_clock::now();
    std::unique_ptr<EvalTally> tally = d.eval_tally(setup);
    std::unique_ptr<Forward> fwd;
    double secs = 0;
    int64_t taken = 0;
    size_t index = 0;
    const size_t batch = d.has_tasks() ? SIZE_MAX : size_t(std::max(1, setup.solve.batch));
    while (true) {
        std::vector<Item> b;
        Item it;
        // tasks are read whole: every one is admitted (and counted) even past the limit
        while (b.size() < batch && (o.limit <= 0 || taken < o.limit || d.has_tasks()) && items.next(it)) {
            d.label(it);
            if (!tally->admit(it) || (o.limit > 0 && taken >= o.limit)) continue;
            b.push_back(std::move(it));
            taken++;
        }
        if (b.empty()) break;
        const size_t n = b.size();
        if (!fwd) fwd = std::make_unique<Forward>(model, d.forward_rows(b, setup.solve));
        d.solve(*fwd, std::move(b), index, setup.solve, [&](std::unique_ptr<SolveOutcome> r) {
            secs += r->seconds;
            tally->add(*r);
            if (o.on_progress) o.on_progress(tally->count());
        });
        index += n;
    }
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return tally->report(secs, total);
}

}  // namespace trm
