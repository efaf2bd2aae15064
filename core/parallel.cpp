#include "core/parallel.hpp"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <exception>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <cblas.h>

namespace trm {

namespace {

// Persistent workers; run() hands task k to worker k (task 0 runs on the caller) and waits for all.
class Pool {
public:
    ~Pool() { resize(0); }
    void resize(int workers) {
        {
            std::lock_guard<std::mutex> l(mu_);
            quit_ = true;
        }
        cv_.notify_all();
        for (auto& t : threads_) t.join();
        threads_.clear();
        quit_ = false;
        generation_ = 0;
        for (int i = 0; i < workers; i++) threads_.emplace_back([this, i] { loop(i + 1); });
    }
    int workers() const { return int(threads_.size()); }
    void run(int tasks, const std::function<void(int)>& fn) {
        std::exception_ptr err;
        {
            std::unique_lock<std::mutex> l(mu_);
            fn_ = &fn;
            tasks_ = tasks;
            pending_ = tasks - 1;
            errors_.clear();
            generation_++;
        }
        cv_.notify_all();
        try { fn(0); } catch (...) { err = std::current_exception(); }
        std::unique_lock<std::mutex> l(mu_);
        done_.wait(l, [&] { return pending_ == 0; });
        fn_ = nullptr;
        if (!err && !errors_.empty()) err = errors_.front();
        if (err) std::rethrow_exception(err);
    }

private:
    void loop(int id) {
        long seen = 0;
        while (true) {
            const std::function<void(int)>* fn;
            {
                std::unique_lock<std::mutex> l(mu_);
                cv_.wait(l, [&] { return quit_ || generation_ != seen; });
                if (quit_) return;
                seen = generation_;
                if (id >= tasks_) continue;
                fn = fn_;
            }
            std::exception_ptr e;
            try { (*fn)(id); } catch (...) { e = std::current_exception(); }
            std::lock_guard<std::mutex> l(mu_);
            if (e) errors_.push_back(e);
            if (--pending_ == 0) done_.notify_all();
        }
    }
    std::vector<std::thread> threads_;
    std::mutex mu_;
    std::condition_variable cv_, done_;
    const std::function<void(int)>* fn_ = nullptr;
    int tasks_ = 0, pending_ = 0;
    long generation_ = 0;
    bool quit_ = false;
    std::vector<std::exception_ptr> errors_;
};

// OpenBLAS's own threads: all of them for a lone product, one inside a shard or team. Private: set_threads()
// is the one public setter, so trm's workers and OpenBLAS's never disagree.
void set_blas_threads(int n) {
    if (n > 0) openblas_set_num_threads(n);
}

}  // namespace

const char* blas_core_name() { return openblas_get_corename(); }

bool blas_has_vector_kernels() {
    static const bool yes = [] {
        // OpenBLAS 0.3.x x86-64 cores with AVX2 (or AVX-512) kernels; every other name is an older instruction set
        static const char* const names[] = {"haswell", "skylakex", "cooperlake", "sapphirerapids", "zen", "excavator"};
        std::string core = blas_core_name() ? blas_core_name() : "";
        std::transform(core.begin(), core.end(), core.begin(), [](unsigned char ch) { return char(std::tolower(ch)); });
        return std::any_of(std::begin(names), std::end(names), [&](const char* n) { return core == n; });
    }();
    return yes;
}

namespace {

Pool& pool() {
    static Pool p;
    return p;
}
int g_threads = 0;
thread_local bool t_solo = false;

}  // namespace

ScopedSolo::ScopedSolo() : prev_(t_solo) { t_solo = true; }
ScopedSolo::~ScopedSolo() { t_solo = prev_; }

void set_threads(int n) {
    if (n <= 0) n = int(std::max(1u, std::thread::hardware_concurrency()));
    g_threads = n;
    set_blas_threads(n);
    pool().resize(n - 1);
}

int num_threads() {
    if (t_solo) return 1;
    if (g_threads == 0) set_threads(0);
    return g_threads;
}

int shard_count(int B) { return std::max(1, std::min(num_threads(), B)); }

int max_shard_rows(int B) {
    const int s = shard_count(B);
    return (B + s - 1) / s;
}

void SpinBarrier::wait() {
    const unsigned gen = generation_.load(std::memory_order_acquire);
    if (waiting_.fetch_add(1, std::memory_order_acq_rel) + 1 == n_) {
        waiting_.store(0, std::memory_order_relaxed);
        generation_.fetch_add(1, std::memory_order_acq_rel);
        return;
    }
    for (int spins = 0; generation_.load(std::memory_order_acquire) == gen; spins++) {
        if (broken_.load(std::memory_order_acquire)) throw TeamAborted{};
        if (spins > 4000) std::this_thread::yield();
    }
}

std::pair<int, int> Team::part(int n, int unit) const {
    const int units = (n + unit - 1) / unit;
    const int per = units / T, extra = units % T;
    const int u0 = t * per + std::min(t, extra), u1 = u0 + per + (t < extra ? 1 : 0);
    return {std::min(n, u0 * unit), std::min(n, u1 * unit)};
}

void parallel_team(const std::function<void(const Team&)>& fn) {
    const int T = num_threads();
    if (T <= 1) {
        fn(Team{});
        return;
    }
    SpinBarrier barrier(T);
    std::mutex mu;
    std::exception_ptr first;  // the failure that aborted the team, not the TeamAborted it caused in the others
    set_blas_threads(1);
    pool().run(T, [&](int k) {
        try {
            fn(Team{k, T, &barrier});
        } catch (const TeamAborted&) {
        } catch (...) {
            std::lock_guard<std::mutex> l(mu);
            if (!first) first = std::current_exception();
            barrier.abort();
        }
    });
    set_blas_threads(g_threads);
    if (first) std::rethrow_exception(first);
}

void parallel_shards(int B, const std::function<void(int, int, int)>& fn) {
    const int shards = shard_count(B);
    if (shards <= 1) {
        fn(0, B, 0);
        return;
    }
    const int per = (B + shards - 1) / shards;
    set_blas_threads(1);
    try {
        pool().run(shards, [&](int k) {
            const int b0 = k * per, b1 = std::min(B, b0 + per);
            if (b0 < b1) fn(b0, b1, k);
        });
    } catch (...) {
        set_blas_threads(g_threads);
        throw;
    }
    set_blas_threads(g_threads);
}

}  // namespace trm
