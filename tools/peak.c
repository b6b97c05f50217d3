/*
 * The machine's floating-point peak for kiln profile's "% of peak" column:
 * one core's f32 fused multiply-add throughput, measured (not looked up)
 * by running independent FMA chains for a few tens of milliseconds.
 *
 * Why measured: the figure that matters is what this core sustains at the
 * clock it runs now (turbo, power limits, a VM's share), which no table
 * of nominal figures knows. Why many chains: an FMA's latency (4-5
 * cycles) times the FMA ports (2) is how many must be in flight to keep
 * every port busy; 12 independent accumulators cover every x86 core.
 * The widest vector the CPU has is picked at run time
 * (__builtin_cpu_supports), so the figure matches code built for it.
 */
#include "tools/profile.h"

#include <math.h>
#include <time.h>

#if defined(__x86_64__)
#define PEAK_X86 1
#endif

#define CHAINS 12

#ifdef PEAK_X86
/* The x86 loops are inline assembly rather than intrinsics: with
 * intrinsics the compiler decides whether the 12 accumulators stay in
 * registers (gcc 12 at -O2 keeps them in a stack array, and -O0 always
 * does), and a store-forwarding round trip per FMA measures memory, not
 * the FMA units. All registers start at zero: 0 * 0 + 0 stays 0, so no
 * denormal or overflow slows the chains. `iters` > 0. */
#define FMA12(R)                                                                                                     \
  "vfmadd231ps %%" R "14, %%" R "15, %%" R "0\n\t"                                                                    \
  "vfmadd231ps %%" R "14, %%" R "15, %%" R "1\n\t"                                                                    \
  "vfmadd231ps %%" R "14, %%" R "15, %%" R "2\n\t"                                                                    \
  "vfmadd231ps %%" R "14, %%" R "15, %%" R "3\n\t"                                                                    \
  "vfmadd231ps %%" R "14, %%" R "15, %%" R "4\n\t"                                                                    \
  "vfmadd231ps %%" R "14, %%" R "15, %%" R "5\n\t"                                                                    \
  "vfmadd231ps %%" R "14, %%" R "15, %%" R "6\n\t"                                                                    \
  "vfmadd231ps %%" R "14, %%" R "15, %%" R "7\n\t"                                                                    \
  "vfmadd231ps %%" R "14, %%" R "15, %%" R "8\n\t"                                                                    \
  "vfmadd231ps %%" R "14, %%" R "15, %%" R "9\n\t"                                                                    \
  "vfmadd231ps %%" R "14, %%" R "15, %%" R "10\n\t"                                                                   \
  "vfmadd231ps %%" R "14, %%" R "15, %%" R "11\n\t"
#define ZERO16(R)                                                                                                    \
  "vpxor %%xmm0, %%xmm0, %%xmm0\n\t"                                                                                \
  "vmovaps %%" R "0, %%" R "1\n\t vmovaps %%" R "0, %%" R "2\n\t vmovaps %%" R "0, %%" R "3\n\t"                      \
  "vmovaps %%" R "0, %%" R "4\n\t vmovaps %%" R "0, %%" R "5\n\t vmovaps %%" R "0, %%" R "6\n\t"                      \
  "vmovaps %%" R "0, %%" R "7\n\t vmovaps %%" R "0, %%" R "8\n\t vmovaps %%" R "0, %%" R "9\n\t"                      \
  "vmovaps %%" R "0, %%" R "10\n\t vmovaps %%" R "0, %%" R "11\n\t vmovaps %%" R "0, %%" R "14\n\t"                   \
  "vmovaps %%" R "0, %%" R "15\n\t"
#define CLOBBERS                                                                                                     \
  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm14", "xmm15", \
      "cc"

static void fma_avx2(long iters) {
  __asm__ volatile(ZERO16("ymm") "1:\n\t" FMA12("ymm") "dec %0\n\t"
                                                         "jnz 1b\n\t"
                                                         "vzeroupper"
                   : "+r"(iters)
                   :
                   : CLOBBERS);
}

static void fma_avx512(long iters) {
  __asm__ volatile(ZERO16("zmm") "1:\n\t" FMA12("zmm") "dec %0\n\t"
                                                         "jnz 1b\n\t"
                                                         "vzeroupper"
                   : "+r"(iters)
                   :
                   : CLOBBERS);
}
#endif

/* Elsewhere: scalar chains in C (x * 0.999 + 0.001 converges to 1, so no
 * denormal or overflow slows it); the result is used so none is dropped. */
static float fma_scalar(long iters) {
  float acc[CHAINS];
  for (int c = 0; c < CHAINS; c++) acc[c] = (float)c;
  for (long i = 0; i < iters; i++)
    for (int c = 0; c < CHAINS; c++) acc[c] = fmaf(acc[c], 0.999f, 0.001f);
  float s = 0;
  for (int c = 0; c < CHAINS; c++) s += acc[c];
  return s;
}

static double seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

prof_peak prof_measure_peak(double budget_ms) {
  prof_peak p = {0, "scalar", 1};
#ifdef PEAK_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) {
    p.isa = "AVX-512";
    p.lanes = 16;
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    p.isa = "AVX2+FMA";
    p.lanes = 8;
  }
#endif
  /* Short bursts; the best one counts (a burst that an interrupt or
   * another process cut into measures less than the core can do). */
  const long iters = 20000;
  double flops = 2.0 * CHAINS * p.lanes * (double)iters, best = 0;
  volatile float sink = 0;
  double start = seconds();
  do {
    double t0 = seconds();
#ifdef PEAK_X86
    if (p.lanes == 16) fma_avx512(iters);
    else if (p.lanes == 8) fma_avx2(iters);
    else
#endif
      sink += fma_scalar(iters);
    double dt = seconds() - t0;
    if (dt > 0 && flops / dt > best) best = flops / dt;
  } while ((seconds() - start) * 1e3 < budget_ms);
  (void)sink;
  p.gflops = best / 1e9;
  return p;
}
