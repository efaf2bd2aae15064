#include "core/cpu.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>

#include "core/error.hpp"
#include "core/gemm.hpp"
#include "core/names.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define TRM_X86 1
#endif

namespace trm {

namespace {

struct Features {
    Isa best = Isa::Portable;
    bool amx = false;
};

#if TRM_X86
unsigned long long xgetbv0() {
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (static_cast<unsigned long long>(hi) << 32) | lo;
}
#endif

Features detect() {
    Features f;
#if TRM_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    const bool osxsave = c & (1u << 27), fma = c & (1u << 12);
    if (!osxsave) return f;
    const unsigned long long xcr0 = xgetbv0();
    const bool ymm_os = (xcr0 & 0x6) == 0x6, zmm_os = (xcr0 & 0xe6) == 0xe6;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
    const bool avx2 = b & (1u << 5);
    const bool avx512 = (b & (1u << 16)) && (b & (1u << 17)) && (b & (1u << 30)) && (b & (1u << 31));  // F DQ BW VL
    f.amx = (d & (1u << 24)) && (d & (1u << 22));
    unsigned a1 = 0, b1, c1, d1;
    __get_cpuid_count(7, 1, &a1, &b1, &c1, &d1);
    const bool bf16 = a1 & (1u << 5);
    if (avx2 && fma && ymm_os) f.best = Isa::Avx2;
    if (f.best == Isa::Avx2 && avx512 && zmm_os) f.best = Isa::Avx512;
    if (f.best == Isa::Avx512 && bf16) f.best = Isa::Avx512Bf16;
#endif
    return f;
}

const Features& features() {
    static const Features f = detect();
    return f;
}

std::string lower(std::string_view s) {
    std::string r(s);
    for (char& ch : r) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    return r;
}

Isa initial_limit() {
    const char* env = std::getenv("TRM_ISA");
    if (!env || !*env) return features().best;
    return std::min(parse_isa(env), features().best);  // asking for more than the CPU has is not an error here
}

std::atomic<int>& limit_slot() {
    static std::atomic<int> v{int(initial_limit())};
    return v;
}

std::atomic<int> g_precision{int(Precision::Fp32)};
thread_local bool t_fp32 = false;  // inside an Fp32Scope on this thread

}  // namespace

constexpr NameTable<Isa, 4> kIsaNames{
    {{Isa::Portable, "portable"}, {Isa::Avx2, "avx2"}, {Isa::Avx512, "avx512"}, {Isa::Avx512Bf16, "avx512bf16"}}};

const char* isa_name(Isa isa) { return name_of(kIsaNames, isa); }

Isa parse_isa(std::string_view name) {
    Isa i = Isa::Portable;
    if (from_name(kIsaNames, lower(name), &i)) return i;
    fail("unknown instruction set '{}' (expected portable, avx2, avx512 or avx512bf16)", name);
}

Isa cpu_isa() { return features().best; }
bool cpu_has_amx() { return features().amx; }
Isa active_isa() { return Isa(limit_slot().load(std::memory_order_relaxed)); }

void set_isa_limit(Isa limit) {
    if (limit > cpu_isa()) fail("this CPU has no {} kernels (its best is {})", isa_name(limit), isa_name(cpu_isa()));
    limit_slot().store(int(limit), std::memory_order_relaxed);
    if (limit < Isa::Avx512Bf16 && precision() == Precision::Bf16) set_precision(Precision::Fp32);
}

const char* precision_name(Precision p) { return p == Precision::Bf16 ? "bf16" : "fp32"; }

Precision parse_precision(std::string_view name) {
    const std::string n = lower(name);
    if (n == "fp32" || n == "float32") return Precision::Fp32;
    if (n == "bf16" || n == "bfloat16") return Precision::Bf16;
    if (n == "auto") return auto_precision();  // core/gemm.cpp: measured, not assumed
    fail("unknown precision '{}' (expected auto, bf16 or fp32)", name);
}

Precision precision() {
    return t_fp32 ? Precision::Fp32 : Precision(g_precision.load(std::memory_order_relaxed));
}

Fp32Scope::Fp32Scope() : was_(t_fp32) { t_fp32 = true; }
Fp32Scope::~Fp32Scope() { t_fp32 = was_; }

void set_precision(Precision p) {
    if (p == Precision::Bf16 && active_isa() < Isa::Avx512Bf16)
        fail("bf16 products need AVX512_BF16 (this run's kernels: {})", isa_name(active_isa()));
    g_precision.store(int(p), std::memory_order_relaxed);
}

std::string compute_summary() {
    return fmt::format("kernels {} (cpu: {}, amx: {}), precision {}", isa_name(active_isa()), isa_name(cpu_isa()),
                       cpu_has_amx() ? "yes, unused" : "no", precision_name(precision()));
}

}  // namespace trm
