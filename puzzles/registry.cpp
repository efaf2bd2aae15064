// The registry of puzzle kinds: adding a kind is its file pair (puzzles/<kind>_domain.*) and one line here.
#include "puzzles/arc_domain.hpp"
#include "puzzles/domain.hpp"
#include "puzzles/maze_domain.hpp"
#include "puzzles/sudoku_domain.hpp"

namespace trm {

const std::vector<const Domain*>& domains() {
    static const std::vector<const Domain*> kDomains{
        &sudoku_domain(),
        &maze_domain(),
        &arc_domain(),
    };
    return kDomains;
}

}  // namespace trm
