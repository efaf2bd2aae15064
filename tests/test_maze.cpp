// Maze domain: parsing (text, CSV, every error message), tokens with padding and cropping, BFS, verification,
// generation, dihedral transforms. Golden files live in tests/data/maze/; TRM_UPDATE_GOLDEN=1 rewrites the
// *.expected files that are produced by code (good, small, gen), never errors/verify.expected (hand-written).
#include <doctest/doctest.h>

#include "tests/test_util.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <tuple>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "datasets/maze_gen.hpp"
#include "datasets/sources.hpp"
#include "puzzles/grid_transform.hpp"
#include "puzzles/maze.hpp"

using namespace trm;

namespace {

std::string data_path(const std::string& name) { return std::string(TRM_SOURCE_DIR) + "/tests/data/maze/" + name; }

// Reads tests/data/maze/<file> naming it `file` in messages, so expected messages do not depend on the checkout.
std::vector<Maze> read_data(const std::string& file, const std::string& shown) {
    std::ifstream in(data_path(file), std::ios::binary);
    REQUIRE_MESSAGE(in.is_open(), "missing test data " << file);
    MazeReader reader(in, shown);
    std::vector<Maze> out;
    Maze m;
    while (reader.next(m)) out.push_back(m);
    return out;
}

void check_golden(const std::string& name, const std::string& actual) {
    std::string path = data_path(name);
    if (std::getenv("TRM_UPDATE_GOLDEN")) {
        write_file_atomic(path, actual);
        MESSAGE("rewrote " << path);
        return;
    }
    std::string expected = read_file_text(path);
    CHECK_MESSAGE(actual == expected, name << " differs; actual output:\n" << actual);
}

std::string grid_text(const std::vector<char>& g, int rows, int cols) {
    Maze m;
    m.rows = rows;
    m.cols = cols;
    m.cells = g;
    return maze_to_text(m, false, '.');
}

// Everything the parser and solver say about one maze, open cells shown as '.'.
std::string dump(const Maze& m) {
    std::string s = m.where + " " + std::to_string(m.rows) + "x" + std::to_string(m.cols) + "\n";
    s += grid_text(m.cells, m.rows, m.cols);
    if (!m.answer.empty()) {
        s += "given answer: " + describe(verify_maze(m, m.answer)) + "\n";
        s += grid_text(m.answer, m.rows, m.cols);
    }
    std::vector<char> sol = maze_solve(m);
    if (sol.empty()) {
        s += "bfs: unsolvable\n";
    } else {
        s += "bfs: " + std::to_string(maze_shortest_path(m).size()) + " cells\n";
        s += grid_text(sol, m.rows, m.cols);
    }
    return s + "\n";
}

Maze maze_from(const std::string& text) {
    auto v = parse_mazes(text, "x.txt");
    REQUIRE(v.size() == 1);
    return v[0];
}

using trm::test::error_of;

}  // namespace

TEST_CASE("maze token map follows the official charset '# SGo'") {
    CHECK(maze_token_map() == std::vector<std::string>{"<pad>", "#", " ", "S", "G", "o"});
    CHECK(kMazeVocab == 6);
    CHECK(maze_grid_side(900) == 30);
    CHECK(maze_grid_side(100) == 10);
    CHECK(error_of([] { maze_grid_side(899); }) == "sequence length 899 is not a square maze grid");
}

TEST_CASE("text mazes parse as in the golden file") {
    auto mazes = read_data("good.txt", "good.txt");
    REQUIRE(mazes.size() == 6);
    std::string out;
    for (auto& m : mazes) out += dump(m);
    check_golden("good.expected", out);
    // '.' and ' ' are the same open cell; 'o' input cells are open in the maze and kept as its answer.
    CHECK(mazes[1].cells == maze_from("#####\n#S  #\n### #\n#G  #\n#####\n").cells);
    CHECK(mazes[3].answer.size() == mazes[3].cells.size());
    CHECK(std::count(mazes[3].cells.begin(), mazes[3].cells.end(), 'o') == 0);
    CHECK(std::count(mazes[3].answer.begin(), mazes[3].answer.end(), 'o') == 13);
    CHECK(mazes[2].rows == 4);  // the full-width row of spaces belongs to the maze
    // all-open first rows belong to the maze when the next row has their width; other space lines separate
    auto top = parse_mazes("  \n\n     \n     \nS # G\n     \n   \n#SG\n", "open.txt");
    REQUIRE(top.size() == 2);
    CHECK(top[0].where == "open.txt:3");
    CHECK(top[0].rows == 4);
    CHECK(top[1].where == "open.txt:8");
    CHECK(maze_shortest_path(top[0]).size() == 7);  // around the wall through row 2
}

