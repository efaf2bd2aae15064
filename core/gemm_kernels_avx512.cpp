// The gemm micro-kernels built for one instruction set (avx512): CMakeLists.txt gives this file its flags.
#define TRM_GEMM_KERNEL_UNIT
#include "core/gemm_kernel.hpp"

namespace trm::gemm_detail {

const Kernels* kernels_avx512() {
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512DQ__) && defined(__AVX512VL__)
    static const Kernels k = make_kernels();
    return &k;
#else
    return nullptr;  // not built for this instruction set (another architecture, or flags not given)
#endif
}

}  // namespace trm::gemm_detail
