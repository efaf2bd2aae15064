// Sudoku domain: formats, tokens, verifier, solver, augmentation and generator against the golden files of
// tests/data/sudoku/ (tdoku-style `puzzle:expected` lines; '#' lines are comments).
#include <doctest/doctest.h>

#include "tests/test_util.hpp"

#include <fstream>
#include <functional>
#include <sstream>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "datasets/sudoku_gen.hpp"
#include "puzzles/sudoku.hpp"
#include "puzzles/sudoku_solver.hpp"

using namespace trm;

namespace {

const std::string kData = std::string(TRM_SOURCE_DIR) + "/tests/data/sudoku/";

std::vector<std::string> golden_lines(const std::string& name) {
    std::ifstream in(kData + name);
    REQUIRE_MESSAGE(in.good(), "cannot open ", kData + name);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);)
        if (!line.empty() && line[0] != '#') out.push_back(line);
    REQUIRE_MESSAGE(!out.empty(), name, " has no cases");
    return out;
}

// Splits on ':' into at most `parts` fields (the last keeps any further ':').
std::vector<std::string> split(const std::string& s, int parts) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (int(out.size()) + 1 < parts) {
        size_t colon = s.find(':', pos);
        if (colon == std::string::npos) break;
        out.push_back(s.substr(pos, colon - pos));
        pos = colon + 1;
    }
    out.push_back(s.substr(pos));
    REQUIRE_MESSAGE(int(out.size()) == parts, "malformed golden line: ", s);
    return out;
}

// 81 characters -> cells, independent of the parser under test.
SudokuGrid cells_of(const std::string& s) {
    REQUIRE_MESSAGE(s.size() == 81, "not 81 characters: ", s);
    SudokuGrid g{};
    for (int c = 0; c < 81; c++) g[c] = s[c] >= '1' && s[c] <= '9' ? uint8_t(s[c] - '0') : 0;
    return g;
}

using trm::test::error_of;

int clues(const SudokuGrid& g) {
    int n = 0;
    for (auto v : g) n += v != 0;
    return n;
}

const std::string kWiki = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79";
const std::string kWikiSolution = "534678912672195348198342567859761423426853791713924856961537284287419635345286179";

}  // namespace

TEST_CASE("sudoku: token map and encoding follow the official builder") {
    CHECK(sudoku_token_map() == std::vector<std::string>{"<pad>", ".", "1", "2", "3", "4", "5", "6", "7", "8", "9"});
    CHECK(int(sudoku_token_map().size()) == kSudokuVocab);
    for (const auto& line : golden_lines("encode.txt")) {
        auto f = split(line, 2);
        std::vector<int32_t> want;
        std::istringstream ts(f[1]);
        for (int32_t t; ts >> t;) want.push_back(t);
        SudokuGrid g = cells_of(f[0]);
        CHECK(sudoku_encode(g) == want);
        CHECK(sudoku_decode(want) == g);
    }
    SudokuPuzzle p;
    p.cells = cells_of(kWiki);
    CHECK(error_of([&] { sudoku_encode_labels(p); }).find("no solution") != std::string::npos);
    p.solution = cells_of(kWikiSolution);
    CHECK(sudoku_encode_labels(p) == sudoku_encode(*p.solution));
    CHECK(sudoku_encode_inputs(p) == sudoku_encode(p.cells));
}

TEST_CASE("sudoku: decode turns pad, blank and out-of-range tokens into blanks") {
    std::vector<int32_t> t(81, 5);
    t[0] = 0; t[1] = 1; t[2] = 11; t[3] = -3; t[4] = 2; t[5] = 10;
    SudokuGrid g = sudoku_decode(t);
    CHECK(g[0] == 0); CHECK(g[1] == 0); CHECK(g[2] == 0); CHECK(g[3] == 0);
    CHECK(g[4] == 1); CHECK(g[5] == 9); CHECK(g[6] == 4);
    CHECK(verify_sudoku(SudokuGrid{}, g).blank_cells == 4);
    CHECK(error_of([] { sudoku_decode(std::vector<int32_t>(80, 2)); }) == "sudoku: expected 81 tokens, found 80");
}

