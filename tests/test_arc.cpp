// ARC domain: file parsing and its errors, the official token encoding and crop, dihedral x colour augmentation
// and names, voting, pass@k, submission JSON, rendering and the dataset builder.
#include <doctest/doctest.h>

#include "tests/test_util.hpp"

#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.hpp"
#include "datasets/arc_builder.hpp"
#include "puzzles/arc.hpp"
#include "puzzles/arc_vote.hpp"
#include "puzzles/domain.hpp"
#include "puzzles/solve.hpp"

using namespace trm;

namespace {

const std::string kData = std::string(TRM_SOURCE_DIR) + "/tests/data/arc/";
const std::string kArcData = std::string(TRM_SOURCE_DIR) + "/datasets/arc/";

ArcGrid G(const std::vector<std::vector<int>>& rows) { return make_arc_grid(rows); }

using trm::test::error_of;

std::string parse_error(const std::string& text) {
    return error_of([&] { parse_arc_tasks(text, "tasks.json"); });
}

ArcGrid random_grid(Rng& rng, int max_side = 30) {
    ArcGrid g;
    g.rows = rng.range(1, max_side);
    g.cols = rng.range(1, max_side);
    for (int i = 0; i < g.rows * g.cols; i++) g.cells.push_back(uint8_t(rng.below(10)));
    return g;
}

ArcAug random_aug(Rng& rng) {
    ArcAug a;
    a.trans = int(rng.below(8));
    rng.shuffle(a.mapping.begin() + 1, a.mapping.end());
    return a;
}

// Tokens of `t` (canvas x canvas) shifted so that (r0, c0) becomes the top-left; pad fills the rest.
std::vector<int32_t> shift_to_origin(const std::vector<int32_t>& t, int canvas, int r0, int c0) {
    std::vector<int32_t> o(t.size(), 0);
    for (int r = r0; r < canvas; r++)
        for (int c = c0; c < canvas; c++) o[size_t((r - r0) * canvas + (c - c0))] = t[size_t(r * canvas + c)];
    return o;
}

}  // namespace

TEST_CASE("dihedral transforms follow the official numbering (numpy semantics)") {
    // a = [[1,2,3],[4,5,6]]; expectations are what numpy returns for dataset/common.py dihedral_transform.
    ArcGrid a = G({{1, 2, 3}, {4, 5, 6}});
    CHECK(arc_dihedral(a, 0) == a);
    CHECK(arc_dihedral(a, 1) == G({{3, 6}, {2, 5}, {1, 4}}));  // np.rot90(a, 1)
    CHECK(arc_dihedral(a, 2) == G({{6, 5, 4}, {3, 2, 1}}));    // np.rot90(a, 2)
    CHECK(arc_dihedral(a, 3) == G({{4, 1}, {5, 2}, {6, 3}}));  // np.rot90(a, 3)
    CHECK(arc_dihedral(a, 4) == G({{3, 2, 1}, {6, 5, 4}}));    // np.fliplr(a)
    CHECK(arc_dihedral(a, 5) == G({{4, 5, 6}, {1, 2, 3}}));    // np.flipud(a)
    CHECK(arc_dihedral(a, 6) == G({{1, 4}, {2, 5}, {3, 6}}));  // a.T
    CHECK(arc_dihedral(a, 7) == G({{6, 3}, {5, 2}, {4, 1}}));  // np.fliplr(np.rot90(a, 1))
    const int inverse[8] = {0, 3, 2, 1, 4, 5, 6, 7};  // official DIHEDRAL_INVERSE
    for (int t = 0; t < 8; t++) CHECK(arc_dihedral_inverse(t) == inverse[t]);
    CHECK(error_of([&] { arc_dihedral(a, 8); }) == "dihedral transform id 8 is outside 0..7");
}

TEST_CASE("augmentation inverse for all 8 transforms x several colour permutations") {
    Rng rng(7);
    for (int t = 0; t < 8; t++) {
        for (int p = 0; p < 5; p++) {
            ArcAug a = random_aug(rng);
            a.trans = t;
            ArcGrid g = random_grid(rng);
            ArcGrid x = arc_augment(g, a);
            CHECK(x == arc_dihedral(ArcGrid{g.rows, g.cols, [&] {
                                           auto c = g.cells;
                                           for (auto& v : c) v = a.mapping[v];
                                           return c;
                                       }()},
                                       t));
            CHECK(arc_unaugment(x, a) == g);
            CHECK(arc_dihedral(arc_dihedral(g, t), arc_dihedral_inverse(t)) == g);
        }
    }
    // colour 0 is fixed by the builder's permutations; mapping [0,2,1,...] swaps 1 and 2
    ArcAug swap12;
    swap12.mapping = {0, 2, 1, 3, 4, 5, 6, 7, 8, 9};
    CHECK(arc_augment(G({{0, 1, 2}}), swap12) == G({{0, 2, 1}}));
}

