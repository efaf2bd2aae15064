#include "puzzles/grid_transform.hpp"

#include "core/error.hpp"

namespace trm {

void check_dihedral_id(int tid) {
    if (tid < 0 || tid >= kDihedralCount) fail("dihedral transform id {} is not in 0..7", tid);
}

int dihedral_source_index(int tid, int rows, int cols, int i, int j) {
    const int R = rows, C = cols;
    int r = i, c = j;
    switch (tid) {
        case 0: r = i;         c = j;         break;
        case 1: r = j;         c = C - 1 - i; break;
        case 2: r = R - 1 - i; c = C - 1 - j; break;
        case 3: r = R - 1 - j; c = i;         break;
        case 4: r = i;         c = C - 1 - j; break;
        case 5: r = R - 1 - i; c = j;         break;
        case 6: r = j;         c = i;         break;
        case 7: r = R - 1 - j; c = C - 1 - i; break;
        default: check_dihedral_id(tid);
    }
    return r * C + c;
}

std::vector<int> dihedral_view_order(Rng& rng) {
    std::vector<int> order{0, 1, 2, 3, 4, 5, 6, 7};
    rng.shuffle(order.begin() + 1, order.end());
    return order;
}

}  // namespace trm