TEST_CASE("Maze-Hard CSV parses as in the golden file") {
    auto mazes = read_data("small.csv", "small.csv");
    REQUIRE(mazes.size() == 3);
    std::string out;
    for (auto& m : mazes) out += dump(m);
    check_golden("small.expected", out);
    CHECK(mazes[0].where == "small.csv:2");
    CHECK(mazes[1].where == "small.csv:4");
    CHECK(mazes[1].answer.empty());
}

TEST_CASE("every bad input gives its exact error message") {
    std::istringstream list(read_file_text(data_path("errors.expected")));
    std::string line;
    int cases = 0;
    while (std::getline(list, line)) {
        if (line.empty() || line[0] == '#') continue;
        auto tab = line.find('\t');
        REQUIRE(tab != std::string::npos);
        std::string file = line.substr(0, tab), expected = line.substr(tab + 1);
        CAPTURE(file);
        CHECK(error_of([&] { read_data("bad/" + file, file); }) == expected);
        cases++;
    }
    CHECK(cases == 17);

    SUBCASE("lines over 1 MB are refused") {
        std::string text = "#S#\n#G#\n\n" + std::string(kMazeMaxLineBytes + 1, '#') + "\n";
        CHECK(error_of([&] { parse_mazes(text, "long.txt"); }) == "long.txt:4: line is longer than 1048576 bytes");
        std::string ok = std::string(kMazeMaxLineBytes - 2, '#') + "SG\n";
        CHECK(parse_mazes(ok, "wide.txt")[0].cols == int(kMazeMaxLineBytes));
    }
    SUBCASE("a CSV header without a question column") {
        CHECK(error_of([] { parse_mazes("source,q,a\nx,y,z\n", "h.csv", MazeFormat::Csv); }) ==
              "h.csv:1: CSV header has no 'question' column");
    }
    SUBCASE("missing files") {
        CHECK(error_of([] { MazeReader r("/nonexistent/m.txt"); }) == "/nonexistent/m.txt: cannot open: No such file or directory");
        CHECK(error_of([] { MazeReader r(std::string(TRM_SOURCE_DIR) + "/tests"); }).ends_with(": is a directory, expected a maze file"));
    }
}

TEST_CASE("streaming reader: many mazes, text and CSV writers round trip") {
    MazeGenOptions o;
    o.rows = 9;
    o.cols = 9;
    o.min_path = 9;
    std::string text, csv = maze_csv_header();
    std::vector<Maze> made;
    for (uint64_t seed = 0; seed < 300; seed++) {
        made.push_back(generate_maze(o, seed));
        text += "; seed " + std::to_string(seed) + "\n" + maze_to_text(made.back(), true, seed % 2 ? '.' : ' ') + "\n";
        csv += maze_to_csv_line(made.back(), seed == 5 ? "a \"quoted\", source" : "gen");
    }
    std::istringstream text_in(text), csv_in(csv);
    MazeReader tr(text_in, "t.txt"), cr(csv_in, "c.csv");
    Maze a, b;
    for (auto& m : made) {
        REQUIRE(tr.next(a));
        REQUIRE(cr.next(b));
        CHECK(a.cells == m.cells);
        CHECK(a.answer == m.answer);
        CHECK(b.cells == m.cells);
        CHECK(b.answer == m.answer);
    }
    CHECK_FALSE(tr.next(a));
    CHECK_FALSE(cr.next(b));
    CHECK(maze_to_csv_line(made[0], "s").ends_with(fmt::format(",{}\n", maze_shortest_path(made[0]).size())));
}

