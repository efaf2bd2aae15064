// ARC training and evaluation data, built the way TRM dataset/build_arc_dataset.py builds it.
//
// Each kept task gets up to num_aug augmented copies besides itself (choose_arc_augmentations: dihedral x colour
// permutation, duplicates skipped). Every copy is one puzzle with its own identifier (its official name, e.g.
// "007bbfb7|||t3|||0581496237"); identifier 0 is "<blank>". One task with all its copies is one group.
//
//   train split: every demonstration pair of every task, plus the test pairs (with outputs) of train_tasks;
//                each example placed at a random offset (same for input and label), except one example per
//                puzzle, chosen at random, kept at (0, 0) (official `no_aug_id`).
//   test split:  the test pairs of eval_tasks, every copy, offset (0, 0); a test pair without an output, or with
//                one larger than the canvas, gets an all-pad label (token 0, ignored by the loss).
//
// Eval tasks are kept and augmented by what training sees of them (demonstrations and test inputs), so the
// identifiers are the same whether or not their solutions were loaded.
//
// Tokens: encode_arc_grid (puzzles/arc.hpp), canvas x canvas per example, seq_len = canvas^2, vocab 12.
// Memory: N x canvas^2 x 8 bytes (inputs + labels as int32); build refuses more than max_bytes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "puzzles/arc.hpp"

namespace trm {

struct ArcBuildOptions {
    int num_aug = 1000;         // augmented copies per task besides the original (official --num-aug 1000)
    uint64_t seed = 42;         // all randomness (augmentations, offsets) comes from trm::Rng(seed)
    int canvas = kArcCanvas;    // canvas side, 1..30; 10 -> seq_len 100 for small models
    int max_grid_size = 0;      // keep only tasks whose every grid has rows and cols <= this; 0 = canvas
    bool translate = true;      // random offsets in the train split (official); false = all at (0, 0)
    uint64_t max_bytes = uint64_t(4) << 30;  // cap on inputs + labels bytes
};

struct ArcDataset {
    int canvas = kArcCanvas;
    std::vector<std::string> identifiers;  // index = puzzle identifier; [0] = "<blank>"; same in both splits
    std::vector<int32_t> inputs, labels;   // N x canvas^2 tokens, row-major per example
    std::vector<int32_t> puzzle_ids;       // N: identifier of each example's puzzle
    std::vector<int32_t> puzzle_indices;   // P+1: puzzle p owns examples [puzzle_indices[p], puzzle_indices[p+1])
    std::vector<int32_t> group_indices;    // G+1: group g owns puzzles [group_indices[g], group_indices[g+1])
    size_t size() const { return puzzle_ids.size(); }
    int seq_len() const { return canvas * canvas; }
};

struct ArcSplits {
    ArcDataset train, test;
    std::vector<std::string> skipped_tasks;  // ids left out by max_grid_size
    std::vector<std::string> short_tasks;    // ids that got fewer than num_aug copies (too symmetric)
};

// train_tasks: all pairs are training data (e.g. ARC-AGI training, ConceptARC). eval_tasks: demonstrations are
// training data, test pairs form the test split (e.g. ARC-AGI evaluation). Throws Error on bad options or
// when the dataset would exceed max_bytes.
ArcSplits build_arc_dataset(const std::vector<ArcTask>& train_tasks, const std::vector<ArcTask>& eval_tasks,
                            const ArcBuildOptions& opt);

}  // namespace trm
