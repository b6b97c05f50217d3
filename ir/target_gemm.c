/*
 * The GEMM tile rule (ir/target.h): which products the tiled GEMM kernel
 * takes and with what register tile. One function, read by the layout
 * pass (to store weights in the panels the kernel will read) and by the
 * CPU GEMM (codegen/cpu/cg_gemm.c), so the two cannot disagree.
 */
#include "ir/target.h"

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* The register tile. Normally `mr` rows of A, each broadcast, against `nv`
 * vectors of B's columns (NR = nv·vec_f32 output positions). When N is not
 * a multiple of NR, the lanes of the last column panel go unused (512x49:
 * 49 of 64 computed lanes are wanted); the transposed tile (`swap`) puts
 * the vectors along M instead (output features, usually a multiple of the
 * vector width) and broadcasts B, with the B panel width chosen among
 * mr/2..mr to waste the fewest columns (49 = 7x7, 196 = 14x14). Taken when
 * its share of useful lanes is at least 15 % higher: its epilogue loops
 * and scattered stores cost more (at 5 % it also took 64- and 128-feature
 * layers, which then ran slower inside ResNet-18). The team's notes
 * (../shared/CPU_KERNELS.md) measured 512x49x4608 going from 74 % to 95 %
 * of peak this way. Not taken for short K (the per-tile costs weigh more:
 * a 7x7 stem convolution, K = 147, lost 20 %), nor where the caller says
 * so (allow_swap: the CPU GEMM's `rowvec` im2col needs vector-aligned B
 * panels), nor for dots: the transformer's 32x128x512 products
 * (activations x weights) ran 7 % slower transposed (B's panels padded to
 * the vector width, 16 small tiles). */
bool ir_gemm_tile(const ir_target *t, int64_t M, int64_t N, int64_t K, bool conv, bool allow_swap, ir_gemm_tiling *out) {
  int vw = t->vec_f32 > 0 ? t->vec_f32 : 4, mr = t->gemm_mr > 0 ? t->gemm_mr : 4, nv = t->gemm_nv > 0 ? t->gemm_nv : 2;
  out->vw = vw;
  out->mr = mr;
  out->nv = nv;
  out->swap = false;
  out->aw = mr;
  out->bw = out->bld = out->swap_bw = nv * vw;
  /* Small products are not worth packing. */
  if (M <= 0 || N <= 0 || K <= 0 || (double)M * (double)N * (double)K < t->gemm_min_macs) return false;
  int nr = vw * nv;
  double eff = (double)M / (double)(ceil_div(M, mr) * mr) * (double)N / (double)(ceil_div(N, nr) * nr);
  int best = mr;
  double beff = 0;
  for (int w = mr; w >= (mr + 1) / 2; w--) {
    double e = (double)N / (double)(ceil_div(N, w) * w);
    if (e > beff + 1e-12) beff = e, best = w;
  }
  double seff = (double)M / (double)(ceil_div(M, nr) * nr) * beff;
  out->swap_bw = best;
  out->swap = allow_swap && conv && K >= 256 && seff > eff * 1.15;
  out->aw = out->swap ? nr : mr;
  out->bw = out->swap ? best : nr;
  out->bld = (int)ceil_div(out->bw, vw) * vw;
  return true;
}
