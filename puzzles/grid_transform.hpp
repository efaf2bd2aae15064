// The 8 dihedral symmetries of a row-major grid, numbered as the official TRM `dihedral_transform` in
// dataset/common.py (numpy semantics; rot90 turns counter-clockwise):
//
//   tid  official                       out[i][j] =            out shape
//   0    arr                            x[i][j]                R x C
//   1    np.rot90(arr, k=1)             x[j][C-1-i]            C x R
//   2    np.rot90(arr, k=2)             x[R-1-i][C-1-j]        R x C
//   3    np.rot90(arr, k=3)             x[R-1-j][i]            C x R
//   4    np.fliplr(arr)                 x[i][C-1-j]            R x C
//   5    np.flipud(arr)                 x[R-1-i][j]            R x C
//   6    arr.T                          x[j][i]                C x R
//   7    np.fliplr(np.rot90(arr, k=1))  x[R-1-j][C-1-i]        C x R   (anti-diagonal reflection)
//
// Example, x = [[1,2,3],[4,5,6]]:  1 -> [[3,6],[2,5],[1,4]]   7 -> [[6,3],[5,2],[4,1]].
// The inverse of tid is kDihedralInverse[tid] (official DIHEDRAL_INVERSE): rot90 and rot270 swap, the rest
// are their own inverses.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/rng.hpp"

namespace trm {

constexpr int kDihedralCount = 8;
constexpr int kDihedralInverse[kDihedralCount] = {0, 3, 2, 1, 4, 5, 6, 7};

// Throws Error unless 0 <= tid < 8.
void check_dihedral_id(int tid);

// True when tid swaps the grid's rows and columns (1, 3, 6, 7).
inline bool dihedral_swaps_shape(int tid) { return tid == 1 || tid == 3 || tid == 6 || tid == 7; }

// Shape of the transformed R x C grid.
inline void dihedral_shape(int tid, int rows, int cols, int* out_rows, int* out_cols) {
    bool swap = dihedral_swaps_shape(tid);
    *out_rows = swap ? cols : rows;
    *out_cols = swap ? rows : cols;
}

// Row-major index into the R x C input of the cell that lands at (i, j) of the transformed grid.
int dihedral_source_index(int tid, int rows, int cols, int i, int j);

// out = dihedral_transform(in, tid) for an R x C row-major grid; in.size() must be rows * cols.
template <typename T>
std::vector<T> dihedral_transform(std::span<const T> in, int rows, int cols, int tid) {
    check_dihedral_id(tid);
    int out_rows, out_cols;
    dihedral_shape(tid, rows, cols, &out_rows, &out_cols);
    std::vector<T> out(in.size());
    for (int i = 0; i < out_rows; i++)
        for (int j = 0; j < out_cols; j++) out[size_t(i) * out_cols + j] = in[dihedral_source_index(tid, rows, cols, i, j)];
    return out;
}
template <typename T>
std::vector<T> dihedral_transform(const std::vector<T>& in, int rows, int cols, int tid) {
    return dihedral_transform(std::span<const T>(in), rows, cols, tid);
}

// Undoes dihedral_transform(., tid). rows x cols is the shape of the TRANSFORMED grid `in`.
template <typename T>
std::vector<T> inverse_dihedral_transform(const std::vector<T>& in, int rows, int cols, int tid) {
    check_dihedral_id(tid);
    return dihedral_transform(std::span<const T>(in), rows, cols, kDihedralInverse[tid]);
}

// ---- views and augmentations seeded from content ------------------------------------------------------------
// The random stream of a puzzle's views (Sudoku, mazes) or augmentations (ARC: seeded by task id), seeded from
// its content so that a run is reproducible and a puzzle gets the same views wherever it sits in the input.
inline Rng content_rng(std::string_view content, uint64_t seed = 0) { return Rng(seed ^ fnv1a(content)); }

// The dihedral transforms in the order a puzzle's views try them: identity first, then 1..7 shuffled by `rng`.
std::vector<int> dihedral_view_order(Rng& rng);

}  // namespace trm