TEST_CASE("augmented names round trip in the official format") {
    ArcAug a;
    a.trans = 3;
    a.mapping = {0, 5, 8, 1, 4, 9, 6, 2, 3, 7};
    CHECK(arc_aug_name("007bbfb7", a) == "007bbfb7|||t3|||0581496237");
    auto [id, b] = parse_arc_aug_name("007bbfb7|||t3|||0581496237");
    CHECK(id == "007bbfb7");
    CHECK(b == a);
    CHECK(arc_aug_name("007bbfb7", ArcAug{}) == "007bbfb7");
    auto [id0, i0] = parse_arc_aug_name("007bbfb7");
    CHECK(id0 == "007bbfb7");
    CHECK(i0.is_identity());
    // transform 0 with a non-identity permutation still carries the separator
    ArcAug c;
    c.mapping = {0, 2, 1, 3, 4, 5, 6, 7, 8, 9};
    CHECK(arc_aug_name("x", c) == "x|||t0|||0213456789");
    Rng rng(3);
    for (int i = 0; i < 100; i++) {
        ArcAug r = random_aug(rng);
        auto [rid, ra] = parse_arc_aug_name(arc_aug_name("abcd1234", r));
        CHECK(rid == "abcd1234");
        CHECK(ra == r);
    }
    const std::string tail = " (expected <task id>|||t<0-7>|||<10 digits>)";
    CHECK(error_of([] { parse_arc_aug_name("a|||t8|||0123456789"); }) ==
          "bad ARC puzzle identifier 'a|||t8|||0123456789': transform is not t0..t7" + tail);
    CHECK(error_of([] { parse_arc_aug_name("a|||t1|||012345678"); }) ==
          "bad ARC puzzle identifier 'a|||t1|||012345678': colour mapping is not 10 digits" + tail);
    CHECK(error_of([] { parse_arc_aug_name("a|||t1|||0123456788"); }) ==
          "bad ARC puzzle identifier 'a|||t1|||0123456788': colour mapping is not a permutation of 0..9" + tail);
    CHECK(error_of([] { parse_arc_aug_name("a|||t1"); }) ==
          "bad ARC puzzle identifier 'a|||t1': not three parts" + tail);
    CHECK(error_of([] { parse_arc_aug_name("a|||t1|||0123456789|||x"); }) ==
          "bad ARC puzzle identifier 'a|||t1|||0123456789|||x': not three parts" + tail);
    CHECK(error_of([] { parse_arc_aug_name("|||t1|||0123456789"); }) ==
          "bad ARC puzzle identifier '|||t1|||0123456789': empty task id" + tail);
}

TEST_CASE("encoding layout: colours +2, eos row under and column right of the grid, corner unmarked") {
    ArcGrid g = G({{0, 1, 2}, {3, 4, 9}});
    auto t = encode_arc_grid(g);
    REQUIRE(t.size() == 900);
    auto at = [&](int r, int c) { return t[size_t(r * 30 + c)]; };
    CHECK(at(0, 0) == 2);
    CHECK(at(0, 1) == 3);
    CHECK(at(0, 2) == 4);
    CHECK(at(1, 0) == 5);
    CHECK(at(1, 2) == 11);
    CHECK(at(0, 3) == 1);
    CHECK(at(1, 3) == 1);
    CHECK(at(2, 0) == 1);
    CHECK(at(2, 2) == 1);
    CHECK(at(2, 3) == 0);  // corner
    int eos = 0, colour = 0;
    for (int32_t v : t) { eos += v == 1; colour += v >= 2; }
    CHECK(eos == 5);
    CHECK(colour == 6);

    // offset (4, 7): same picture moved; markers follow the offset
    std::vector<int32_t> o(900);
    encode_arc_grid(g, 30, 4, 7, o.data());
    CHECK(o[4 * 30 + 7] == 2);
    CHECK(o[6 * 30 + 7] == 1);
    CHECK(o[4 * 30 + 10] == 1);
    CHECK(o[6 * 30 + 10] == 0);
    CHECK(o[4 * 30 + 6] == 0);
    CHECK(shift_to_origin(o, 30, 4, 7) == t);

    // at the canvas edge the marker is dropped: 30 rows x 2 cols has only the column marker
    ArcGrid tall;
    tall.rows = 30;
    tall.cols = 2;
    tall.cells.assign(60, 5);
    auto tt = encode_arc_grid(tall);
    int tall_eos = 0;
    for (int32_t v : tt) tall_eos += v == 1;
    CHECK(tall_eos == 30);
    CHECK(tt[2] == 1);
    ArcGrid full;
    full.rows = full.cols = 30;
    full.cells.assign(900, 9);
    auto ft = encode_arc_grid(full);
    CHECK(std::count(ft.begin(), ft.end(), 11) == 900);
    CHECK(decode_arc_grid(ft.data()) == full);

    // smaller canvas: a 10x10 canvas gives seq 100
    auto s = encode_arc_grid(g, 10);
    CHECK(s.size() == 100);
    CHECK(s[3] == 1);
    CHECK(s[10 + 3] == 1);
    CHECK(s[20] == 1);
    CHECK(decode_arc_grid(s.data(), 10) == g);

    CHECK(error_of([&] { encode_arc_grid(g, 30, 0, 28, o.data()); }) ==
          "ARC grid 2x3 does not fit a 30x30 canvas at offset (0, 28)");
    CHECK(error_of([&] { encode_arc_grid(g, 2); }) == "ARC grid 2x3 does not fit a 2x2 canvas at offset (0, 0)");
    CHECK(error_of([&] { encode_arc_grid(g, 31); }) == "ARC canvas side 31 is outside 1..30");
}

