// Buffers aligned to a cache line, for data the gemm kernel streams past the caches (core/gemm.hpp): AVX-512
// streaming stores need 64-byte aligned addresses, and std::vector's allocator guarantees only 16.
#pragma once
#include <cstddef>
#include <new>
#include <vector>

namespace trm {

inline constexpr size_t kCacheLine = 64;

template <class T>
struct CacheLineAllocator {
    using value_type = T;
    CacheLineAllocator() = default;
    template <class U>
    CacheLineAllocator(const CacheLineAllocator<U>&) {}
    T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(kCacheLine))); }
    void deallocate(T* p, size_t) { ::operator delete(p, std::align_val_t(kCacheLine)); }
    template <class U>
    bool operator==(const CacheLineAllocator<U>&) const { return true; }
};

template <class T>
using AlignedVector = std::vector<T, CacheLineAllocator<T>>;

// n floats rounded up to whole cache lines, so that consecutive buffers carved from one arena all stay aligned.
inline size_t whole_lines(size_t floats) {
    constexpr size_t per = kCacheLine / sizeof(float);
    return (floats + per - 1) / per * per;
}

}  // namespace trm
