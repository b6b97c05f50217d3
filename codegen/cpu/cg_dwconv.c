/*
 * Depthwise convolutions (one input and one output feature per group:
 * MobileNet, EfficientNet), one output plane at a time, with explicit
 * vectors along the flattened plane.
 *
 * The row kernel (cg_conv.c) vectorizes along one output row, which wastes
 * most lanes on the small planes of late layers (7 or 14 wide) and runs its
 * short loops scalar. Here a unit is one (image, channel) plane of
 * P = OH·OW outputs, cut into chunks of VW consecutive positions of the
 * flattened plane; each chunk keeps one accumulator vector and, for every
 * tap, adds the tap's weight (a broadcast, loaded once per plane) times the
 * input values under it:
 *
 *   lane i of chunk:  oh = i / OW, ow = i % OW
 *                     ih = oh·s + kh·d - pad,  iw = ow·s + kw·d - pad
 *                     x[ih, iw] where 0 <= ih < H and 0 <= iw < W, else 0
 *
 * Lanes outside the input (padding, the plane's ragged end) are masked off,
 * so no select and no out-of-bounds access is needed. When the input row
 * has the output row's width and the stride is 1 (a "same" convolution)
 * the input position is i plus a constant per tap, and each tap is one
 * masked contiguous load; otherwise the positions are computed per lane and
 * gathered. U chunks are computed together (independent accumulators hide
 * the FMA latency). A fused epilogue then runs over the plane while it is
 * in L1, like the other convolution kernels.
 *
 * Applies to f32 depthwise convolutions with NCHW dim_labels, two spatial
 * dimensions, no input dilation, at most 64 taps, whose input and weights
 * are buffers of the kernel in their default layouts.
 *
 * Symbolic modules: the image dimension may be symbolic (the batch, the
 * outermost dimension of input and output; cpu_backend.c sends a kernel
 * with any other symbolic dimension to the loop kernel). Units are planes image-outermost, so at run
 * time only their count changes: images · channels.
 */
#include <string.h>

#include "codegen/cpu/cg_cpu.h"

#define DW_MAX_TAPS 64
#define DW_MAX_U 4
#define DW_MAX_CHUNKS 8 /* accumulators of the row-chunk form */

typedef struct dw {
  ir_id hero, xid, wid;
  unsigned xin, win;  /* positions of x and w among the kernel's inputs */
  int64_t n, ch, h, w, oh, ow, kh, kw, sh, sw, dh, dw, ph, pw;
  bool contiguous;
} dw;

static bool nchw(const ir_conv_dims *cd) {
  return cd->nspatial == 2 && cd->in_batch == 0 && cd->in_feature == 1 && cd->in_spatial[0] == 2 &&
         cd->in_spatial[1] == 3 && cd->k_out == 0 && cd->k_in == 1 && cd->k_spatial[0] == 2 && cd->k_spatial[1] == 3 &&
         cd->out_batch == 0 && cd->out_feature == 1 && cd->out_spatial[0] == 2 && cd->out_spatial[1] == 3;
}

static bool plan(const cg_kdesc *d, dw *p) {
  memset(p, 0, sizeof *p);
  if (!cg_epilogue_hero(d, &p->hero)) return false;
  const ir_inst *in = &d->comp->insts[p->hero];
  if (in->op != IR_OP_CONVOLUTION || !nchw(in->conv)) return false;
  const ir_shape *xs = &d->comp->insts[in->ops[0]].shape, *ks = &d->comp->insts[in->ops[1]].shape;
  if (in->shape.type != IR_F32 || xs->type != IR_F32 || ks->type != IR_F32) return false;
  if (!ir_shape_has_default_layout(&d->out_shapes[0])) return false;
  p->xid = in->ops[0];
  p->wid = in->ops[1];
  if (!cg_default_input(d, p->xid, &p->xin) || !cg_default_input(d, p->wid, &p->win)) return false;
  const ir_window *w = in->a.window;
  if (w->d[0].lhs_dilate != 1 || w->d[1].lhs_dilate != 1) return false;
  p->n = xs->dims[0];
  p->ch = xs->dims[1];
  if (in->index != p->ch || ks->dims[0] != p->ch || ks->dims[1] != 1) return false;
  p->h = xs->dims[2], p->w = xs->dims[3];
  p->oh = in->shape.dims[2], p->ow = in->shape.dims[3];
  p->kh = ks->dims[2], p->kw = ks->dims[3];
  p->sh = w->d[0].stride, p->sw = w->d[1].stride;
  p->dh = w->d[0].rhs_dilate, p->dw = w->d[1].rhs_dilate;
  p->ph = w->d[0].pad_lo, p->pw = w->d[1].pad_lo;
  if (p->kh * p->kw > DW_MAX_TAPS || p->kh * p->kw < 1) return false;
  if (p->n * p->ch == 0 || p->oh * p->ow == 0 || p->h * p->w == 0) return false;
  /* i32 lane arithmetic */
  if (p->h * p->w > (1 << 30) || p->oh * p->ow > (1 << 30)) return false;
  p->contiguous = p->sh == 1 && p->sw == 1 && p->ow == p->w;
  return true;
}

