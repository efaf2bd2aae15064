// Views (puzzles/solve.hpp "Views"): every Sudoku and maze view inverts exactly and keeps the puzzle's rules, views
// are deterministic per puzzle, the budget is respected, and an answer found through a later view maps back to the
// original's solution.
#include <doctest/doctest.h>

#include "tests/test_util.hpp"

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/error.hpp"
#include "core/model_io.hpp"
#include "core/trainer.hpp"
#include "core/weights.hpp"
#include "datasets/maze_gen.hpp"
#include "datasets/sudoku_gen.hpp"
#include "puzzles/grid_transform.hpp"
#include "puzzles/maze.hpp"
#include "puzzles/maze_domain.hpp"
#include "puzzles/solve.hpp"
#include "puzzles/sudoku_domain.hpp"
#include "puzzles/sudoku.hpp"
#include "puzzles/sudoku_solver.hpp"

using namespace trm;
using trm::test::error_of;
using trm::test::zero_model;

namespace {

SudokuPuzzle with_solution(SudokuGrid cells) {
    SudokuPuzzle p;
    p.cells = cells;
    SudokuGrid sol;
    REQUIRE(solve_sudoku(cells, &sol, 2) == 1);
    p.solution = sol;
    return p;
}

SudokuGrid grid_of(const std::string& line) {
    SudokuGrid g{};
    REQUIRE(line.size() == 81);
    for (int i = 0; i < 81; i++) g[size_t(i)] = line[size_t(i)] == '.' ? 0 : uint8_t(line[size_t(i)] - '0');
    return g;
}


const char* kHard = "8..........36......7..9.2...5...7.......457.....1...3...1....68..85...1..9....4..";

}  // namespace

TEST_CASE("every Sudoku view inverts exactly and maps a solution to the view's solution") {
    auto puzzles = generate_sudoku(6, SudokuDifficulty::Hard, 42, 0);
    puzzles.push_back(with_solution(grid_of(kHard)));
    for (const auto& p : puzzles) {
        auto views = sudoku_views(p.cells, 16);
        REQUIRE(views.size() == 16);
        CHECK(describe_sudoku_transform(views[0]) == "as given");
        CHECK(apply_sudoku_transform(views[0], p.cells) == p.cells);
        std::set<std::string> names;
        for (const auto& t : views) {
            const SudokuTransform inv = invert_sudoku_transform(t);
            const SudokuGrid vp = apply_sudoku_transform(t, p.cells), vs = apply_sudoku_transform(t, *p.solution);
            CHECK(apply_sudoku_transform(inv, vp) == p.cells);
            CHECK(apply_sudoku_transform(inv, vs) == *p.solution);
            CHECK(verify_sudoku(vp, vs).solved);  // the view's puzzle is solved by the mapped solution
            SudokuGrid unique;
            CHECK(solve_sudoku(vp, &unique, 2) == 1);
            CHECK(unique == vs);
            names.insert(describe_sudoku_transform(t));
        }
        CHECK(names.size() == 16);  // 16 different views
        // deterministic per puzzle: the same givens get the same views; a prefix of a larger budget
        auto again = sudoku_views(p.cells, 4);
        for (size_t k = 0; k < again.size(); k++) CHECK(again[k].source == views[k].source);
    }
    CHECK(describe_sudoku_transform(sudoku_views(puzzles[0].cells, 2)[1]) !=
          describe_sudoku_transform(sudoku_views(puzzles[1].cells, 2)[1]));
}

TEST_CASE("describe_sudoku_transform names transpose, permutations and digit cycles") {
    SudokuTransform t = identity_sudoku_transform();
    std::swap(t.digit_map[4], t.digit_map[7]);
    CHECK(describe_sudoku_transform(t) == "digits 4<->7");
    t.digit_map[1] = 2; t.digit_map[2] = 9; t.digit_map[9] = 1;
    CHECK(describe_sudoku_transform(t) == "digits 1->2->9->1 4<->7");
    t = identity_sudoku_transform();
    t.transpose = true;
    t.row_perm = {1, 0, 2, 3, 4, 5, 8, 7, 6};
    CHECK(describe_sudoku_transform(t) == "transpose, rows 213 456 987");
}

