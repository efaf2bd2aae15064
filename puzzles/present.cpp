#include "puzzles/present.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace trm {

std::string short_check(const std::string& s, size_t max) {
    if (s.size() <= max) return s;
    size_t parts = 1, keep_end = std::string::npos, kept = 0;
    for (size_t i = s.find("; "); i != std::string::npos; i = s.find("; ", i + 2)) {
        parts++;
        if (i <= max && i > 0) keep_end = i, kept++;
    }
    if (keep_end == std::string::npos) return s.substr(0, max) + "...";
    return fmt::format("{}; ... ({} more)", s.substr(0, keep_end), parts - kept);
}

std::string percent(double p) { return fmt::format("{:.1f}%", 100 * p); }

std::string plural(int n, const char* one, const char* many) { return fmt::format("{} {}", n, n == 1 ? one : many); }

std::string steps_text(int n) { return plural(n, "step", "steps"); }

Json grid_rows_json(const DraftGrid& g, CellJson cells) {
    Json rows = Json::array();
    for (int r = 0; r < g.rows; r++) {
        auto b = g.cells.begin() + long(r) * g.cols, e = b + g.cols;
        if (cells == CellJson::Chars) rows.push_back(std::string(b, e));
        else rows.push_back(std::vector<int>(b, e));
    }
    return rows;
}

std::string text_arg(const Json& arg, const std::string& name) {
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

// ---- solve results --------------------------------------------------------------------------------------------

const char* stopped_by(const SolveOutcome& r, HaltMode halt) {
    if (r.trace.empty()) return "max_steps";
    const TraceStep& last = r.trace.back();
    if (halt == HaltMode::Model && last.model_halts) return "model";
    if (halt == HaltMode::Verified && last.verified) return "verified";
    return "max_steps";
}

static std::string stopped_text(const std::string& by) {
    return by == "model" ? "the halting head stopped it" : by == "verified" ? "stopped at the first verified draft"
                                                                            : "step limit reached";
}

static Json trace_json(const Domain& d, const std::vector<TraceStep>& trace, TraceDetail detail) {
    Json steps = Json::array();
    for (const auto& t : trace) {
        if (t.cycle >= 0) continue;
        Json s{{"step", t.step},           {"view", t.view}, {"changed", t.changed}, {"halt_probability", sigmoid(t.q_halt)},
               {"model_halts", t.model_halts}, {"stopped", t.stopped}, {"verified", t.verified},
               {"check", short_check(t.check, 120)}};
        if (detail == TraceDetail::Drafts) s["draft"] = d.draft_json(t.draft);
        steps.push_back(std::move(s));
    }
    return steps;
}

std::string trace_text(const SolveOutcome& r) {
    const std::vector<TraceStep>& trace = r.trace;
    std::string s = "Trace, one line per supervision step (draft: cells changed; critique: halt confidence and check):\n";
    for (size_t i = 0; i < trace.size(); i++) {
        const TraceStep& t = trace[i];
        if (i > 0 && trace[i - 1].view != t.view && size_t(t.view) <= r.views.size())
            s += fmt::format("  critique: {} -> view {}/{}: {}\n", r.views[size_t(trace[i - 1].view - 1)].critique,
                             t.view, r.views_budget, r.views[size_t(t.view - 1)].name);
        if (t.cycle >= 0) continue;
        s += fmt::format("  step {}: {} changed{}; halt {} -> {}; {}\n", t.step, plural(t.changed, "cell", "cells"),
                         t.step == 1 ? " from the input" : "", percent(sigmoid(t.q_halt)),
                         t.stopped ? "stop" : "continue", short_check(t.check, 120));
    }
    return s;
}

std::string run_fields(Json& out, const SolveOutcome& r, const Domain& d, const ReplyOptions& o) {
    const std::string by = stopped_by(r, o.halt);
    out["steps"] = r.steps;
    out["stopped_by"] = by;
    out["halt_probability"] = sigmoid(r.q_halt);
    if (o.trace != TraceDetail::Off) out["trace"] = trace_json(d, r.trace, o.trace);
    if (!r.views.empty()) {
        out["views_used"] = r.views_used;
        out["view"] = r.view;
        Json vs = Json::array();
        for (const auto& v : r.views)
            vs.push_back({{"name", v.name}, {"steps", v.steps}, {"verified", v.verified},
                          {"check", short_check(v.check, 120)}});
        out["views"] = std::move(vs);
    }
    std::string text = fmt::format("{} supervision step{} ({}; halt confidence {})", r.steps, r.steps == 1 ? "" : "s",
                                   stopped_text(by), percent(sigmoid(r.q_halt)));
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

// ---- schema parts ---------------------------------------------------------------------------------------------

Json int_schema(int lo, int hi, const char* description) {
    return Json{{"type", "integer"}, {"minimum", lo}, {"maximum", hi}, {"description", description}};
}

Json string_rows_schema() {
    return Json{{"anyOf",
                 {Json{{"type", "string"}, {"maxLength", 1 << 20}},
                  Json{{"type", "array"},
                       {"minItems", 1},
                       {"maxItems", 4096},
                       {"items", {{"type", "string"}, {"maxLength", 4096}}}}}}};
}

static Json trace_item_schema() {
    return Json{{"type", "object"},
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

void add_run_outputs(Json& props, Json& required) {
    props["steps"] = Json{{"type", "integer"}, {"description", "Supervision steps run."}};
    props["stopped_by"] = Json{{"type", "string"},
                               {"enum", {"model", "verified", "max_steps"}},
                               {"description", "What ended the run: the halting head, a verified draft, the limit."}};
    props["halt_probability"] = Json{{"type", "number"},
                                     {"minimum", 0},
                                     {"maximum", 1},
                                     {"description", "sigmoid(q_halt) at the last step: the model's confidence."}};
    props["trace"] = Json{{"type", "array"}, {"items", trace_item_schema()}};
    props["diagnosis"] = Json{{"type", "string"},
                              {"description", "What the exact checks say of the input before solving, when it is not "
                                              "a proper puzzle: 'has no solution', 'has several solutions', 'has no "
                                              "path from S to G'."}};
    for (const char* k : {"steps", "stopped_by", "halt_probability"}) required.push_back(k);
}


void add_view_outputs(Json& props, Json& required) {
    props["views_used"] = Json{{"type", "integer"}, {"description", "Views solved (1 = only the puzzle as given)."}};
    props["view"] = Json{{"type", "integer"}, {"description", "The view whose answer is reported: the verified one, "
                                                              "else view 1."}};
    props["views"] = Json{{"type", "array"},
                          {"items", {{"type", "object"},
                                     {"properties", {{"name", {{"type", "string"}}}, {"steps", {{"type", "integer"}}},
                                                     {"verified", {{"type", "boolean"}}},
                                                     {"check", {{"type", "string"}}}}},
                                     {"required", {"name", "steps", "verified", "check"}}}},
                          {"description", "Every view run, in order: its transform, steps and verdict."}};
    for (const char* k : {"views_used", "view", "views"}) required.push_back(k);
}

}  // namespace trm