TEST_CASE("sudoku: every input format parses to the golden list") {
    auto want = golden_lines("parse_expected.txt");
    size_t k = 0;
    for (std::string name : {"formats_lines.txt", "formats_grid.txt", "formats_extreme.csv"}) {
        std::ifstream in(kData + name, std::ios::binary);
        REQUIRE(in.good());
        SudokuReader reader(in, name);
        SudokuPuzzle p;
        while (reader.next(p)) {
            REQUIRE_MESSAGE(k < want.size(), name, " gave more puzzles than parse_expected.txt lists");
            auto f = split(want[k++], 4);
            CAPTURE(p.where);
            CHECK(f[0] == name);
            CHECK(p.line == std::stoi(f[1]));
            CHECK(p.where == f[0] + ":" + f[1]);
            CHECK(sudoku_to_line(p.cells) == f[2]);
            CHECK(p.solution.has_value() == !f[3].empty());
            if (p.solution) CHECK(sudoku_to_line(*p.solution) == f[3]);
        }
    }
    CHECK(k == want.size());

    auto csv = read_sudoku_file(kData + "formats_extreme.csv");
    REQUIRE(csv.size() == 3);
    CHECK(csv[0].source == "puzzles4_forum_hardest_1905");
    CHECK(csv[0].rating == 17);
    CHECK(csv[1].source == "puzzles0_kaggle");
    CHECK(csv[2].rating == 124);
}

TEST_CASE("sudoku: bad input gives the exact one-line error") {
    for (const auto& message : golden_lines("bad/expected.txt")) {
        std::string name = message.substr(0, message.find(':'));
        std::ifstream in(kData + "bad/" + name, std::ios::binary);
        REQUIRE_MESSAGE(in.good(), "missing tests/data/sudoku/bad/", name);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        CHECK(error_of([&] { parse_sudoku_text(text, name); }) == message);
    }
}

TEST_CASE("sudoku: CRLF, byte order mark, missing final newline and inline comments") {
    std::string text = "\xEF\xBB\xBF" + kWiki + "\r\n\r\n" + kWiki + "  # the same again\r\n" + kWiki;
    auto ps = parse_sudoku_text(text, "crlf.txt");
    REQUIRE(ps.size() == 3);
    for (auto& p : ps) CHECK(sudoku_to_line(p.cells) == kWiki);
    CHECK(ps[2].where == "crlf.txt:4");
    CHECK(error_of([&] { parse_sudoku_text(kWiki + "\t\x01", "ctl.txt"); }) ==
          "ctl.txt:1: unexpected character byte 0x01 at column 83");
}

TEST_CASE("sudoku: the reader streams one puzzle at a time and bounds line length") {
    std::string text;
    const int n = 20000;
    for (int i = 0; i < n; i++) text += kWiki + "\n";
    std::istringstream in(text);
    SudokuReader reader(in, "many.txt");
    SudokuPuzzle p;
    int count = 0;
    while (reader.next(p)) count++;
    CHECK(count == n);
    CHECK(p.where == "many.txt:20000");
    CHECK_FALSE(reader.next(p));

    std::string big = kWiki + "\n# " + std::string(kSudokuMaxLineBytes, '.') + "\n";
    std::istringstream big_in(big);
    SudokuReader big_reader(big_in, "big.txt");
    CHECK(big_reader.next(p));
    CHECK(error_of([&] { big_reader.next(p); }) == "big.txt:2: line is longer than 1048576 bytes");

    CHECK(error_of([] { read_sudoku_file("/nonexistent/p.txt"); }).rfind("/nonexistent/p.txt: cannot open", 0) == 0);
    CHECK(error_of([] { read_sudoku_file(kData + "formats_lines.txt", 2); }) ==
          kData + "formats_lines.txt: more than 2 puzzles");
}

