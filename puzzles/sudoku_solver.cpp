#include "puzzles/sudoku_solver.hpp"

#include <algorithm>

#include <bit>
#include <chrono>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace trm {

namespace {

// Candidate mask of a cell: bit d-1 set while digit d is still possible. A cell is decided when one bit is
// left; it is "placed" (its digit removed from its 20 peers) when the propagation queue pops it.
constexpr uint16_t kAllDigits = 0x1FF;

struct Tables {
    uint8_t unit[27][9];  // rows 0..8, columns 9..17, boxes 18..26; cells in row-major order
    uint8_t peer[81][20]; // the other cells of the cell's row, column and box
    uint32_t units_of[81];  // bit u set for the cell's row, column and box
    uint64_t peer_bits[81][2];  // the peers as a bit set: bit c of word c / 64
};

constexpr Tables make_tables() {
    Tables t{};
    for (int u = 0; u < 27; u++)
        for (int k = 0; k < 9; k++) {
            int c = 0;
            if (u < 9) c = u * 9 + k;
            else if (u < 18) c = k * 9 + (u - 9);
            else c = ((u - 18) / 3 * 3 + k / 3) * 9 + ((u - 18) % 3) * 3 + k % 3;
            t.unit[u][k] = uint8_t(c);
        }
    for (int c = 0; c < 81; c++) {
        t.units_of[c] = (1u << (c / 9)) | (1u << (9 + c % 9)) | (1u << (18 + c / 27 * 3 + c % 9 / 3));
        int n = 0;
        for (int o = 0; o < 81; o++) {
            if (o == c) continue;
            bool same_row = o / 9 == c / 9, same_col = o % 9 == c % 9;
            bool same_box = o / 27 == c / 27 && (o % 9) / 3 == (c % 9) / 3;
            if (same_row || same_col || same_box) {
                t.peer[c][n++] = uint8_t(o);
                t.peer_bits[c][o / 64] |= uint64_t(1) << (o % 64);
            }
        }
    }
    return t;
}

constexpr Tables kTables = make_tables();

struct Board {
    uint16_t cand[81];
    int placed;         // cells popped from the queue
    uint64_t open[2];   // cells not yet placed, bit c of word c / 64
};

struct Search {
    int limit = 1;
    int found = 0;
    SudokuGrid first{};
    int64_t guesses = 0;
    Rng* rng = nullptr;
    uint8_t queue[81];
    int head = 0, tail = 0;
    uint32_t dirty = 0;  // units whose cells lost candidates since the last hidden-single pass

    // Places queued cells and hidden singles until nothing more follows. False on a contradiction: a cell with
    // no candidate, or a digit with no place in some unit.
    bool propagate(Board& b) {
        for (;;) {
            while (head < tail) {
                int c = queue[head++];
                uint16_t bit = b.cand[c];
                b.placed++;
                b.open[c / 64] &= ~(uint64_t(1) << (c % 64));
                const uint8_t* peers = kTables.peer[c];
                for (int k = 0; k < 20; k++) {
                    uint16_t m = b.cand[peers[k]];
                    if (m & bit) {
                        m ^= bit;
                        b.cand[peers[k]] = m;
                        dirty |= kTables.units_of[peers[k]];
                        if (m == 0) return false;
                        if ((m & (m - 1)) == 0) queue[tail++] = peers[k];
                    }
                }
            }
            if (b.placed == 81) return true;
            // Hidden singles. A cell found here may clash with one queued earlier in this pass; the queue
            // drain above then empties one of them and reports the contradiction.
            uint32_t todo = dirty;
            dirty = 0;
            for (; todo; todo &= todo - 1) {
                int u = std::countr_zero(todo);
                const uint8_t* cells = kTables.unit[u];
                uint16_t once = 0, twice = 0, decided = 0;
                for (int k = 0; k < 9; k++) {
                    uint16_t m = b.cand[cells[k]];
                    twice |= once & m;
                    once |= m;
                    if ((m & (m - 1)) == 0) decided |= m;
                }
                if (once != kAllDigits) return false;
                uint16_t hidden = once & ~twice & ~decided;
                while (hidden) {
                    uint16_t bit = hidden & uint16_t(-hidden);
                    hidden ^= bit;
                    int k = 0;
                    while (k < 9 && !(b.cand[cells[k]] & bit)) k++;
                    if (k == 9) return false;                     // its one cell took another hidden digit
                    if (b.cand[cells[k]] == bit) continue;        // decided meanwhile in this pass
                    b.cand[cells[k]] = bit;
                    dirty |= kTables.units_of[cells[k]];
                    queue[tail++] = cells[k];
                }
            }
            if (head == tail) return true;
        }
    }