/* Rows at least a vector wide (and strides 1 or 2) take the row-chunk form;
 * smaller planes the flattened one. */
bool cg_conv_dw_applies(const cg_ctx *c, const cg_kdesc *d) {
  dw p;
  int64_t vw = cg_target_vw(c);
  return plan(d, &p) && (p.ow < vw || (p.sw <= 2 && (p.ow + vw - 1) / vw <= DW_MAX_CHUNKS));
}

static LLVMValueRef vsplat_i32(cg_ctx *c, int64_t v, unsigned vw) {
  LLVMValueRef e[16];
  for (unsigned i = 0; i < vw; i++) e[i] = cg_i32(c, (int32_t)v);
  return LLVMConstVector(e, vw);
}

/* A constant <vw x i1> mask. */
static LLVMValueRef const_mask(cg_ctx *c, const bool *on, unsigned n) {
  LLVMValueRef e[32];
  for (unsigned i = 0; i < n; i++) e[i] = LLVMConstInt(c->t_i1, on[i], 0);
  return LLVMConstVector(e, n);
}

/* The row-chunk form, for rows of at least one vector: per output row oh,
 * the row's chunks of VW outputs (all in registers at once), and per tap a
 * masked load of the input row under the chunk. Which lanes fall inside the
 * input columns is known at generation time (a constant mask per chunk and
 * tap); whether the tap's input row exists is one scalar per tap row, ANDed
 * into the mask. Stride 2 loads the 2·VW span and keeps the even lanes. */
