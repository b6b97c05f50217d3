/*
 * dot with run-time M, N and K (symbolic modules): a register-tiled
 * product that reads its operands where they are, for the products the
 * packed GEMM (cg_gemm.c) declines — attention in a transformer with a
 * symbolic sequence length, and projections whose M spans several
 * symbolic dimensions (x [b, s, 128] · W):
 *
 *   scores = Q · Kᵀ    f32[b·h,s,d] x f32[b·h,d,s] -> f32[b·h,s,s]  (or Kᵀ as [b·h,s,d])
 *   out    = P · V     f32[b·h,s,s] x f32[b·h,s,d] -> f32[b·h,s,d]
 *
 * Per batch, C[M,N] = A[M,K] · B[K,N] with every extent read from the
 * binding (cg_dim). All arrays are dense at their actual dimensions:
 *
 *   A[m][k]  at m·K + k   (lhs [batch.., M.., K])  or  k·M + m  (lhs [batch.., K, M..])
 *   B[k][n]  at k·N + n   (rhs [batch.., K, N..])  or  n·K + k  (rhs [batch.., N.., K])
 *            or, a static weight the layout pass stored in NR-column
 *            panels (passes/layout.c), at (n/NR)·K·NR + k·NR + n%NR
 *   C[m][n]  at m·N + n   (result [batch.., M.., N..], row-major)
 *
 * A unit is (batch, row block of up to RB = 32·MR rows, column panel of
 * NR = NV·VW columns), batch outermost, column panel innermost; the units
 * function gives batch · ceil(M/RB) · ceil(N/NR) at run time. Within a
 * unit the tile of cg_gemm.c's house form runs down the row block: MR rows
 * × NV vectors of VW lanes in accumulators, a B row as NV vector loads,
 * each A value broadcast, llvm.fmuladd, a run-time K loop unrolled 4
 * times. The tile reads B's column panel as [K][NR] rows:
 *
 *   B[k][n] contiguous along n: the unit copies its panel into a stack
 *     buffer [K][NR] (masked loads, zero past N) — faster than reading
 *     B's rows in place at their stride of N floats: attention's Q·Kᵀ at
 *     s = 128 (8·MR rows a unit) took 1.9-2.3x the static GEMM's time in
 *     place, 1.1-1.2x copied. Where the buffer would pass 32 KB (K's bound
 *     over 512 on AVX2) B is read in place.
 *   B[k][n] at n·K + k: the panel is gathered (llvm.masked.gather per k),
 *     which needs the buffer (declined where it would not fit).
 *   a packed weight: read where it is (already [K][NR] panels, padded).
 * Rows per unit (RB) amortize the copy: with 8·MR rows the gathered case
 * took 1.3-1.5x the static GEMM's time, with 32·MR 0.95-1.1x (both
 * layouts then within noise of the static GEMM at s = 128).
 *
 * Edges, without reading or writing past the actual extents: the last
 * column panel runs a tile whose vectors are masked by a lane count from
 * N (masked loads where B is read in place, masked stores of C); the last
 * row tile of a block is one of MR-1 tiles of fewer rows, picked by a
 * switch on the run-time row count. lhs is read at rows below M only, rhs
 * at columns below N only, C written within [M, N].
 *
 * A fused elementwise epilogue (cg_epilogue_hero) runs over the unit's
 * outputs after its tiles, reading the product back from output 0 while
 * it is in L1 (cg_epilogue_store).
 *
 * Applies in symbolic modules to an f32 dot with a symbolic extent (or an
 * epilogue over one)
 * whose lhs is a kernel input in its default layout and whose rhs is one
 * too or a packed weight (no batch dims then), batch dimensions leading
 * and in order on both operands, one contracting dimension, first or last
 * after the batch dims, the free dimensions consecutive, the result in its
 * default layout, and no input the buffer plan lets output 0 overwrite (the
 * product is stored there before the epilogue reads its inputs). What is
 * declined runs as a loop kernel.
 */
#include <stdio.h>
#include <string.h>

#include "codegen/cpu/cg_cpu.h"

#define DG_PANEL_BYTES (32 * 1024) /* the largest B panel copied to the stack */
#define DG_ROW_TILES 32 /* row tiles per unit: RB = MR · this */