TEST_CASE("sudoku: writers read back") {
    SudokuPuzzle p;
    p.cells = cells_of(kWiki);
    CHECK(sudoku_to_line(p.cells) == kWiki);
    std::string grid = sudoku_to_grid_text(p.cells);
    CHECK(grid.substr(0, 44) == "5 3 . | . 7 . | . . .\n6 . . | 1 9 5 | . . .\n");
    CHECK(grid.find("------+-------+------\n") == 66);
    CHECK(parse_sudoku_text(grid + "\n" + grid, "grid.txt")[1].cells == p.cells);

    CHECK(error_of([&] { sudoku_to_csv_line(p); }).find("has no solution") != std::string::npos);
    p.solution = cells_of(kWikiSolution);
    CHECK(sudoku_to_csv_line(p) == "trm," + kWiki + "," + kWikiSolution + ",0");
    p.source = "gen";
    p.rating = 3;
    auto back = parse_sudoku_text(std::string(kSudokuCsvHeader) + "\n" + sudoku_to_csv_line(p) + "\n", "w.csv");
    REQUIRE(back.size() == 1);
    CHECK(back[0].cells == p.cells);
    CHECK(back[0].solution == p.solution);
    CHECK(back[0].source == "gen");
    CHECK(back[0].rating == 3);
    p.source = "a,b";
    CHECK(error_of([&] { sudoku_to_csv_line(p); }).find("holds ','") != std::string::npos);
}

TEST_CASE("sudoku: verifier reports clashes, blanks and changed givens (golden)") {
    for (const auto& line : golden_lines("verify.txt")) {
        auto f = split(line, 3);
        CAPTURE(line);
        SudokuVerdict v = verify_sudoku(cells_of(f[0]), cells_of(f[1]));
        CHECK(v.summary() == f[2]);
        CHECK(v.solved == (f[2] == "solved"));
    }
    SudokuPuzzle p;
    p.cells = cells_of(kWiki);
    p.solution = cells_of(kWikiSolution);
    SudokuGrid a = *p.solution;
    std::swap(a[7], a[8]);  // r1c8 <-> r1c9
    SudokuVerdict v = verify_sudoku(p, a);
    CHECK_FALSE(v.solved);
    CHECK(v.wrong_cells == 2);
    CHECK(v.clash_cells == 4);
    CHECK(v.changed_givens == 0);
    REQUIRE(v.clashes.size() == 2);
    CHECK(v.clashes[0].unit == "column 8");
    CHECK(v.clashes[0].digit == 2);
    CHECK(v.clashes[0].cells == std::vector<int>{7, 34});
    a = *p.solution;
    a[0] = 4;
    v = verify_sudoku(p, a);
    CHECK(v.changed_givens == 1);
    CHECK(v.wrong_cells == 1);
    CHECK(verify_sudoku(p.cells, a).wrong_cells == -1);
}

TEST_CASE("sudoku: solver matches the golden solutions, which verify") {
    for (const auto& line : golden_lines("solve_golden.txt")) {
        auto f = split(line, 2);
        SudokuPuzzle p;
        p.cells = cells_of(f[0]);
        SudokuGrid got{};
        SudokuSolveStats stats;
        REQUIRE(solve_sudoku(p.cells, &got, 1, &stats) == 1);
        CHECK(sudoku_to_line(got) == f[1]);
        CHECK(verify_sudoku(p, got).solved);
        CHECK(count_sudoku_solutions(p.cells) == 1);
        CHECK(stats.guesses >= 0);
    }
}

TEST_CASE("sudoku: every puzzle of the shared hard lists solves and verifies") {
    for (std::string name : {"forum_hardest_1106.txt", "top1465.txt"}) {
        std::string path = std::string(TRM_SOURCE_DIR) + "/datasets/sudoku/" + name;
        if (!std::ifstream(path).good()) {
            MESSAGE("skipped: ", path, " is not there");
            continue;
        }
        auto ps = read_sudoku_file(path);
        CHECK(ps.size() > 300);
        int failed = 0;
        for (auto& p : ps) {
            SudokuGrid got{};
            if (solve_sudoku(p.cells, &got) != 1 || !verify_sudoku(p, got).solved) failed++;
        }
        CHECK_MESSAGE(failed == 0, name);
    }
}

TEST_CASE("sudoku: solution counts of puzzles with 0, 1 and 2+ solutions (golden)") {
    int seen[3] = {};
    for (const auto& line : golden_lines("uniqueness.txt")) {
        auto f = split(line, 2);
        int want = std::stoi(f[1]);
        CAPTURE(line);
        CHECK(count_sudoku_solutions(cells_of(f[0])) == want);
        seen[want]++;
    }
    CHECK(seen[0] > 0);
    CHECK(seen[1] > 0);
    CHECK(seen[2] > 0);
    SudokuGrid clash{};
    clash[0] = clash[1] = 5;
    CHECK(count_sudoku_solutions(clash) == 0);
    CHECK(count_sudoku_solutions(SudokuGrid{}, 5) == 5);
    SudokuGrid out{};
    CHECK(solve_sudoku(cells_of(kWiki), &out, 2) == 1);
    CHECK(sudoku_to_line(out) == kWikiSolution);
}

