/*
 * dot and convolution as a packed, register-tiled matrix product
 * (docs/codegen.md, "Fast kernels"; the facts behind the choices are in
 * the team's notes ../shared/CPU_KERNELS.md, beside the repository).
 *
 * Both become batches of C[M,N] = A[M,K] · B[K,N] with C row-major:
 *   dot:          A = lhs (rows: lhs free dims), B = rhs (columns: rhs free
 *                 dims), batch = the batch dims; C is the result.
 *   convolution:  per image and group, A = the kernel [Cout/G, Cin/G·taps],
 *                 B = the input's patches [Cin/G·taps, output positions]
 *                 (an implicit im2col, done while packing B), C = the
 *                 output in NCHW order.
 *
 * Packing: A is stored in panels of MR rows, [panel][k][MR]; B in panels of
 * NR = NV·VW columns, [panel][k][NR], zero-padded. A constant operand (the
 * weights) that the layout pass (passes/layout.c) stored in exactly that
 * order, a panel layout on its shape, is read from its own global as the
 * packed operand, and its panel gives the tile; any other operand is
 * packed into the launch's scratch, A by a phase of its own, B panel by panel
 * inside the tile phase (a vectorized im2col for 2-D NCHW convolutions of
 * small kernels, row segments for other convolutions, else the elemental
 * emitter, so layouts and fused producers cost nothing extra here). B is
 * read in place where its rows are contiguous (b_rows_affine).
 *
 * The tile: MR x NR outputs in NV·MR vector accumulators (allocas of
 * <VW x float> that SROA keeps in registers), B's row as NV vector loads,
 * each A value broadcast, llvm.fmuladd (an FMA where the target has one);
 * the k loop unrolled 4 times. Every shape is a constant: a tile function
 * is generated per (rows, vectors, masked lanes) the shape needs, so the
 * last row panel and the last (masked) column panel get their own small
 * functions. Tiles run in parallel, column panel outer (one B panel is
 * reused from L2 by all row panels), row panel inner. Where N is small or
 * not a multiple of NR the tile is transposed (ir_gemm_tile, ir/target_gemm.c): vectors along
 * M, B broadcast, columns of C scattered.
 *
 *   register budget   AVX-512: VW 16, MR 14, NV 2 (28 of 32 zmm)
 *                     AVX2+FMA: VW 8, MR 6, NV 2 (12 of 16 ymm)
 *                     AArch64: VW 4, MR 8, NV 3 (24 of 32 q)   else VW 4, MR 4, NV 2
 *
 * Applies to f32 operands and results with the result in its default
 * layout (and, for convolution, NCHW-like dim_labels for the output);
 * everything else stays with the elemental loops.
 *
 * Symbolic modules (docs/codegen.md, "Symbolic dimensions"): a product
 * may have one leading symbolic dimension (symbolic_plan), either
 *   - the batch: a convolution's images, or a dot's first batch dimension.
 *     Every phase's units are laid out batch-outermost, so at run time
 *     only their count changes (cg_units_scaled);
 *   - M, the rows of a dot without batch dimensions (lhs's outermost free
 *     dimension, a transformer's b·s tokens, a classifier's b images): A
 *     is packed for ceil(M/aw) panels at run time, the last one zero-filled
 *     past M; the tile phase's units put row blocks outermost so the units
 *     past the last panel are a suffix the units function leaves out; and
 *     the last row panel, when M is not a multiple of its rows, runs a
 *     tile that stores only the rows below M (a run-time row count, a
 *     branch per row; the transposed tile, convolutions only, never has a
 *     symbolic M). Rows at or past M are never read from lhs nor written
 *     to C.
 * N, K, the spatial and feature sizes stay static: a product with any of
 * them symbolic is declined here (the loop kernel then decides, and
 * cg_symbolic_kernel_ok refuses what it cannot run, naming it). A static
 * product generates exactly the code it does in a static module.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cpu/cg_cpu.h"
#include "ir/literal.h"

typedef struct gemm {
  const ir_inst *in;          /* the dot or convolution (the hero) */
  ir_id hero;                 /* its id in the kernel's computation */
  bool epi;                   /* the root is an epilogue over the hero */
  const ir_inst *a_cst, *b_cst; /* the entry constants behind a_const / b_const */
  ir_gemm_dims dm;            /* M, N, K, batch; a dot's dims, a convolution's groups, taps, positions */
  ir_id aop, bop;             /* the operands giving A and B */
  bool a_const, b_const;      /* a constant stored packed (panel layout): read where it is */
  unsigned a_pin, b_pin;      /* ... its position among the kernel's inputs */
  bool b_inplace;             /* B read where it is: row k of a batch at bstride·b + k·ldb */
  bool b_affine;              /* B's row-major index is bstride·b + k·ldb + n (for packing) */
  unsigned b_in;              /* its position among the kernel's inputs */
  int64_t ldb, bstride;
  int vw, mr, nv;             /* f32 lanes per vector; the normal tile: MR rows x NV vectors */
  bool swap;                  /* transposed tile: vectors along M, B broadcast (ir_gemm_tile) */
  int aw, bw;                 /* rows per A panel, columns per B panel */
  int bld;                    /* floats per packed B row: bw rounded up to VW */
  int64_t mp, np, mrem, nrem; /* panels; rows/columns of the last ones (0: full) */
  ir_gemm_im2col im2col;      /* how the vector im2col may read B (ir_gemm_im2col_of) */
  /* The leading symbolic dimension (symbolic_plan), when there is one: */
  ir_dexpr outer;             /* its expression; 0: a static product */
  int64_t obound;             /* its bound (the size all of dm was computed at) */
  bool msym;                  /* it is M's outermost factor: M = value · (M / obound) at run time */
} gemm;

/* The current level's description (cpu_backend.c fills it from the
 * level's features: the register budget above). */
int cg_target_vw(const cg_ctx *c) { return c->target.vec_f32; }

static void target_params(const cg_ctx *c, gemm *g) {
  g->vw = c->target.vec_f32;
  g->mr = c->target.gemm_mr;
  g->nv = c->target.gemm_nv;
}

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* The entry constant whose value operand `id` of the kernel is: the
 * constant itself in a kernel of the entry computation, or the constant a
 * fusion passes for parameter `id`. NULL otherwise. */
static const ir_inst *constant_source(const cg_ctx *c, const cg_kdesc *d, ir_id id) {
  const ir_comp *e = ir_module_entry(c->m);
  const ir_inst *in = &d->comp->insts[id];
  if (d->comp == e) return in->op == IR_OP_CONSTANT ? in : NULL;
  if (in->op != IR_OP_PARAMETER || !d->inst || d->inst->op != IR_OP_FUSION || (uint64_t)in->index >= d->inst->nops)
    return NULL;
  const ir_inst *src = &e->insts[d->inst->ops[in->index]];
  return src->op == IR_OP_CONSTANT ? src : NULL;
}

/* Marks what `id` computes in the kernel: everything it reaches through
 * operands, stopping at the kernel's inputs (seen = 2: read from memory). */
static void mark_reach(const ir_comp *comp, ir_id id, uint8_t *seen) {
  if (seen[id]) return;
  seen[id] = 1;
  const ir_inst *in = &comp->insts[id];
  for (uint32_t k = 0; k < in->nops; k++) mark_reach(comp, in->ops[k], seen);
}

bool cg_epilogue_hero(const cg_kdesc *d, ir_id *hero) {
  const ir_comp *comp = d->comp;
  const ir_inst *root = &comp->insts[d->root];
  if (d->nout != 1) return false;
  if (root->op == IR_OP_DOT || root->op == IR_OP_CONVOLUTION) {
    *hero = d->root;
    return true;
  }
  if (!(ir_op_get(root->op)->flags & IR_F_ELEMENTWISE)) return false;
  uint32_t n = comp->ninsts;
  uint8_t *seen = calloc(n ? n : 1, 1), *dep = calloc(n ? n : 1, 1);
  bool ok = seen && dep;
  ir_id h = IR_NONE;
  for (uint32_t i = 0; ok && i < d->nin; i++) seen[d->in_ids[i]] = 2;
  if (ok) mark_reach(comp, d->root, seen);
  /* Exactly one dot or convolution; everything that depends on it is
   * elementwise with its dims and type (so it is computed at the same
   * index of the product, from the tile just written). */
  for (ir_id i = 0; ok && i < n; i++) {
    if (seen[i] != 1) continue;
    const ir_inst *in = &comp->insts[i];
    if (in->op == IR_OP_DOT || in->op == IR_OP_CONVOLUTION) {
      ok = h == IR_NONE;
      h = i;
      dep[i] = 1;
      continue;
    }
    for (uint32_t k = 0; k < in->nops && !dep[i]; k++) dep[i] = dep[in->ops[k]];
    if (dep[i]) {
      const ir_shape *hs = &comp->insts[h].shape;
      ok = (ir_op_get(in->op)->flags & IR_F_ELEMENTWISE) && in->shape.type == hs->type &&
           ir_shape_same_dims(&in->shape, hs);
    }
  }
  ok = ok && h != IR_NONE && dep[d->root];
  free(seen);
  free(dep);
  if (ok) *hero = h;
  return ok;
}

/* Whether B can be read in place instead of packed: a kernel input in its
 * default layout where row k of batch b of B (all N columns) is contiguous
 * at bstride·b + k·ldb. That is a 1x1 convolution without stride, padding or
 * dilation (ldb = H·W), and a dot whose right operand is [batch.., K, N]
 * row-major. Row strides that are a multiple of 4 KB are packed anyway:
 * all rows of a panel would map to one set of the 8-way L1. */
static bool b_rows_affine(gemm *g, const ir_shape *bs) {
  if (!ir_shape_has_default_layout(bs)) return false;
  if (g->dm.conv) {
    const ir_conv_dims *cd = g->in->conv;
    const ir_window *w = g->in->a.window;
    int64_t hw = 1;
    for (int i = 0; i < g->dm.ns; i++) {
      const ir_window_dim *wd = &w->d[i];
      if (wd->size != 1 || wd->stride != 1 || wd->pad_lo || wd->pad_hi || wd->lhs_dilate != 1) return false;
      if (cd->in_spatial[i] != i + 2) return false;
      hw *= bs->dims[cd->in_spatial[i]];
    }
    if (cd->in_batch != 0 || cd->in_feature != 1 || hw != g->dm.N) return false;
    g->ldb = hw;
    g->bstride = g->dm.cin_g * hw;
  } else {
    if (g->dm.nk != 1 || g->dm.nrf != 1 || bs->rank != g->dm.nb + 2 || g->dm.kr[0] != g->dm.nb || g->dm.rf[0] != g->dm.nb + 1) return false;
    for (int i = 0; i < g->dm.nb; i++)
      if (g->dm.bdim_r[i] != i) return false;
    g->ldb = g->dm.N;
    g->bstride = g->dm.K * g->dm.N;
  }
  return true;
}

