// Every registered puzzle kind (puzzles/registry.cpp) against the Domain contract: names round-trip, an example
// input is detected as its kind and read, a model configured for the kind fits it (and no other kind claims it),
// the draft JSON has the draft's rows, and the MCP tool schema names what it requires. A new kind gets these checks
// by its registry line and one example file below.
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "core/error.hpp"
#include "puzzles/domain.hpp"
#include "puzzles/maze.hpp"

using namespace trm;

namespace {

// One example input per kind, in the repository.
const std::map<std::string, std::string> kExamples{{"sudoku", "examples/sudoku_easy.txt"},
                                                   {"maze", "examples/maze_small.txt"},
                                                   {"arc", "examples/arc_6150a2bd.json"}};

}  // namespace

TEST_CASE("the registry: unique names, lookup by name, unknown names refused with the list") {
    std::set<std::string> names;
    for (const Domain* d : domains()) {
        CHECK(names.insert(d->name()).second);
        CHECK(find_domain(d->name()) == d);
        CHECK(&domain_named(d->name()) == d);
    }
    CHECK(find_domain("chess") == nullptr);
    CHECK_THROWS_WITH_AS(domain_named("chess"), doctest::Contains(domain_names().c_str()), Error);
    CHECK(detect_domain("  \n\t") == nullptr);
}

TEST_CASE("every kind: its example is detected and read, its model layout fits it alone, its tool is described") {
    for (const Domain* d : domains()) {
        CAPTURE(d->name());
        REQUIRE(kExamples.count(d->name()) == 1);
        PuzzleInput input(kExamples.at(d->name()));
        CHECK(detect_domain(input.peek()) == d);
        auto reader = d->reader(input, ReadOptions{});
        Item item;
        REQUIRE(reader->next(item));
        CHECK(d->results_of(item) >= 1);

        Config c;
        c.domain = d->name();
        d->configure_model(c, d->default_grid());
        CHECK(d->model_mismatch(c) == "");
        CHECK_NOTHROW(check_model_domain(c, *d, "model"));
        for (const Domain* other : domains())
            if (other != d) CHECK_THROWS_AS(check_model_domain(c, *other, "model"), Error);

        DraftGrid g{2, 3, std::vector<uint8_t>(6, 1)};
        const Json j = d->draft_json(g);
        CHECK((j.is_string() || j.size() == 2));

        const ToolSpec t = d->mcp_tool();
        CHECK(t.name.rfind("solve_", 0) == 0);
        for (const auto& k : t.input_required) CHECK(t.input_properties.contains(k.get<std::string>()));
        CHECK(t.output_schema.contains("properties"));
    }
}

TEST_CASE("default models: every kind names its own; mazes pick the 9x9 model for what it takes, else any-size") {
    for (const Domain* d : domains()) {
        CAPTURE(d->name());
        const auto names = d->default_models();
        REQUIRE(!names.empty());
        CHECK(names.back() == d->name());  // models/<kind>.safetensors is the one that takes the most
    }
    const Domain& maze = domain_named("maze");
    auto maze_of = [](int side, bool frame) {
        std::string t;
        for (int r = 0; r < side; r++) {
            std::string row(size_t(side), '.');
            if (frame && (r == 0 || r == side - 1)) row.assign(size_t(side), '#');
            if (frame) row.front() = row.back() = '#';
            if (r == 1) row[1] = 'S';
            if (r == side - 2) row[size_t(side) - 2] = 'G';
            t += row + "\n";
        }
        return Item(parse_one_maze(t, "maze"));
    };
    Config small;
    small.domain = "maze";
    small.mlp_t = true;
    small.pos_encodings = PosEncoding::None;
    maze.configure_model(small, 9);
    CHECK(maze.model_takes(small, maze_of(9, false)));
    CHECK(maze.model_takes(small, maze_of(11, true)));  // a closed frame comes off before solving
    CHECK_FALSE(maze.model_takes(small, maze_of(11, false)));
    CHECK_FALSE(maze.model_takes(small, maze_of(12, true)));
    Config any = small;
    any.mlp_t = false;
    any.pos_encodings = PosEncoding::Rope2d;
    maze.configure_model(any, 12);
    CHECK(maze.model_takes(any, maze_of(30, false)));
    CHECK(maze.model_takes(any, maze_of(kMazeMaxGrid, false)));
    CHECK_FALSE(maze.model_takes(any, maze_of(kMazeMaxGrid + 1, false)));
    any.pos_encodings = PosEncoding::Rope;  // 1D RoPE is tied to its grid's width
    CHECK_FALSE(maze.model_takes(any, maze_of(13, false)));
}