TEST_CASE("crop (official _crop) edge cases") {
    std::vector<int32_t> t(900, 0);
    CHECK(decode_arc_grid(t.data()) == ArcGrid{});  // all pad -> 0x0
    t[0] = 1;
    CHECK(decode_arc_grid(t.data()) == ArcGrid{});  // eos first -> 0x0
    // rows of colour widths 5, 3, 4, then pad: widths only shrink -> 5, 3, 3 -> best area 9 = 3x3
    std::fill(t.begin(), t.end(), 0);
    const int widths[3] = {5, 3, 4};
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < widths[r]; c++) t[size_t(r * 30 + c)] = 2 + (r + c) % 10;
    ArcGrid g = decode_arc_grid(t.data());
    CHECK(g.rows == 3);
    CHECK(g.cols == 3);
    CHECK(g == G({{0, 1, 2}, {1, 2, 3}, {2, 3, 4}}));
    // 1x10 then three 1-wide rows: areas 10, 2, 3, 4 -> the first row wins
    std::fill(t.begin(), t.end(), 0);
    for (int c = 0; c < 10; c++) t[size_t(c)] = 7;
    for (int r = 1; r < 4; r++) t[size_t(r * 30)] = 8;
    g = decode_arc_grid(t.data());
    CHECK(g.rows == 1);
    CHECK(g.cols == 10);
    // equal areas keep the first (fewer rows): widths 2, 1 -> 1x2 (area 2), not 2x1
    std::fill(t.begin(), t.end(), 0);
    t[0] = t[1] = t[30] = 5;
    g = decode_arc_grid(t.data());
    CHECK(g.rows == 1);
    CHECK(g.cols == 2);
    // tokens above 11 or negative are not colours
    std::fill(t.begin(), t.end(), 0);
    t[0] = 2; t[1] = 12; t[30] = 3; t[31] = -1;
    g = decode_arc_grid(t.data());
    CHECK(g == G({{0}, {1}}));
    // a whole canvas of colour except a hole: the hole bounds the rectangle
    std::fill(t.begin(), t.end(), 4);
    t[10 * 30 + 20] = 0;
    g = decode_arc_grid(t.data());
    CHECK(g.rows == 30);
    CHECK(g.cols == 20);
}

TEST_CASE("every grid of the shared ARC files: encode/decode and augment/unaugment round trips") {
    const char* sets[] = {"training", "evaluation", "training2", "concept"};
    Rng rng(11);
    size_t grids = 0, tasks = 0;
    std::vector<int32_t> tok(900);
    for (const char* s : sets) {
        ArcLoadOptions opt;
        opt.solutions_path = kArcData + "arc-agi_" + s + "_solutions.json.gz";
        auto all = load_arc_tasks(kArcData + "arc-agi_" + s + "_challenges.json.gz", opt);
        tasks += all.size();
        for (const auto& task : all) {
            for (const auto* set : {&task.train, &task.test}) {
                for (const auto& p : *set) {
                    REQUIRE(p.output);
                    for (const ArcGrid* g : {&p.input, &*p.output}) {
                        grids++;
                        encode_arc_grid(*g, 30, 0, 0, tok.data());
                        if (decode_arc_grid(tok.data()) != *g) FAIL_CHECK(task.id << ": round trip failed");
                        auto [r0, c0] = random_arc_offset(*g, *g, 30, rng);
                        encode_arc_grid(*g, 30, r0, c0, tok.data());
                        auto back = shift_to_origin(tok, 30, r0, c0);
                        if (decode_arc_grid(back.data()) != *g) FAIL_CHECK(task.id << ": translated round trip failed");
                        ArcAug a = random_aug(rng);
                        if (arc_unaugment(arc_augment(*g, a), a) != *g) FAIL_CHECK(task.id << ": aug round trip failed");
                    }
                }
            }
        }
    }
    CHECK(tasks == 1960);
    CHECK(grids == 17430);  // counted with Python's json module over the same files
}

