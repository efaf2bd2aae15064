// ARC-AGI: task files, the official 30x30 token encoding, dihedral x colour augmentation with the official
// names, and terminal rendering. Voting, pass@k and the Kaggle submission live in puzzles/arc_vote.hpp.
//
// Reference: TRM dataset/build_arc_dataset.py (encoding, aug names, dedup), dataset/common.py (dihedral ids),
// evaluators/arc.py (_crop, voting).
//
// Token encoding of one grid on a canvas x canvas board (canvas 30 = official ARCMaxGridSize), row-major,
// seq = canvas^2 tokens:  0 pad, 1 <eos> marker, 2 + colour for colours 0..9 (vocab 12).
// A grid of R x C placed at offset (r0, c0) fills rows r0..r0+R-1, cols c0..c0+C-1. The marker occupies the row
// just under the grid over the grid's columns, [r0+R, c0 .. c0+C-1], and the column just right of the grid
// over the grid's rows, [r0 .. r0+R-1, c0+C], each only when it lies inside the canvas. The corner
// [r0+R, c0+C] is NOT marked (official: grid[eos_row, pad_c:eos_col] = 1; grid[pad_r:eos_row, eos_col] = 1).
// Example, 2x3 grid at offset (0,0):
//
//        c0 c1 c2 c3 c4 ..
//   r0 |  g  g  g  1  0
//   r1 |  g  g  g  1  0
//   r2 |  1  1  1  0  0
//   r3 |  0  0  0  0  0
//
// Offsets are a training-time augmentation only (the same offset for a pair's input and output); at inference
// the offset is 0, because decoding (the official _crop) reads the grid from the top-left corner.
//
// Error messages name pairs and rows 0-based, as JSON indices (`train pair 2` is task["train"][2]).
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/rng.hpp"

