#include "datasets/sudoku_gen.hpp"

#include <algorithm>
#include <bit>
#include <numeric>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "puzzles/sudoku_solver.hpp"

namespace trm {

namespace {

struct Units {
    uint8_t cell[27][9];  // rows 0..8, columns 9..17, boxes 18..26; cells in row-major order
    uint8_t peer[81][20];
};

const Units& units() {
    static const Units u = [] {
        Units t{};
        for (int c = 0; c < 81; c++) {
            int r = c / 9, col = c % 9, b = r / 3 * 3 + col / 3, k = r % 3 * 3 + col % 3;
            t.cell[r][col] = t.cell[9 + col][r] = t.cell[18 + b][k] = uint8_t(c);
            int n = 0;
            for (int o = 0; o < 81; o++)
                if (o != c && (o / 9 == r || o % 9 == col || (o / 27 == c / 27 && o % 9 / 3 == col / 3)))
                    t.peer[c][n++] = uint8_t(o);
        }
        return t;
    }();
    return u;
}

bool single(uint16_t m) { return m && !(m & (m - 1)); }

// Human-style logic over candidate masks (bit d-1 = digit d possible). Each technique returns whether it
// changed anything; a contradiction sets `broken`.
struct Logic {
    uint16_t cand[81];
    bool placed[81] = {};
    bool queued[81] = {};  // in `singles`, waiting to be placed
    uint8_t singles[81];
    int n_singles = 0;
    int n_placed = 0;
    bool broken = false;

    explicit Logic(const SudokuGrid& g) {
        for (int c = 0; c < 81; c++) {
            TRM_CHECK(g[c] <= 9);
            cand[c] = g[c] ? uint16_t(1u << (g[c] - 1)) : uint16_t(0x1FF);
            if (g[c]) queue(c);
        }
    }

    void queue(int c) {
        if (queued[c]) return;
        queued[c] = true;
        singles[n_singles++] = uint8_t(c);
    }

    // Sets cand[c] to `m` (a subset of it); a cell left with one candidate is queued, with none breaks.
    bool restrict(int c, uint16_t m) {
        if (placed[c] || m == cand[c]) return false;
        cand[c] = m;
        if (!m) broken = true;
        else if (single(m)) queue(c);
        return true;
    }
    bool eliminate(int c, uint16_t bits) { return restrict(c, cand[c] & uint16_t(~bits)); }

    // Level 1: place every cell with one candidate, removing its digit from its peers, until none is left.
    bool naked_singles() {
        bool any = false;
        while (n_singles > 0 && !broken) {
            int c = singles[--n_singles];
            placed[c] = true;
            n_placed++;
            for (int p : units().peer[c]) {
                if (placed[p] && cand[p] == cand[c]) broken = true;
                eliminate(p, cand[c]);
            }
            any = true;
        }
        return any;
    }

    // Level 2: a digit with one place left in a unit goes there.
    bool hidden_singles() {
        bool any = false;
        for (int u = 0; u < 27 && !broken; u++) {
            uint16_t once = 0, twice = 0, done = 0;
            for (int c : units().cell[u]) {
                if (placed[c]) { done |= cand[c]; continue; }
                twice |= once & cand[c];
                once |= cand[c];
            }
            uint16_t missing = uint16_t(0x1FF & ~done);
            if ((once & missing) != missing) { broken = true; break; }
            for (uint16_t hidden = once & ~twice & missing; hidden; hidden &= hidden - 1) {
                uint16_t bit = hidden & uint16_t(-hidden);
                int at = -1;
                for (int c : units().cell[u]) if (!placed[c] && (cand[c] & bit)) at = c;
                if (at < 0) { broken = true; break; }  // its one cell took another hidden digit
                any |= restrict(at, bit);
            }
        }
        return any;
    }