static void inplace_b(const cg_kdesc *d, gemm *g) {
  const ir_shape *bs = NULL;
  for (uint32_t i = 0; i < d->nin; i++)
    if (d->in_ids[i] == g->bop) {
      bs = d->in_shapes[i];
      g->b_in = i;
    }
  g->b_affine = b_rows_affine(g, &d->comp->insts[g->bop].shape);
  if (!bs || !b_rows_affine(g, bs)) return;
  g->b_inplace = (g->ldb * 4) % 4096 != 0;
}

static bool flat_im2col(const cg_kdesc *d, const gemm *g, unsigned *pos);

/* Whether constant operand `op` (the entry constant cst) is stored in the
 * packed order of A (a_side) or B with panels of `w`: a panel layout on
 * the dimension of A's rows (B's columns), the k dimensions inside it in
 * k's order and a dot's batch dimensions outside it, so that its bytes are
 * [batch][panel][k][w] (docs/ir.md, passes/layout.c).
 * Groups of a convolution become the outer panels when each group's rows
 * fill whole panels. Sets *pin to its input position. */
static bool packed_layout(const cg_kdesc *d, const gemm *g, ir_id op, const ir_inst *cst, bool a_side, int w,
                          unsigned *pin) {
  const ir_shape *s = &cst->shape;
  if (!s->panel || s->panel != w) return false;
  bool found = false;
  for (uint32_t i = 0; i < d->nin; i++)
    if (d->in_ids[i] == op && ir_shape_equal(d->in_shapes[i], s)) {
      *pin = i;
      found = true;
    }
  if (!found) return false;
  /* dims from the innermost: k's, minor first, then the panelled one, then
   * a dot's batch dims (the kernel's batch index is row-major over them) */
  int64_t order[IR_MAX_RANK + 1];
  int n = 0, cut;
  if (g->dm.conv) {
    const ir_conv_dims *cd = g->in->conv;
    if (!a_side || (g->dm.groups > 1 && g->dm.M % w)) return false;
    for (int i = g->dm.ns - 1; i >= 0; i--) order[n++] = cd->k_spatial[i];
    order[n++] = cd->k_in;
    cut = n;
    order[n++] = cd->k_out;
  } else {
    if ((a_side ? g->dm.nlf : g->dm.nrf) != 1) return false;
    const int64_t *kd = a_side ? g->dm.kl : g->dm.kr, *bd = a_side ? g->dm.bdim_l : g->dm.bdim_r;
    for (int i = g->dm.nk - 1; i >= 0; i--) order[n++] = kd[i];
    cut = n;
    order[n++] = a_side ? g->dm.lf[0] : g->dm.rf[0];
    for (int i = g->dm.nb - 1; i >= 0; i--) order[n++] = bd[i];
  }
  if (n != s->rank || s->panel_dim != order[cut]) return false;
  for (int i = 0; i < n; i++)
    if (s->minor_to_major[i] != order[i]) return false;
  return true;
}

/* The logical index of s's symbolic dimension (the first), or -1. */
static int sym_dim(const ir_shape *s) {
  for (int i = 0; i < s->rank; i++)
    if (s->sym[i]) return i;
  return -1;
}

/* Whether the product (dims in g->dm, operands x and y) is static or has
 * one of the leading symbolic dimensions this kernel takes (see the top of
 * the file); sets g->outer, g->obound and g->msym. False: declined. Every
 * shape involved has its symbolic dimension, if any, as its outermost
 * physical one (cg_symbolic_outer), so addresses are the static ones. */
static bool symbolic_plan(gemm *g, const ir_shape *x, const ir_shape *y) {
  const ir_shape *r = &g->in->shape;
  ir_dexpr ex, ey, er;
  if (!cg_symbolic_outer(x, &ex) || !cg_symbolic_outer(y, &ey) || !cg_symbolic_outer(r, &er)) return false;
  if (!ex && !ey && !er) return true;
  int sx = sym_dim(x), sy = sym_dim(y), sr = sym_dim(r);
  if (!er || ex != er) return false;
  if (g->dm.conv) {
    /* The images: input batch and result batch, the kernel static. */
    const ir_conv_dims *cd = g->in->conv;
    if (ey || sx != cd->in_batch || sr != cd->out_batch) return false;
    g->obound = x->dims[sx];
  } else if (g->dm.nb > 0) {
    /* The first batch dimension of both operands and the result. */
    if (ey != er || sx != g->dm.bdim_l[0] || sy != g->dm.bdim_r[0] || sr != 0) return false;
    g->obound = g->dm.bsz[0];
  } else {
    /* M: lhs's first free dimension, the result's first; rhs static. */
    if (ey || g->dm.nlf < 1 || sx != g->dm.lf[0] || sr != 0) return false;
    g->obound = g->dm.lfsz[0];
    g->msym = true;
  }
  g->outer = er;
  return g->obound > 0;
}

static bool plan(cg_ctx *c, const cg_kdesc *d, gemm *g) {
  memset(g, 0, sizeof *g);
  ir_id hid;
  if (!cg_epilogue_hero(d, &hid)) return false;
  const ir_inst *in = &d->comp->insts[hid];
  const ir_shape *x = &d->comp->insts[in->ops[0]].shape, *y = &d->comp->insts[in->ops[1]].shape;
  if (in->shape.type != IR_F32 || x->type != IR_F32 || !ir_shape_has_default_layout(&d->out_shapes[0])) return false;
  g->in = in;
  g->hero = hid;
  g->epi = hid != d->root;
  target_params(c, g);
  /* The product's dimensions (shared with the layout pass). Grouped
   * convolutions with few output features per group (depthwise: one) are
   * left to the row kernel (cg_conv.c), which reads them in place. */
  if (ir_gemm_dims_of(in, x, y, &g->dm)) return false;
  if (!symbolic_plan(g, x, y)) return false;
  g->aop = in->ops[g->dm.a];
  g->bop = in->ops[g->dm.b];
  if (g->dm.batch == 0) return false; /* nothing to compute */
  /* The vectorised im2col, when it reads input row spans, needs
   * vector-aligned B panels: no transposed tile. */
  g->im2col = ir_gemm_im2col_of(in, x, &g->dm, g->vw);
  unsigned xin;
  bool rowvec = g->im2col.rowvec && flat_im2col(d, g, &xin);
  /* Small products are not worth packing (the tile rule says which). The
   * transposed tile (convolutions only, where it pays) is never one with
   * a symbolic M (dots only): its vectors would run along M. */
  ir_gemm_tiling tl;
  if (!ir_gemm_tile(&c->target, g->dm.M, g->dm.N, g->dm.K, g->dm.conv, !rowvec && !g->msym, &tl)) return false;
  g->a_cst = constant_source(c, d, g->aop);
  g->b_cst = constant_source(c, d, g->bop);
  /* Weights stored packed by the layout pass carry the tile it chose: A's
   * panel is the tile's row count (MR, or NR for the transposed tile).
   * Not with several levels in one module (portable): their tiles differ,
   * and the weights are then packed at run time by every level. */
  if (!c->target.prepack_weights) g->a_cst = g->b_cst = NULL;
  int nr = tl.vw * tl.nv;
  if (g->a_cst && g->a_cst->shape.panel && g->a_cst->shape.panel != tl.aw) {
    if (g->a_cst->shape.panel == nr && g->dm.conv && !rowvec && !g->msym) tl.swap = true, tl.aw = nr, tl.bw = tl.swap_bw;
    else if (g->a_cst->shape.panel == tl.mr) tl.swap = false, tl.aw = tl.mr, tl.bw = nr;
    tl.bld = (int)ceil_div(tl.bw, tl.vw) * tl.vw;
  }
  g->swap = tl.swap;
  g->aw = tl.aw;
  g->bw = tl.bw;
  g->bld = tl.bld;
  g->mp = ceil_div(g->dm.M, g->aw);
  g->np = ceil_div(g->dm.N, g->bw);
  g->mrem = g->dm.M % g->aw;
  g->nrem = g->dm.N % g->bw;
  g->a_const = g->a_cst && packed_layout(d, g, g->aop, g->a_cst, true, g->aw, &g->a_pin);
  g->b_const = g->b_cst && !g->swap && g->bld == g->bw && packed_layout(d, g, g->bop, g->b_cst, false, g->bw, &g->b_pin);
  if (!g->b_const) inplace_b(d, g);
  return true;
}

bool cg_gemm_applies(cg_ctx *c, const cg_kdesc *d, unsigned *tag) {
  gemm g;
  if (!plan(c, d, &g)) return false;
  *tag = (unsigned)g.a_const | (unsigned)g.b_const << 1;
  return true;
}

/* ---- operand indexing (run time, in IR) ---------------------------------- */

/* Row-major split of v over ext[0..n) into out[0..n). */
static void split(cg_ctx *c, LLVMValueRef v, int n, const int64_t *ext, LLVMValueRef *out) {
  for (int i = n - 1; i >= 0; i--) {
    if (i == 0) {
      out[i] = v;
    } else {
      out[i] = LLVMBuildURem(c->b, v, cg_i64(c, ext[i]), "");
      v = LLVMBuildUDiv(c->b, v, cg_i64(c, ext[i]), "");
    }
  }
}

/* Image and group of batch index bt of a convolution (bt = image·G + group). */
static void image_group(cg_ctx *c, const gemm *g, LLVMValueRef bt, LLVMValueRef *img, LLVMValueRef *grp) {
  *img = g->dm.groups == 1 ? bt : LLVMBuildUDiv(c->b, bt, cg_i64(c, g->dm.groups), "");
  *grp = g->dm.groups == 1 ? cg_i64(c, 0) : LLVMBuildURem(c->b, bt, cg_i64(c, g->dm.groups), "");
}

