#include <doctest/doctest.h>
#include "puzzles/maze.hpp"
TEST_CASE("placeholder") { CHECK(trm::maze_token_map().size() == 6); }