TEST_CASE("file loading: combined files, solutions, task selection, single-task files") {
    auto all = load_arc_tasks(kData + "tasks_small.json");
    REQUIRE(all.size() == 2);
    CHECK(all[0].id == "aaaa0001");
    CHECK(all[1].id == "bbbb0002");
    CHECK(all[0].train.size() == 2);
    CHECK(all[1].test.size() == 2);
    CHECK(!all[1].test[0].output);
    CHECK(all[1].train[0].output == G({{5}, {5}, {5}}));

    ArcLoadOptions opt;
    opt.solutions_path = kData + "solutions_small.json";
    opt.task_id = "bbbb0002";
    auto one = load_arc_tasks(kData + "tasks_small.json", opt);
    REQUIRE(one.size() == 1);
    CHECK(one[0].id == "bbbb0002");
    CHECK(one[0].test[0].output == G({{7}, {7}}));
    CHECK(one[0].test[1].output == G({{4}}));

    const std::string example = std::string(TRM_SOURCE_DIR) + "/examples/arc_6150a2bd.json";
    CHECK(load_arc_tasks(example).at(0).id == "arc_6150a2bd");  // a one-task file is named by its file name
    ArcLoadOptions named;
    named.task_id = "6150a2bd";                                  // ... or by the id the caller gives
    auto ex = load_arc_tasks(example, named);
    REQUIRE(ex.size() == 1);
    CHECK(ex[0].id == "6150a2bd");
    REQUIRE(ex[0].test[0].output);
    CHECK(arc_dihedral(ex[0].test[0].input, 2) == *ex[0].test[0].output);  // the task is a 180 degree turn

    opt.task_id = "zzzz";
    CHECK(error_of([&] { load_arc_tasks(kData + "tasks_small.json", opt); }) ==
          kData + "tasks_small.json: no task 'zzzz' among its 2 tasks");
    opt.task_id = "";
    opt.solutions_path = kData + "solutions_short.json";
    CHECK(error_of([&] { load_arc_tasks(kData + "tasks_small.json", opt); }) ==
          kData + "solutions_short.json: task bbbb0002: 1 solutions for 2 test inputs");
    CHECK(error_of([&] {
              auto t = load_arc_tasks(kData + "tasks_small.json");
              t[0].id = "nope";
              apply_arc_solutions(t, R"({"aaaa0001": []})", "sol.json");
          }) == "sol.json: no solutions for task nope");
    std::vector<ArcTask> none;
    CHECK(error_of([&] { apply_arc_solutions(none, "[]", "sol.json"); }) ==
          "sol.json: expected a JSON object (task id -> list of output grids)");
    ArcLoadOptions tiny;
    tiny.max_bytes = 100;
    CHECK(error_of([&] { load_arc_tasks(kData + "tasks_small.json", tiny); }).find("more than the 100 allowed") !=
          std::string::npos);
    CHECK(error_of([&] { load_arc_tasks(kData + "missing.json"); }).rfind(kData + "missing.json: cannot open", 0) == 0);
    CHECK(error_of([&] { load_arc_tasks(kData + "bad_syntax.json"); }) ==
          kData + "bad_syntax.json:4:29: invalid JSON: syntax error while parsing array - unexpected ':'; expected ']'");
}