/* A(ab, m, k): an element of the operand giving A. */
static LLVMValueRef a_value(cg_kernel *k, const gemm *g, LLVMValueRef ab, LLVMValueRef m, LLVMValueRef kk) {
  cg_ctx *c = k->c;
  const ir_shape *s = &k->comp->insts[g->aop].shape;
  cg_index ix;
  cg_index_init(k, &ix, s->rank);
  LLVMValueRef t[IR_MAX_RANK + 1] = {0};
  if (!g->dm.conv) {
    split(c, ab, g->dm.nb, g->dm.bsz, t);
    for (int i = 0; i < g->dm.nb; i++) ix.d[g->dm.bdim_l[i]] = t[i];
    split(c, m, g->dm.nlf, g->dm.lfsz, t);
    for (int i = 0; i < g->dm.nlf; i++) ix.d[g->dm.lf[i]] = t[i];
    split(c, kk, g->dm.nk, g->dm.ksz, t);
    for (int i = 0; i < g->dm.nk; i++) ix.d[g->dm.kl[i]] = t[i];
  } else {
    const ir_conv_dims *cd = g->in->conv;
    ix.d[cd->k_out] = LLVMBuildNSWAdd(c->b, LLVMBuildNSWMul(c->b, ab, cg_i64(c, g->dm.M), ""), m, "");
    split(c, kk, g->dm.ns + 1, g->dm.taps, t);
    ix.d[cd->k_in] = t[0];
    for (int i = 0; i < g->dm.ns; i++) ix.d[cd->k_spatial[i]] = t[i + 1];
  }
  for (int i = 0; i < s->rank; i++)
    if (!ix.d[i]) ix.d[i] = cg_i64(c, 0); /* empty splits */
  return cg_elem(k, g->aop, &ix);
}

/* B(b, k, n); for convolution zero where the tap falls on padding. */
static LLVMValueRef b_value(cg_kernel *k, const gemm *g, LLVMValueRef b, LLVMValueRef kk, LLVMValueRef n) {
  cg_ctx *c = k->c;
  const ir_shape *s = &k->comp->insts[g->bop].shape;
  cg_index ix;
  cg_index_init(k, &ix, s->rank);
  LLVMValueRef t[IR_MAX_RANK + 1] = {0}, o[IR_MAX_RANK] = {0};
  LLVMValueRef valid = NULL;
  if (!g->dm.conv) {
    split(c, b, g->dm.nb, g->dm.bsz, t);
    for (int i = 0; i < g->dm.nb; i++) ix.d[g->dm.bdim_r[i]] = t[i];
    split(c, kk, g->dm.nk, g->dm.ksz, t);
    for (int i = 0; i < g->dm.nk; i++) ix.d[g->dm.kr[i]] = t[i];
    split(c, n, g->dm.nrf, g->dm.rfsz, t);
    for (int i = 0; i < g->dm.nrf; i++) ix.d[g->dm.rf[i]] = t[i];
  } else {
    const ir_conv_dims *cd = g->in->conv;
    LLVMValueRef img, grp;
    image_group(c, g, b, &img, &grp);
    split(c, kk, g->dm.ns + 1, g->dm.taps, t);
    split(c, n, g->dm.ns, g->dm.opos, o);
    ix.d[cd->in_batch] = img;
    ix.d[cd->in_feature] = LLVMBuildNSWAdd(c->b, LLVMBuildNSWMul(c->b, grp, cg_i64(c, g->dm.cin_g), ""), t[0], "");
    valid = LLVMConstInt(c->t_i1, 1, 0);
    for (int i = 0; i < g->dm.ns; i++)
      ix.d[cd->in_spatial[i]] = cg_window_tap(c, &g->in->a.window->d[i], s->dims[cd->in_spatial[i]], o[i], t[i + 1], &valid);
  }
  for (int i = 0; i < s->rank; i++)
    if (!ix.d[i]) ix.d[i] = cg_i64(c, 0);
  if (g->b_affine) {
    /* Rows of B are contiguous in B's own value: loads of same-shaped
     * buffers in a fused producer index with one add (and vectorize). */
    ix.linear = LLVMBuildNSWAdd(c->b, LLVMBuildNSWAdd(c->b, LLVMBuildNSWMul(c->b, b, cg_i64(c, g->bstride), ""),
                                                     LLVMBuildNSWMul(c->b, kk, cg_i64(c, g->ldb), ""), ""), n, "");
    ix.lin = *s;
    valid = NULL; /* a 1x1 convolution without padding reads no padding */
  }
  LLVMValueRef v = cg_elem(k, g->bop, &ix);
  return valid ? LLVMBuildSelect(c->b, valid, v, LLVMConstReal(c->t_f32, 0.0), "") : v;
}

/* ---- the tile ---------------------------------------------------------------- */

/* void tile(ptr A, ptr B, ptr C): one register tile of C = A-panel ·
 * B-panel, `bc` broadcast values against `nvec` vectors per k, the last
 * vector `lanes` wide (0: all).
 *   normal: the broadcasts are bc rows of A (MR at most), the vectors B's
 *           columns (NR); row i of the tile is stored contiguously.
 *   swap:   the vectors are A's rows (the packed A panel), the broadcasts
 *           bc columns of B; accumulator (i, v) is a piece of column i of
 *           C, stored with a scatter at stride N (once per tile).
 * rt_rows (a symbolic M's last row panel; normal tiles only, see plan): a
 * fourth parameter, i64 rows, the rows of C (1..aw) the tile stores: the
 * whole panel is computed (A's packed panel is zero past M) and a branch
 * before each row past the first skips the stores from row `rows` on. */
static LLVMValueRef tile_fn(cg_ctx *c, const gemm *g, const cg_kdesc *d, int bc, int nvec, int lanes, bool rt_rows) {
  LLVMBuilderRef b = c->b;
  LLVMTypeRef pt[4] = {c->t_ptr, c->t_ptr, c->t_ptr, c->t_i64};
  char prefix[96]; /* named after the layer, for profiles */
  snprintf(prefix, sizeof prefix, "kiln.tile.%.80s", d->inst && d->inst->name ? d->inst->name : "anon");
  LLVMValueRef fn = cg_add_function(c, prefix, LLVMFunctionType(c->t_void, pt, rt_rows ? 4 : 3, 0), true);
  for (unsigned i = 1; i <= 3; i++)
    LLVMAddAttributeAtIndex(fn, i, LLVMCreateEnumAttribute(c->llc, LLVMGetEnumAttributeKindForName("noalias", 7), 0));
  LLVMValueRef A = LLVMGetParam(fn, 0), B = LLVMGetParam(fn, 1), C = LLVMGetParam(fn, 2);
  /* V: the vector operand, S: the broadcast one, with their row lengths. */
  LLVMValueRef V = g->swap ? A : B, S = g->swap ? B : A;
  int64_t bstride = g->b_inplace ? g->ldb : g->bld;
  int64_t vld = g->swap ? g->aw : bstride, sld = g->swap ? bstride : g->aw;
  bool v_inplace = !g->swap && g->b_inplace; /* unaligned, and the cut panel ends at the row's end */
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(c->llc, fn, "entry"));
  LLVMTypeRef vt = LLVMVectorType(c->t_f32, (unsigned)g->vw);
  LLVMValueRef acc[16][4];
  for (int i = 0; i < bc; i++)
    for (int v = 0; v < nvec; v++) {
      acc[i][v] = cg_alloca(c, fn, vt, "acc");
      LLVMBuildStore(b, LLVMConstNull(vt), acc[i][v]);
    }
  LLVMValueRef mask = NULL; /* the lanes of the last vector, when cut */
  if (lanes) {
    LLVMValueRef m[16];
    for (int q = 0; q < g->vw; q++) m[q] = LLVMConstInt(c->t_i1, q < lanes, 0);
    mask = LLVMConstVector(m, (unsigned)g->vw);
  }
  int unroll = g->dm.K >= 8 ? 4 : 1;
  int64_t kmain = g->dm.K / unroll * unroll;
  for (int part = 0; part < 2; part++) {
    int64_t lo = part ? kmain : 0, hi = part ? g->dm.K : kmain / unroll;
    int copies = part ? 1 : unroll;
    if (hi <= lo) continue;
    cg_loop l;
    LLVMValueRef it = cg_loop_open(c, &l, cg_i64(c, lo), cg_i64(c, hi), "k");
    for (int u = 0; u < copies; u++) {
      LLVMValueRef k = part ? it : LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, it, cg_i64(c, unroll), ""), cg_i64(c, u), "");
      LLVMValueRef vv[4];
      for (int v = 0; v < nvec; v++) {
        LLVMValueRef off = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, k, cg_i64(c, vld), ""), cg_i64(c, v * g->vw), "");
        LLVMValueRef ptr = LLVMBuildGEP2(b, c->t_f32, V, &off, 1, "");
        if (v_inplace && lanes && v == nvec - 1) {
          LLVMTypeRef tys[2] = {vt, c->t_ptr};
          LLVMValueRef args[4] = {ptr, cg_i32(c, 4), mask, LLVMConstNull(vt)};
          vv[v] = cg_intrinsic(c, "llvm.masked.load", tys, 2, args, 4);
        } else {
          LLVMValueRef ld = LLVMBuildLoad2(b, vt, ptr, "");
          LLVMSetAlignment(ld, v_inplace ? 4 : 16);
          vv[v] = ld;
        }
      }
      for (int i = 0; i < bc; i++) {
        LLVMValueRef off = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, k, cg_i64(c, sld), ""), cg_i64(c, i), "");
        LLVMValueRef s = LLVMBuildLoad2(b, c->t_f32, LLVMBuildGEP2(b, c->t_f32, S, &off, 1, ""), "");
        LLVMValueRef splat = cg_splat(c, s, (unsigned)g->vw);
        for (int v = 0; v < nvec; v++) {
          LLVMValueRef cur = LLVMBuildLoad2(b, vt, acc[i][v], "");
          LLVMValueRef args[3] = {splat, vv[v], cur};
          LLVMBuildStore(b, cg_intrinsic(c, "llvm.fmuladd", &vt, 1, args, 3), acc[i][v]);
        }
      }
    }
    cg_loop_close(c, &l);
  }
  /* Stores: the last vector masked when it is cut. */
  LLVMValueRef lane_rows = NULL, all = NULL;
  if (g->swap) {
    LLVMValueRef e[16], t[16];
    for (int q = 0; q < g->vw; q++) e[q] = cg_i64(c, (int64_t)q * g->dm.N), t[q] = LLVMConstInt(c->t_i1, 1, 0);
    lane_rows = LLVMConstVector(e, (unsigned)g->vw);
    all = LLVMConstVector(t, (unsigned)g->vw);
  }
  /* A run-time row count: stop storing at row `rows`. */
  LLVMValueRef rows = rt_rows ? LLVMGetParam(fn, 3) : NULL;
  LLVMBasicBlockRef done = rt_rows ? LLVMAppendBasicBlockInContext(c->llc, fn, "stored") : NULL;
  for (int i = 0; i < bc; i++) {
    if (done && i > 0) {
      LLVMBasicBlockRef row = LLVMAppendBasicBlockInContext(c->llc, fn, "row");
      LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, cg_i64(c, i), rows, ""), row, done);
      LLVMPositionBuilderAtEnd(b, row);
    }
    for (int v = 0; v < nvec; v++) {
      LLVMValueRef val = LLVMBuildLoad2(b, vt, acc[i][v], "");
      LLVMValueRef m = mask && v == nvec - 1 ? mask : NULL;
      if (g->swap) {
        LLVMValueRef off = cg_i64(c, (int64_t)v * g->vw * g->dm.N + i);
        LLVMValueRef ptrs = LLVMBuildGEP2(b, c->t_f32, LLVMBuildGEP2(b, c->t_f32, C, &off, 1, ""), &lane_rows, 1, "");
        LLVMTypeRef tys[2] = {vt, LLVMVectorType(c->t_ptr, (unsigned)g->vw)};
        LLVMValueRef args[4] = {val, ptrs, cg_i32(c, 4), m ? m : all};
        cg_intrinsic(c, "llvm.masked.scatter", tys, 2, args, 4);
        continue;
      }
      LLVMValueRef off = cg_i64(c, (int64_t)i * g->dm.N + (int64_t)v * g->vw);
      LLVMValueRef p = LLVMBuildGEP2(b, c->t_f32, C, &off, 1, "");
      if (m) {
        LLVMTypeRef tys[2] = {vt, c->t_ptr};
        LLVMValueRef args[4] = {val, p, cg_i32(c, 4), m};
        cg_intrinsic(c, "llvm.masked.store", tys, 2, args, 4);
      } else {
        LLVMValueRef st = LLVMBuildStore(b, val, p);
        LLVMSetAlignment(st, 4);
      }
    }
  }
  if (done) {
    LLVMBuildBr(b, done);
    LLVMPositionBuilderAtEnd(b, done);
  }
  LLVMBuildRetVoid(b);
  return fn;
}

