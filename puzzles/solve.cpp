#include "puzzles/solve.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "core/error.hpp"
#include "core/loss.hpp"
#include "core/names.hpp"
#include "core/session.hpp"
#include "puzzles/domain.hpp"

namespace trm {

// ---- names ----------------------------------------------------------------------------------------------------

constexpr NameTable<HaltMode, 3> kHaltModeNames{
    {{HaltMode::Model, "model"}, {HaltMode::Never, "never"}, {HaltMode::Verified, "verified"}}};
constexpr NameTable<TraceMode, 3> kTraceModeNames{
    {{TraceMode::Off, "off"}, {TraceMode::Steps, "steps"}, {TraceMode::Cycles, "cycles"}}};

const char* halt_mode_name(HaltMode h) { return name_of(kHaltModeNames, h); }
bool halt_mode_from_name(std::string_view s, HaltMode* out) { return from_name(kHaltModeNames, s, out); }
const char* trace_mode_name(TraceMode t) { return name_of(kTraceModeNames, t); }
bool trace_mode_from_name(std::string_view s, TraceMode* out) { return from_name(kTraceModeNames, s, out); }

int max_steps_for(int max_steps, HaltMode halt, const Config& c) {
    if (max_steps > 0) return max_steps;
    return halt == HaltMode::Verified ? std::max(c.halt_max_steps, kVerifiedMinSteps) : c.halt_max_steps;
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

int count_changed(const DraftGrid& prev, const DraftGrid& cur) {
    if (prev.rows != cur.rows || prev.cols != cur.cols) return int(cur.cells.size());
    int n = 0;
    for (size_t i = 0; i < cur.cells.size(); i++) n += prev.cells[i] != cur.cells[i];
    return n;
}

std::vector<uint8_t> changed_mask(const DraftGrid& prev, const DraftGrid& cur) {
    std::vector<uint8_t> m(cur.cells.size(), 1);
    if (prev.rows == cur.rows && prev.cols == cur.cols)
        for (size_t i = 0; i < cur.cells.size(); i++) m[i] = prev.cells[i] != cur.cells[i];
    return m;
}

Interval wilson95(int64_t k, int64_t n) {
    if (n <= 0) return {0, 1};
    const double z = 1.959963984540054, p = double(k) / double(n), nn = double(n);
    const double den = 1 + z * z / nn;
    const double centre = (p + z * z / (2 * nn)) / den;
    const double half = z * std::sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn)) / den;
    // exactly 0 and 1 at the ends (the formula gives 0.9999999999999998 there)
    return {k == 0 ? 0.0 : std::max(0.0, centre - half), k == n ? 1.0 : std::min(1.0, centre + half)};
}

int model_grid_side(const Config& c) {
    const int s = c.grid_side();
    if (s < 0) fail("model seq_len {} is not a square grid", c.seq_len);
    return s;
}

int SolveOutcome::total_steps() const {
    if (views.empty()) return steps;
    int n = 0;
    for (const auto& v : views) n += v.steps;
    return n;
}

// ---- the row engine -------------------------------------------------------------------------------------------

std::vector<RowRun> run_rows(Forward& fwd, const std::vector<int32_t>& tokens, const std::vector<int32_t>& ids, int B,
                             const SolveOptions& opt, const std::vector<uint8_t>& traced,
                             const std::vector<const DraftGrid*>& inputs, const RowChecker& check) {
    const Config& c = fwd.model->cfg();
    const int S = c.seq_len, V = c.vocab_size;
    TRM_CHECK(B <= fwd.max_batch);
    std::vector<RowRun> runs(static_cast<size_t>(B));
    std::vector<int32_t> tok(static_cast<size_t>(S));
    const int max_steps = max_steps_for(opt.max_steps, opt.halt, c);
    SessionOptions so;
    so.max_steps = max_steps;
    so.trace_cycles = opt.trace == TraceMode::Cycles;
    so.halt_threshold = opt.halt_threshold;
    int reported = 0;  // last step given to opt.on_step: the callback runs once per step, not once per row
    run_session(fwd, tokens.data(), ids.data(), B, so, [&](const StepInfo& in) -> bool {
        if (opt.on_step && in.cycle < 0 && in.step > reported) opt.on_step(reported = in.step, max_steps);
        RowRun& r = runs[size_t(in.row)];
        const bool trace = traced[size_t(in.row)] != 0;
        if (in.cycle >= 0 && !trace) return false;
        const bool need_check = trace || opt.halt == HaltMode::Verified;
        bool stop = in.cycle < 0 && (in.last || (opt.halt == HaltMode::Model && in.model_halts));
        if (!need_check && !stop) {
            r.steps = in.step;
            return false;
        }
        for (int s = 0; s < S; s++) tok[size_t(s)] = argmax(in.logits + size_t(s) * V, V);
        DraftGrid draft;
        bool ok = false;
        std::string chk;
        if (need_check) check(in.row, tok.data(), draft, ok, chk);
        if (in.cycle < 0 && opt.halt == HaltMode::Verified && ok) stop = true;
        if (trace) {
            TraceStep t;
            t.step = in.step;
            t.cycle = in.cycle;
            t.q_halt = in.q_halt;
            t.model_halts = in.model_halts;
            t.stopped = stop;
            t.verified = ok;
            t.check = std::move(chk);
            t.changed = count_changed(r.trace.empty() ? *inputs[size_t(in.row)] : r.trace.back().draft, draft);
            t.draft = std::move(draft);
            r.trace.push_back(std::move(t));
        }
        if (in.cycle < 0) {
            r.steps = in.step;
            r.q_halt = in.q_halt;
            if (stop) r.tokens = tok;
        }
        return stop;
    });
    for (auto& r : runs) TRM_CHECK(int(r.tokens.size()) == S);
    return runs;
}