typedef struct dg {
  const ir_inst *dot;
  ir_id hero;
  bool epi;
  ir_id aop, bop;
  int nb;          /* batch dims (leading everywhere) */
  int nlf, nrf;    /* lhs / rhs free dims (consecutive) */
  int a_k, b_k;    /* the contracting dim of lhs / rhs */
  bool a_kfirst;   /* lhs is [batch.., K, M..]: A[m][k] at k·M + m */
  bool b_kfirst;   /* rhs is [batch.., K, N..]: B rows contiguous (else gathered into a panel) */
  bool panel;      /* B's column panel is copied (or gathered) into a stack buffer [K][NR] */
  bool bpacked;    /* B is a weight the layout pass stored in NR-column panels [N/NR][K][NR] */
  int64_t bpstride; /* ... floats per such panel */
  int vw, mr, nv, nr, rb;
  int64_t kbound;
} dg;

/* Whether rhs is a kernel input holding a static [K, N] or [N, K] weight
 * that the layout pass (passes/layout.c) stored in panels of NR columns,
 * each [K][NR] and zero-padded: the tile then reads B's panel where it is. */
static bool packed_b(const cg_kdesc *d, dg *g) {
  const ir_shape *bs = NULL;
  for (uint32_t i = 0; i < d->nin; i++)
    if (d->in_ids[i] == g->bop) bs = d->in_shapes[i];
  if (!bs) return false;
  int ndim = g->b_kfirst ? 1 : 0;
  if (g->nb || g->nrf != 1 || bs->rank != 2 || !ir_shape_is_static(bs) || bs->panel != g->nr || bs->panel_dim != ndim)
    return false;
  int64_t st[IR_MAX_RANK];
  int64_t pst = cg_phys_strides(bs, st);
  if (st[ndim] != 1 || st[g->b_k] != g->nr || pst != g->kbound * g->nr) return false;
  g->bpacked = true;
  g->bpstride = pst;
  return true;
}

static bool plan(const cg_ctx *c, const cg_kdesc *d, dg *g) {
  memset(g, 0, sizeof *g);
  if (!d->symbolic || d->nout != 1 || d->in_place) return false;
  if (!cg_epilogue_hero(d, &g->hero)) return false;
  const ir_inst *in = &d->comp->insts[g->hero];
  if (in->op != IR_OP_DOT || !in->a.dot || in->nops != 2) return false;
  g->dot = in;
  g->epi = g->hero != d->root;
  g->aop = in->ops[0];
  g->bop = in->ops[1];
  const ir_shape *x = &d->comp->insts[g->aop].shape, *y = &d->comp->insts[g->bop].shape, *r = &in->shape;
  if (x->type != IR_F32 || y->type != IR_F32 || r->type != IR_F32 || d->out_shapes[0].type != IR_F32) return false;
  /* A static product is the packed GEMM's or the loop kernel's, as in a
   * static module. */
  if (ir_shape_is_static(x) && ir_shape_is_static(y) && ir_shape_is_static(r)) return false;
  if (!ir_shape_has_default_layout(&d->out_shapes[0]) || !ir_shape_has_default_layout(r)) return false;
  unsigned pos;
  if (!cg_default_input(d, g->aop, &pos)) return false;
  bool bdefault = cg_default_input(d, g->bop, &pos);
  const ir_dot_dims *dd = in->a.dot;
  if (dd->ncontract != 1) return false;
  g->nb = dd->nbatch;
  for (int i = 0; i < g->nb; i++)
    if (dd->lhs_batch[i] != i || dd->rhs_batch[i] != i) return false;
  g->nlf = x->rank - g->nb - 1;
  g->nrf = y->rank - g->nb - 1;
  if (g->nlf < 1 || g->nrf < 1 || r->rank != g->nb + g->nlf + g->nrf) return false;
  g->a_k = (int)dd->lhs_contract[0];
  g->b_k = (int)dd->rhs_contract[0];
  /* The contracting dim first or last after the batch dims: the free dims
   * then form one dense linear index (M or N). */
  if (g->a_k == g->nb && g->nlf >= 1) g->a_kfirst = true;
  else if (g->a_k != x->rank - 1) return false;
  if (g->b_k == g->nb) g->b_kfirst = true;
  else if (g->b_k != y->rank - 1) return false;
  g->vw = c->target.vec_f32;
  g->mr = c->target.gemm_mr;
  g->nv = c->target.gemm_nv;
  if (g->vw < 1 || g->vw > 16 || g->mr < 1 || g->mr > 16 || g->nv < 1 || g->nv > 4) return false;
  g->nr = g->vw * g->nv;
  g->rb = g->mr * DG_ROW_TILES;
  g->kbound = x->dims[g->a_k];
  if (g->kbound != y->dims[g->b_k]) return false;
  if (!bdefault) return packed_b(d, g);
  g->panel = g->kbound * g->nr * 4 <= DG_PANEL_BYTES;
  if (!g->b_kfirst && !g->panel) return false;
  return true;
}