TEST_CASE("encode pads with walls, decode crops back (hand-computed 2x3 in a 3x4 grid)") {
    Maze m = maze_from("S#G\nooo\n");
    std::vector<int32_t> q = {3, 1, 4, 1,
                              2, 2, 2, 1,
                              1, 1, 1, 1};
    std::vector<int32_t> a = {3, 1, 4, 1,
                              5, 5, 5, 1,
                              1, 1, 1, 1};
    CHECK(encode_maze(m, 3, 4) == q);
    CHECK(encode_maze_answer(m, 3, 4) == a);
    CHECK(decode_maze(a, 3, 4, m) == std::vector<char>{'S', '#', 'G', 'o', 'o', 'o'});
    CHECK(verify_maze(m, decode_maze(a, 3, 4, m)).verdict == MazeVerdict::Optimal);
    // exact fit, and the pad token decoded as '?' is reported by the verifier
    CHECK(encode_maze(m, 2, 3) == std::vector<int32_t>{3, 1, 4, 2, 2, 2});
    std::vector<int32_t> bad = a;
    bad[5] = kMazePad;
    auto c = verify_maze(m, decode_maze(bad, 3, 4, m));
    CHECK(describe(c) == "broken: cell r2c2 holds unknown token '?'");

    Maze big = maze_from("S#\n  \n  \nG#\n");
    CHECK(error_of([&] { encode_maze(big, 3, 4); }) == "x.txt:1: maze is 4x2, larger than the model's 3x4 grid");
    CHECK(error_of([&] { encode_maze_answer(big, 4, 4); }) == "x.txt:1: maze has no answer to encode");

    // a 30x30 maze in the official Maze-Hard grid: 900 tokens, round trip through decode
    Maze g = generate_maze(MazeGenOptions{}, 3);
    auto t = encode_maze_answer(g, kMazeHardSize, kMazeHardSize);
    CHECK(t.size() == 900);
    CHECK(decode_maze(t, 30, 30, g) == g.answer);
    // a 7x9 maze padded into 30x30: everything outside the maze is wall
    MazeGenOptions small;
    small.rows = 7;
    small.cols = 9;
    small.min_path = 5;
    Maze s = generate_maze(small, 1);
    auto ts = encode_maze(s, 30, 30);
    int walls_outside = 0;
    for (int r = 0; r < 30; r++)
        for (int cc = 0; cc < 30; cc++)
            if (r >= 7 || cc >= 9) walls_outside += ts[r * 30 + cc] == kMazeWall;
    CHECK(walls_outside == 900 - 63);
    CHECK(decode_maze(encode_maze_answer(s, 30, 30), 30, 30, s) == s.answer);
}

TEST_CASE("a closed frame is stripped for the model and put back around the answer") {
    Maze framed = maze_from("#####\n#S  #\n## G#\n#####\n");
    REQUIRE(maze_has_frame(framed));
    Maze in = maze_without_frame(framed);
    CHECK(in.rows == 2);
    CHECK(in.cols == 3);
    CHECK(in.cells == std::vector<char>{'S', ' ', ' ', '#', ' ', 'G'});
    CHECK(in.where == framed.where);
    const std::vector<char> inner_path = {'S', 'o', 'o', '#', ' ', 'G'};
    const std::vector<char> back = cells_with_frame(inner_path, framed);
    CHECK(std::string(back.begin(), back.end()) == "######Soo### G######");
    CHECK(verify_maze(framed, back).verdict == MazeVerdict::Optimal);
    // an opening in the frame (S on the border), a frameless maze, and a too-small one keep every cell
    CHECK_FALSE(maze_has_frame(maze_from("#S###\n#   #\n###G#\n")));
    CHECK_FALSE(maze_has_frame(maze_from("S  \n# G\n")));
    CHECK_FALSE(maze_has_frame(maze_from("SG\n")));
    // with an answer, both sides are cropped
    Maze withpath = maze_from("#####\n#Soo#\n###G#\n#####\n");
    REQUIRE(maze_has_frame(withpath));
    CHECK(maze_without_frame(withpath).answer == std::vector<char>{'S', 'o', 'o', '#', '#', 'G'});
}

TEST_CASE("BFS shortest path") {
    Maze m = maze_from("#######\n#S    #\n# ### #\n# #   #\n# # ###\n#    G#\n#######\n");
    auto p = maze_shortest_path(m);
    REQUIRE(p.size() == 9);  // cells, S and G included
    CHECK(p.front() == maze_start(m));
    CHECK(p.back() == maze_goal(m));
    for (size_t i = 1; i < p.size(); i++) {
        int d = std::abs(p[i] - p[i - 1]);
        CHECK((d == 1 || d == m.cols));
        CHECK(m.cells[p[i]] != '#');
    }
    CHECK(maze_shortest_path(maze_from("S#G\n")).empty());
    CHECK(maze_solve(maze_from("S#G\n")).empty());
    CHECK(maze_shortest_path(maze_from("SG\n")).size() == 2);
}

TEST_CASE("verification: optimal, longer and each broken case (golden pairs)") {
    auto v = read_data("verify.txt", "verify.txt");
    REQUIRE(v.size() % 2 == 0);
    std::string out;
    for (size_t i = 0; i < v.size(); i += 2) {
        const Maze& q = v[i];
        const Maze& a = v[i + 1];
        out += q.where + ": " + describe(verify_maze(q, a.answer.empty() ? a.cells : a.answer)) + "\n";
    }
    CHECK(out == read_file_text(data_path("verify.expected")));
    CHECK(std::string(maze_verdict_name(MazeVerdict::Longer)) == "valid but longer");

    Maze m = maze_from("#####\n#S  #\n#   #\n#  G#\n#####\n");
    std::vector<char> a = maze_solve(m);
    a[maze_goal(m)] = ' ';
    CHECK(describe(verify_maze(m, a)) == "broken: walls or S/G changed at r4c4");
    a = maze_solve(m);
    a[maze_start(m)] = 'o';
    CHECK(describe(verify_maze(m, a)) == "broken: walls or S/G changed at r2c2");
}