/* ---- phases ------------------------------------------------------------------ */

static LLVMValueRef gep_f32(cg_ctx *c, LLVMValueRef base, LLVMValueRef off) {
  return LLVMBuildGEP2(c->b, c->t_f32, base, &off, 1, "");
}

static void store_f32(cg_ctx *c, LLVMValueRef base, LLVMValueRef off, LLVMValueRef v) {
  LLVMValueRef st = LLVMBuildStore(c->b, v, gep_f32(c, base, off));
  LLVMSetAlignment(st, 4);
}

/* A symbolic M's value at run time (g->msym; c->bind set). */
static LLVMValueRef m_value(cg_ctx *c, const gemm *g) {
  LLVMValueRef v = cg_dexpr_value(c, g->outer);
  int64_t f = g->dm.M / g->obound;
  return f == 1 ? v : LLVMBuildNSWMul(c->b, v, cg_i64(c, f), "m");
}

/* ceil(v / by) of a positive i64 value. */
static LLVMValueRef ceil_div_value(cg_ctx *c, LLVMValueRef v, int64_t by) {
  return by == 1 ? v : LLVMBuildUDiv(c->b, LLVMBuildNSWAdd(c->b, v, cg_i64(c, by - 1), ""), cg_i64(c, by), "");
}

/* Packs A into [abatch][mp][K][MR] at `dst`; units: (ab, panel). With a
 * symbolic M only the ceil(M/aw) panels that hold rows run, the last
 * zero-filled past M, and lhs is read below M alone. */
static bool pack_a(cg_ctx *c, const cg_kdesc *d, const gemm *g, int64_t off, cg_phase *ph) {
  LLVMValueRef body = cg_kernel_body(c, d);
  cg_kernel k;
  if (!body || !cg_kernel_begin(c, &k, d, body)) return false;
  LLVMBuilderRef b = c->b;
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(c->llc, body, "entry"));
  LLVMValueRef mrows = g->msym ? m_value(c, g) : cg_i64(c, g->dm.M);
  LLVMValueRef mlast = g->msym ? LLVMBuildNSWSub(b, mrows, cg_i64(c, 1), "") : cg_i64(c, g->dm.M - 1);
  LLVMValueRef dst = LLVMBuildGEP2(b, c->t_i8, LLVMGetParam(body, cg_arg_scratch(d)), (LLVMValueRef[]){cg_i64(c, off)}, 1, "");
  cg_loop lu, li, lk;
  LLVMValueRef u = cg_loop_open(c, &lu, LLVMGetParam(body, cg_arg_lo(d)), LLVMGetParam(body, cg_arg_hi(d)), "unit");
  LLVMValueRef ab = LLVMBuildUDiv(b, u, cg_i64(c, g->mp), ""), p = LLVMBuildURem(b, u, cg_i64(c, g->mp), "");
  LLVMValueRef base = LLVMBuildNSWMul(b, u, cg_i64(c, g->dm.K * g->aw), "");
  /* k outer, rows inner: the panel is written contiguously. */
  LLVMValueRef kk = cg_loop_open(c, &lk, cg_i64(c, 0), cg_i64(c, g->dm.K), "k");
  LLVMValueRef i = cg_loop_open(c, &li, cg_i64(c, 0), cg_i64(c, g->aw), "i");
  LLVMValueRef m = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, p, cg_i64(c, g->aw), ""), i, "");
  LLVMValueRef valid = LLVMBuildICmp(b, LLVMIntSLT, m, mrows, "");
  LLVMValueRef mc = cg_clamp_i64(c, m, cg_i64(c, 0), mlast);
  uint32_t mark = cg_memo_mark(&k);
  LLVMValueRef v = LLVMBuildSelect(b, valid, a_value(&k, g, ab, mc, kk), LLVMConstReal(c->t_f32, 0.0), "");
  store_f32(c, dst, LLVMBuildNSWAdd(b, base, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, kk, cg_i64(c, g->aw), ""), i, ""), ""), v);
  cg_memo_reset(&k, mark);
  cg_loop_close(c, &li);
  cg_loop_close(c, &lk);
  cg_loop_close(c, &lu);
  LLVMBuildRetVoid(b);
  cg_kernel_end(&k);
  ph->task = cg_kernel_task(c, d, body);
  ph->n = g->dm.abatch * g->mp;
  ph->cost = (double)(g->dm.K * g->aw) * 2;
  if (g->msym) {
    /* No batch: the panels holding rows. */
    cg_units_save save;
    cg_units_begin(c, &save);
    ph->units = cg_units_end(c, &save, ceil_div_value(c, m_value(c, g), g->aw));
  } else if (g->outer && !g->dm.conv) {
    /* A dot's batch is A's: (ab, panel) units batch-outermost. A
     * convolution's A (its kernel) is static. */
    ph->units = cg_units_scaled(c, ph->n, g->outer);
  }
  return ph->task != NULL && !c->failed;
}

/* Packs panel u = (b, p) of B into [batch][np][K][bld] at `dst` (bw
 * columns used of each row of bld). A full
 * panel needs no clamping of n, so its row loop stays affine (and, with
 * affine B rows, vectorizes); only the cut last panel clamps and zeroes. */
static void b_panel_rows(cg_ctx *c, cg_kernel *k, const gemm *g, LLVMValueRef dst, LLVMValueRef u, bool cut) {
  LLVMBuilderRef b = c->b;
  cg_loop lk, lj;
  LLVMValueRef bb = LLVMBuildUDiv(b, u, cg_i64(c, g->np), ""), p = LLVMBuildURem(b, u, cg_i64(c, g->np), "");
  LLVMValueRef base = LLVMBuildNSWMul(b, u, cg_i64(c, g->dm.K * g->bld), "");
  LLVMValueRef kk = cg_loop_open(c, &lk, cg_i64(c, 0), cg_i64(c, g->dm.K), "k");
  LLVMValueRef j = cg_loop_open(c, &lj, cg_i64(c, 0), cg_i64(c, g->bw), "j");
  LLVMValueRef n = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, p, cg_i64(c, g->bw), ""), j, "");
  uint32_t mark = cg_memo_mark(k);
  LLVMValueRef v;
  if (cut) {
    LLVMValueRef valid = LLVMBuildICmp(b, LLVMIntSLT, n, cg_i64(c, g->dm.N), "");
    LLVMValueRef nc = cg_clamp_i64(c, n, cg_i64(c, 0), cg_i64(c, g->dm.N - 1));
    v = LLVMBuildSelect(b, valid, b_value(k, g, bb, kk, nc), LLVMConstReal(c->t_f32, 0.0), "");
  } else {
    v = b_value(k, g, bb, kk, n);
  }
  store_f32(c, dst, LLVMBuildNSWAdd(b, base, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, kk, cg_i64(c, g->bld), ""), j, ""), ""), v);
  cg_memo_reset(k, mark);
  cg_loop_close(c, &lj);
  cg_loop_close(c, &lk);
}

static void b_panel(cg_ctx *c, cg_kernel *k, const gemm *g, LLVMValueRef dst, LLVMValueRef u) {
  LLVMBuilderRef b = c->b;
  if (!g->nrem || g->np == 1) {
    b_panel_rows(c, k, g, dst, u, g->nrem != 0);
  } else {
    LLVMValueRef last = LLVMBuildICmp(b, LLVMIntEQ, LLVMBuildURem(b, u, cg_i64(c, g->np), ""), cg_i64(c, g->np - 1), "");
    LLVMBasicBlockRef cut = LLVMAppendBasicBlockInContext(c->llc, k->fn, "bcut");
    LLVMBasicBlockRef full = LLVMAppendBasicBlockInContext(c->llc, k->fn, "bfull");
    LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(c->llc, k->fn, "bjoin");
    LLVMBuildCondBr(b, last, cut, full);
    LLVMPositionBuilderAtEnd(b, cut);
    b_panel_rows(c, k, g, dst, u, true);
    LLVMBuildBr(b, join);
    LLVMPositionBuilderAtEnd(b, full);
    b_panel_rows(c, k, g, dst, u, false);
    LLVMBuildBr(b, join);
    LLVMPositionBuilderAtEnd(b, join);
  }
}

/* dst[from, to) = 0 (floats). */
static void zero_range(cg_ctx *c, LLVMValueRef dst, LLVMValueRef base, LLVMValueRef from, LLVMValueRef to) {
  cg_loop l;
  LLVMValueRef t = cg_loop_open(c, &l, from, to, "z");
  store_f32(c, dst, LLVMBuildNSWAdd(c->b, base, t, ""), LLVMConstReal(c->t_f32, 0.0));
  cg_loop_close(c, &l);
}