TEST_CASE("sudoku: solver bench checks answers and reports a rate") {
    std::vector<SudokuPuzzle> ps;
    for (const auto& line : golden_lines("solve_golden.txt")) {
        SudokuPuzzle p;
        p.cells = cells_of(split(line, 2)[0]);
        p.where = "golden";
        ps.push_back(p);
    }
    CHECK(sudoku_solver_bench(ps, 0.05) > 100.0);
    SudokuPuzzle none;
    none.cells = cells_of(split(golden_lines("uniqueness.txt")[3], 2)[0]);  // a no-solution line
    none.where = "u.txt:4";
    REQUIRE(count_sudoku_solutions(none.cells) == 0);
    CHECK(error_of([&] { sudoku_solver_bench({none}, 0.01); }) == "u.txt:4: sudoku bench: the solver found no solution");
    CHECK(error_of([] { sudoku_solver_bench({}, 0.01); }) == "sudoku bench: no puzzles");
}

TEST_CASE("sudoku: augmentation matches the official shuffle_sudoku semantics") {
    // the official numpy code, written out: x = board.T if transpose; mapping[i] = row_perm[i//9]*9 + col_perm[i%9];
    // out = digit_map[x.flatten()[mapping]]
    auto official = [](const SudokuTransform& t, const SudokuGrid& board) {
        SudokuGrid x{}, out{};
        for (int r = 0; r < 9; r++)
            for (int c = 0; c < 9; c++) x[r * 9 + c] = t.transpose ? board[c * 9 + r] : board[r * 9 + c];
        for (int i = 0; i < 81; i++) out[i] = t.digit_map[x[t.row_perm[i / 9] * 9 + t.col_perm[i % 9]]];
        return out;
    };
    SudokuPuzzle base;
    base.cells = cells_of(kWiki);
    base.solution = cells_of(kWikiSolution);
    Rng rng(99);
    int transposed = 0;
    const int draws = 2000;
    for (int k = 0; k < draws; k++) {
        SudokuTransform t = random_sudoku_transform(rng);
        transposed += t.transpose;
        CHECK(t.digit_map[0] == 0);
        for (auto* perm : {&t.row_perm, &t.col_perm})
            for (int band = 0; band < 3; band++)  // each group of 3 stays inside one band
                for (int j = 1; j < 3; j++) CHECK((*perm)[band * 3 + j] / 3 == (*perm)[band * 3] / 3);
        SudokuGrid q = apply_sudoku_transform(t, base.cells), s = apply_sudoku_transform(t, *base.solution);
        CHECK(q == official(t, base.cells));
        CHECK(s == official(t, *base.solution));
        CHECK(verify_sudoku(q, s).solved);
        CHECK(clues(q) == clues(base.cells));
        SudokuTransform inv = invert_sudoku_transform(t);
        CHECK(apply_sudoku_transform(inv, q) == base.cells);
        CHECK(apply_sudoku_transform(inv, s) == *base.solution);
        CHECK(official(inv, s) == *base.solution);  // the inverse is again of the official form
        if (k < 20) {
            SudokuGrid solved{};
            CHECK(solve_sudoku(q, &solved, 2) == 1);
            CHECK(solved == s);
        }
    }
    CHECK(transposed > draws * 45 / 100);
    CHECK(transposed < draws * 55 / 100);
    CHECK(apply_sudoku_transform(identity_sudoku_transform(), base.cells) == base.cells);

    for (const auto& line : golden_lines("shuffle_golden.txt")) {
        auto f = split(line, 5);
        SudokuPuzzle p;
        p.cells = cells_of(f[1]);
        p.solution = cells_of(f[2]);
        Rng r(std::stoull(f[0]));
        shuffle_sudoku(p, r);
        CHECK(sudoku_to_line(p.cells) == f[3]);
        CHECK(sudoku_to_line(*p.solution) == f[4]);
    }
}

