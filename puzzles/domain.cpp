#include "puzzles/domain.hpp"

#include <cmath>

#include "core/names.hpp"
#include <cstdint>

namespace trm {

namespace {
constexpr NameTable<DomainKind, 3> kDomainNames{{{DomainKind::Sudoku, "sudoku"}, {DomainKind::Maze, "maze"},
                                                 {DomainKind::Arc, "arc"}}};
}

const char* domain_name(DomainKind d) { return name_of(kDomainNames, d); }

bool domain_from_name(std::string_view s, DomainKind* out) { return from_name(kDomainNames, s, out); }

int square_side(long long n) {
    if (n <= 0) return 0;
    const auto r = (long long)std::llround(std::sqrt(double(n)));
    return r * r == n ? int(r) : 0;
}

std::vector<DomainKind> all_domains() { return {DomainKind::Sudoku, DomainKind::Maze, DomainKind::Arc}; }

bool detect_domain(std::string_view text, DomainKind* out) {
    // gzip (magic 1f 8b): only ARC JSON is read inflated (PuzzleInput::read_all), as datasets/arc/*.json.gz ship
    if (text.size() >= 2 && uint8_t(text[0]) == 0x1f && uint8_t(text[1]) == 0x8b) { *out = DomainKind::Arc; return true; }
    size_t i = 0;
    // skip blank space and '#' comment lines that are not maze rows (a maze row is mostly '#')
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t')) i++;
    if (i == text.size()) return false;
    if (text[i] == '{' || text[i] == '[') { *out = DomainKind::Arc; return true; }
    bool has_s = false, has_g = false, has_wall_run = false;
    size_t limit = std::min(text.size(), size_t(1) << 16);
    int run = 0;
    for (size_t k = i; k < limit; k++) {
        char c = text[k];
        if (c == 'S') has_s = true;
        if (c == 'G') has_g = true;
        run = (c == '#') ? run + 1 : 0;
        if (run >= 3) has_wall_run = true;
    }
    if (has_s && has_g && has_wall_run) { *out = DomainKind::Maze; return true; }
    *out = DomainKind::Sudoku;
    return true;
}

}  // namespace trm