TEST_CASE("every maze view inverts exactly and maps an optimal path to an optimal path") {
    MazeGenOptions g;
    g.rows = 7;
    g.cols = 9;  // not square: the transposing views change the shape
    g.min_path = 0;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        Maze m = generate_maze(g, seed);
        m.answer = maze_solve(m);
        auto views = maze_views(m, 16);
        REQUIRE(views.size() == size_t(kMazeMaxViews));  // the budget stops at the 8 dihedral transforms
        CHECK(views[0] == 0);
        CHECK(std::set<int>(views.begin(), views.end()).size() == 8);
        CHECK(maze_views(m, 3) == std::vector<int>(views.begin(), views.begin() + 3));
        for (int tid : views) {
            Maze t = transform_maze(m, tid);
            CHECK(inverse_dihedral_transform(t.cells, t.rows, t.cols, tid) == m.cells);
            // the view's own optimal path, mapped back, is optimal in the maze as given
            std::vector<char> back = inverse_dihedral_transform(maze_solve(t), t.rows, t.cols, tid);
            MazeCheck c = verify_maze(m, back);
            CHECK(c.verdict == MazeVerdict::Optimal);
            CHECK(c.path_cells == verify_maze(m, m.answer).path_cells);
        }
    }
}

TEST_CASE("the view budget is respected and every view's steps are traced") {
    Model sm = zero_model(81, kSudokuVocab, "sudoku");
    Forward fwd(sm, 4);
    auto puzzles = generate_sudoku(3, SudokuDifficulty::Easy, 7, 0);
    const int steps = kVerifiedMinSteps;  // verified halting: blanks never verify, so each view runs them all
    for (int views : {1, 3, 5}) {
        SolveOptions so;
        so.halt = HaltMode::Verified;
        so.trace = TraceMode::Steps;
        so.views = views;
        auto rs = solve_sudoku_batch(fwd, puzzles, 0, so);
        REQUIRE(rs.size() == 3);
        for (const auto& r : rs) {
            CHECK_FALSE(r.verified);  // blanks never verify
            CHECK(r.views_used == views);
            CHECK(r.views_budget == views);
            CHECK(r.view == 1);  // nothing verified: view 1's answer is reported
            REQUIRE(r.views.size() == size_t(views));
            CHECK(r.views[0].name == "as given");
            CHECK(r.views.back().critique == "81 blank cells");
            CHECK(r.total_steps() == steps * views);
            REQUIRE(r.trace.size() == size_t(steps * views));
            for (int k = 0; k < steps * views; k++) CHECK(r.trace[size_t(k)].view == k / steps + 1);
        }
    }
    Model mm = zero_model(9 * 9, kMazeVocab, "maze");
    Forward mf(mm, 2);
    MazeGenOptions g;
    g.rows = g.cols = 9;
    g.min_path = 0;
    std::vector<Maze> mazes{generate_maze(g, 3), generate_maze(g, 4)};
    SolveOptions so;
    so.views = 16;
    auto rs = solve_maze_batch(mf, mazes, 0, so);
    for (const auto& r : rs) {
        CHECK(r.views_used == kMazeMaxViews);
        CHECK(r.views_budget == kMazeMaxViews);
        CHECK(r.total_steps() == 2 * kMazeMaxViews);
    }
    so.views = 0;
    CHECK_THROWS_AS(solve_maze_batch(mf, mazes, 0, so), Error);
}

TEST_CASE("verified halting refines to at least kVerifiedMinSteps; the other modes stop at halt_max_steps") {
    Model sm = zero_model(81, kSudokuVocab, "sudoku", /*halt_max_steps=*/2);  // q_halt = 0: never halts itself
    Forward fwd(sm, 2);
    auto puzzles = generate_sudoku(2, SudokuDifficulty::Easy, 7, 0);
    auto steps_run = [&](HaltMode halt, int max_steps) {
        SolveOptions so;
        so.halt = halt;
        so.max_steps = max_steps;
        auto rs = solve_sudoku_batch(fwd, puzzles, 0, so);
        REQUIRE(rs.size() == 2);
        CHECK(rs[0].steps == rs[1].steps);
        return rs[0].steps;
    };
    CHECK(steps_run(HaltMode::Verified, 0) == kVerifiedMinSteps);
    CHECK(steps_run(HaltMode::Model, 0) == 2);
    CHECK(steps_run(HaltMode::Never, 0) == 2);
    CHECK(steps_run(HaltMode::Verified, 3) == 3);  // an explicit budget wins, below or above the model's
    CHECK(steps_run(HaltMode::Never, 5) == 5);
    Config big = sm.cfg();
    big.halt_max_steps = 24;  // a model trained to more keeps its own
    CHECK(max_steps_for(0, HaltMode::Verified, big) == 24);
}

