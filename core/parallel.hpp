// Data-parallel shards over the batch. TRM's recursion never mixes puzzles, so the batch splits into one
// contiguous shard of rows per core, each run start to finish with single-threaded BLAS: no synchronisation
// inside a step, and element-wise work (norms, SwiGLU, softmax) runs on every core too. With one row, or one
// thread, the whole batch runs on the calling thread with multi-threaded BLAS instead.
//
// Batches smaller than the thread count (one puzzle at a time) run as a Team instead: every thread takes a slice
// of each operation (columns of a product, rows of an element-wise pass) and the threads meet at a spinning
// barrier between operations that depend on each other's slices.
#pragma once
#include <atomic>
#include <functional>
#include <utility>

namespace trm {

// The core OpenBLAS picked for this CPU ("SkylakeX", "Haswell", "Prescott", ...), and whether its kernels use
// AVX2 or wider. OpenBLAS's DYNAMIC_ARCH falls back to its SSE3 "Prescott" kernels on an x86 model it does not know
// (Debian's 0.3.21 on Emerald Rapids, family 6 model 207), where its products run at a fraction of the machine.
const char* blas_core_name();
bool blas_has_vector_kernels();

// Threads used from now on (0 = hardware concurrency). Also sets OpenBLAS's thread count.
void set_threads(int n);
int num_threads();  // 1 on a thread inside a ScopedSolo

// While one lives, the calling thread counts as the only thread: num_threads() is 1 there, so parallel_shards and
// parallel_team run everything on it and never touch the shared pool. The pool is one global team and not
// re-entrant, so this is how several threads run models at once (`trm mcp` runs one request per worker thread).
// OpenBLAS's thread count is process-wide and not changed here: such callers call set_threads(1) first.
class ScopedSolo {
public:
    ScopedSolo();
    ~ScopedSolo();
    ScopedSolo(const ScopedSolo&) = delete;
    ScopedSolo& operator=(const ScopedSolo&) = delete;

private:
    bool prev_;
};

// Calls fn(b0, b1, shard) for contiguous row ranges covering [0, B), in parallel when B >= 2 and threads > 1.
// shard < num_threads(); each shard index is used by exactly one call.
void parallel_shards(int B, const std::function<void(int b0, int b1, int shard)>& fn);

// Shard count and the largest shard size parallel_shards will use for a batch of B rows.
int shard_count(int B);
int max_shard_rows(int B);

// Barrier for the threads of one team: spins briefly (the team owns the cores), then yields. A member that fails
// breaks it, so the others leave (throwing TeamAborted) instead of waiting forever.
class SpinBarrier {
public:
    explicit SpinBarrier(int n) : n_(n) {}
    void wait();
    void abort() { broken_.store(true, std::memory_order_release); }

private:
    const int n_;
    std::atomic<int> waiting_{0};
    std::atomic<unsigned> generation_{0};
    std::atomic<bool> broken_{false};
};
struct TeamAborted {};

// Thread t of a team of T working on one operation at a time.
struct Team {
    int t = 0, T = 1;
    SpinBarrier* barrier = nullptr;
    void sync() const {
        if (barrier) barrier->wait();
    }
    // This thread's slice [begin, end) of n items, split in whole units (the last unit may be partial).
    std::pair<int, int> part(int n, int unit) const;
};

// Runs fn on every thread (num_threads() of them) as one team; the solo team when there is one thread.
// If a member throws, the others are released and the first member's exception is rethrown here.
void parallel_team(const std::function<void(const Team&)>& fn);

}  // namespace trm