/* The implicit im2col of a convolution without input dilation: for each k
 * (input feature, tap) the panel's output positions are walked in segments
 * that stay in one row of the last spatial dimension. Within a segment the
 * input column is affine in the position, so the segment is a zero run
 * (left padding), a strided copy (a plain contiguous copy at stride 1,
 * which LLVM vectorizes or turns into memcpy) and a zero run (right
 * padding); a tap that falls on padding rows is all zeros. No division or
 * gather per element. Units: (image·group, panel). */
static void b_panel_conv(cg_ctx *c, cg_kernel *k, const cg_kdesc *d, const gemm *g, LLVMValueRef body,
                         LLVMValueRef dst, LLVMValueRef u) {
  LLVMBuilderRef b = c->b;
  const ir_conv_dims *cd = g->in->conv;
  const ir_window *w = g->in->a.window;
  const ir_shape *xs = &d->comp->insts[g->bop].shape;
  int last = g->dm.ns - 1;
  LLVMValueRef nv = cg_alloca(c, body, c->t_i64, "n"), jv = cg_alloca(c, body, c->t_i64, "j");
  cg_loop lk;
  LLVMValueRef bb = LLVMBuildUDiv(b, u, cg_i64(c, g->np), ""), p = LLVMBuildURem(b, u, cg_i64(c, g->np), "");
  LLVMValueRef img, grp;
  image_group(c, g, bb, &img, &grp);
  LLVMValueRef n0 = LLVMBuildNSWMul(b, p, cg_i64(c, g->bw), "");
  LLVMValueRef n1 = cg_min_i64(c, LLVMBuildNSWAdd(b, n0, cg_i64(c, g->bw), ""), cg_i64(c, g->dm.N));
  LLVMValueRef ubase = LLVMBuildNSWMul(b, u, cg_i64(c, g->dm.K * g->bld), "");
  LLVMValueRef kk = cg_loop_open(c, &lk, cg_i64(c, 0), cg_i64(c, g->dm.K), "k");
  LLVMValueRef t[IR_MAX_RANK + 1] = {0};
  split(c, kk, g->dm.ns + 1, g->dm.taps, t);
  LLVMValueRef feature = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, grp, cg_i64(c, g->dm.cin_g), ""), t[0], "");
  LLVMValueRef rbase = LLVMBuildNSWAdd(b, ubase, LLVMBuildNSWMul(b, kk, cg_i64(c, g->bld), ""), "");
  LLVMBuildStore(b, n0, nv);
  LLVMBuildStore(b, cg_i64(c, 0), jv);
  LLVMBasicBlockRef scond = LLVMAppendBasicBlockInContext(c->llc, body, "seg");
  LLVMBasicBlockRef sbody = LLVMAppendBasicBlockInContext(c->llc, body, "segbody");
  LLVMBasicBlockRef sdone = LLVMAppendBasicBlockInContext(c->llc, body, "segdone");
  LLVMBuildBr(b, scond);
  LLVMPositionBuilderAtEnd(b, scond);
  LLVMValueRef n = LLVMBuildLoad2(b, c->t_i64, nv, "");
  LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, n, n1, ""), sbody, sdone);
  LLVMPositionBuilderAtEnd(b, sbody);
  n = LLVMBuildLoad2(b, c->t_i64, nv, "");
  LLVMValueRef j = LLVMBuildLoad2(b, c->t_i64, jv, "");
  int64_t owl = g->dm.opos[last];
  LLVMValueRef row = LLVMBuildUDiv(b, n, cg_i64(c, owl), ""), ow0 = LLVMBuildURem(b, n, cg_i64(c, owl), "");
  LLVMValueRef seg = cg_min_i64(c, LLVMBuildNSWSub(b, cg_i64(c, owl), ow0, ""), LLVMBuildNSWSub(b, n1, n, ""));
  LLVMValueRef o[IR_MAX_RANK];
  split(c, row, last, g->dm.opos, o);
  cg_index ix;
  cg_index_init(k, &ix, xs->rank);
  ix.d[cd->in_batch] = img;
  ix.d[cd->in_feature] = feature;
  LLVMValueRef valid = LLVMConstInt(c->t_i1, 1, 0);
  for (int i = 0; i < last; i++)
    ix.d[cd->in_spatial[i]] = cg_window_tap(c, &w->d[i], xs->dims[cd->in_spatial[i]], o[i], t[i + 1], &valid);
  /* Columns: iw(q) = (ow0 + q)·s + off for q in [0, seg). */
  const ir_window_dim *wl = &w->d[last];
  int64_t sw = wl->stride, W = xs->dims[cd->in_spatial[last]];
  LLVMValueRef offw = LLVMBuildNSWSub(b, LLVMBuildNSWMul(b, t[last + 1], cg_i64(c, wl->rhs_dilate), ""), cg_i64(c, wl->pad_lo), "");
  LLVMValueRef start = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, ow0, cg_i64(c, sw), ""), offw, ""); /* iw(0) */
  LLVMValueRef qlo, qhi;
  cg_inside_span(c, start, sw, W, seg, &qlo, &qhi);
  qlo = LLVMBuildSelect(b, valid, qlo, seg, "");
  qhi = LLVMBuildSelect(b, valid, qhi, seg, "");
  LLVMValueRef sbase = LLVMBuildNSWAdd(b, rbase, j, "");
  zero_range(c, dst, sbase, cg_i64(c, 0), qlo);
  cg_loop lq;
  LLVMValueRef q = cg_loop_open(c, &lq, qlo, qhi, "q");
  uint32_t mark = cg_memo_mark(k);
  cg_index cx = ix;
  cx.uid = ++k->next_uid;
  cx.d[cd->in_spatial[last]] = LLVMBuildNSWAdd(b, start, LLVMBuildNSWMul(b, q, cg_i64(c, sw), ""), "");
  store_f32(c, dst, LLVMBuildNSWAdd(b, sbase, q, ""), cg_elem(k, g->bop, &cx));
  cg_memo_reset(k, mark);
  cg_loop_close(c, &lq);
  zero_range(c, dst, sbase, qhi, seg);
  LLVMBuildStore(b, LLVMBuildNSWAdd(b, n, seg, ""), nv);
  LLVMBuildStore(b, LLVMBuildNSWAdd(b, j, seg, ""), jv);
  LLVMBuildBr(b, scond);
  LLVMMoveBasicBlockAfter(sdone, LLVMGetInsertBlock(b));
  LLVMPositionBuilderAtEnd(b, sdone);
  zero_range(c, dst, rbase, LLVMBuildLoad2(b, c->t_i64, jv, ""), cg_i64(c, g->bw));
  cg_loop_close(c, &lk);
}

static bool segmented(const gemm *g) {
  bool seg = g->dm.conv && g->dm.ns > 0;
  for (int i = 0; seg && i < g->dm.ns; i++) seg = g->in->a.window->d[i].lhs_dilate == 1;
  return seg;
}

/* Whether the vector im2col applies: a 2-D NCHW convolution without input
 * dilation (g->im2col.flat) whose input is a buffer of the kernel (*pos:
 * its position). At stride 1 with output rows as wide as the input rows
 * ("same" padding), output position n reads input position
 * n + (kh·dh - ph)·W + (kw·dw - pw) of its channel plane
 * (g->im2col.contiguous); otherwise each lane's position is computed and
 * gathered. */
static bool flat_im2col(const cg_kdesc *d, const gemm *g, unsigned *pos) {
  return g->im2col.flat && cg_default_input(d, g->bop, pos);
}

/* The flat im2col of panel u: per output-position vector of the panel, the
 * row and column masks of every tap row and column (once per panel), then
 * per k = (input feature, tap) one masked load of the shifted input plane
 * per vector and one aligned store: no per-element index arithmetic. For
 * panels of at most FLAT_MAX_VECS vectors and kernels of at most
 * FLAT_MAX_TAPS rows and columns (the masks are arrays of that size). */
