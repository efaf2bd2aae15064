#include "puzzles/arc_vote.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/file_io.hpp"

namespace trm {
namespace {

// official: q_halt_logits.to(torch.float64).sigmoid()
double sigmoid_q(float logit) {
    if (std::isnan(logit)) return 0.0;
    return 1.0 / (1.0 + std::exp(-double(logit)));
}

std::string input_key(std::string_view task_id, const ArcGrid& input) {
    std::string k(task_id);
    k += '\0';
    k += arc_grid_key(input);
    return k;
}

}  // namespace

void ArcVotes::add(const ArcGrid& grid, float q_halt_logit) {
    auto [it, fresh] = index.try_emplace(arc_grid_key(grid), groups.size());
    if (fresh) groups.push_back(ArcVoteGroup{grid, 0, 0.0});
    ArcVoteGroup& g = groups[it->second];
    g.count++;
    g.sum_q += sigmoid_q(q_halt_logit);
}

std::vector<ArcVoteGroup> ArcVotes::ranked() const {
    // official: sorted(p_map.items(), key=lambda kv: [count, mean_q], reverse=True), a stable sort
    std::vector<ArcVoteGroup> r = groups;
    std::stable_sort(r.begin(), r.end(), [](const ArcVoteGroup& a, const ArcVoteGroup& b) {
        if (a.count != b.count) return a.count > b.count;
        return a.mean_q() > b.mean_q();
    });
    return r;
}

std::vector<ArcGrid> arc_vote(const std::vector<ArcCandidate>& candidates, int top_k) {
    ArcVotes votes;
    for (const auto& c : candidates) votes.add(c.grid, c.q_halt_logit);
    std::vector<ArcGrid> out;
    for (auto& g : votes.ranked()) {
        if (int(out.size()) >= top_k) break;
        out.push_back(std::move(g.grid));
    }
    return out;
}

ArcCandidate arc_candidate(std::string_view identifier, const int32_t* pred_tokens, float q_halt_logit, int canvas) {
    ArcAug aug = parse_arc_aug_name(identifier).second;
    return ArcCandidate{arc_unaugment(decode_arc_grid(pred_tokens, canvas), aug), q_halt_logit};
}

void ArcVoteBook::add(std::string_view identifier, const int32_t* input_tokens, const int32_t* pred_tokens,
                      float q_halt_logit, int canvas) {
    auto [task_id, aug] = parse_arc_aug_name(identifier);
    ArcGrid input = arc_unaugment(decode_arc_grid(input_tokens, canvas), aug);
    ArcGrid pred = arc_unaugment(decode_arc_grid(pred_tokens, canvas), aug);
    by_input[input_key(task_id, input)].add(pred, q_halt_logit);
}

std::vector<ArcGrid> ArcVoteBook::attempts(const std::string& task_id, const ArcGrid& test_input, int top_k) const {
    std::vector<ArcGrid> out;
    auto it = by_input.find(input_key(task_id, test_input));
    if (it == by_input.end()) return out;
    for (auto& g : it->second.ranked()) {
        if (int(out.size()) >= top_k) break;
        out.push_back(std::move(g.grid));
    }
    return out;
}

bool arc_pass_at_k(const std::vector<ArcGrid>& ranked, const ArcGrid& expected, int k) {
    for (size_t i = 0; i < ranked.size() && int(i) < k; i++)
        if (ranked[i] == expected) return true;
    return false;
}

double arc_task_score(const ArcTask& task, const std::vector<std::vector<ArcGrid>>& ranked_per_test, int k) {
    if (ranked_per_test.size() != task.test.size())
        fail("task {}: {} ranked prediction lists for {} test inputs", task.id, ranked_per_test.size(), task.test.size());
    int passed = 0;
    for (size_t i = 0; i < task.test.size(); i++) {
        if (!task.test[i].output) fail("task {}: test pair {} has no expected output to score against", task.id, i);
        passed += arc_pass_at_k(ranked_per_test[i], *task.test[i].output, k);
    }
    return double(passed) / double(task.test.size());
}

std::string arc_submission_json(const ArcAttempts& attempts, int num_attempts) {
    if (num_attempts < 1) fail("a submission needs at least 1 attempt per test input, got {}", num_attempts);
    std::string s = "{";
    bool first_task = true;
    for (const auto& [id, per_test] : attempts) {
        if (!first_task) s += ',';
        first_task = false;
        s += nlohmann::json(id).dump() + ":[";
        for (size_t i = 0; i < per_test.size(); i++) {
            if (i) s += ',';
            s += '{';
            const auto& ranked = per_test[i];
            for (int a = 0; a < num_attempts; a++) {
                if (a) s += ',';
                std::string grid = ranked.empty() ? "[[0]]"
                                   : size_t(a) < ranked.size() ? arc_grid_json(ranked[size_t(a)])
                                                               : arc_grid_json(ranked[0]);
                s += fmt::format("\"attempt_{}\":{}", a + 1, grid);
            }
            s += '}';
        }
        s += ']';
    }
    return s + "}";
}

void write_arc_submission(const std::string& path, const ArcAttempts& attempts, int num_attempts) {
    write_file_atomic(path, arc_submission_json(attempts, num_attempts) + "\n");
}

}  // namespace trm
