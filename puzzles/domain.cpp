#include "puzzles/domain.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "puzzles/present.hpp"

namespace trm {

int Domain::forward_rows(const std::vector<Item>& items, const SolveOptions& o) const {
    int64_t rows = 0;
    for (const auto& it : items) rows += model_rows(it, o);
    return int(std::max<int64_t>(1, std::min<int64_t>(rows, o.batch)));
}

ListingLine Domain::listing(const SolveOutcome& r) const { return {r.where, short_check(r.check, 70)}; }

const Domain* find_domain(std::string_view name) {
    for (const Domain* d : domains())
        if (name == d->name()) return d;
    return nullptr;
}

std::string domain_names(std::string_view sep) {
    std::string s;
    for (const Domain* d : domains()) s += (s.empty() ? "" : std::string(sep)) + d->name();
    return s;
}

const Domain& domain_named(std::string_view name) {
    if (const Domain* d = find_domain(name)) return *d;
    fail("unknown puzzle kind '{}' ({})", name, domain_names());
}

const Domain* detect_domain(std::string_view text) {
    if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return nullptr;
    const Domain* best = nullptr;
    int best_score = 0;
    for (const Domain* d : domains()) {
        const int s = d->detect(text);
        if (s > best_score) best = d, best_score = s;
    }
    return best;
}

void check_model_domain(const Config& c, const Domain& d, const std::string& label) {
    const std::string want = d.name();
    const std::string hint =
        fmt::format("pass --model with a {} model, e.g. one made by `trm train {} -o {}.safetensors`", want, want, want);
    if (!c.domain.empty() && c.domain != want)
        throw Error(fmt::format("{}: this is a {} model, not a {} model", label, c.domain, want), hint);
    if (const std::string why = d.model_mismatch(c); !why.empty()) throw Error(fmt::format("{}: {}", label, why), hint);
}

int square_side(long long n) {
    if (n <= 0) return 0;
    const auto r = (long long)std::llround(std::sqrt(double(n)));
    return r * r == n ? int(r) : 0;
}

}  // namespace trm