static void emit_rows(cg_ctx *c, const dw *p, unsigned vw, LLVMValueRef xplane, LLVMValueRef oplane,
                      const LLVMValueRef *wv) {
  LLVMBuilderRef b = c->b;
  LLVMTypeRef vf = LLVMVectorType(c->t_f32, vw), vf2 = LLVMVectorType(c->t_f32, 2 * vw);
  LLVMValueRef zero = LLVMConstNull(vf);
  LLVMTypeRef ldt[2] = {vf, c->t_ptr}, ldt2[2] = {vf2, c->t_ptr};
  int64_t nch = (p->ow + vw - 1) / vw;
  cg_loop lo;
  LLVMValueRef oh = cg_loop_open(c, &lo, cg_i64(c, 0), cg_i64(c, p->oh), "oh");
  LLVMValueRef rowok[DW_MAX_TAPS], rowoff[DW_MAX_TAPS];
  for (int64_t r = 0; r < p->kh; r++) {
    LLVMValueRef ih = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, oh, cg_i64(c, p->sh), ""), cg_i64(c, r * p->dh - p->ph), "");
    LLVMValueRef ok = LLVMBuildICmp(b, LLVMIntULT, ih, cg_i64(c, p->h), "");
    LLVMTypeRef v1 = LLVMVectorType(c->t_i1, vw * (unsigned)p->sw);
    LLVMValueRef one = LLVMBuildInsertElement(b, LLVMGetUndef(v1), ok, cg_i32(c, 0), "");
    rowok[r] = LLVMBuildShuffleVector(b, one, LLVMGetUndef(v1), LLVMConstNull(LLVMVectorType(c->t_i32, vw * (unsigned)p->sw)), "");
    rowoff[r] = LLVMBuildNSWMul(b, ih, cg_i64(c, p->w), "");
  }
  LLVMValueRef acc[DW_MAX_CHUNKS];
  for (int64_t j = 0; j < nch; j++) acc[j] = zero;
  LLVMValueRef even[32];
  for (unsigned i = 0; i < vw; i++) even[i] = cg_i32(c, (int32_t)(2 * i));
  LLVMValueRef evens = LLVMConstVector(even, vw);
  for (int64_t r = 0; r < p->kh; r++)
    for (int64_t s = 0; s < p->kw; s++)
      for (int64_t j = 0; j < nch; j++) {
        int64_t ow0 = j * (int64_t)vw, span = (int64_t)vw * p->sw;
        int64_t col0 = ow0 * p->sw + s * p->dw - p->pw;
        bool on[32];
        bool any = false;
        for (int64_t e = 0; e < span; e++) {
          int64_t col = col0 + e;
          on[e] = e % p->sw == 0 && ow0 + e / p->sw < p->ow && col >= 0 && col < p->w;
          any = any || on[e];
        }
        if (!any) continue;
        LLVMValueRef m = LLVMBuildAnd(b, const_mask(c, on, (unsigned)span), rowok[r], "");
        LLVMValueRef at = LLVMBuildNSWAdd(b, rowoff[r], cg_i64(c, col0), "");
        LLVMValueRef ptr = LLVMBuildGEP2(b, c->t_f32, xplane, &at, 1, "");
        LLVMValueRef v;
        if (p->sw == 1) {
          LLVMValueRef args[4] = {ptr, cg_i32(c, 4), m, zero};
          v = cg_intrinsic(c, "llvm.masked.load", ldt, 2, args, 4);
        } else {
          LLVMValueRef args[4] = {ptr, cg_i32(c, 4), m, LLVMConstNull(vf2)};
          LLVMValueRef wide = cg_intrinsic(c, "llvm.masked.load", ldt2, 2, args, 4);
          v = LLVMBuildShuffleVector(b, wide, LLVMGetUndef(vf2), evens, "");
        }
        LLVMValueRef fa[3] = {wv[r * p->kw + s], v, acc[j]};
        acc[j] = cg_intrinsic(c, "llvm.fmuladd", &vf, 1, fa, 3);
      }
  LLVMValueRef obase = LLVMBuildNSWMul(b, oh, cg_i64(c, p->ow), "");
  for (int64_t j = 0; j < nch; j++) {
    int64_t ow0 = j * (int64_t)vw;
    LLVMValueRef at = LLVMBuildNSWAdd(b, obase, cg_i64(c, ow0), "");
    LLVMValueRef ptr = LLVMBuildGEP2(b, c->t_f32, oplane, &at, 1, "");
    if (ow0 + (int64_t)vw <= p->ow) {
      LLVMValueRef st = LLVMBuildStore(b, acc[j], ptr);
      LLVMSetAlignment(st, 4);
    } else {
      bool on[32];
      for (unsigned e = 0; e < vw; e++) on[e] = ow0 + (int64_t)e < p->ow;
      LLVMValueRef args[4] = {acc[j], ptr, cg_i32(c, 4), const_mask(c, on, vw)};
      cg_intrinsic(c, "llvm.masked.store", ldt, 2, args, 4);
    }
  }
  cg_loop_close(c, &lo);
}

/* The flattened form, for planes narrower than a vector: chunks of VW
 * consecutive positions of the flattened output plane, U of them at a
 * time; per lane the input row and column, masks for the padding and the
 * plane's end, and a masked load (a "same" convolution at stride 1: the
 * input position is the output's plus a constant per tap) or gather. */
