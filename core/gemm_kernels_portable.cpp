// The gemm micro-kernels built for one instruction set (portable): CMakeLists.txt gives this file its flags.
#define TRM_GEMM_KERNEL_UNIT
#include "core/gemm_kernel.hpp"

namespace trm::gemm_detail {

const Kernels* kernels_portable() {
#if 1
    static const Kernels k = make_kernels();
    return &k;
#else
    return nullptr;  // not built for this instruction set (another architecture, or flags not given)
#endif
}

}  // namespace trm::gemm_detail