#define FLAT_MAX_VECS 4
#define FLAT_MAX_TAPS 16
static void b_panel_flat(cg_ctx *c, const cg_kdesc *d, const gemm *g, LLVMValueRef body, LLVMValueRef dst,
                         LLVMValueRef u, unsigned xin) {
  LLVMBuilderRef b = c->b;
  bool contiguous = g->im2col.contiguous;
  const ir_window *w = g->in->a.window;
  const ir_shape *xs = &d->comp->insts[g->bop].shape;
  int64_t H = xs->dims[2], W = xs->dims[3], HW = H * W, KH = g->dm.taps[1], KW = g->dm.taps[2];
  unsigned vw = (unsigned)g->vw;
  LLVMTypeRef vf = LLVMVectorType(c->t_f32, vw);
  LLVMValueRef e[16];
  for (unsigned i = 0; i < vw; i++) e[i] = cg_i32(c, (int32_t)i);
  LLVMValueRef iota = LLVMConstVector(e, vw);
#define VSPLAT(x) cg_splat(c, (x), vw)
  LLVMValueRef bb = LLVMBuildUDiv(b, u, cg_i64(c, g->np), ""), p = LLVMBuildURem(b, u, cg_i64(c, g->np), "");
  LLVMValueRef img, grp;
  image_group(c, g, bb, &img, &grp);
  LLVMValueRef chan0 = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, img, cg_i64(c, xs->dims[1]), ""),
                                       LLVMBuildNSWMul(b, grp, cg_i64(c, g->dm.cin_g), ""), "");
  LLVMValueRef n0 = LLVMBuildNSWMul(b, p, cg_i64(c, g->bw), "");
  LLVMValueRef x = LLVMGetParam(body, d->nout + xin);
  int nvb = g->bld / g->vw; /* vectors per packed row (lanes past bw are not read) */
  LLVMValueRef rowok[FLAT_MAX_VECS][FLAT_MAX_TAPS], colok[FLAT_MAX_VECS][FLAT_MAX_TAPS];
  LLVMValueRef rowoff[FLAT_MAX_VECS][FLAT_MAX_TAPS], colpos[FLAT_MAX_VECS][FLAT_MAX_TAPS];
  int64_t OW = g->dm.opos[1], sw = w->d[1].stride;
  /* Vectors that each lie in one output row (OW a multiple of VW) at stride
   * 1 or 2 load the input row span under them (2·VW wide at stride 2, the
   * even lanes kept) instead of gathering. */
  bool rowvec = !g->swap && g->im2col.rowvec;
  unsigned span = rowvec ? vw * (unsigned)sw : vw; /* lanes of a row-span load (sw <= 2 there) */
  LLVMTypeRef vfs = LLVMVectorType(c->t_f32, span);
  LLVMValueRef es[32], evens[16];
  for (unsigned i = 0; i < span; i++) es[i] = cg_i32(c, (int32_t)i);
  for (unsigned i = 0; i < vw; i++) evens[i] = cg_i32(c, (int32_t)(2 * i));
  LLVMValueRef iota_span = LLVMConstVector(es, span);
  LLVMValueRef rok_s[FLAT_MAX_VECS][FLAT_MAX_TAPS], roff_s[FLAT_MAX_VECS][FLAT_MAX_TAPS];
  LLVMValueRef col0_s[FLAT_MAX_VECS][FLAT_MAX_TAPS], colm_s[FLAT_MAX_VECS][FLAT_MAX_TAPS];
  for (int v = 0; rowvec && v < nvb; v++) {
    LLVMValueRef pos = LLVMBuildNSWAdd(b, n0, cg_i64(c, v * g->vw), "");
    LLVMValueRef inn = LLVMBuildICmp(b, LLVMIntSLT, pos, cg_i64(c, g->dm.N), "");
    LLVMValueRef ohs = LLVMBuildNSWMul(b, LLVMBuildUDiv(b, pos, cg_i64(c, OW), ""), cg_i64(c, w->d[0].stride), "");
    LLVMValueRef ows = LLVMBuildNSWMul(b, LLVMBuildURem(b, pos, cg_i64(c, OW), ""), cg_i64(c, sw), "");
    for (int64_t r = 0; r < KH; r++) {
      LLVMValueRef ih = LLVMBuildNSWAdd(b, ohs, cg_i64(c, r * w->d[0].rhs_dilate - w->d[0].pad_lo), "");
      rok_s[v][r] = LLVMBuildAnd(b, inn, LLVMBuildICmp(b, LLVMIntULT, ih, cg_i64(c, H), ""), "");
      roff_s[v][r] = LLVMBuildNSWMul(b, ih, cg_i64(c, W), "");
    }
    for (int64_t s2 = 0; s2 < KW; s2++) {
      col0_s[v][s2] = LLVMBuildNSWAdd(b, ows, cg_i64(c, s2 * w->d[1].rhs_dilate - w->d[1].pad_lo), "");
      LLVMValueRef cols = LLVMBuildAdd(b, cg_splat(c, LLVMBuildTrunc(b, col0_s[v][s2], c->t_i32, ""), span), iota_span, "");
      LLVMValueRef ok = LLVMBuildICmp(b, LLVMIntULT, cols, cg_splat(c, cg_i32(c, (int32_t)W), span), "");
      if (sw == 2) {
        LLVMValueRef ev[32];
        for (unsigned i = 0; i < span; i++) ev[i] = LLVMConstInt(c->t_i1, i % 2 == 0, 0);
        ok = LLVMBuildAnd(b, ok, LLVMConstVector(ev, span), "");
      }
      colm_s[v][s2] = ok;
    }
  }
  for (int v = 0; !rowvec && v < nvb; v++) {
    LLVMValueRef nv = LLVMBuildAdd(b, VSPLAT(LLVMBuildTrunc(b, LLVMBuildNSWAdd(b, n0, cg_i64(c, v * g->vw), ""), c->t_i32, "")), iota, "");
    LLVMValueRef in = LLVMBuildICmp(b, LLVMIntSLT, nv, VSPLAT(cg_i32(c, (int32_t)g->dm.N)), "");
    LLVMValueRef oh = LLVMBuildMul(b, LLVMBuildUDiv(b, nv, VSPLAT(cg_i32(c, (int32_t)OW)), ""), VSPLAT(cg_i32(c, (int32_t)w->d[0].stride)), "");
    LLVMValueRef ow = LLVMBuildMul(b, LLVMBuildURem(b, nv, VSPLAT(cg_i32(c, (int32_t)OW)), ""), VSPLAT(cg_i32(c, (int32_t)w->d[1].stride)), "");
    for (int64_t r = 0; r < KH; r++) {
      LLVMValueRef ih = LLVMBuildAdd(b, oh, VSPLAT(cg_i32(c, (int32_t)(r * w->d[0].rhs_dilate - w->d[0].pad_lo))), "");
      rowok[v][r] = LLVMBuildICmp(b, LLVMIntULT, ih, VSPLAT(cg_i32(c, (int32_t)H)), "");
      rowoff[v][r] = LLVMBuildMul(b, ih, VSPLAT(cg_i32(c, (int32_t)W)), "");
    }
    for (int64_t s2 = 0; s2 < KW; s2++) {
      colpos[v][s2] = LLVMBuildAdd(b, ow, VSPLAT(cg_i32(c, (int32_t)(s2 * w->d[1].rhs_dilate - w->d[1].pad_lo))), "");
      colok[v][s2] = LLVMBuildAnd(b, in, LLVMBuildICmp(b, LLVMIntULT, colpos[v][s2], VSPLAT(cg_i32(c, (int32_t)W)), ""), "");
    }
  }
  cg_loop lc;
  LLVMValueRef ci = cg_loop_open(c, &lc, cg_i64(c, 0), cg_i64(c, g->dm.cin_g), "ci");
  LLVMValueRef plane = LLVMBuildNSWMul(b, LLVMBuildNSWAdd(b, chan0, ci, ""), cg_i64(c, HW), "");
  LLVMValueRef kbase = LLVMBuildNSWMul(b, ci, cg_i64(c, KH * KW), "");
  LLVMTypeRef ldt[2] = {vf, c->t_ptr};
  for (int64_t r = 0; r < KH; r++)
    for (int64_t s2 = 0; s2 < KW; s2++) {
      int64_t off = (r * w->d[0].rhs_dilate - w->d[0].pad_lo) * W + (s2 * w->d[1].rhs_dilate - w->d[1].pad_lo);
      LLVMValueRef k = LLVMBuildNSWAdd(b, kbase, cg_i64(c, r * KW + s2), "");
      LLVMValueRef drow = LLVMBuildNSWMul(b, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, u, cg_i64(c, g->dm.K), ""), k, ""), cg_i64(c, g->bld), "");
      for (int v = 0; v < nvb; v++) {
        LLVMValueRef val;
        if (rowvec) {
          LLVMValueRef m = LLVMBuildAnd(b, colm_s[v][s2], cg_splat(c, rok_s[v][r], span), "");
          LLVMValueRef at = LLVMBuildNSWAdd(b, LLVMBuildNSWAdd(b, plane, roff_s[v][r], ""), col0_s[v][s2], "");
          LLVMTypeRef lts[2] = {vfs, c->t_ptr};
          LLVMValueRef args[4] = {gep_f32(c, x, at), cg_i32(c, 4), m, LLVMConstNull(vfs)};
          val = cg_intrinsic(c, "llvm.masked.load", lts, 2, args, 4);
          if (sw == 2) val = LLVMBuildShuffleVector(b, val, LLVMGetUndef(vfs), LLVMConstVector(evens, vw), "");
        } else if (contiguous) {
          LLVMValueRef m = LLVMBuildAnd(b, rowok[v][r], colok[v][s2], "");
          LLVMValueRef at = LLVMBuildNSWAdd(b, LLVMBuildNSWAdd(b, plane, n0, ""), cg_i64(c, off + v * g->vw), "");
          LLVMValueRef args[4] = {gep_f32(c, x, at), cg_i32(c, 4), m, LLVMConstNull(vf)};
          val = cg_intrinsic(c, "llvm.masked.load", ldt, 2, args, 4);
        } else {
          /* masked-off lanes are not read; their index may be anything */
          LLVMValueRef m = LLVMBuildAnd(b, rowok[v][r], colok[v][s2], "");
          LLVMValueRef idx = LLVMBuildAdd(b, rowoff[v][r], colpos[v][s2], "");
          LLVMValueRef ptrs = LLVMBuildGEP2(b, c->t_f32, gep_f32(c, x, plane), &idx, 1, "");
          LLVMTypeRef gt[2] = {vf, LLVMVectorType(c->t_ptr, vw)};
          LLVMValueRef args[4] = {ptrs, cg_i32(c, 4), m, LLVMConstNull(vf)};
          val = cg_intrinsic(c, "llvm.masked.gather", gt, 2, args, 4);
        }
        LLVMValueRef st = LLVMBuildStore(b, val, gep_f32(c, dst, LLVMBuildNSWAdd(b, drow, cg_i64(c, v * g->vw), "")));
        LLVMSetAlignment(st, g->bld * 4 % 64 == 0 ? 64 : (unsigned)g->vw * 4);
      }
    }
  cg_loop_close(c, &lc);
#undef VSPLAT
}

/* Emits the packing of B panel u (b, p) into the scratch at `off`. */
static void pack_b_panel(cg_ctx *c, cg_kernel *k, const cg_kdesc *d, const gemm *g, LLVMValueRef body, int64_t off,
                         LLVMValueRef u) {
  LLVMValueRef dst = LLVMBuildGEP2(c->b, c->t_i8, LLVMGetParam(body, cg_arg_scratch(d)), (LLVMValueRef[]){cg_i64(c, off)}, 1, "");
  unsigned xin;
  if (flat_im2col(d, g, &xin) && g->dm.taps[1] * g->dm.taps[2] <= 49 && g->dm.taps[1] <= FLAT_MAX_TAPS &&
      g->dm.taps[2] <= FLAT_MAX_TAPS && g->bld / g->vw <= FLAT_MAX_VECS)
    b_panel_flat(c, d, g, body, dst, u, xin);
  else if (segmented(g) && !g->b_affine) b_panel_conv(c, k, d, g, body, dst, u);
  else b_panel(c, k, g, dst, u);
}

static int64_t align64(int64_t v) { return (v + 63) / 64 * 64; }

/* One column loop of the epilogue over the columns of a full (bw) or the
 * cut last (nrem) column panel: a constant trip count, so LLVM vectorizes
 * it exactly (a runtime trip count of at most NR left the vector loop,
 * unrolled past NR, unused). */