TEST_CASE("bad input: one line naming file, task, pair, row and cell") {
    auto task = [](const std::string& train, const std::string& test = R"([{"input": [[1]]}])") {
        return R"({"007bbfb7": {"train": )" + train + R"(, "test": )" + test + "}}";
    };
    const std::string ok = R"({"input": [[1]], "output": [[2]]})";
    const std::string p = "tasks.json: task 007bbfb7: ";
    CHECK(parse_error(task("[" + ok + R"(, {"input": [[1, 2], [3, 4], [5, 6], [7, 8, 9]], "output": [[1]]}])")) ==
          p + "train pair 1: input row 3 has 3 cells, expected 2");
    CHECK(parse_error(task("[" + ok + "," + ok + R"(, {"input": [[1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 2, 3, 4]], "output": [[1]]}])")) ==
          p + "train pair 2: input row 3 has 4 cells, expected 3");
    CHECK(parse_error(task(R"([{"input": [], "output": [[1]]}])")) == p + "train pair 0: input has 0 rows, expected 1..30");
    std::string rows31 = "[";
    for (int i = 0; i < 31; i++) rows31 += i ? ",[0]" : "[0]";
    rows31 += "]";
    CHECK(parse_error(task(R"([{"input": [[1]], "output": )" + rows31 + "}]")) ==
          p + "train pair 0: output has 31 rows, expected 1..30");
    std::string cols31 = "[[";
    for (int i = 0; i < 31; i++) cols31 += i ? ",0" : "0";
    cols31 += "]]";
    CHECK(parse_error(task("[" + ok + "]", R"([{"input": )" + cols31 + "}]")) ==
          p + "test pair 0: input row 0 has 31 cells, expected 1..30");
    CHECK(parse_error(task(R"([{"input": [[]], "output": [[1]]}])")) == p + "train pair 0: input row 0 has 0 cells, expected 1..30");
    CHECK(parse_error(task(R"([{"input": [[1, 10]], "output": [[1]]}])")) ==
          p + "train pair 0: input row 0 cell 1 is 10, expected a colour 0..9");
    CHECK(parse_error(task(R"([{"input": [[1], [-1]], "output": [[1]]}])")) ==
          p + "train pair 0: input row 1 cell 0 is -1, expected a colour 0..9");
    CHECK(parse_error(task(R"([{"input": [[1.5]], "output": [[1]]}])")) ==
          p + "train pair 0: input row 0 cell 0 is 1.5, expected a colour 0..9");
    CHECK(parse_error(task(R"([{"input": [["3"]], "output": [[1]]}])")) ==
          p + "train pair 0: input row 0 cell 0 is \"3\", expected a colour 0..9");
    CHECK(parse_error(task(R"([{"input": [[[3]]], "output": [[1]]}])")) ==
          p + "train pair 0: input row 0 cell 0 is a list, expected a colour 0..9");
    CHECK(parse_error(task(R"([{"input": [1, 2], "output": [[1]]}])")) ==
          p + "train pair 0: input row 0 is not a list of numbers");
    CHECK(parse_error(task(R"([{"input": 5, "output": [[1]]}])")) == p + "train pair 0: input is not a list of rows");
    CHECK(parse_error(task(R"([{"input": [[1]]}])")) == p + "train pair 0: missing \"output\"");
    CHECK(parse_error(task(R"([{"output": [[1]]}])")) == p + "train pair 0: missing \"input\"");
    CHECK(parse_error(task(R"([[1]])")) == p + "train pair 0: expected an object with \"input\" and \"output\"");
    CHECK(parse_error(task("[]")) == p + "\"train\" is empty");
    CHECK(parse_error(task("{}")) == p + "\"train\" is not a list");
    CHECK(parse_error(task("[" + ok + "]", "[]")) == p + "\"test\" is empty");
    CHECK(parse_error(R"({"007bbfb7": {"test": []}})") == p + "missing \"train\"");
    CHECK(parse_error(R"({"007bbfb7": [1]})") == p + "expected an object with \"train\" and \"test\"");
    CHECK(parse_error("[1, 2]") == "tasks.json: expected a JSON object (one task, or task id -> task)");
    CHECK(parse_error("{}") == "tasks.json: no tasks");
    CHECK(parse_error("{\n  \"a\": [1,\n  2,,]}") ==
          "tasks.json:3:5: invalid JSON: syntax error while parsing value - unexpected ','; expected '[', '{', or a literal");
    CHECK(parse_error(std::string(100, '[')) == "tasks.json:1: JSON nested deeper than 32 levels");
    // a test pair's output is optional but checked when present
    CHECK(parse_error(task("[" + ok + "]", R"([{"input": [[1]], "output": [[1, 2], [3]]}])")) ==
          p + "test pair 0: output row 1 has 1 cells, expected 2");
    CHECK(error_of([] { make_arc_grid({{1, 2}, {3}}); }) == "grid row 1 has 1 cells, expected 2");
}

TEST_CASE("voting: count first, then mean sigmoid(q), then first seen; top-k") {
    ArcGrid a = G({{1}}), b = G({{2}}), c = G({{3}}), d = G({{4}});
    // b has 3 votes, a and c 2 each; c's mean q is higher than a's; d 1 vote with a huge q
    std::vector<ArcCandidate> cands{{a, 5.f}, {b, -3.f}, {c, 2.f}, {b, -3.f}, {a, -5.f}, {c, 1.f}, {d, 10.f}, {b, 0.f}};
    auto top = arc_vote(cands, 2);
    REQUIRE(top.size() == 2);
    CHECK(top[0] == b);
    CHECK(top[1] == c);  // mean sigmoid: c (0.80) > a (0.50)
    auto all = arc_vote(cands, 10);
    REQUIRE(all.size() == 4);
    CHECK(all[2] == a);
    CHECK(all[3] == d);
    // full tie on count and q: first seen wins (Python's stable sort)
    auto tie = arc_vote({{c, 0.f}, {a, 0.f}}, 2);
    CHECK(tie[0] == c);
    CHECK(tie[1] == a);
    // equal counts: the higher mean sigmoid(q) ranks first even when seen later
    ArcVotes v;
    v.add(a, 0.f);
    v.add(a, 0.f);
    v.add(b, 3.f);
    v.add(b, 3.f);
    auto r = v.ranked();
    REQUIRE(r.size() == 2);
    CHECK(r[0].grid == b);
    CHECK(r[0].count == 2);
    CHECK(r[0].mean_q() == doctest::Approx(1.0 / (1.0 + std::exp(-3.0))));
    CHECK(r[1].mean_q() == doctest::Approx(0.5));
    // NaN logits count as q = 0 and do not break the ordering
    auto nan = arc_vote({{a, std::nanf("")}, {b, -20.f}}, 2);
    CHECK(nan[0] == b);
    CHECK(arc_vote({}, 2).empty());
}

