// Data-parallel shards over the batch. TRM's recursion never mixes puzzles, so the batch splits into one
// contiguous shard of rows per core, each run start to finish with single-threaded BLAS: no synchronisation
// inside a step, and element-wise work (norms, SwiGLU, softmax) runs on every core too. With one row, or one
// thread, the whole batch runs on the calling thread with multi-threaded BLAS instead.
#pragma once
#include <functional>

namespace trm {

// Threads used from now on (0 = hardware concurrency). Also sets OpenBLAS's thread count.
void set_threads(int n);
int num_threads();

// Calls fn(b0, b1, shard) for contiguous row ranges covering [0, B), in parallel when B >= 2 and threads > 1.
// shard < num_threads(); each shard index is used by exactly one call.
void parallel_shards(int B, const std::function<void(int b0, int b1, int shard)>& fn);

// Shard count and the largest shard size parallel_shards will use for a batch of B rows.
int shard_count(int B);
int max_shard_rows(int B);

}  // namespace trm