static void epilogue_cols(cg_ctx *c, cg_kernel *k, const cg_kdesc *d, const gemm *g, cg_index ix, LLVMValueRef rowbase,
                          LLVMValueRef jn, bool cut) {
  LLVMBuilderRef b = c->b;
  const ir_shape *hs = &d->out_shapes[0];
  LLVMValueRef rc[IR_MAX_RANK + 2];
  cg_loop lj;
  LLVMValueRef j = cg_loop_open(c, &lj, cg_i64(c, 0), cg_i64(c, cut ? g->nrem : g->bw), "ej");
  LLVMValueRef n = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, jn, cg_i64(c, g->bw), ""), j, "");
  if (!g->dm.conv) {
    split(c, n, g->dm.nrf, g->dm.rfsz, rc);
    for (int i = 0; i < g->dm.nrf; i++) ix.d[g->dm.nb + g->dm.nlf + i] = rc[i];
  } else {
    split(c, n, g->dm.ns, g->dm.opos, rc);
    for (int i = 0; i < g->dm.ns; i++) ix.d[g->in->conv->out_spatial[i]] = rc[i];
  }
  for (int i = 0; i < hs->rank; i++)
    if (!ix.d[i]) ix.d[i] = cg_i64(c, 0);
  ix.uid = ++k->next_uid;
  cg_epilogue_store(k, d, &ix, LLVMBuildNSWAdd(b, rowbase, n, ""));
  cg_loop_close(c, &lj);
}

/* The epilogue of a fused product, on the tile just stored (rows im·aw..,
 * columns jn·bw.. of batch bt, still in L1): each element of the fusion's
 * root, computed by the elemental emitter with the product read back from
 * the output buffer, overwrites it. Everything in the epilogue is
 * elementwise at the product's index (cg_epilogue_hero), so the column
 * loop is a plain vectorizable loop: bias loads are invariant per row (a
 * convolution) or contiguous (a dot), a residual is a contiguous load.
 * rows: the tile's rows at run time (a symbolic M), or NULL. */
static bool tile_epilogue(cg_ctx *c, const cg_kdesc *d, const gemm *g, LLVMValueRef body, LLVMValueRef bt,
                          LLVMValueRef im, LLVMValueRef jn, LLVMValueRef lastm, LLVMValueRef lastn, LLVMValueRef rows) {
  LLVMBuilderRef b = c->b;
  cg_kernel k;
  if (!cg_kernel_begin(c, &k, d, body)) return false;
  cg_epilogue_begin(&k, d, g->hero);
  const ir_shape *hs = &d->out_shapes[0];
  if (!rows)
    rows = !g->mrem ? cg_i64(c, g->aw)
           : g->mp == 1 ? cg_i64(c, g->mrem)
                        : LLVMBuildSelect(b, lastm, cg_i64(c, g->mrem), cg_i64(c, g->aw), "");
  cg_loop lr;
  LLVMValueRef r = cg_loop_open(c, &lr, cg_i64(c, 0), rows, "er");
  LLVMValueRef m = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, im, cg_i64(c, g->aw), ""), r, "");
  LLVMValueRef rowbase = LLVMBuildNSWMul(b, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, bt, cg_i64(c, g->dm.M), ""), m, ""),
                                         cg_i64(c, g->dm.N), "");
  /* Row coordinates of the product, outside the column loop. */
  LLVMValueRef rc[IR_MAX_RANK + 2];
  cg_index ix;
  cg_index_init(&k, &ix, hs->rank);
  if (!g->dm.conv) {
    split(c, bt, g->dm.nb, g->dm.bsz, rc);
    for (int i = 0; i < g->dm.nb; i++) ix.d[i] = rc[i];
    split(c, m, g->dm.nlf, g->dm.lfsz, rc);
    for (int i = 0; i < g->dm.nlf; i++) ix.d[g->dm.nb + i] = rc[i];
  } else {
    const ir_conv_dims *cd = g->in->conv;
    LLVMValueRef img, grp;
    image_group(c, g, bt, &img, &grp);
    ix.d[cd->out_batch] = img;
    ix.d[cd->out_feature] = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, grp, cg_i64(c, g->dm.M), ""), m, "");
  }
  /* One kind of column panel (all full, or a single cut one), or a branch
   * between the two, as in b_panel. */
  if (!g->nrem || g->np == 1) {
    epilogue_cols(c, &k, d, g, ix, rowbase, jn, g->nrem != 0);
  } else {
    LLVMBasicBlockRef cut = LLVMAppendBasicBlockInContext(c->llc, body, "ecut");
    LLVMBasicBlockRef full = LLVMAppendBasicBlockInContext(c->llc, body, "efull");
    LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(c->llc, body, "ejoin");
    LLVMBuildCondBr(b, lastn, cut, full);
    LLVMPositionBuilderAtEnd(b, cut);
    epilogue_cols(c, &k, d, g, ix, rowbase, jn, true);
    LLVMBuildBr(b, join);
    LLVMPositionBuilderAtEnd(b, full);
    epilogue_cols(c, &k, d, g, ix, rowbase, jn, false);
    LLVMBuildBr(b, join);
    LLVMPositionBuilderAtEnd(b, join);
  }
  cg_loop_close(c, &lr);
  cg_kernel_end(&k);
  return !c->failed;
}

/* A symbolic M's tile call: the full tile (tiles[0][..]), or where the
 * row panel is cut (lastm) the run-time row tile (tiles[1][..]) with the
 * row count; either picks the cut column panel's tile by lastn. */
static void sym_tile_call(cg_ctx *c, LLVMValueRef tiles[2][2], LLVMValueRef lastm, LLVMValueRef lastn, LLVMValueRef rows,
                          LLVMValueRef ap, LLVMValueRef bp, LLVMValueRef cp) {
  LLVMBuilderRef b = c->b;
  LLVMTypeRef pt[4] = {c->t_ptr, c->t_ptr, c->t_ptr, c->t_i64};
  LLVMValueRef args[4] = {ap, bp, cp, rows}, sel[2];
  for (int rm = 0; rm < 2; rm++)
    sel[rm] = tiles[rm][0] && tiles[rm][1] ? LLVMBuildSelect(b, lastn, tiles[rm][1], tiles[rm][0], "")
              : tiles[rm][0]               ? tiles[rm][0]
                                           : tiles[rm][1];
  if (sel[0] && sel[1]) {
    LLVMValueRef fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(b));
    LLVMBasicBlockRef full = LLVMAppendBasicBlockInContext(c->llc, fn, "fullrows");
    LLVMBasicBlockRef cut = LLVMAppendBasicBlockInContext(c->llc, fn, "cutrows");
    LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(c->llc, fn, "tiled");
    LLVMBuildCondBr(b, lastm, cut, full);
    LLVMPositionBuilderAtEnd(b, full);
    LLVMBuildCall2(b, LLVMFunctionType(c->t_void, pt, 3, 0), sel[0], args, 3, "");
    LLVMBuildBr(b, join);
    LLVMPositionBuilderAtEnd(b, cut);
    LLVMBuildCall2(b, LLVMFunctionType(c->t_void, pt, 4, 0), sel[1], args, 4, "");
    LLVMBuildBr(b, join);
    LLVMPositionBuilderAtEnd(b, join);
  } else if (sel[0]) {
    LLVMBuildCall2(b, LLVMFunctionType(c->t_void, pt, 3, 0), sel[0], args, 3, ""); /* M a multiple of aw */
  } else {
    LLVMBuildCall2(b, LLVMFunctionType(c->t_void, pt, 4, 0), sel[1], args, 4, ""); /* M below aw */
  }
}