    // Level 2: pointing (a box's digit confined to one line leaves the rest of that line) and claiming (a
    // line's digit confined to one box leaves the rest of that box).
    bool locked_candidates() {
        bool any = false;
        for (int d = 0; d < 9; d++) {
            uint16_t bit = uint16_t(1u << d);
            for (int u = 0; u < 27; u++) {
                int box = -1, row = -1, col = -1, n = 0;
                bool one_box = true, one_row = true, one_col = true;
                for (int c : units().cell[u]) {
                    if (placed[c] || !(cand[c] & bit)) continue;
                    int r = c / 9, cl = c % 9, b = r / 3 * 3 + cl / 3;
                    if (n++ == 0) { box = b; row = r; col = cl; }
                    one_box &= b == box; one_row &= r == row; one_col &= cl == col;
                }
                if (n < 2) continue;
                auto clear_outside = [&](int target, auto inside) {
                    for (int c : units().cell[target])
                        if (!inside(c)) any |= eliminate(c, bit);
                };
                if (u >= 18) {  // box: pointing
                    if (one_row) clear_outside(row, [&](int c) { return (c / 9 / 3 * 3 + c % 9 / 3) == box; });
                    if (one_col) clear_outside(9 + col, [&](int c) { return (c / 9 / 3 * 3 + c % 9 / 3) == box; });
                } else if (one_box) {  // line: claiming
                    clear_outside(18 + box, [&](int c) { return u < 9 ? c / 9 == row : c % 9 == col; });
                }
            }
        }
        return any;
    }

    // Level 3: naked and hidden pairs and triples.
    bool subsets() {
        bool any = false;
        for (int u = 0; u < 27 && !broken; u++) {
            int free_cells[9], nf = 0;
            for (int c : units().cell[u])
                if (!placed[c]) free_cells[nf++] = c;
            if (nf <= 2) continue;
            // naked: k cells whose candidates together are k digits leave those digits to them
            auto naked = [&](uint16_t digits, uint32_t cells) {
                for (int i = 0; i < nf; i++) if (!(cells >> i & 1)) any |= eliminate(free_cells[i], digits);
            };
            for (int i = 0; i < nf; i++)
                for (int j = i + 1; j < nf; j++) {
                    uint16_t m2 = cand[free_cells[i]] | cand[free_cells[j]];
                    if (std::popcount(unsigned(m2)) == 2) naked(m2, 1u << i | 1u << j);
                    for (int l = j + 1; l < nf; l++) {
                        uint16_t m3 = m2 | cand[free_cells[l]];
                        if (std::popcount(unsigned(m3)) == 3) naked(m3, 1u << i | 1u << j | 1u << l);
                    }
                }
            // hidden: k digits whose places together are k cells leave those cells to them
            int digits[9], nd = 0;
            uint16_t places[9] = {};  // per digit index, bit i = free_cells[i]
            for (int d = 0; d < 9; d++) {
                uint16_t p = 0;
                for (int i = 0; i < nf; i++) if (cand[free_cells[i]] >> d & 1) p |= uint16_t(1u << i);
                if (p) { places[nd] = p; digits[nd++] = d; }
            }
            auto hidden = [&](uint16_t keep, uint16_t cells) {
                for (int i = 0; i < nf; i++) if (cells >> i & 1) any |= eliminate(free_cells[i], uint16_t(~keep & 0x1FF));
            };
            for (int a = 0; a < nd; a++)
                for (int b = a + 1; b < nd; b++) {
                    uint16_t p2 = places[a] | places[b];
                    if (std::popcount(unsigned(p2)) == 2) hidden(uint16_t(1u << digits[a] | 1u << digits[b]), p2);
                    for (int e = b + 1; e < nd; e++) {
                        uint16_t p3 = p2 | places[e];
                        if (std::popcount(unsigned(p3)) == 3)
                            hidden(uint16_t(1u << digits[a] | 1u << digits[b] | 1u << digits[e]), p3);
                    }
                }
        }
        return any;
    }