namespace trm {

constexpr int kArcMaxGridSize = 30;                       // largest ARC side; official canvas
constexpr int kArcCanvas = 30;                            // default canvas side -> seq_len 900
constexpr int kArcVocab = 12;                             // pad, eos, colours 0..9
constexpr int32_t kArcPadToken = 0;
constexpr int32_t kArcEosToken = 1;
constexpr int32_t kArcColourBase = 2;                     // token = colour + 2
constexpr uint64_t kMaxArcFileBytes = uint64_t(64) << 20;  // 64 MiB: 16x the largest ARC file; DOM ~8x text
constexpr const char* kArcIdSeparator = "|||";            // official PuzzleIdSeparator

// A grid of colours 0..9, row-major: cells[r * cols + c]. Parsed grids have 1..30 rows and cols; a decoded
// model prediction may be 0x0 (empty crop).
struct ArcGrid {
    int rows = 0, cols = 0;
    std::vector<uint8_t> cells;
    uint8_t at(int r, int c) const { return cells[size_t(r) * size_t(cols) + size_t(c)]; }
    bool operator==(const ArcGrid&) const = default;
};

struct ArcPair {
    ArcGrid input;
    std::optional<ArcGrid> output;  // always set for train pairs; test pairs may lack it (hidden solutions)
};

struct ArcTask {
    std::string id;                  // e.g. "007bbfb7"
    std::vector<ArcPair> train, test;  // both non-empty when parsed
};

// ---- Files ------------------------------------------------------------------------------------------------
// Accepted layouts:
//   one task:   {"train": [{"input": grid, "output": grid}, ...], "test": [{"input": grid[, "output": grid]}]}
//               (its id is ArcLoadOptions::task_id when given, else the file name without directory and
//               extension: the official evaluator needs the training id, e.g. "6150a2bd", to find the puzzle)
//   combined:   {"<task id>": {one task}, ...}  (Kaggle arc-agi_*_challenges.json), tasks in file order
//   solutions:  {"<task id>": [grid, ...]}       one output per test input (arc-agi_*_solutions.json)
// grid = [[c, ...], ...], 1..30 rows of the same 1..30 length, integers 0..9. Anything else throws Error.
struct ArcLoadOptions {
    std::string solutions_path;  // "" = none; fills (or replaces) test outputs
    std::string task_id;         // "" = all tasks; else only this one (Error if absent); names a one-task file
    uint64_t max_bytes = kMaxArcFileBytes;
};
std::vector<ArcTask> load_arc_tasks(const std::string& path, const ArcLoadOptions& opt = {});

// Same from text; `source` names the text in errors (usually the file path).
std::vector<ArcTask> parse_arc_tasks(std::string_view text, const std::string& source, const std::string& task_id = "");
// True when every grid of t (inputs, and outputs present) has rows and cols <= max_side.
bool arc_task_fits(const ArcTask& t, int max_side);

// Sets test outputs of `tasks` from a solutions document. Every task in `tasks` must have an entry with one grid
// per test input; entries for other tasks are ignored.
void apply_arc_solutions(std::vector<ArcTask>& tasks, std::string_view text, const std::string& source);

// ---- Encoding ---------------------------------------------------------------------------------------------
// Writes canvas^2 tokens to out[0 .. canvas^2) for g placed at (off_r, off_c). Throws Error if canvas is not in
// 1..30 or the grid does not fit (offset < 0 or offset + size > canvas).
void encode_arc_grid(const ArcGrid& g, int canvas, int off_r, int off_c, int32_t* out);
std::vector<int32_t> encode_arc_grid(const ArcGrid& g, int canvas = kArcCanvas);

// Official _crop: the largest-area rectangle anchored at the top-left whose cells are all colour tokens 2..11,
// as colours 0..9. Found row by row: the usable width only shrinks at the first non-colour token of each new
// row; ties keep the smaller row count. Tokens outside 0..11 count as non-colour. May return a 0x0 grid.
ArcGrid decode_arc_grid(const int32_t* tokens, int canvas = kArcCanvas);

// Random offset for a pair (official np_grid_to_seq_translational_augment): r0 uniform in
// [0, canvas - max(rows)], c0 uniform in [0, canvas - max(cols)], drawn in that order.
std::pair<int, int> random_arc_offset(const ArcGrid& a, const ArcGrid& b, int canvas, Rng& rng);

// ---- Dihedral transforms (official dataset/common.py numbering) --------------------------------------------
//   0 identity            1 np.rot90(x, 1) (counter-clockwise)   2 np.rot90(x, 2)   3 np.rot90(x, 3)
//   4 np.fliplr (mirror left-right)   5 np.flipud (mirror up-down)   6 x.T (transpose)
//   7 np.fliplr(np.rot90(x, 1)) (anti-transpose)
// Inverse: 1 <-> 3, every other id is its own inverse (official DIHEDRAL_INVERSE = [0, 3, 2, 1, 4, 5, 6, 7]).
ArcGrid arc_dihedral(const ArcGrid& g, int t);
int arc_dihedral_inverse(int t);

// ---- Augmentation -----------------------------------------------------------------------------------------
// One official augmentation: recolour with `mapping` (new colour = mapping[old]; a permutation of 0..9, 0 fixed
// by the builder) then apply dihedral `trans` (the two commute).
struct ArcAug {
    int trans = 0;
    std::array<uint8_t, 10> mapping{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    bool is_identity() const;
    bool operator==(const ArcAug&) const = default;
};
ArcGrid arc_augment(const ArcGrid& g, const ArcAug& a);
ArcGrid arc_unaugment(const ArcGrid& g, const ArcAug& a);  // inverse: maps a prediction back to the task frame
ArcTask arc_augment(const ArcTask& t, const ArcAug& a);      // every grid; id becomes arc_aug_name(t.id, a)

// Official identifier: `<id>|||t<trans>|||<mapping as 10 digits>`, e.g. "007bbfb7|||t3|||0581496237";
// the identity augmentation is named just `<id>`.
std::string arc_aug_name(const std::string& task_id, const ArcAug& a);
// Inverse of arc_aug_name (official inverse_aug): a name without "|||" is (name, identity). Throws Error on
// a malformed name (wrong part count, not t0..t7, mapping not a permutation of the digits 0..9).
std::pair<std::string, ArcAug> parse_arc_aug_name(std::string_view name);

// The task as a solver may see it: test outputs dropped. Choices made from it (which augmented copies are distinct,
// whether the task fits a canvas) cannot depend on whether the solutions were loaded.
ArcTask without_test_outputs(const ArcTask& t);

// Official augmentation plan for one task: element 0 is the identity; then up to 5 * count random draws
// (trans uniform 0..7, then a uniform shuffle of colours 1..9, 0 fixed), each kept only if the augmented task
// (its multiset of (input, output) pairs, train and test) differs from every task already kept. Returns at most
// count + 1 augmentations; fewer when the task is too symmetric (the official prints "augmentation not full").
std::vector<ArcAug> choose_arc_augmentations(const ArcTask& t, int count, Rng& rng);

// ---- Colours ------------------------------------------------------------------------------------------------
// Standard ARC palette, 0xRRGGBB: 0 black, 1 blue, 2 red, 3 green, 4 yellow, 5 grey, 6 magenta, 7 orange,
// 8 sky, 9 maroon.
constexpr std::array<uint32_t, 10> kArcPalette{0x000000, 0x0074D9, 0xFF4136, 0x2ECC40, 0xFFDC00,
                                               0xAAAAAA, 0xF012BE, 0xFF851B, 0x7FDBFF, 0x870C25};

// ---- Small helpers ----------------------------------------------------------------------------------------
// Builds a grid from rows; Error if ragged or a value is outside 0..9 (for tests and tools).
ArcGrid make_arc_grid(const std::vector<std::vector<int>>& rows);
// A byte string equal for equal grids (shape and cells): a map key, like the official grid_hash.
std::string arc_grid_key(const ArcGrid& g);
// The grid as compact JSON, e.g. "[[0,1],[2,3]]".
std::string arc_grid_json(const ArcGrid& g);

}  // namespace trm