bool cg_gemm_kernel(cg_ctx *c, const cg_kdesc *d, cg_launch *out) {
  gemm g;
  if (!plan(c, d, &g)) return cg_fail(c, "out of memory planning a GEMM kernel (or an internal error: not a GEMM)");
  LLVMBuilderRef b = c->b;
  /* Symbolic modules: what the kernel computes around the product (fused
   * producers of A and B, the epilogue) must be code that runs at run-time
   * extents (cg_symbolic_kernel_ok reports what is not), and the first
   * symbolic dimension it sees, output 0's, is the product's. */
  ir_dexpr outer = 0;
  if (d->symbolic && !cg_symbolic_kernel_ok(c, d, &outer)) return false;
  if (g.outer && outer != g.outer)
    return cg_fail(c, "%%%s: internal error: the symbolic dimension of a GEMM kernel is not its product's",
                   d->inst && d->inst->name ? d->inst->name : "?");
  char symtext[96] = "";
  if (g.outer) {
    char e[64];
    snprintf(symtext, sizeof symtext, ", %s %s at run time", g.msym ? "M from" : "batch from",
             ir_dexpr_str(c->m, g.outer, e, sizeof e));
  }
  if (c->o->remarks)
    diag_emit(c->d, DIAG_REMARK, "codegen: %%%s: GEMM %" PRId64 "x%" PRId64 "x%" PRId64 " (batch %" PRId64 "), %s tile %dx%d%s%s%s%s",
              d->inst && d->inst->name ? d->inst->name : "?", g.dm.M, g.dm.N, g.dm.K, g.dm.batch,
              g.swap ? "transposed" : "normal", g.aw, g.bw,
              g.swap ? " (vectors along M, B broadcast)" : "", g.a_const ? ", A read packed from its constant" : "",
              g.b_const ? ", B read packed from its constant" : "", symtext);
  int64_t a_bytes = g.dm.abatch * g.mp * g.dm.K * g.aw * 4, b_bytes = g.dm.batch * g.np * g.dm.K * g.bld * 4;
  int64_t a_off = 0, b_off = g.a_const ? 0 : align64(a_bytes);
  /* B packed at run time is packed panel by panel inside the tile phase,
   * right before the tiles that use it (while it is in L2): one unit is
   * one column panel with all its row panels. */
  bool merged = !g.b_const && !g.b_inplace;
  out->scratch = (g.a_const ? 0 : align64(a_bytes)) + (merged ? align64(b_bytes) : 0);
  out->nphase = 0;
  if (!g.a_const && !pack_a(c, d, &g, a_off, &out->ph[out->nphase++])) return false;

  /* The tiles needed: full and cut row panels x full and cut column
   * panels. The vectors run along the columns (normal) or the rows (swap);
   * a cut panel on that side has fewer vectors, the last one masked. A
   * symbolic M's cut row panel (when M need not be a multiple of aw) is
   * one tile with the row count as a parameter (tile_fn's rt_rows). */
  bool symm = g.msym, mcut = symm && (g.dm.M / g.obound) % g.aw != 0;
  LLVMValueRef tiles[2][2] = {{NULL, NULL}, {NULL, NULL}};
  for (int rm = 0; rm < 2; rm++)
    for (int cn = 0; cn < 2; cn++) {
      if (rm && !(symm ? mcut : g.mrem != 0)) continue;
      if (!rm && g.dm.M < g.aw) continue;
      if (cn && !g.nrem) continue;
      if (!cn && g.dm.N < g.bw) continue;
      bool rt = symm && rm; /* never swapped (plan) */
      bool vcut = g.swap ? rm : cn;
      int64_t vrem = g.swap ? g.mrem : g.nrem;
      int bc = g.swap ? (cn ? (int)g.nrem : g.bw) : (rm && !rt ? (int)g.mrem : g.aw);
      tiles[rm][cn] = tile_fn(c, &g, d, bc, vcut ? (int)ceil_div(vrem, g.vw) : g.nv, vcut ? (int)(vrem % g.vw) : 0, rt);
    }

  LLVMValueRef body = cg_kernel_body(c, d);
  if (!body) return false;
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(c->llc, body, "entry"));
  /* A symbolic M: its rows and row panels at run time. */
  LLVMValueRef mrt = NULL, mprt = NULL;
  if (symm) {
    c->bind = LLVMGetParam(body, cg_arg_bind(d));
    mrt = m_value(c, &g);
    c->bind = NULL;
    mprt = ceil_div_value(c, mrt, g.aw);
  }
  LLVMValueRef scratch = LLVMGetParam(body, cg_arg_scratch(d));
  LLVMValueRef abase = g.a_const ? LLVMGetParam(body, d->nout + g.a_pin) : scratch;
  LLVMValueRef bbase = g.b_const     ? LLVMGetParam(body, d->nout + g.b_pin)
                       : g.b_inplace ? LLVMGetParam(body, d->nout + g.b_in)
                                     : LLVMBuildGEP2(b, c->t_i8, scratch, (LLVMValueRef[]){cg_i64(c, b_off)}, 1, "");
  /* Tile order: blocks of nbs column panels x mbs row panels, each block
   * sized to stay in (half of) a 1 MB L2; inside a block, column panels
   * outer and row panels inner. B is then read from memory once, A once
   * per block of columns. Units past the last panel are skipped. */
  int64_t apanel = g.dm.K * g.aw * 4, bpanel = g.dm.K * g.bld * 4, budget = 256 * 1024;
  int64_t nbs = budget / (bpanel ? bpanel : 1), mbs = budget / (apanel ? apanel : 1);
  nbs = nbs < 1 ? 1 : nbs > g.np ? g.np : nbs;
  mbs = mbs < 1 ? 1 : mbs > g.mp ? g.mp : mbs;
  int64_t nbj = (g.np + nbs - 1) / nbs, nbi = (g.mp + mbs - 1) / mbs;
  nbs = (g.np + nbj - 1) / nbj; /* even out the blocks */
  mbs = (g.mp + nbi - 1) / nbi;
  int64_t blk = nbs * mbs, per = merged ? g.np : nbj * nbi * blk;
  cg_loop lu, lm;
  LLVMValueRef u = cg_loop_open(c, &lu, LLVMGetParam(body, cg_arg_lo(d)), LLVMGetParam(body, cg_arg_hi(d)), "tile");
  LLVMValueRef bt = LLVMBuildUDiv(b, u, cg_i64(c, per), ""), r = LLVMBuildURem(b, u, cg_i64(c, per), "");
  LLVMValueRef jn, im;
  LLVMBasicBlockRef run = LLVMAppendBasicBlockInContext(c->llc, body, "run");
  LLVMBasicBlockRef skip = LLVMAppendBasicBlockInContext(c->llc, body, "skip");
  cg_kernel pk;
  if (merged) {
    /* Unit (b, column panel): pack the panel, then every row panel. */
    if (!cg_kernel_begin(c, &pk, d, body)) return false;
    jn = r;
    pack_b_panel(c, &pk, d, &g, body, b_off, u);
    cg_kernel_end(&pk);
    LLVMBuildBr(b, run);
    LLVMPositionBuilderAtEnd(b, run);
    im = cg_loop_open(c, &lm, cg_i64(c, 0), symm ? mprt : cg_i64(c, g.mp), "rowpanel");
  } else if (symm) {
    /* A symbolic M: row blocks outermost, so the units of the row panels
     * past M are a suffix (the units function leaves it out); inside a
     * block the same order as below. */
    LLVMValueRef rb = LLVMBuildUDiv(b, r, cg_i64(c, nbj * blk), ""), rr = LLVMBuildURem(b, r, cg_i64(c, nbj * blk), "");
    LLVMValueRef cb = LLVMBuildUDiv(b, rr, cg_i64(c, blk), ""), wi = LLVMBuildURem(b, rr, cg_i64(c, blk), "");
    jn = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, cb, cg_i64(c, nbs), ""), LLVMBuildUDiv(b, wi, cg_i64(c, mbs), ""), "");
    im = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, rb, cg_i64(c, mbs), ""), LLVMBuildURem(b, wi, cg_i64(c, mbs), ""), "");
    LLVMBuildCondBr(b, LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSLT, jn, cg_i64(c, g.np), ""),
                                    LLVMBuildICmp(b, LLVMIntSLT, im, mprt, ""), ""), run, skip);
    LLVMPositionBuilderAtEnd(b, run);
  } else {
    LLVMValueRef bk = LLVMBuildUDiv(b, r, cg_i64(c, blk), ""), wi = LLVMBuildURem(b, r, cg_i64(c, blk), "");
    jn = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, LLVMBuildUDiv(b, bk, cg_i64(c, nbi), ""), cg_i64(c, nbs), ""),
                         LLVMBuildUDiv(b, wi, cg_i64(c, mbs), ""), "");
    im = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, LLVMBuildURem(b, bk, cg_i64(c, nbi), ""), cg_i64(c, mbs), ""),
                         LLVMBuildURem(b, wi, cg_i64(c, mbs), ""), "");
    LLVMBuildCondBr(b, LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntSLT, jn, cg_i64(c, g.np), ""),
                                    LLVMBuildICmp(b, LLVMIntSLT, im, cg_i64(c, g.mp), ""), ""), run, skip);
    LLVMPositionBuilderAtEnd(b, run);
  }
  LLVMValueRef ab = g.dm.conv && g.dm.groups > 1 ? LLVMBuildURem(b, bt, cg_i64(c, g.dm.groups), "") : (g.dm.conv ? cg_i64(c, 0) : bt);
  LLVMValueRef ap = gep_f32(c, abase, LLVMBuildNSWMul(b, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, ab, cg_i64(c, g.mp), ""), im, ""),
                                                     cg_i64(c, g.dm.K * g.aw), ""));
  LLVMValueRef bp = g.b_inplace
                         ? gep_f32(c, bbase, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, bt, cg_i64(c, g.bstride), ""),
                                                            LLVMBuildNSWMul(b, jn, cg_i64(c, g.bw), ""), ""))
                         : gep_f32(c, bbase, LLVMBuildNSWMul(b, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, bt, cg_i64(c, g.np), ""), jn, ""),
                                                            cg_i64(c, g.dm.K * g.bld), ""));
  LLVMValueRef coff = LLVMBuildNSWAdd(
      b, LLVMBuildNSWMul(b, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, bt, cg_i64(c, g.dm.M), ""), LLVMBuildNSWMul(b, im, cg_i64(c, g.aw), ""), ""),
                         cg_i64(c, g.dm.N), ""),
      LLVMBuildNSWMul(b, jn, cg_i64(c, g.bw), ""), "");
  LLVMValueRef cp = gep_f32(c, LLVMGetParam(body, 0), coff);
  LLVMValueRef lastm, rows = NULL;
  if (symm) {
    /* The row panel is cut when it reaches past M: rows M - im·aw. */
    LLVMValueRef first = LLVMBuildNSWMul(b, im, cg_i64(c, g.aw), "");
    rows = cg_min_i64(c, LLVMBuildNSWSub(b, mrt, first, ""), cg_i64(c, g.aw));
    lastm = mcut ? LLVMBuildICmp(b, LLVMIntSLT, rows, cg_i64(c, g.aw), "") : LLVMConstInt(c->t_i1, 0, 0);
  } else {
    lastm = g.mrem ? LLVMBuildICmp(b, LLVMIntEQ, im, cg_i64(c, g.mp - 1), "") : LLVMConstInt(c->t_i1, 0, 0);
  }
  LLVMValueRef lastn = g.nrem ? LLVMBuildICmp(b, LLVMIntEQ, jn, cg_i64(c, g.np - 1), "") : LLVMConstInt(c->t_i1, 0, 0);
  if (symm) {
    sym_tile_call(c, tiles, lastm, lastn, rows, ap, bp, cp);
  } else {
    /* Dispatch on (last row panel, last column panel). */
    LLVMValueRef fnsel = NULL;
    for (int rm = 0; rm < 2; rm++)
      for (int cn = 0; cn < 2; cn++) {
        if (!tiles[rm][cn]) continue;
        if (!fnsel) {
          fnsel = tiles[rm][cn];
          continue;
        }
        LLVMValueRef cond = LLVMBuildAnd(b, rm ? lastm : LLVMBuildNot(b, lastm, ""), cn ? lastn : LLVMBuildNot(b, lastn, ""), "");
        fnsel = LLVMBuildSelect(b, cond, tiles[rm][cn], fnsel, "");
      }
    LLVMValueRef args[3] = {ap, bp, cp};
    LLVMTypeRef pt[3] = {c->t_ptr, c->t_ptr, c->t_ptr};
    LLVMBuildCall2(b, LLVMFunctionType(c->t_void, pt, 3, 0), fnsel, args, 3, "");
  }
  if (g.epi && !tile_epilogue(c, d, &g, body, bt, im, jn, lastm, lastn, rows)) return false;
  if (merged) cg_loop_close(c, &lm);
  LLVMBuildBr(b, skip);
  LLVMMoveBasicBlockAfter(skip, LLVMGetInsertBlock(b));
  LLVMPositionBuilderAtEnd(b, skip);
  cg_loop_close(c, &lu);
  LLVMBuildRetVoid(b);
  cg_phase *ph = &out->ph[out->nphase++];
  ph->task = cg_kernel_task(c, d, body);
  ph->n = g.dm.batch * per;
  ph->cost = (double)g.aw * (double)g.bw * (double)g.dm.K * 2 * (double)(g.mp * g.np) / (double)per +
             (merged ? (double)(g.dm.K * g.bld) * 2 : 0);
  ph->serial = false;
  if (symm && !merged) {
    /* No batch; the row blocks that hold rows. */
    cg_units_save save;
    cg_units_begin(c, &save);
    LLVMValueRef blocks = ceil_div_value(c, ceil_div_value(c, m_value(c, &g), g.aw), mbs);
    ph->units = cg_units_end(c, &save, LLVMBuildNSWMul(b, blocks, cg_i64(c, nbj * blk), ""));
  } else if (g.outer && !symm) {
    /* Units batch-outermost (a convolution's image·groups + group). */
    ph->units = cg_units_scaled(c, ph->n, g.outer);
  }
  return ph->task != NULL && !c->failed;
}