static void emit_flat(cg_ctx *c, const dw *pp, unsigned vw, LLVMValueRef xplane, LLVMValueRef oplane,
                      const LLVMValueRef *wv) {
  LLVMBuilderRef b = c->b;
  dw p = *pp;
  int64_t P = p.oh * p.ow, nchunks = (P + vw - 1) / vw;
  /* Chunks per step: up to 4, wasting as few chunks past the plane as can be. */
  int U = 1;
  for (int u = DW_MAX_U; u >= 1; u--)
    if (u <= nchunks && (U == 1 || (nchunks + u - 1) / u * u - nchunks < (nchunks + U - 1) / U * U - nchunks)) U = u;
  int64_t nsteps = (nchunks + U - 1) / U;
  LLVMTypeRef vf = LLVMVectorType(c->t_f32, vw);
  LLVMValueRef zero = LLVMConstNull(vf);
  LLVMValueRef iota_e[16];
  for (unsigned i = 0; i < vw; i++) iota_e[i] = cg_i32(c, (int32_t)i);
  LLVMValueRef iota = LLVMConstVector(iota_e, vw);
  cg_loop ls;
  LLVMValueRef step = cg_loop_open(c, &ls, cg_i64(c, 0), cg_i64(c, nsteps), "step");
  LLVMValueRef step32 = LLVMBuildTrunc(b, step, c->t_i32, "");
  LLVMValueRef i0[DW_MAX_U], inb[DW_MAX_U], acc[DW_MAX_U];
  LLVMValueRef rowok[DW_MAX_U][DW_MAX_TAPS], colok[DW_MAX_U][DW_MAX_TAPS];
  LLVMValueRef rowoff[DW_MAX_U][DW_MAX_TAPS], coloff[DW_MAX_U][DW_MAX_TAPS];
  for (int q = 0; q < U; q++) {
    i0[q] = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, step32, cg_i32(c, (int32_t)(U * vw)), ""), cg_i32(c, (int32_t)(q * (int)vw)), "");
    LLVMValueRef iv = LLVMBuildAdd(b, cg_splat(c, i0[q], vw), iota, "");
    inb[q] = LLVMBuildICmp(b, LLVMIntSLT, iv, vsplat_i32(c, P, vw), "");
    LLVMValueRef ohv = LLVMBuildUDiv(b, iv, vsplat_i32(c, p.ow, vw), "");
    LLVMValueRef owv = LLVMBuildURem(b, iv, vsplat_i32(c, p.ow, vw), "");
    LLVMValueRef ohs = LLVMBuildMul(b, ohv, vsplat_i32(c, p.sh, vw), "");
    LLVMValueRef ows = LLVMBuildMul(b, owv, vsplat_i32(c, p.sw, vw), "");
    for (int64_t r = 0; r < p.kh; r++) {
      LLVMValueRef ih = LLVMBuildAdd(b, ohs, vsplat_i32(c, r * p.dh - p.ph, vw), "");
      rowok[q][r] = LLVMBuildICmp(b, LLVMIntULT, ih, vsplat_i32(c, p.h, vw), "");
      if (!p.contiguous) rowoff[q][r] = LLVMBuildMul(b, ih, vsplat_i32(c, p.w, vw), "");
    }
    for (int64_t s = 0; s < p.kw; s++) {
      LLVMValueRef iw = LLVMBuildAdd(b, ows, vsplat_i32(c, s * p.dw - p.pw, vw), "");
      colok[q][s] = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntULT, iw, vsplat_i32(c, p.w, vw), ""), inb[q], "");
      if (!p.contiguous) coloff[q][s] = iw;
    }
    acc[q] = zero;
  }
  LLVMTypeRef ldt[2] = {vf, c->t_ptr};
  LLVMTypeRef vpt = LLVMVectorType(c->t_ptr, vw);
  LLVMTypeRef gt[2] = {vf, vpt};
  for (int64_t r = 0; r < p.kh; r++)
    for (int64_t s = 0; s < p.kw; s++) {
      int64_t t = r * p.kw + s;
      for (int q = 0; q < U; q++) {
        LLVMValueRef m = LLVMBuildAnd(b, rowok[q][r], colok[q][s], "");
        LLVMValueRef v;
        if (p.contiguous) {
          int64_t off = (r * p.dh - p.ph) * p.w + (s * p.dw - p.pw);
          LLVMValueRef at = LLVMBuildSExt(b, LLVMBuildNSWAdd(b, i0[q], cg_i32(c, (int32_t)off), ""), c->t_i64, "");
          LLVMValueRef ptr = LLVMBuildGEP2(b, c->t_f32, xplane, &at, 1, "");
          LLVMValueRef args[4] = {ptr, cg_i32(c, 4), m, zero};
          v = cg_intrinsic(c, "llvm.masked.load", ldt, 2, args, 4);
        } else {
          /* Masked-off lanes are never read; their index may be anything. */
          LLVMValueRef idx = LLVMBuildAdd(b, rowoff[q][r], coloff[q][s], "");
          LLVMValueRef ptrs = LLVMBuildGEP2(b, c->t_f32, xplane, &idx, 1, "");
          LLVMValueRef args[4] = {ptrs, cg_i32(c, 4), m, zero};
          v = cg_intrinsic(c, "llvm.masked.gather", gt, 2, args, 4);
        }
        LLVMValueRef fa[3] = {wv[t], v, acc[q]};
        acc[q] = cg_intrinsic(c, "llvm.fmuladd", &vf, 1, fa, 3);
      }
    }
  for (int q = 0; q < U; q++) {
    LLVMValueRef at = LLVMBuildSExt(b, i0[q], c->t_i64, "");
    LLVMValueRef ptr = LLVMBuildGEP2(b, c->t_f32, oplane, &at, 1, "");
    LLVMValueRef args[4] = {acc[q], ptr, cg_i32(c, 4), inb[q]};
    cg_intrinsic(c, "llvm.masked.store", ldt, 2, args, 4);
  }
  cg_loop_close(c, &ls);
}