bool cg_dyngemm_applies(cg_ctx *c, const cg_kdesc *d) {
  dg g;
  return plan(c, d, &g);
}

/* ---- the tile ---------------------------------------------------------------- */

static LLVMValueRef gep_f32(cg_ctx *c, LLVMValueRef base, LLVMValueRef off) {
  return LLVMBuildGEP2(c->b, c->t_f32, base, &off, 1, "");
}

/* Lane masks of the last column panel: lane l of vector v is column
 * v·VW + l of the panel, kept when below ncols. */
static LLVMValueRef lane_mask(cg_ctx *c, const dg *g, int v, LLVMValueRef ncols) {
  LLVMValueRef e[16];
  for (int q = 0; q < g->vw; q++) e[q] = cg_i64(c, (int64_t)v * g->vw + q);
  LLVMValueRef lanes = LLVMConstVector(e, (unsigned)g->vw);
  return LLVMBuildICmp(c->b, LLVMIntSLT, lanes, cg_splat(c, ncols, (unsigned)g->vw), "");
}

/* void tile(ptr V, ptr S, ptr C, i64 K, i64 vld, i64 sm, i64 sk, i64 ldc,
 * i64 ncols): `rows` rows of C (at C, row stride ldc) = S-rows · V, where
 *   V[k][j] at V + k·vld + j     (B's row segment, or the gathered panel),
 *   S[i][k] at S + i·sm + k·sk   (A),
 * j < NR. masked: only the first ncols columns exist; B is then read with
 * masked loads (unless it is the zero-padded panel) and C written with
 * masked stores. The strides are arguments; static ones are the same
 * constants at every call, which LLVM propagates into the function. */