// The training stream's path-length floor: --min-path-ratio scales it with each maze's side (Maze-Hard's 110 cells
// at 30x30 is 3.6667 x side), the default 1.5 x side draws shorter ones.
TEST_CASE("training mazes: the shortest-path floor follows --min-path-ratio at each side") {
    constexpr int kGrid = 30, kCells = kGrid * kGrid;
    auto path_cells = [&](MazeGenSource& src, uint64_t index) {
        std::vector<int32_t> tokens(kCells), labels(kCells);
        int32_t id = -1;
        src.example(index, tokens.data(), labels.data(), &id);
        CHECK(id == 0);
        // labels differ from the input exactly on the path's cells between S and G
        int n = 2;
        for (int k = 0; k < kCells; k++) n += labels[k] != tokens[k];
        return n;
    };
    MazeGenSource hard(24, 24, 0, 3.6667, kGrid, 5), plain(24, 24, 0, 1.5, kGrid, 5);
    int plain_short = 0;
    for (uint64_t i = 0; i < 40; i++) {
        CAPTURE(i);
        CHECK(path_cells(hard, i) >= 88);  // floor(24 x 3.6667)
        const int p = path_cells(plain, i);
        CHECK(p >= 36);
        plain_short += p < 88;
    }
    CHECK(plain_short > 20);  // the default draws mostly shorter paths: the option changes the stream
    MazeGenSource mixed(20, 30, 0, 3.6667, kGrid, 6);
    int at_least_110 = 0;
    for (uint64_t i = 0; i < 40; i++) {
        const int p = path_cells(mixed, i);
        CHECK(p >= 73);  // the smallest side, 20
        at_least_110 += p >= 110;
    }
    CHECK(at_least_110 > 0);
    CHECK_THROWS_WITH_AS(MazeGenSource(20, 30, 0, 0.0, kGrid, 1), doctest::Contains("minimum path ratio 0 must be positive"), Error);
    CHECK_THROWS_WITH_AS(MazeGenSource(20, 30, 0, 20.0, kGrid, 1), doctest::Contains("shortest paths of 600 cells; they have at most 449"), Error);
}

TEST_CASE("generation: deterministic per seed, long solvable paths, golden output") {
    MazeGenOptions o;  // 30x30, min_path 110
    for (uint64_t seed = 0; seed < 100; seed++) {
        Maze m = generate_maze(o, seed);
        CAPTURE(seed);
        REQUIRE(m.rows == 30);
        REQUIRE(m.cols == 30);
        CHECK(std::count(m.cells.begin(), m.cells.end(), 'S') == 1);
        CHECK(std::count(m.cells.begin(), m.cells.end(), 'G') == 1);
        auto c = verify_maze(m, m.answer);
        CHECK(c.verdict == MazeVerdict::Optimal);
        CHECK(c.shortest_cells >= 110);
        CHECK(generate_maze(o, seed).cells == m.cells);
        CHECK(generate_maze(o, seed + 1).cells != m.cells);
        // the text form reads back as the same maze
        CHECK(maze_from(maze_to_text(m)).cells == m.cells);
    }
    for (auto [r, c, mp] : {std::tuple{5, 5, 9}, {6, 9, 12}, {31, 17, 60}, {8, 40, 80}}) {
        MazeGenOptions s;
        s.rows = r;
        s.cols = c;
        s.min_path = mp;
        for (uint64_t seed = 0; seed < 20; seed++) {
            Maze m = generate_maze(s, seed);
            CHECK(int(maze_shortest_path(m).size()) >= mp);
            CHECK(m.rows == r);
        }
    }

    MazeGenOptions g;
    g.rows = 11;
    g.cols = 13;
    g.min_path = 20;
    std::string out = maze_to_text(generate_maze(g, 42), true, '.') + "\n" +
                      maze_to_text(generate_maze(MazeGenOptions{}, 7), true, '.');
    check_golden("gen.expected", out);
}

