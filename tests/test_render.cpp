// Terminal rendering (cli/render.cpp) over the registry's grid styles: grids under titles, the palette in plain
// digits or ANSI backgrounds, and every registered kind drawn without a crash on its own empty and full drafts.
//
// Tests link the libraries, not cli/, so the unit under test is compiled into this file (as test_mcp.cpp does).
#include "cli/render.cpp"

#include <doctest/doctest.h>

#include "puzzles/arc.hpp"
#include "puzzles/domain.hpp"

using namespace trm;
using namespace trm::cli;

namespace {

DraftGrid G(const std::vector<std::vector<int>>& rows) {
    const ArcGrid a = make_arc_grid(rows);
    return DraftGrid{a.rows, a.cols, a.cells};
}

}  // namespace

TEST_CASE("named grids: titles over side-by-side grids, plain digits or 24-bit ANSI blocks") {
    const Domain& arc = domain_named("arc");
    const Style plain{false, false, 16};
    CHECK(render_named_grids(arc, {{"input", G({{1, 2}, {3, 4}})}, {"attempt 1", G({{5}})}, {"x", DraftGrid{}}}, plain) ==
          "input   attempt 1   x\n"
          "1 2     5           (empty)\n"
          "3 4\n");
    const Style color{true, true, 16777216};
    CHECK(render_named_grids(arc, {{"in", G({{1, 9}})}}, color) ==
          "in\n"
          "\x1b[48;2;0;116;217m  \x1b[0m\x1b[48;2;135;12;37m  \x1b[0m\n");
    CHECK(kArcPalette[4] == 0xFFDC00);
}

TEST_CASE("every registered kind renders its drafts in every style, with a legend") {
    for (const Domain* d : domains()) {
        CAPTURE(d->name());
        const DraftGrid empty{};
        DraftGrid g{3, 3, std::vector<uint8_t>(9, uint8_t(std::string(d->grid_style()) == "maze" ? '#' : 1))};
        for (const Style& s : {Style{false, false, 16}, Style{true, true, 256}}) {
            CHECK_FALSE(render_draft(*d, g, g, &empty, s).empty());
            CHECK_FALSE(change_legend(*d, s).empty());
        }
    }
}