    // Branches on an open cell with the fewest candidates, ties going to the one with the most open peers
    // (its guess constrains most; this halves the guesses on forum_hardest). Returns once `limit` solutions
    // are found or the subtree is exhausted.
    void branch(Board& b) {
        int best = -1, best_n = 10, best_score = -1;
        for (int w = 0; w < 2; w++)
            for (uint64_t todo = b.open[w]; todo; todo &= todo - 1) {
                int c = w * 64 + std::countr_zero(todo);
                int n = std::popcount(unsigned(b.cand[c]));
                if (n > best_n) continue;
                int score = std::popcount(b.open[0] & kTables.peer_bits[c][0]) +
                            std::popcount(b.open[1] & kTables.peer_bits[c][1]);
                if (n < best_n || score > best_score) {
                    best = c;
                    best_n = n;
                    best_score = score;
                }
            }
        uint16_t bits = b.cand[best];
        while (bits) {
            uint16_t bit = bits & uint16_t(-bits);
            if (rng) {
                int pick = int(rng->below(uint64_t(std::popcount(unsigned(bits)))));
                for (uint16_t rest = bits; pick >= 0; pick--, rest &= rest - 1) bit = rest & uint16_t(-rest);
            }
            bits ^= bit;
            guesses++;
            if (bits == 0) {  // the last alternative reuses this board
                try_digit(b, best, bit);
                return;
            }
            Board next = b;
            try_digit(next, best, bit);
            if (found >= limit) return;
        }
    }

    void try_digit(Board& b, int cell, uint16_t bit) {
        b.cand[cell] = bit;
        head = 0;
        tail = 0;
        dirty = kTables.units_of[cell];
        queue[tail++] = uint8_t(cell);
        if (!propagate(b)) return;
        if (b.placed == 81) {
            if (found++ == 0)
                for (int c = 0; c < 81; c++) first[c] = uint8_t(std::countr_zero(unsigned(b.cand[c])) + 1);
            return;
        }
        branch(b);
    }
};

}  // namespace

int solve_sudoku(const SudokuGrid& cells, SudokuGrid* solution, int limit, SudokuSolveStats* stats, Rng* rng) {
    TRM_CHECK(limit >= 1);
    Search s;
    s.dirty = (1u << 27) - 1;
    s.limit = limit;
    s.rng = rng;
    Board b;
    b.placed = 0;
    b.open[0] = ~uint64_t(0);
    b.open[1] = (uint64_t(1) << (81 - 64)) - 1;
    for (int c = 0; c < 81; c++) {
        TRM_CHECK(cells[c] <= 9);
        if (cells[c]) {
            b.cand[c] = uint16_t(1u << (cells[c] - 1));
            s.queue[s.tail++] = uint8_t(c);
        } else {
            b.cand[c] = kAllDigits;
        }
    }
    if (s.propagate(b)) {
        if (b.placed == 81) {
            s.found = 1;
            for (int c = 0; c < 81; c++) s.first[c] = uint8_t(std::countr_zero(unsigned(b.cand[c])) + 1);
        } else {
            s.branch(b);
        }
    }
    if (stats) stats->guesses += s.guesses;
    if (s.found && solution) *solution = s.first;
    return s.found;
}

int count_sudoku_solutions(const SudokuGrid& cells, int limit) { return solve_sudoku(cells, nullptr, limit); }

double sudoku_solver_bench(const std::vector<SudokuPuzzle>& puzzles, double seconds) {
    if (puzzles.empty()) fail("sudoku bench: no puzzles");
    using Clock = std::chrono::steady_clock;
    SudokuGrid answer{};
    for (const auto& p : puzzles) {  // warm-up, checked
        if (solve_sudoku(p.cells, &answer) != 1) fail("{}: sudoku bench: the solver found no solution", p.where);
        SudokuVerdict v = verify_sudoku(p, answer);
        if (!v.solved) fail("{}: sudoku bench: the solver's answer fails: {}", p.where, v.summary());
    }
    uint64_t solved = 0, sink = 0;
    auto start = Clock::now();
    double elapsed = 0;
    for (size_t i = 0;; i = i + 1 == puzzles.size() ? 0 : i + 1) {
        sink += uint64_t(solve_sudoku(puzzles[i].cells, &answer));
        sink += answer[80];
        solved++;
        elapsed = std::chrono::duration<double>(Clock::now() - start).count();
        if (elapsed >= seconds && (i + 1 == puzzles.size() || elapsed >= 2 * seconds)) break;
    }
    TRM_CHECK(sink > 0);
    return double(solved) / elapsed;
}

std::string sudoku_diagnosis(const SudokuGrid& cells) {
    if (std::all_of(cells.begin(), cells.end(), [](uint8_t v) { return v == 0; }))
        return "is blank: every full grid is a solution";
    switch (count_sudoku_solutions(cells, 2)) {
        case 0: return "has no solution";
        case 1: return "";
        default: return "has several solutions";
    }
}

}  // namespace trm