TEST_CASE("generation refuses impossible requests instead of looping") {
    MazeGenOptions o;
    o.rows = 5;
    o.cols = 5;
    o.min_path = 100;
    CHECK(error_of([&] { generate_maze(o, 1); }) ==
          "min_path 100 is unreachable for a 5x5 maze: its shortest paths have at most 17 cells");
    o.min_path = 15;
    o.loop_fraction = 1.0;  // every inner wall open: no shortest path is longer than 9 cells
    CHECK(error_of([&] { generate_maze(o, 1); }) ==
          "no 5x5 maze with a shortest path of at least 15 cells in 200 attempts (loop_fraction 1); lower min_path "
          "or loop_fraction");
    o.rows = 4;
    CHECK(error_of([&] { generate_maze(o, 1); }) == "maze size 4x5 is too small: rows and cols must be at least 5");
    o.rows = 5;
    o.loop_fraction = 1.5;
    CHECK(error_of([&] { generate_maze(o, 1); }) == "loop_fraction 1.5 is not in [0, 1]");
    CHECK(maze_gen_max_path(30, 30) == 449);
}

TEST_CASE("generation speed, 30x30, min_path 110") {
    MazeGenOptions o;
    for (uint64_t seed = 0; seed < 50; seed++) generate_maze(o, seed);  // warm up
    const int n = 2000;
    auto t0 = std::chrono::steady_clock::now();
    size_t total = 0;
    for (int i = 0; i < n; i++) total += generate_maze(o, 1000 + i).cells.size();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    MESSAGE("generate_maze 30x30 min_path 110 loop_fraction " << o.loop_fraction << ": " << int(n / s) << " mazes/s");
    CHECK(total == size_t(n) * 900);
    CHECK(n / s > 200);  // far below the measured rate; catches pathological slowdowns only
}

TEST_CASE("dihedral transforms match the official numbering (hand-computed 2x3)") {
    const std::vector<int> x = {1, 2, 3,
                                4, 5, 6};
    const std::vector<std::vector<int>> want = {
        {1, 2, 3, 4, 5, 6},  // 0 identity
        {3, 6, 2, 5, 1, 4},  // 1 np.rot90(x): [[3,6],[2,5],[1,4]]
        {6, 5, 4, 3, 2, 1},  // 2 rot180
        {4, 1, 5, 2, 6, 3},  // 3 np.rot90(x, 3): [[4,1],[5,2],[6,3]]
        {3, 2, 1, 6, 5, 4},  // 4 np.fliplr
        {4, 5, 6, 1, 2, 3},  // 5 np.flipud
        {1, 4, 2, 5, 3, 6},  // 6 x.T: [[1,4],[2,5],[3,6]]
        {6, 3, 5, 2, 4, 1},  // 7 np.fliplr(np.rot90(x)): [[6,3],[5,2],[4,1]]
    };
    for (int t = 0; t < kDihedralCount; t++) {
        CAPTURE(t);
        CHECK(dihedral_transform(x, 2, 3, t) == want[t]);
        int r, c;
        dihedral_shape(t, 2, 3, &r, &c);
        CHECK(r == (dihedral_swaps_shape(t) ? 3 : 2));
        CHECK(inverse_dihedral_transform(want[t], r, c, t) == x);
    }
    CHECK(error_of([&] { dihedral_transform(x, 2, 3, 8); }) == "dihedral transform id 8 is not in 0..7");

    // round trip on a 4x7 char grid, and each id matches its inverse's table entry
    std::vector<char> g(28);
    for (int i = 0; i < 28; i++) g[i] = char('a' + i % 26);
    g[27] = 'Z';
    for (int t = 0; t < kDihedralCount; t++) {
        int r, c;
        dihedral_shape(t, 4, 7, &r, &c);
        auto y = dihedral_transform(g, 4, 7, t);
        CHECK(inverse_dihedral_transform(y, r, c, t) == g);
        CHECK(dihedral_transform(y, r, c, kDihedralInverse[t]) == g);
    }
}

TEST_CASE("transformed mazes keep their shortest path and verify") {
    MazeGenOptions o;
    o.rows = 12;
    o.cols = 19;
    o.min_path = 30;
    for (uint64_t seed = 0; seed < 10; seed++) {
        Maze m = generate_maze(o, seed);
        int len = int(maze_shortest_path(m).size());
        for (int t = 0; t < kDihedralCount; t++) {
            Maze tm = transform_maze(m, t);
            CHECK(int(maze_shortest_path(tm).size()) == len);
            auto c = verify_maze(tm, tm.answer);
            CHECK(c.verdict == MazeVerdict::Optimal);
            CHECK(c.path_cells == len);
            CHECK(transform_maze(tm, kDihedralInverse[t]).cells == m.cells);
        }
    }
}