namespace {

using Clock = std::chrono::steady_clock;

// Runs rows [0, B) through view 0 in one session, then the rows whose final answer is rejected through view 1,
// 2, ... (one session per view, rows that verified have left) until each verifies or spends views[row] views.
// Returns, per row, the run of every view it went through; trace entries carry their view (1-based).
std::vector<std::vector<RowRun>> run_views(Forward& fwd, int B, const std::vector<int>& views, const SolveOptions& opt,
                                           const std::vector<const DraftGrid*>& inputs, const ViewHooks& hooks,
                                           std::vector<std::vector<ViewRun>>& view_runs) {
    const auto& encode = hooks.encode;
    const auto& check = hooks.check;
    const auto& view_name = hooks.name;
    std::vector<std::vector<RowRun>> out(static_cast<size_t>(B));
    view_runs.assign(size_t(B), {});
    std::vector<int> pending(static_cast<size_t>(B));
    std::iota(pending.begin(), pending.end(), 0);
    const int S = fwd.model->cfg().seq_len;
    for (int v = 0; !pending.empty(); v++) {
        std::vector<int32_t> tokens, ids(pending.size(), 0);
        tokens.reserve(pending.size() * size_t(S));
        std::vector<const DraftGrid*> sub_inputs;
        for (int row : pending) {
            encode(row, v, tokens);
            sub_inputs.push_back(inputs[size_t(row)]);
        }
        std::vector<uint8_t> traced(pending.size(), opt.trace != TraceMode::Off);
        auto sub_check = [&](int b, const int32_t* tok, DraftGrid& draft, bool& ok, std::string& chk) {
            check(pending[size_t(b)], v, tok, draft, ok, chk, nullptr);
        };
        auto runs = run_rows(fwd, tokens, ids, int(pending.size()), opt, traced, sub_inputs, sub_check);
        std::vector<int> still;
        for (size_t b = 0; b < pending.size(); b++) {
            const int row = pending[b];
            RowRun& run = runs[b];
            for (auto& t : run.trace) t.view = v + 1;
            ViewRun vr;
            vr.name = view_name(row, v);
            vr.steps = run.steps;
            DraftGrid draft;
            check(row, v, run.tokens.data(), draft, vr.verified, vr.check, &vr.critique);
            out[size_t(row)].push_back(std::move(run));
            const bool ok = vr.verified;
            view_runs[size_t(row)].push_back(std::move(vr));
            if (!ok && v + 1 < views[size_t(row)]) still.push_back(row);
        }
        pending = std::move(still);
    }
    return out;
}

}  // namespace

std::vector<ViewAnswer> solve_through_views(Forward& fwd, const SolveOptions& opt, const std::vector<SolveOutcome*>& outs,
                                            const std::vector<int>& budget, size_t first_index, const ViewHooks& hooks) {
    const int B = int(outs.size());
    if (B == 0) return {};
    if (opt.views < 1) fail("views must be 1 or more, got {}", opt.views);
    const auto t0 = Clock::now();
    std::vector<const DraftGrid*> inputs(static_cast<size_t>(B));
    for (int b = 0; b < B; b++) inputs[size_t(b)] = &outs[size_t(b)]->input;
    std::vector<std::vector<ViewRun>> view_runs;
    auto runs = run_views(fwd, B, budget, opt, inputs, hooks, view_runs);
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count() / B;
    std::vector<ViewAnswer> answers(static_cast<size_t>(B));
    for (int b = 0; b < B; b++) {
        SolveOutcome& out = *outs[size_t(b)];
        auto& row_runs = runs[size_t(b)];
        auto& views = view_runs[size_t(b)];
        // the reported view: the last (the only one that can have verified), else the first
        const size_t k = views.back().verified ? views.size() - 1 : 0;
        out.index = first_index + size_t(b);
        out.steps = row_runs[k].steps;
        out.q_halt = row_runs[k].q_halt;
        out.seconds = secs;
        for (auto& r : row_runs)
            for (auto& t : r.trace) out.trace.push_back(std::move(t));
        out.views_used = int(views.size());
        out.view = int(k) + 1;
        out.views_budget = budget[size_t(b)];
        out.views = std::move(views);
        answers[size_t(b)] = ViewAnswer{int(k), std::move(row_runs[k].tokens)};
    }
    return answers;
}

}  // namespace trm
