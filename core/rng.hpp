// Deterministic, portable random numbers (xoshiro256** seeded by splitmix64). Same seed, same stream, on every
// platform and compiler, unlike std::uniform_int_distribution. The state is 4 words, so training state files
// can save and restore it exactly.
#pragma once
#include <array>
#include <cmath>
#include <cstdint>
#include <string_view>

namespace trm {

struct Rng {
    std::array<uint64_t, 4> s{};

    explicit Rng(uint64_t seed = 0) { reseed(seed); }
    void reseed(uint64_t seed) {
        for (auto& w : s) {
            seed += 0x9e3779b97f4a7c15ull;
            uint64_t z = seed;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
            w = z ^ (z >> 31);
        }
    }
    uint64_t next() {
        auto rotl = [](uint64_t x, int k) { return (x << k) | (x >> (64 - k)); };
        uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45);
        return r;
    }
    // Uniform integer in [0, n), n > 0 (Lemire's multiply-shift with rejection: unbiased).
    uint64_t below(uint64_t n) {
        __uint128_t m = __uint128_t(next()) * n;
        uint64_t lo = uint64_t(m);
        if (lo < n) {
            uint64_t t = (0 - n) % n;
            while (lo < t) { m = __uint128_t(next()) * n; lo = uint64_t(m); }
        }
        return uint64_t(m >> 64);
    }
    int range(int lo, int hi_inclusive) { return lo + int(below(uint64_t(hi_inclusive - lo + 1))); }
    double uniform() { return double(next() >> 11) * 0x1.0p-53; }  // [0, 1)
    float normal() {  // Box-Muller
        double u1 = uniform(), u2 = uniform();
        if (u1 < 1e-300) u1 = 1e-300;
        return float(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
    }
    template <typename It> void shuffle(It first, It last) {
        for (auto n = last - first; n > 1; n--) std::swap(first[n - 1], first[below(uint64_t(n))]);
    }
};

// FNV-1a: a portable string hash for seeding per-name streams (std::hash differs between standard libraries).
inline uint64_t fnv1a(std::string_view s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : s) { h ^= c; h *= 0x100000001b3ull; }
    return h;
}

}  // namespace trm