bool cg_conv_dw_kernel(cg_ctx *c, const cg_kdesc *d, LLVMValueRef body, cg_phase *out) {
  dw p;
  if (!plan(d, &p)) return cg_fail(c, "internal: not a depthwise convolution");
  ir_dexpr outer = 0;
  if (d->symbolic && !cg_symbolic_kernel_ok(c, d, &outer)) return false;
  /* The batch is the only dimension of input and output that may be
   * symbolic (cpu_backend.c dispatches no other; channels and kernel sizes are static
   * in the IR), and it is outermost in both (default layouts). */
  ir_dexpr images = d->comp->insts[p.hero].shape.sym[0];
  LLVMBuilderRef b = c->b;
  unsigned vw = (unsigned)cg_target_vw(c);
  bool rowwise = p.ow >= (int64_t)vw;
  int64_t P = p.oh * p.ow, T = p.kh * p.kw;
  cg_kernel k;
  if (!cg_kernel_begin(c, &k, d, body)) return false;
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(c->llc, body, "entry"));
  LLVMValueRef outp = LLVMGetParam(body, 0);
  LLVMValueRef xp = LLVMGetParam(body, d->nout + p.xin), wp = LLVMGetParam(body, d->nout + p.win);
  cg_loop lu;
  LLVMValueRef u = cg_loop_open(c, &lu, LLVMGetParam(body, cg_arg_lo(d)), LLVMGetParam(body, cg_arg_hi(d)), "plane");
  LLVMValueRef co = LLVMBuildURem(b, u, cg_i64(c, p.ch), "");
  LLVMValueRef xplane = LLVMBuildGEP2(b, c->t_f32, xp, (LLVMValueRef[]){LLVMBuildNSWMul(b, u, cg_i64(c, p.h * p.w), "")}, 1, "");
  LLVMValueRef oplane = LLVMBuildGEP2(b, c->t_f32, outp, (LLVMValueRef[]){LLVMBuildNSWMul(b, u, cg_i64(c, P), "")}, 1, "");
  LLVMValueRef wbase = LLVMBuildNSWMul(b, co, cg_i64(c, T), "");
  LLVMValueRef wv[DW_MAX_TAPS];
  for (int64_t t = 0; t < T; t++) {
    LLVMValueRef wl = cg_load(c, IR_F32, wp, LLVMBuildNSWAdd(b, wbase, cg_i64(c, t), ""));
    wv[t] = cg_splat(c, wl, vw);
  }
  if (rowwise) emit_rows(c, &p, vw, xplane, oplane, wv);
  else emit_flat(c, &p, vw, xplane, oplane, wv);
  if (p.hero != d->root) {
    /* The fused epilogue over the plane just written (in L1). */
    cg_epilogue_begin(&k, d, p.hero);
    cg_loop le;
    LLVMValueRef qe = cg_loop_open(c, &le, cg_i64(c, 0), cg_i64(c, P), "e");
    cg_index ex;
    cg_index_init(&k, &ex, 4);
    ex.d[0] = LLVMBuildUDiv(b, u, cg_i64(c, p.ch), "");
    ex.d[1] = co;
    ex.d[2] = LLVMBuildUDiv(b, qe, cg_i64(c, p.ow), "");
    ex.d[3] = LLVMBuildURem(b, qe, cg_i64(c, p.ow), "");
    cg_epilogue_store(&k, d, &ex, LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, u, cg_i64(c, P), ""), qe, ""));
    cg_loop_close(c, &le);
  }
  cg_loop_close(c, &lu);
  LLVMBuildRetVoid(b);
  cg_kernel_end(&k);
  int64_t lanes = rowwise ? p.oh * (p.ow + vw - 1) / vw * vw : (P + vw - 1) / vw * vw;
  out->n = p.n * p.ch;
  out->cost = (double)lanes * (double)T * 2 + (p.hero != d->root ? (double)P * 4 : 0);
  out->serial = false;
  if (images) out->units = cg_units_scaled(c, out->n, images);
  return !c->failed;
}