    // Level 3: X-wing. A digit with the same two columns in two rows leaves those columns elsewhere (and
    // the transpose).
    bool x_wing() {
        bool any = false;
        for (int d = 0; d < 9; d++) {
            uint16_t bit = uint16_t(1u << d);
            for (int dir = 0; dir < 2; dir++) {  // 0: base rows, cover columns; 1: the transpose
                uint16_t where[9];
                for (int i = 0; i < 9; i++) {
                    where[i] = 0;
                    for (int j = 0; j < 9; j++) {
                        int c = units().cell[dir * 9 + i][j];
                        if (!placed[c] && (cand[c] & bit)) where[i] |= uint16_t(1u << j);
                    }
                }
                for (int a = 0; a < 9; a++) {
                    if (std::popcount(unsigned(where[a])) != 2) continue;
                    for (int b = a + 1; b < 9; b++) {
                        if (where[b] != where[a]) continue;
                        for (uint16_t m = where[a]; m; m &= m - 1) {
                            int j = std::countr_zero(unsigned(m));
                            for (int i = 0; i < 9; i++)
                                if (i != a && i != b) any |= eliminate(units().cell[(1 - dir) * 9 + j][i], bit);
                        }
                    }
                }
            }
        }
        return any;
    }
};

uint64_t mix_seed(uint64_t seed, uint64_t index) {  // splitmix64 of the pair
    uint64_t z = seed * 0x9e3779b97f4a7c15ull + index + 0x632be59bd9b4e019ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

}  // namespace

const char* sudoku_difficulty_name(SudokuDifficulty d) {
    switch (d) {
        case SudokuDifficulty::Easy: return "easy";
        case SudokuDifficulty::Medium: return "medium";
        case SudokuDifficulty::Hard: return "hard";
        case SudokuDifficulty::Extreme: return "extreme";
    }
    return "?";
}

bool sudoku_difficulty_from_name(std::string_view s, SudokuDifficulty* out) {
    for (auto d : all_sudoku_difficulties())
        if (s == sudoku_difficulty_name(d)) { *out = d; return true; }
    return false;
}

std::vector<SudokuDifficulty> all_sudoku_difficulties() {
    return {SudokuDifficulty::Easy, SudokuDifficulty::Medium, SudokuDifficulty::Hard, SudokuDifficulty::Extreme};
}

SudokuClueRange sudoku_clue_range(SudokuDifficulty d) {
    switch (d) {
        case SudokuDifficulty::Easy: return {36, 45};
        case SudokuDifficulty::Medium: return {27, 35};
        case SudokuDifficulty::Hard: return {24, 30};
        case SudokuDifficulty::Extreme: return {17, 25};
    }
    return {17, 81};
}

int sudoku_logic_level(const SudokuGrid& cells, int max_level, SudokuGrid* deduced) {
    TRM_CHECK(max_level >= 1 && max_level <= 3);
    Logic s(cells);
    int level = 1;
    for (;;) {
        s.naked_singles();
        if (s.broken) return 4;
        if (s.n_placed == 81) {
            if (deduced)
                for (int c = 0; c < 81; c++) (*deduced)[c] = uint8_t(std::countr_zero(unsigned(s.cand[c])) + 1);
            return level;
        }
        if (max_level >= 2 && (s.hidden_singles() || s.locked_candidates())) {
            level = std::max(level, 2);
        } else if (max_level >= 3 && (s.subsets() || s.x_wing())) {
            level = 3;
        } else {
            return 4;
        }
        if (s.broken) return 4;
    }
}

SudokuDifficulty grade_sudoku(const SudokuGrid& cells) {
    switch (sudoku_logic_level(cells, 3)) {
        case 1: return SudokuDifficulty::Easy;
        case 2: return SudokuDifficulty::Medium;
        case 3: return SudokuDifficulty::Hard;
        default: return SudokuDifficulty::Extreme;
    }
}

SudokuGrid random_sudoku_solution(Rng& rng) {
    SudokuGrid empty{}, full{};
    TRM_CHECK(solve_sudoku(empty, &full, 1, nullptr, &rng) == 1);
    return full;
}

namespace {

// Removes the clues of g (a copy of `full`) in `order`, keeping a removal only while the puzzle stays solvable
// by logic up to level `want` (1..3) or, with want 4, while its solution stays unique. Once at most `target`
// clues are left it stops as soon as the puzzle grades `want`. Returns the final puzzle's logic level.
int carve(const SudokuGrid& full, const std::array<uint8_t, 81>& order, int want, int target, SudokuGrid& g) {
    g = full;
    int clues = 81, level = 1;
    for (int c : order) {
        g[c] = 0;
        int lv = want == 4 ? (count_sudoku_solutions(g) == 1 ? 4 : 5) : sudoku_logic_level(g, want);
        if (lv > want) {
            g[c] = full[c];
            continue;
        }
        clues--;
        level = lv;
        if (clues > target) continue;
        if (want == 4) level = sudoku_logic_level(g, 3);
        if (level == want) return level;
    }
    return want == 4 ? sudoku_logic_level(g, 3) : level;
}

// Puts clues of `full` back into g in random order until the logic (up to level 3) solves it; then, while
// fewer than min_clues are given, adds more of those that keep that level. Returns the final level.
int refill(const SudokuGrid& full, SudokuGrid& g, int min_clues, Rng& rng) {
    std::array<uint8_t, 81> blanks;
    int n = 0, clues = 0;
    for (int c = 0; c < 81; c++)
        if (!g[c]) blanks[n++] = uint8_t(c);
        else clues++;
    rng.shuffle(blanks.begin(), blanks.begin() + n);
    int level = 4, i = 0;
    for (; i < n && level > 3; i++, clues++) {
        g[blanks[i]] = full[blanks[i]];
        level = sudoku_logic_level(g, 3);
    }
    for (; i < n && clues < min_clues && level <= 3; i++) {
        g[blanks[i]] = full[blanks[i]];
        if (sudoku_logic_level(g, 3) == level) clues++;
        else g[blanks[i]] = 0;
    }
    return level;
}

}  // namespace

SudokuPuzzle generate_sudoku_one(SudokuDifficulty d, Rng& rng) {
    const SudokuClueRange range = sudoku_clue_range(d);
    const int want = int(d) + 1;  // the logic level that grades d
    for (int attempt = 0; attempt < 100000; attempt++) {
        const SudokuGrid full = random_sudoku_solution(rng);
        std::array<uint8_t, 81> order;
        std::iota(order.begin(), order.end(), uint8_t(0));
        rng.shuffle(order.begin(), order.end());
        const int target = rng.range(range.min, range.max);
        SudokuGrid g;
        int level = 0;
        if (d == SudokuDifficulty::Hard) {
            // Level-3 puzzles are rare among carved ones; a minimal puzzle the logic cannot solve, given back
            // clues one by one until it can, usually ends just past that edge, at level 3.
            level = carve(full, order, 4, 0, g);
            if (level == 4) level = refill(full, g, range.min, rng);
        } else {
            level = carve(full, order, want, target, g);
        }
        int clues = 0;
        for (auto v : g) clues += v != 0;
        if (level != want || clues < range.min || clues > range.max) continue;
        SudokuPuzzle p;
        p.cells = g;
        p.solution = full;
        p.source = std::string("trm-") + sudoku_difficulty_name(d);
        SudokuSolveStats stats;
        TRM_CHECK(solve_sudoku(g, nullptr, 1, &stats) == 1);
        p.rating = int(std::min<int64_t>(stats.guesses, 1 << 30));
        return p;
    }
    fail("sudoku generator: no {} puzzle after 100000 attempts", sudoku_difficulty_name(d));
}

std::vector<SudokuPuzzle> generate_sudoku(int count, SudokuDifficulty d, uint64_t seed, uint64_t first_index) {
    TRM_CHECK(count >= 0);
    std::vector<SudokuPuzzle> out;
    out.reserve(size_t(count));
    for (int i = 0; i < count; i++) {
        uint64_t index = first_index + uint64_t(i);
        Rng rng(mix_seed(mix_seed(seed, uint64_t(d)), index));
        SudokuPuzzle p = generate_sudoku_one(d, rng);
        p.where = fmt::format("generated:{}:{}:{}", sudoku_difficulty_name(d), seed, index);
        p.line = int(index + 1);
        out.push_back(std::move(p));
    }
    return out;
}

}  // namespace trm