TEST_CASE("sudoku: difficulty names and grades (golden)") {
    for (auto d : all_sudoku_difficulties()) {
        SudokuDifficulty back{};
        CHECK(sudoku_difficulty_from_name(sudoku_difficulty_name(d), &back));
        CHECK(back == d);
    }
    SudokuDifficulty unused{};
    CHECK_FALSE(sudoku_difficulty_from_name("impossible", &unused));
    int seen[4] = {};
    for (const auto& line : golden_lines("grade.txt")) {
        auto f = split(line, 2);
        CAPTURE(line);
        SudokuDifficulty d = grade_sudoku(cells_of(f[0]));
        CHECK(sudoku_difficulty_name(d) == f[1]);
        seen[int(d)]++;
    }
    for (int s : seen) CHECK(s > 0);
    CHECK(grade_sudoku(cells_of(kWikiSolution)) == SudokuDifficulty::Easy);
    CHECK(grade_sudoku(SudokuGrid{}) == SudokuDifficulty::Extreme);  // several solutions
}

TEST_CASE("sudoku: logic deductions agree with the exact solver") {
    std::vector<SudokuGrid> grids;
    for (const auto& line : golden_lines("solve_golden.txt")) grids.push_back(cells_of(split(line, 2)[0]));
    for (const auto& line : golden_lines("grade.txt")) grids.push_back(cells_of(split(line, 2)[0]));
    for (auto d : all_sudoku_difficulties())
        for (auto& p : generate_sudoku(3, d, 5)) grids.push_back(p.cells);
    int deduced_count = 0;
    for (auto& g : grids) {
        SudokuGrid deduced{}, solved{};
        int level = sudoku_logic_level(g, 3, &deduced);
        if (level > 3) continue;
        deduced_count++;
        REQUIRE(solve_sudoku(g, &solved, 2) == 1);
        CHECK(deduced == solved);
    }
    CHECK(deduced_count >= 9);
    for (const auto& line : golden_lines("uniqueness.txt")) {  // 0 or 2+ solutions never deduce
        auto f = split(line, 2);
        if (f[1] != "1") CHECK(sudoku_logic_level(cells_of(f[0])) == 4);
    }
}

TEST_CASE("sudoku: generator is deterministic per seed (golden)") {
    auto lines = golden_lines("generate_golden.txt");
    size_t k = 0;
    for (auto d : all_sudoku_difficulties())
        for (uint64_t seed : {42ull, 7ull}) {
            auto ps = generate_sudoku(3, d, seed);
            for (int i = 0; i < 3; i++) {
                REQUIRE(k < lines.size());
                auto f = split(lines[k++], 5);
                CHECK(f[0] == sudoku_difficulty_name(d));
                CHECK(std::stoull(f[1]) == seed);
                CHECK(std::stoi(f[2]) == i);
                CHECK(sudoku_to_line(ps[i].cells) == f[3]);
                CHECK(sudoku_to_line(*ps[i].solution) == f[4]);
            }
            auto tail = generate_sudoku(2, d, seed, 1);  // chunks give the same puzzles
            CHECK(tail[0].cells == ps[1].cells);
            CHECK(tail[1].cells == ps[2].cells);
            CHECK(tail[1].where == ps[2].where);
        }
    CHECK(k == lines.size());
}

TEST_CASE("sudoku: generated puzzles are unique, in their clue range and graded as asked") {
    for (auto d : all_sudoku_difficulties()) {
        int n = d == SudokuDifficulty::Hard ? 10 : 25;
        auto ps = generate_sudoku(n, d, 2024);
        REQUIRE(int(ps.size()) == n);
        SudokuClueRange range = sudoku_clue_range(d);
        for (auto& p : ps) {
            CAPTURE(p.where);
            REQUIRE(p.solution.has_value());
            CHECK(count_sudoku_solutions(p.cells) == 1);
            CHECK(verify_sudoku(p.cells, *p.solution).solved);
            CHECK(sudoku_given_clash(p.cells).empty());
            CHECK(clues(p.cells) >= range.min);
            CHECK(clues(p.cells) <= range.max);
            CHECK(grade_sudoku(p.cells) == d);
            CHECK(p.source == std::string("trm-") + sudoku_difficulty_name(d));
            CHECK(p.rating >= 0);
        }
    }
}