static LLVMValueRef tile_fn(cg_ctx *c, const dg *g, const cg_kdesc *d, int rows, bool masked) {
  LLVMBuilderRef b = c->b;
  LLVMTypeRef pt[9] = {c->t_ptr, c->t_ptr, c->t_ptr, c->t_i64, c->t_i64, c->t_i64, c->t_i64, c->t_i64, c->t_i64};
  char prefix[96]; /* named after the layer, for profiles */
  snprintf(prefix, sizeof prefix, "kiln.dyntile.%.80s", d->inst && d->inst->name ? d->inst->name : "anon");
  LLVMValueRef fn = cg_add_function(c, prefix, LLVMFunctionType(c->t_void, pt, 9, 0), true);
  for (unsigned i = 1; i <= 3; i++)
    LLVMAddAttributeAtIndex(fn, i, LLVMCreateEnumAttribute(c->llc, LLVMGetEnumAttributeKindForName("noalias", 7), 0));
  LLVMValueRef V = LLVMGetParam(fn, 0), S = LLVMGetParam(fn, 1), C = LLVMGetParam(fn, 2);
  LLVMValueRef K = LLVMGetParam(fn, 3), vld = LLVMGetParam(fn, 4), sm = LLVMGetParam(fn, 5), sk = LLVMGetParam(fn, 6);
  LLVMValueRef ldc = LLVMGetParam(fn, 7), ncols = LLVMGetParam(fn, 8);
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(c->llc, fn, "entry"));
  LLVMTypeRef vt = LLVMVectorType(c->t_f32, (unsigned)g->vw);
  LLVMValueRef acc[16][4], mask[4] = {0};
  for (int i = 0; i < rows; i++)
    for (int v = 0; v < g->nv; v++) {
      acc[i][v] = cg_alloca(c, fn, vt, "acc");
      LLVMBuildStore(b, LLVMConstNull(vt), acc[i][v]);
    }
  if (masked)
    for (int v = 0; v < g->nv; v++) mask[v] = lane_mask(c, g, v, ncols);
  bool mask_loads = masked && !g->panel; /* the panel is zero-padded to NR */
  /* Row pointers of A, outside the k loop. */
  LLVMValueRef srow[16];
  for (int i = 0; i < rows; i++) srow[i] = gep_f32(c, S, LLVMBuildNSWMul(b, cg_i64(c, i), sm, ""));
  /* k in [0, K/4·4) four at a time, then the rest one at a time. */
  LLVMValueRef kq = LLVMBuildUDiv(b, K, cg_i64(c, 4), "");
  LLVMValueRef kmain = LLVMBuildNSWMul(b, kq, cg_i64(c, 4), "");
  for (int part = 0; part < 2; part++) {
    cg_loop l;
    LLVMValueRef it = cg_loop_open(c, &l, part ? kmain : cg_i64(c, 0), part ? K : kq, "k");
    int copies = part ? 1 : 4;
    for (int u = 0; u < copies; u++) {
      LLVMValueRef k = part ? it : LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, it, cg_i64(c, 4), ""), cg_i64(c, u), "");
      LLVMValueRef vrow = gep_f32(c, V, LLVMBuildNSWMul(b, k, vld, ""));
      LLVMValueRef vv[4];
      for (int v = 0; v < g->nv; v++) {
        LLVMValueRef p = gep_f32(c, vrow, cg_i64(c, (int64_t)v * g->vw));
        if (mask_loads) {
          LLVMTypeRef tys[2] = {vt, c->t_ptr};
          LLVMValueRef args[4] = {p, cg_i32(c, 4), mask[v], LLVMConstNull(vt)};
          vv[v] = cg_intrinsic(c, "llvm.masked.load", tys, 2, args, 4);
        } else {
          vv[v] = LLVMBuildLoad2(b, vt, p, "");
          LLVMSetAlignment(vv[v], g->panel ? 32 : 4);
        }
      }
      LLVMValueRef koff = LLVMBuildNSWMul(b, k, sk, "");
      for (int i = 0; i < rows; i++) {
        LLVMValueRef s = LLVMBuildLoad2(b, c->t_f32, gep_f32(c, srow[i], koff), "");
        LLVMValueRef splat = cg_splat(c, s, (unsigned)g->vw);
        for (int v = 0; v < g->nv; v++) {
          LLVMValueRef args[3] = {splat, vv[v], LLVMBuildLoad2(b, vt, acc[i][v], "")};
          LLVMBuildStore(b, cg_intrinsic(c, "llvm.fmuladd", &vt, 1, args, 3), acc[i][v]);
        }
      }
    }
    cg_loop_close(c, &l);
  }
  for (int i = 0; i < rows; i++) {
    LLVMValueRef crow = gep_f32(c, C, LLVMBuildNSWMul(b, cg_i64(c, i), ldc, ""));
    for (int v = 0; v < g->nv; v++) {
      LLVMValueRef val = LLVMBuildLoad2(b, vt, acc[i][v], "");
      LLVMValueRef p = gep_f32(c, crow, cg_i64(c, (int64_t)v * g->vw));
      if (masked) {
        LLVMTypeRef tys[2] = {vt, c->t_ptr};
        LLVMValueRef args[4] = {val, p, cg_i32(c, 4), mask[v]};
        cg_intrinsic(c, "llvm.masked.store", tys, 2, args, 4);
      } else {
        LLVMValueRef st = LLVMBuildStore(b, val, p);
        LLVMSetAlignment(st, 4);
      }
    }
  }
  LLVMBuildRetVoid(b);
  return fn;
}

/* ---- the body ------------------------------------------------------------------ */

typedef struct dg_fns {
  LLVMValueRef t[16][2]; /* [rows - 1][masked], NULL where never needed */
  LLVMTypeRef ty;
} dg_fns;

/* A call of tile(rows, masked by `cut`): a branch between the full and
 * the masked variant where both exist. */
static void call_tile(cg_ctx *c, LLVMValueRef body, const dg_fns *f, int rows, LLVMValueRef cut, LLVMValueRef *args) {
  LLVMBuilderRef b = c->b;
  LLVMValueRef full = f->t[rows - 1][0], part = f->t[rows - 1][1];
  if (!full || !part) {
    LLVMBuildCall2(b, f->ty, full ? full : part, args, 9, "");
    return;
  }
  LLVMBasicBlockRef bm = LLVMAppendBasicBlockInContext(c->llc, body, "cut");
  LLVMBasicBlockRef bf = LLVMAppendBasicBlockInContext(c->llc, body, "full");
  LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(c->llc, body, "join");
  LLVMBuildCondBr(b, cut, bm, bf);
  LLVMPositionBuilderAtEnd(b, bm);
  LLVMBuildCall2(b, f->ty, part, args, 9, "");
  LLVMBuildBr(b, join);
  LLVMPositionBuilderAtEnd(b, bf);
  LLVMBuildCall2(b, f->ty, full, args, 9, "");
  LLVMBuildBr(b, join);
  LLVMPositionBuilderAtEnd(b, join);
}

