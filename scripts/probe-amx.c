// Does this machine let trm use Intel AMX, and how fast are its bf16 tiles? (Planning probe, not part of trm.)
//
//   gcc -O2 -mamx-tile -mamx-bf16 scripts/probe-amx.c -o /tmp/probe-amx && /tmp/probe-amx
//
// Checks CPUID for AMX-TILE and AMX-BF16, asks Linux for the tile state (arch_prctl ARCH_REQ_XCOMP_PERM), then
// times back-to-back TDPBF16PS on four accumulator tiles (16 x 16 fp32 each, K = 32 bf16 per instruction) from
// tiles already loaded: the compute ceiling of one core, with no memory traffic. Compare it with the float32
// sgemm peak of `trm bench` (per core: that figure divided by the thread count).
#include <cpuid.h>
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

struct tile_config {
    uint8_t palette_id, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
};

int main(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d & (1u << 24)) || !(d & (1u << 22))) {
        printf("no AMX-TILE / AMX-BF16 on this CPU\n");
        return 1;
    }
    if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) != 0) {
        printf("the kernel refused the AMX tile state (arch_prctl)\n");
        return 1;
    }
    struct tile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette_id = 1;
    for (int i = 0; i < 8; i++) cfg.rows[i] = 16, cfg.colsb[i] = 64;
    _tile_loadconfig(&cfg);
    static uint16_t ones[16 * 32] __attribute__((aligned(64)));
    static float out[16 * 16] __attribute__((aligned(64)));
    for (int i = 0; i < 16 * 32; i++) ones[i] = 0x3f80;  // bf16 1.0
    _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
    _tile_loadd(4, ones, 64); _tile_loadd(5, ones, 64); _tile_loadd(6, ones, 64); _tile_loadd(7, ones, 64);
    const long n = 20000000;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; i++) {
        _tile_dpbf16ps(0, 4, 6); _tile_dpbf16ps(1, 4, 7); _tile_dpbf16ps(2, 5, 6); _tile_dpbf16ps(3, 5, 7);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    _tile_stored(0, out, 64);
    _tile_release();
    const double dt = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    // each TDPBF16PS: 16 x 16 outputs, 32 products each, 2 FLOPs per product
    printf("AMX bf16: %.0f GFLOP/s on one core (accumulator[0] = %.0f, nonzero)\n", 4.0 * n * 16 * 16 * 32 * 2 / dt / 1e9,
           (double)out[0]);
    return 0;
}