TEST_CASE("vote book: predictions from augmented copies map back to the original frame") {
    ArcGrid input = G({{1, 2, 0}, {0, 3, 0}});
    ArcGrid truth = G({{3, 2}, {1, 1}});
    ArcGrid wrong = G({{0}});
    ArcVoteBook book;
    Rng rng(5);
    for (int i = 0; i < 6; i++) {
        ArcAug a = random_aug(rng);
        std::string name = arc_aug_name("task1", a);
        auto in_tok = encode_arc_grid(arc_augment(input, a));
        auto pred_tok = encode_arc_grid(arc_augment(i < 4 ? truth : wrong, a));
        book.add(name, in_tok.data(), pred_tok.data(), 0.f);
        ArcCandidate cand = arc_candidate(name, pred_tok.data(), 1.5f);
        CHECK(cand.grid == (i < 4 ? truth : wrong));
        CHECK(cand.q_halt_logit == 1.5f);
    }
    auto att = book.attempts("task1", input, 2);
    REQUIRE(att.size() == 2);
    CHECK(att[0] == truth);
    CHECK(att[1] == wrong);
    CHECK(book.attempts("task2", input, 2).empty());
    CHECK(book.attempts("task1", truth, 2).empty());
}

TEST_CASE("pass@k and task score") {
    ArcGrid a = G({{1}}), b = G({{2}}), c = G({{3}});
    CHECK(arc_pass_at_k({a, b}, b, 2));
    CHECK(!arc_pass_at_k({a, b}, b, 1));
    CHECK(!arc_pass_at_k({a, b}, c, 2));
    CHECK(!arc_pass_at_k({}, a, 2));
    ArcTask t;
    t.id = "t";
    t.test = {ArcPair{a, b}, ArcPair{a, c}};
    CHECK(arc_task_score(t, {{b}, {a, c}}, 2) == 1.0);
    CHECK(arc_task_score(t, {{b}, {a, c}}, 1) == 0.5);
    CHECK(error_of([&] { arc_task_score(t, {{b}}, 2); }) == "task t: 1 ranked prediction lists for 2 test inputs");
    t.test[1].output.reset();
    CHECK(error_of([&] { arc_task_score(t, {{b}, {c}}, 2); }) ==
          "task t: test pair 1 has no expected output to score against");
}

TEST_CASE("submission JSON: one object per test input with attempt_1 and attempt_2") {
    ArcAttempts at;
    at["b0"] = {{G({{1, 2}, {3, 4}}), G({{5}})}, {G({{6}})}, {}};
    at["a9"] = {{G({{0}}), G({{1}}), G({{2}})}};
    std::string s = arc_submission_json(at);
    CHECK(s ==
          R"({"a9":[{"attempt_1":[[0]],"attempt_2":[[1]]}],)"
          R"("b0":[{"attempt_1":[[1,2],[3,4]],"attempt_2":[[5]]},{"attempt_1":[[6]],"attempt_2":[[6]]},)"
          R"({"attempt_1":[[0]],"attempt_2":[[0]]}]})");
    auto j = nlohmann::json::parse(s);
    REQUIRE(j.is_object());
    CHECK(j["b0"].size() == 3);
    for (auto& [id, list] : j.items())
        for (auto& e : list) {
            CHECK(e.size() == 2);
            CHECK(e.contains("attempt_1"));
            CHECK(e.contains("attempt_2"));
        }
    CHECK(arc_submission_json({{"x", {{G({{7}})}}}}, 1) == R"({"x":[{"attempt_1":[[7]]}]})");
    CHECK(error_of([&] { arc_submission_json(at, 0); }) == "a submission needs at least 1 attempt per test input, got 0");
}

TEST_CASE("augmentation plan: identity first, official-style dedup, deterministic") {
    auto tasks = load_arc_tasks(kData + "tasks_small.json");
    Rng r1(9), r2(9);
    auto a1 = choose_arc_augmentations(tasks[0], 20, r1);
    auto a2 = choose_arc_augmentations(tasks[0], 20, r2);
    CHECK(a1 == a2);
    REQUIRE(a1.size() == 21);
    CHECK(a1[0].is_identity());
    std::set<std::string> keys;
    for (auto& a : a1) {
        ArcTask t = arc_augment(tasks[0], a);
        std::string k;
        for (auto& p : t.train) k += arc_grid_json(p.input) + arc_grid_json(*p.output);
        for (auto& p : t.test) k += arc_grid_json(p.input);
        keys.insert(k);
    }
    CHECK(keys.size() == a1.size());
    // an all-zero task has only 2 distinct copies (1x2 and its 2x1 turn); colour maps fix 0
    ArcTask z;
    z.id = "z";
    z.train = {ArcPair{G({{0, 0}}), G({{0, 0}})}};
    z.test = {ArcPair{G({{0, 0}}), std::nullopt}};
    Rng r3(1);
    auto az = choose_arc_augmentations(z, 10, r3);
    CHECK(az.size() == 2);
    CHECK(choose_arc_augmentations(z, 0, r3).size() == 1);
}