/* The product of dims [from, to) of s at run time. */
static LLVMValueRef dims_product(cg_ctx *c, const ir_shape *s, int from, int to) {
  LLVMValueRef v = cg_i64(c, 1);
  for (int i = from; i < to; i++) {
    LLVMValueRef x = cg_dim(c, s, i);
    v = i == from ? x : LLVMBuildNSWMul(c->b, v, x, "");
  }
  return v;
}

/* Static product of dims [from, to) of s, or -1 when one is symbolic. */
static int64_t static_product(const ir_shape *s, int from, int to) {
  int64_t v = 1;
  for (int i = from; i < to; i++) {
    if (s->sym[i]) return -1;
    v *= s->dims[i];
  }
  return v;
}

/* Splits the row-major linear index v over dims [from, to) of s (their
 * values in dv) into ix->d[from..to). */
static void split_dims(cg_ctx *c, LLVMValueRef v, const ir_shape *s, const LLVMValueRef *dv, int from, int to,
                       cg_index *ix) {
  for (int i = to - 1; i >= from; i--) {
    if (i == from) {
      ix->d[i] = v;
    } else if (s->dims[i] == 1 && !s->sym[i]) {
      ix->d[i] = cg_i64(c, 0);
    } else {
      ix->d[i] = LLVMBuildURem(c->b, v, dv[i], "");
      v = LLVMBuildUDiv(c->b, v, dv[i], "");
    }
  }
}

/* One column loop of the epilogue: columns [n0, n0 + count) of the row
 * whose index is ix and whose offset in output 0 is rowbase. */
static void epilogue_cols(cg_ctx *c, cg_kernel *k, const cg_kdesc *d, const dg *g, const LLVMValueRef *dv,
                          const cg_index *ix, LLVMValueRef rowbase, LLVMValueRef n0, LLVMValueRef count) {
  const ir_shape *os = &d->out_shapes[0];
  cg_loop lj;
  LLVMValueRef j = cg_loop_open(c, &lj, cg_i64(c, 0), count, "ej");
  LLVMValueRef n = LLVMBuildNSWAdd(c->b, n0, j, "");
  cg_index e = *ix;
  split_dims(c, n, os, dv, g->nb + g->nlf, os->rank, &e);
  e.uid = ++k->next_uid;
  cg_epilogue_store(k, d, &e, LLVMBuildNSWAdd(c->b, rowbase, n, ""));
  cg_loop_close(c, &lj);
}

/* The epilogue over the unit's outputs: rows [m0, m1), columns [n0, n0 +
 * ncols) of batch bt, still in L1. A full column panel gets a loop of NR
 * iterations, a constant that LLVM vectorizes exactly; the cut one a loop
 * of ncols. */
static void unit_epilogue(cg_ctx *c, cg_kernel *k, const cg_kdesc *d, const dg *g, const LLVMValueRef *dv,
                          LLVMValueRef M, LLVMValueRef N, LLVMValueRef bt, LLVMValueRef m0, LLVMValueRef m1,
                          LLVMValueRef n0, LLVMValueRef ncols, LLVMValueRef cut) {
  LLVMBuilderRef b = c->b;
  const ir_shape *os = &d->out_shapes[0];
  cg_index ix;
  cg_index_init(k, &ix, os->rank);
  if (g->nb) split_dims(c, bt, os, dv, 0, g->nb, &ix);
  cg_loop lr;
  LLVMValueRef m = cg_loop_open(c, &lr, m0, m1, "er");
  split_dims(c, m, os, dv, g->nb, g->nb + g->nlf, &ix);
  LLVMValueRef rowbase = LLVMBuildNSWMul(b, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, bt, M, ""), m, ""), N, "");
  LLVMBasicBlockRef bc = LLVMAppendBasicBlockInContext(c->llc, k->fn, "ecut");
  LLVMBasicBlockRef bf = LLVMAppendBasicBlockInContext(c->llc, k->fn, "efull");
  LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(c->llc, k->fn, "ejoin");
  LLVMBuildCondBr(b, cut, bc, bf);
  LLVMPositionBuilderAtEnd(b, bc);
  epilogue_cols(c, k, d, g, dv, &ix, rowbase, n0, ncols);
  LLVMBuildBr(b, join);
  LLVMPositionBuilderAtEnd(b, bf);
  epilogue_cols(c, k, d, g, dv, &ix, rowbase, n0, cg_i64(c, g->nr));
  LLVMBuildBr(b, join);
  LLVMPositionBuilderAtEnd(b, join);
  cg_loop_close(c, &lr);
}

