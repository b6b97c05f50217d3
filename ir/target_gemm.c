/*
 * The GEMM tile rule (ir/target.h): how a dot or convolution reads as a
 * GEMM (ir_gemm_dims_of, ir_gemm_im2col_of), which products the tiled GEMM
 * kernel takes and with what register tile (ir_gemm_tile). Read by the
 * layout pass (to store weights in the panels the kernel will read) and by
 * the CPU GEMM (codegen/cpu/cg_gemm.c), so the two cannot disagree.
 */
#include <string.h>

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

const char *ir_gemm_dims_of(const ir_inst *in, const ir_shape *x, const ir_shape *y, ir_gemm_dims *out) {
  memset(out, 0, sizeof *out);
  ir_gemm_dims *g = out;
  g->batch = g->M = g->N = g->K = 1;
  if (in->op == IR_OP_DOT) {
    const ir_dot_dims *dd = in->a.dot;
    g->a = 0;
    g->b = 1;
    g->nb = dd->nbatch;
    g->nk = dd->ncontract;
    for (int i = 0; i < dd->nbatch; i++) {
      g->bdim_l[i] = dd->lhs_batch[i];
      g->bdim_r[i] = dd->rhs_batch[i];
      g->bsz[i] = x->dims[dd->lhs_batch[i]];
      g->batch *= g->bsz[i];
    }
    for (int i = 0; i < dd->ncontract; i++) {
      g->kl[i] = dd->lhs_contract[i];
      g->kr[i] = dd->rhs_contract[i];
      g->ksz[i] = x->dims[dd->lhs_contract[i]];
      g->K *= g->ksz[i];
    }
    for (int i = 0; i < x->rank; i++)
      if (!ir_dims_has(dd->lhs_batch, dd->nbatch, i) && !ir_dims_has(dd->lhs_contract, dd->ncontract, i)) {
        g->lf[g->nlf] = i;
        g->lfsz[g->nlf++] = x->dims[i];
        g->M *= x->dims[i];
      }
    for (int i = 0; i < y->rank; i++)
      if (!ir_dims_has(dd->rhs_batch, dd->nbatch, i) && !ir_dims_has(dd->rhs_contract, dd->ncontract, i)) {
        g->rf[g->nrf] = i;
        g->rfsz[g->nrf++] = y->dims[i];
        g->N *= y->dims[i];
      }
    g->abatch = g->batch;
    return NULL;
  }
  const ir_conv_dims *cd = in->conv;
  /* The GEMM writes C[M,N] per image and group as rows of output features
   * over output positions: NCHW-like results only. */
  if (cd->out_batch != 0 || cd->out_feature != 1) return "the result is not NCHW-like";
  for (int i = 0; i < cd->nspatial; i++)
    if (cd->out_spatial[i] != i + 2) return "the result is not NCHW-like";
  g->conv = true;
  g->a = 1; /* the kernel gives the rows (output features) */
  g->b = 0; /* the input gives the columns (output positions) */
  g->groups = in->index > 0 ? in->index : 1;
  g->cin_g = y->dims[cd->k_in];
  g->ns = cd->nspatial;
  g->M = y->dims[cd->k_out] / g->groups;
  g->K = g->cin_g;
  g->taps[0] = g->cin_g;
  for (int i = 0; i < cd->nspatial; i++) {
    g->taps[i + 1] = in->a.window->d[i].size;
    g->K *= g->taps[i + 1];
    g->opos[i] = in->shape.dims[cd->out_spatial[i]];
    g->N *= g->opos[i];
  }
  g->batch = x->dims[cd->in_batch] * g->groups;
  g->abatch = g->groups;
  /* Few output features per group (depthwise: one) would fill one row of
   * each tile after packing the input once per group. */
  if (g->groups > 1 && g->M < 4) return "grouped with under 4 output features per group (the row kernel takes it)";
  return NULL;
}

ir_gemm_im2col ir_gemm_im2col_of(const ir_inst *in, const ir_shape *x, const ir_gemm_dims *gd, int vec_f32) {
  ir_gemm_im2col r = {false, false, false};
  if (!gd->conv || gd->ns != 2) return r;
  const ir_conv_dims *cd = in->conv;
  const ir_window *w = in->a.window;
  if (cd->in_batch != 0 || cd->in_feature != 1 || cd->in_spatial[0] != 2 || cd->in_spatial[1] != 3) return r;
  for (int i = 0; i < 2; i++)
    if (w->d[i].lhs_dilate != 1) return r;
  if (x->dims[2] * x->dims[3] > (1 << 30) || gd->N > (1 << 30)) return r;
  r.flat = true;
  r.contiguous = w->d[0].stride == 1 && w->d[1].stride == 1 && gd->opos[1] == x->dims[3];
  int64_t sw = w->d[1].stride;
  r.rowvec = !r.contiguous && vec_f32 > 0 && gd->opos[1] % vec_f32 == 0 && (sw == 1 || sw == 2);
  return r;
}