// The shipped model fails kHard as given (its answer clashes) and solves it through a later view; that answer,
// mapped back, is the puzzle's unique solution. Views 1 and k are re-run alone to show it is the view that did it.
TEST_CASE("a puzzle solved through a later view maps back to the original's solution (shipped model)") {
    const std::string path = std::string(TRM_SOURCE_DIR) + "/models/sudoku.safetensors";
    if (!std::filesystem::exists(path)) {
        MESSAGE("models/sudoku.safetensors not found: skipped");
        return;
    }
    Model m = load_model(path);
    Forward fwd(m, 2);
    const SudokuPuzzle p = with_solution(grid_of(kHard));
    SolveOptions so;
    so.halt = HaltMode::Verified;
    so.views = 16;
    auto r = solve_sudoku_batch(fwd, {p}, 0, so).at(0);
    REQUIRE(r.verified);
    CHECK(r.view > 1);
    CHECK(r.views_used == r.view);  // views stop at the first that verifies
    CHECK(r.grid == *p.solution);
    for (int k = 0; k + 1 < r.views_used; k++) CHECK_FALSE(r.views[size_t(k)].verified);
    CHECK(r.views.back().verified);
    so.views = 1;
    CHECK_FALSE(solve_sudoku_batch(fwd, {p}, 0, so).at(0).verified);
    // the view on its own: the transformed puzzle solved as given is the transformed solution
    const SudokuTransform t = sudoku_views(p.cells, r.view).back();
    SudokuPuzzle vp = p;
    vp.cells = apply_sudoku_transform(t, p.cells);
    vp.solution = apply_sudoku_transform(t, *p.solution);
    auto rv = solve_sudoku_batch(fwd, {vp}, 0, so).at(0);
    CHECK(rv.verified);
    CHECK(rv.grid == *vp.solution);
    CHECK(apply_sudoku_transform(invert_sudoku_transform(t), rv.grid) == *p.solution);
}

// A rope2d network's weights do not depend on its grid (core/weights.hpp model_on_grid), so a maze larger than its
// training canvas is solved on a canvas of that maze's side: the same drafts as the network moved there by hand.
TEST_CASE("a rope2d maze model solves mazes larger than its canvas; grid-tied models refuse them") {
    Config c = zero_model(6 * 6, kMazeVocab, "maze").cfg();
    c.pos_encodings = PosEncoding::Rope2d;
    c.validate();
    Model small(c);
    init_weights(small, 3);
    MazeGenOptions g;
    g.rows = g.cols = 8;
    g.min_path = 0;
    std::vector<Maze> mazes{generate_maze(g, 5), generate_maze(g, 6)};
    SolveOptions so;
    so.views = 1;
    so.trace = TraceMode::Steps;
    Forward on6(small, 2);
    auto grown = solve_maze_batch(on6, mazes, 0, so);
    const Model moved = model_on_grid(small, 8);
    CHECK(moved.cfg().seq_len == 64);
    CHECK(moved.arena == small.arena);
    Forward on8(moved, 2);
    auto by_hand = solve_maze_batch(on8, mazes, 0, so);
    REQUIRE(grown.size() == 2);
    for (size_t i = 0; i < 2; i++) {
        CHECK(grown[i].path == by_hand[i].path);
        REQUIRE(grown[i].trace.size() == by_hand[i].trace.size());
        CHECK(grown[i].trace.back().q_halt == by_hand[i].trace.back().q_halt);
    }
    // a maze that fits is still solved on the model's own canvas
    g.rows = g.cols = 6;
    CHECK(solve_maze_batch(on6, {generate_maze(g, 7)}, 0, so).size() == 1);
    // mlp_t mixes along the sequence with a grid-sized weight: the maze is refused, naming the model's grid
    Config t = zero_model(6 * 6, kMazeVocab, "maze").cfg();
    t.mlp_t = true;
    Model tied(t);
    Forward tf(tied, 2);
    CHECK(error_of([&] { solve_maze_batch(tf, mazes, 0, so); }).find("larger than the model's 6x6 grid") !=
          std::string::npos);
    CHECK(error_of([&] { model_on_grid(tied, 8); }).find("tied to its 36-cell grid") != std::string::npos);
}