bool cg_dyngemm_kernel(cg_ctx *c, const cg_kdesc *d, LLVMValueRef body, cg_phase *ph) {
  dg g;
  if (!plan(c, d, &g))
    return cg_fail(c, "internal error: %%%s: the run-time GEMM does not apply", d->inst ? d->inst->name : "?");
  LLVMBuilderRef b = c->b;
  const ir_shape *xs = &d->comp->insts[g.aop].shape;
  const ir_shape *os = &d->out_shapes[0];
  int rank = os->rank;
  /* Which tiles can run: all row counts and both column kinds unless M or
   * N is static. */
  int64_t ms = static_product(os, g.nb, g.nb + g.nlf), ns = static_product(os, g.nb + g.nlf, rank);
  dg_fns f;
  memset(&f, 0, sizeof f);
  LLVMTypeRef pt[9] = {c->t_ptr, c->t_ptr, c->t_ptr, c->t_i64, c->t_i64, c->t_i64, c->t_i64, c->t_i64, c->t_i64};
  f.ty = LLVMFunctionType(c->t_void, pt, 9, 0);
  for (int r = 1; r <= g.mr; r++) {
    /* RB is a multiple of MR: a static M needs full tiles and M % MR rows. */
    if (ms >= 0 && !(r == g.mr && ms >= g.mr) && r != ms % g.mr) continue;
    if (ns < 0 || ns >= g.nr) f.t[r - 1][0] = tile_fn(c, &g, d, r, false);
    if (ns < 0 || ns % g.nr) f.t[r - 1][1] = tile_fn(c, &g, d, r, true);
  }
  cg_kernel k;
  if (!cg_kernel_begin(c, &k, d, body)) return false;
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(c->llc, body, "entry"));
  LLVMValueRef lo = LLVMGetParam(body, cg_arg_lo(d)), hi = LLVMGetParam(body, cg_arg_hi(d));
  LLVMValueRef A = k.buf[g.aop], B = k.buf[g.bop], C = LLVMGetParam(body, 0);
  /* Extents at run time, in the entry block (they dominate everything). */
  LLVMValueRef dv[IR_MAX_RANK];
  for (int i = 0; i < rank; i++) dv[i] = cg_dim(c, os, i);
  LLVMValueRef M = dims_product(c, os, g.nb, g.nb + g.nlf);
  LLVMValueRef N = dims_product(c, os, g.nb + g.nlf, rank);
  LLVMValueRef K = cg_dim(c, xs, g.a_k);
  LLVMValueRef mt = LLVMBuildUDiv(b, LLVMBuildNSWAdd(b, M, cg_i64(c, g.rb - 1), ""), cg_i64(c, g.rb), "");
  LLVMValueRef nt = LLVMBuildUDiv(b, LLVMBuildNSWAdd(b, N, cg_i64(c, g.nr - 1), ""), cg_i64(c, g.nr), "");
  LLVMValueRef MK = LLVMBuildNSWMul(b, M, K, ""), KN = LLVMBuildNSWMul(b, K, N, ""), MN = LLVMBuildNSWMul(b, M, N, "");
  LLVMTypeRef vt = LLVMVectorType(c->t_f32, (unsigned)g.vw);
  LLVMValueRef panel = NULL;
  if (g.panel) {
    panel = LLVMBuildArrayAlloca(b, c->t_f32, cg_i64(c, g.kbound * g.nr), "panel");
    LLVMSetAlignment(panel, 32);
  }
  /* A's strides: sm between rows, sk between k. */
  LLVMValueRef sm = g.a_kfirst ? cg_i64(c, 1) : K, sk = g.a_kfirst ? M : cg_i64(c, 1);
  cg_loop lu;
  LLVMValueRef u = cg_loop_open(c, &lu, lo, hi, "unit");
  LLVMValueRef j = LLVMBuildURem(b, u, nt, ""), rest = LLVMBuildUDiv(b, u, nt, "");
  LLVMValueRef ib = LLVMBuildURem(b, rest, mt, ""), bt = LLVMBuildUDiv(b, rest, mt, "");
  LLVMValueRef n0 = LLVMBuildNSWMul(b, j, cg_i64(c, g.nr), "");
  LLVMValueRef ncols = cg_min_i64(c, cg_i64(c, g.nr), LLVMBuildNSWSub(b, N, n0, ""));
  LLVMValueRef cut = LLVMBuildICmp(b, LLVMIntSLT, ncols, cg_i64(c, g.nr), "");
  LLVMValueRef m0 = LLVMBuildNSWMul(b, ib, cg_i64(c, g.rb), "");
  LLVMValueRef m1 = cg_min_i64(c, LLVMBuildNSWAdd(b, m0, cg_i64(c, g.rb), ""), M);
  LLVMValueRef abase = gep_f32(c, A, LLVMBuildNSWMul(b, bt, MK, ""));
  LLVMValueRef bbase = gep_f32(c, B, LLVMBuildNSWMul(b, bt, KN, ""));
  LLVMValueRef cbase = gep_f32(c, C, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, bt, MN, ""), n0, ""));
  LLVMValueRef V, vld;
  if (g.bpacked) {
    V = gep_f32(c, B, LLVMBuildNSWMul(b, j, cg_i64(c, g.bpstride), ""));
    vld = cg_i64(c, g.nr);
  } else if (g.b_kfirst && !g.panel) {
    V = gep_f32(c, bbase, n0);
    vld = N;
  } else if (g.b_kfirst) {
    /* Copy the column panel: panel[k][j] = B[k][n0 + j], zero at or past N. */
    LLVMValueRef masks[4];
    for (int v = 0; v < g.nv; v++) masks[v] = lane_mask(c, &g, v, ncols);
    LLVMValueRef src = gep_f32(c, bbase, n0);
    cg_loop lk;
    LLVMValueRef kk = cg_loop_open(c, &lk, cg_i64(c, 0), K, "pk");
    LLVMValueRef srow = gep_f32(c, src, LLVMBuildNSWMul(b, kk, N, ""));
    LLVMValueRef prow = gep_f32(c, panel, LLVMBuildNSWMul(b, kk, cg_i64(c, g.nr), ""));
    for (int v = 0; v < g.nv; v++) {
      LLVMTypeRef tys[2] = {vt, c->t_ptr};
      LLVMValueRef args[4] = {gep_f32(c, srow, cg_i64(c, (int64_t)v * g.vw)), cg_i32(c, 4), masks[v],
                              LLVMConstNull(vt)};
      LLVMValueRef x = cg_intrinsic(c, "llvm.masked.load", tys, 2, args, 4);
      LLVMValueRef st = LLVMBuildStore(b, x, gep_f32(c, prow, cg_i64(c, (int64_t)v * g.vw)));
      LLVMSetAlignment(st, 32);
    }
    cg_loop_close(c, &lk);
    V = panel;
    vld = cg_i64(c, g.nr);
  } else {
    /* Gather the column panel: panel[k][v·VW + l] = B[n0 + v·VW + l][k]
     * (rhs [.., N, K]), lanes at or past N zero and never read. */
    LLVMValueRef ptrs[4], masks[4];
    for (int v = 0; v < g.nv; v++) {
      LLVMValueRef e[16];
      for (int q = 0; q < g.vw; q++) e[q] = cg_i64(c, (int64_t)v * g.vw + q);
      LLVMValueRef col = LLVMBuildNSWAdd(b, cg_splat(c, n0, (unsigned)g.vw), LLVMConstVector(e, (unsigned)g.vw), "");
      masks[v] = LLVMBuildICmp(b, LLVMIntSLT, col, cg_splat(c, N, (unsigned)g.vw), "");
      LLVMValueRef off = LLVMBuildNSWMul(b, col, cg_splat(c, K, (unsigned)g.vw), "");
      ptrs[v] = LLVMBuildGEP2(b, c->t_f32, bbase, &off, 1, "");
    }
    cg_loop lk;
    LLVMValueRef kk = cg_loop_open(c, &lk, cg_i64(c, 0), K, "pk");
    LLVMValueRef ks = cg_splat(c, kk, (unsigned)g.vw);
    LLVMValueRef prow = gep_f32(c, panel, LLVMBuildNSWMul(b, kk, cg_i64(c, g.nr), ""));
    for (int v = 0; v < g.nv; v++) {
      LLVMValueRef p = LLVMBuildGEP2(b, c->t_f32, ptrs[v], &ks, 1, "");
      LLVMTypeRef tys[2] = {vt, LLVMVectorType(c->t_ptr, (unsigned)g.vw)};
      LLVMValueRef args[4] = {p, cg_i32(c, 4), masks[v], LLVMConstNull(vt)};
      LLVMValueRef x = cg_intrinsic(c, "llvm.masked.gather", tys, 2, args, 4);
      LLVMValueRef st = LLVMBuildStore(b, x, gep_f32(c, prow, cg_i64(c, (int64_t)v * g.vw)));
      LLVMSetAlignment(st, 32);
    }
    cg_loop_close(c, &lk);
    V = panel;
    vld = cg_i64(c, g.nr);
  }
  /* Full row tiles, then the rest of the block (fewer than MR rows). */
  LLVMValueRef rows = LLVMBuildNSWSub(b, m1, m0, "");
  LLVMValueRef nfull = LLVMBuildUDiv(b, rows, cg_i64(c, g.mr), "");
  if (f.t[g.mr - 1][0] || f.t[g.mr - 1][1]) {
    cg_loop lt;
    LLVMValueRef t = cg_loop_open(c, &lt, cg_i64(c, 0), nfull, "tile");
    LLVMValueRef m = LLVMBuildNSWAdd(b, m0, LLVMBuildNSWMul(b, t, cg_i64(c, g.mr), ""), "");
    LLVMValueRef ap = gep_f32(c, abase, LLVMBuildNSWMul(b, m, sm, ""));
    LLVMValueRef cp = gep_f32(c, cbase, LLVMBuildNSWMul(b, m, N, ""));
    LLVMValueRef args[9] = {V, ap, cp, K, vld, sm, sk, N, ncols};
    call_tile(c, body, &f, g.mr, cut, args);
    cg_loop_close(c, &lt);
  }
  LLVMValueRef left = LLVMBuildNSWSub(b, rows, LLVMBuildNSWMul(b, nfull, cg_i64(c, g.mr), ""), "");
  LLVMValueRef m = LLVMBuildNSWAdd(b, m0, LLVMBuildNSWMul(b, nfull, cg_i64(c, g.mr), ""), "");
  LLVMBasicBlockRef after = LLVMAppendBasicBlockInContext(c->llc, body, "rest");
  LLVMValueRef ap = gep_f32(c, abase, LLVMBuildNSWMul(b, m, sm, ""));
  LLVMValueRef cp = gep_f32(c, cbase, LLVMBuildNSWMul(b, m, N, ""));
  LLVMValueRef args[9] = {V, ap, cp, K, vld, sm, sk, N, ncols};
  LLVMValueRef sw = LLVMBuildSwitch(b, left, after, (unsigned)g.mr);
  for (int r = 1; r < g.mr; r++) {
    if (!f.t[r - 1][0] && !f.t[r - 1][1]) continue;
    LLVMBasicBlockRef bb = LLVMAppendBasicBlockInContext(c->llc, body, "rows");
    LLVMAddCase(sw, cg_i64(c, r), bb);
    LLVMPositionBuilderAtEnd(b, bb);
    call_tile(c, body, &f, r, cut, args);
    LLVMBuildBr(b, after);
  }
  LLVMPositionBuilderAtEnd(b, after);
  if (g.epi) {
    cg_epilogue_begin(&k, d, g.hero);
    unit_epilogue(c, &k, d, &g, dv, M, N, bt, m0, m1, n0, ncols, cut);
  }
  cg_loop_close(c, &lu);
  LLVMBuildRetVoid(b);
  cg_kernel_end(&k);
  /* Units at the bounds, and at run time from the binding. */
  int64_t mb = 1, nbb = 1, bb = 1;
  for (int i = 0; i < g.nb; i++) bb *= os->dims[i];
  for (int i = g.nb; i < g.nb + g.nlf; i++) mb *= os->dims[i];
  for (int i = g.nb + g.nlf; i < rank; i++) nbb *= os->dims[i];
  ph->n = bb * ((mb + g.rb - 1) / g.rb) * ((nbb + g.nr - 1) / g.nr);
  ph->cost = 2.0 * (double)g.rb * g.nr * (double)g.kbound;
  ph->serial = false;
  cg_units_save save;
  cg_units_begin(c, &save);
  LLVMValueRef ub = g.nb ? dims_product(c, os, 0, g.nb) : cg_i64(c, 1);
  LLVMValueRef um = dims_product(c, os, g.nb, g.nb + g.nlf), un = dims_product(c, os, g.nb + g.nlf, rank);
  um = LLVMBuildUDiv(b, LLVMBuildNSWAdd(b, um, cg_i64(c, g.rb - 1), ""), cg_i64(c, g.rb), "");
  un = LLVMBuildUDiv(b, LLVMBuildNSWAdd(b, un, cg_i64(c, g.nr - 1), ""), cg_i64(c, g.nr), "");
  ph->units = cg_units_end(c, &save, LLVMBuildNSWMul(b, ub, LLVMBuildNSWMul(b, um, un, ""), ""));
  return !c->failed;
}
