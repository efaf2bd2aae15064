// Which instruction sets trm's kernels may use, and the precision the matrix products run in.
//
// One binary runs on any x86-64: the kernels for each instruction set live in their own translation units,
// compiled for that set only (core/gemm_kernels_*.cpp), and the best one the CPU has is chosen when trm starts
// (CPUID, and XGETBV for the OS's support of the wider registers). TRM_ISA (or --isa) caps the choice, so every
// lower path can be run, and tested, on a CPU that has a higher one.
#pragma once
#include <string>
#include <string_view>

namespace trm {

// Kernel families in ascending order; each implies the ones below it.
enum class Isa {
    Portable,    // plain C++ loops (whatever the compiler makes of them for baseline x86-64)
    Avx2,        // AVX2 + FMA, fp32
    Avx512,      // AVX-512 F/BW/DQ/VL, fp32: the 6x64 register-blocked micro-kernel
    Avx512Bf16,  // + AVX512_BF16: bf16 products with fp32 accumulation (vdpbf16ps)
};

const char* isa_name(Isa isa);
// "portable", "avx2", "avx512", "avx512bf16" (case-insensitive); throws Error naming the accepted values.
Isa parse_isa(std::string_view name);

Isa cpu_isa();     // the best family this CPU and OS support
Isa active_isa();  // cpu_isa() capped by set_isa_limit() or the TRM_ISA environment variable
// Caps the kernel family (never raises it above cpu_isa()); a higher request than the CPU has is an Error.
void set_isa_limit(Isa limit);
// Whether the CPU has AMX tiles (reported by `trm --version`; no AMX kernel exists yet).
bool cpu_has_amx();

// Precision of the matrix products. Fp32 everywhere, or bf16 operands (rounded to nearest even where the
// official code casts to its forward_dtype: weights and each product's input) with fp32 accumulation; norms,
// softmax, SwiGLU, losses, the carry and all optimizer state stay fp32.
enum class Precision { Fp32, Bf16 };
const char* precision_name(Precision p);
// "auto" resolves to auto_precision() (core/gemm.hpp): bf16 only where its products measure faster than fp32.
// Throws Error on anything else.
Precision parse_precision(std::string_view name);
Precision precision();  // the library default is Fp32
// Bf16 needs Avx512Bf16 among the active kernels (Error otherwise).
void set_precision(Precision p);

// For its lifetime, this thread's products run in fp32 whatever precision() says for the process: attention's
// head_dim-deep products (16 for the maze models) gain nothing from bf16 pairs and lose the fp32 path's unpacked
// operands, so they stay fp32 in both precisions.
class Fp32Scope {
public:
    Fp32Scope();
    ~Fp32Scope();
    Fp32Scope(const Fp32Scope&) = delete;
    Fp32Scope& operator=(const Fp32Scope&) = delete;

private:
    bool was_;
};

// "avx512bf16 (cpu: avx512bf16, amx: no), precision bf16": for --version, bench and trace headers.
std::string compute_summary();

}  // namespace trm