TEST_CASE("dataset builder: splits, identifiers, offsets, filter, determinism") {
    auto tasks = load_arc_tasks(kData + "tasks_small.json");  // aaaa0001: 2 train + 1 test; bbbb0002: 1 + 2
    ArcLoadOptions so;
    so.solutions_path = kData + "solutions_small.json";
    auto solved = load_arc_tasks(kData + "tasks_small.json", so);
    ArcBuildOptions opt;
    opt.num_aug = 3;
    opt.seed = 1;
    // solved[0] as a training task (its test pair becomes training data), tasks[1] as an evaluation task
    ArcSplits s = build_arc_dataset({solved[0]}, {tasks[1]}, opt);
    const ArcDataset& tr = s.train;
    REQUIRE(tr.identifiers.size() == 1 + 4 + 4);
    CHECK(tr.identifiers[0] == "<blank>");
    CHECK(tr.identifiers[1] == "aaaa0001");
    CHECK(tr.identifiers[5] == "bbbb0002");
    CHECK(s.test.identifiers == tr.identifiers);
    CHECK(tr.size() == 4 * 3 + 4 * 1);
    CHECK(tr.inputs.size() == tr.size() * 900);
    CHECK(tr.labels.size() == tr.inputs.size());
    CHECK(tr.puzzle_indices == std::vector<int32_t>{0, 3, 6, 9, 12, 13, 14, 15, 16});
    CHECK(tr.group_indices == std::vector<int32_t>{0, 4, 8});
    CHECK(s.test.size() == 4 * 2);
    CHECK(s.test.puzzle_indices == std::vector<int32_t>{0, 2, 4, 6, 8});
    CHECK(s.test.group_indices == std::vector<int32_t>{0, 4});
    CHECK(s.test.puzzle_ids == std::vector<int32_t>{5, 5, 6, 6, 7, 7, 8, 8});
    CHECK(s.skipped_tasks.empty());
    CHECK(s.short_tasks.empty());

    // every train example, shifted back to the origin, decodes to the augmented pair; one per puzzle is at (0,0)
    for (size_t p = 0; p + 1 < tr.puzzle_indices.size(); p++) {
        int32_t ident = tr.puzzle_ids[size_t(tr.puzzle_indices[p])];
        auto [id, aug] = parse_arc_aug_name(tr.identifiers[size_t(ident)]);
        const ArcTask& src = id == "aaaa0001" ? solved[0] : tasks[1];
        std::vector<const ArcPair*> pairs;
        for (auto& q : src.train) pairs.push_back(&q);
        if (id == "aaaa0001") pairs.push_back(&src.test[0]);
        int at_origin = 0;
        for (int32_t e = tr.puzzle_indices[p]; e < tr.puzzle_indices[p + 1]; e++) {
            const ArcPair& pair = *pairs[size_t(e - tr.puzzle_indices[p])];
            std::vector<int32_t> in(tr.inputs.begin() + e * 900, tr.inputs.begin() + (e + 1) * 900);
            std::vector<int32_t> lab(tr.labels.begin() + e * 900, tr.labels.begin() + (e + 1) * 900);
            int r0 = 0, c0 = 0;
            while (std::count(in.begin() + r0 * 30, in.begin() + r0 * 30 + 30, 0) == 30) r0++;
            while ([&] { for (int r = 0; r < 30; r++) if (in[size_t(r * 30 + c0)]) return false; return true; }()) c0++;
            at_origin += r0 == 0 && c0 == 0;
            CHECK(decode_arc_grid(shift_to_origin(in, 30, r0, c0).data()) == arc_augment(pair.input, aug));
            CHECK(decode_arc_grid(shift_to_origin(lab, 30, r0, c0).data()) == arc_augment(*pair.output, aug));
        }
        CHECK(at_origin >= 1);
    }
    // test split: offsets 0, labels of unsolved test pairs are all pad
    for (size_t e = 0; e < s.test.size(); e++) {
        auto [id, aug] = parse_arc_aug_name(s.test.identifiers[size_t(s.test.puzzle_ids[e])]);
        CHECK(decode_arc_grid(s.test.inputs.data() + e * 900) == arc_augment(tasks[1].test[e % 2].input, aug));
        CHECK(std::count(s.test.labels.begin() + long(e) * 900, s.test.labels.begin() + long(e + 1) * 900, 0) == 900);
    }

    // same seed, same data; another seed differs
    ArcSplits s2 = build_arc_dataset({solved[0]}, {tasks[1]}, opt);
    CHECK(s2.train.inputs == tr.inputs);
    CHECK(s2.train.identifiers == tr.identifiers);

    // the eval task with its solutions loaded: same identifiers and training data, the test labels now scored
    ArcSplits sol = build_arc_dataset({solved[0]}, {solved[1]}, opt);
    CHECK(sol.train.identifiers == tr.identifiers);
    CHECK(sol.train.inputs == tr.inputs);
    CHECK(sol.train.labels == tr.labels);
    for (size_t e = 0; e < sol.test.size(); e++) {
        auto [id, aug] = parse_arc_aug_name(sol.test.identifiers[size_t(sol.test.puzzle_ids[e])]);
        CHECK(decode_arc_grid(sol.test.labels.data() + e * 900) == arc_augment(*solved[1].test[e % 2].output, aug));
    }
    // a test output larger than the canvas keeps the task (training never sees it) but cannot be scored
    ArcTask wide = solved[1];
    wide.test[0].output = G({{1, 1, 1, 1}});
    ArcBuildOptions small = opt;
    small.canvas = 3;
    ArcSplits sw = build_arc_dataset({}, {wide}, small);
    CHECK(sw.skipped_tasks.empty());
    REQUIRE(sw.test.size() == 8);
    for (size_t e = 0; e < sw.test.size(); e++) {
        const long pads = std::count(sw.test.labels.begin() + long(e) * 9, sw.test.labels.begin() + long(e + 1) * 9, 0);
        CHECK(pads == (e % 2 == 0 ? 9 : 6));  // pair 0: all pad; pair 1: [[4]] and its two end markers
    }

    opt.seed = 2;
    CHECK(build_arc_dataset({solved[0]}, {tasks[1]}, opt).train.inputs != tr.inputs);

    // no translation: every example at the origin
    opt.translate = false;
    ArcSplits s3 = build_arc_dataset({solved[0]}, {}, opt);
    for (size_t e = 0; e < s3.train.size(); e++) CHECK(s3.train.inputs[e * 900] >= 2);
    CHECK(s3.test.size() == 0);
    CHECK(s3.test.group_indices == std::vector<int32_t>{0});

    // small canvas with a size filter: only tasks whose grids are <= 2x2 are kept
    opt.canvas = 3;
    opt.max_grid_size = 2;
    opt.translate = true;
    ArcSplits s4 = build_arc_dataset(solved, {}, opt);
    CHECK(s4.skipped_tasks == std::vector<std::string>{"bbbb0002"});
    CHECK(s4.train.seq_len() == 9);
    CHECK(s4.train.inputs.size() == s4.train.size() * 9);
    CHECK(s4.train.size() == 4 * 3);

    // a symmetric task gets fewer copies and is reported
    ArcTask z;
    z.id = "z";
    z.train = {ArcPair{G({{0, 0}}), G({{0, 0}})}};
    z.test = {ArcPair{G({{0, 0}}), std::nullopt}};
    ArcBuildOptions zo;
    zo.num_aug = 5;
    ArcSplits sz = build_arc_dataset({z}, {}, zo);
    CHECK(sz.short_tasks == std::vector<std::string>{"z"});
    CHECK(sz.train.identifiers.size() == 3);

    ArcBuildOptions bad;
    bad.canvas = 10;
    bad.max_grid_size = 11;
    CHECK(error_of([&] { build_arc_dataset(solved, {}, bad); }) == "ARC max grid size 11 is outside 1..10 (the canvas side)");
    bad.max_grid_size = 0;
    bad.num_aug = -1;
    CHECK(error_of([&] { build_arc_dataset(solved, {}, bad); }) == "ARC augmentation count -1 is outside 0..2903039");
    ArcBuildOptions big;
    big.num_aug = 100;
    big.max_bytes = 1 << 20;  // 6 pairs x 101 copies x 900 tokens x 8 bytes = 4.2 MiB
    CHECK(error_of([&] { build_arc_dataset(solved, {}, big); }) ==
          "ARC dataset of 606 examples would need 4 MiB of tokens, more than the 1 MiB allowed; use fewer "
          "augmentations or tasks");
}

TEST_CASE("trm solve's input reads the shipped gzip ARC files: detected as ARC, inflated whole") {
    // datasets/arc/ ships .json.gz; `trm solve [arc] FILE` reads through PuzzleInput, not read_file_text
    const std::string path = std::string(TRM_SOURCE_DIR) + "/datasets/arc/arc-agi_training_challenges.json.gz";
    PuzzleInput input(path);
    const Domain* d = detect_domain(input.peek());
    REQUIRE(d != nullptr);
    CHECK(std::string(d->name()) == "arc");
    const auto tasks = parse_arc_tasks(input.read_all(kMaxArcFileBytes), path, "6150a2bd");
    REQUIRE(tasks.size() == 1);
    CHECK(tasks[0].id == "6150a2bd");
    CHECK(tasks[0].test.size() == 1);
}
