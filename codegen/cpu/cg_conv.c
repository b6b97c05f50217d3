/*
 * Convolutions the GEMM path does not take (depthwise and other grouped
 * convolutions with few input features per group, small convolutions),
 * computed directly, one output row at a time.
 *
 * A unit is one row of the output: (image, output feature, all spatial
 * positions but the last). The row, in the output buffer, starts at zero;
 * then for every input feature of the group and every tap, the tap's
 * weight times a row of the input is added to it:
 *
 *   out[q] += w * x[ih.., q·stride + tap·dilation - pad]    for q in [qlo, qhi)
 *
 * where [qlo, qhi) are the output columns whose input column is inside the
 * input (computed from the tap, not tested per element), and taps whose
 * rows fall on padding are skipped. The inner loop is affine, has no
 * selects and walks the row contiguously at stride 1, so LLVM vectorizes
 * it; a depthwise 3x3 is nine such passes over a row that stays in L1. Each
 * output element sums over (input feature, taps) in the order the elemental
 * convolution uses, in float.
 *
 * Applies to f32 convolutions without input dilation whose output is in
 * its default layout with NCHW-like dim_labels (batch, feature, spatial in
 * order).
 *
 * Symbolic modules: the image dimension may be symbolic (the batch;
 * cpu_backend.c sends a kernel with any other symbolic dimension to the
 * loop kernel).
 * Rows are laid out image-outermost, so at run time only their count
 * changes: images · (rows per image). The input is read through the
 * elemental emitter, which takes its extents from the binding.
 */
#include <string.h>

#include "codegen/cpu/cg_cpu.h"

static bool applies(const cg_kdesc *d) {
  ir_id hero;
  if (!cg_epilogue_hero(d, &hero)) return false;
  const ir_inst *in = &d->comp->insts[hero];
  if (in->op != IR_OP_CONVOLUTION) return false;
  const ir_conv_dims *cd = in->conv;
  const ir_shape *x = &d->comp->insts[in->ops[0]].shape;
  if (in->shape.type != IR_F32 || x->type != IR_F32 || !ir_shape_has_default_layout(&d->out_shapes[0])) return false;
  if (cd->nspatial < 1 || cd->out_batch != 0 || cd->out_feature != 1) return false;
  for (int i = 0; i < cd->nspatial; i++)
    if (cd->out_spatial[i] != i + 2 || in->a.window->d[i].lhs_dilate != 1) return false;
  return ir_shape_elements(&in->shape) > 0 && ir_shape_elements(x) > 0;
}

bool cg_conv_rows_applies(const cg_kdesc *d) { return applies(d); }

bool cg_conv_rows_kernel(cg_ctx *c, const cg_kdesc *d, LLVMValueRef body, cg_phase *out) {
  LLVMBuilderRef b = c->b;
  ir_id hero;
  if (!cg_epilogue_hero(d, &hero))
    return cg_fail(c, "out of memory planning a convolution kernel (or an internal error: not a convolution)");
  const ir_inst *in = &d->comp->insts[hero];
  ir_dexpr outer = 0;
  if (d->symbolic && !cg_symbolic_kernel_ok(c, d, &outer)) return false;
  /* The batch is the only dimension of the result that may be symbolic
   * (cpu_backend.c dispatches no other symbolic kernel here; features are
   * static in the IR), outermost in its default layout. */
  ir_dexpr images = in->shape.sym[0];
  const ir_conv_dims *cd = in->conv;
  const ir_window *w = in->a.window;
  const ir_shape *xs = &d->comp->insts[in->ops[0]].shape, *ks = &d->comp->insts[in->ops[1]].shape;
  int ns = cd->nspatial, last = ns - 1;
  int64_t groups = in->index, cin_g = ks->dims[cd->k_in], cout = in->shape.dims[1], cout_g = cout / groups;
  int64_t ow = in->shape.dims[2 + last], iwd = xs->dims[cd->in_spatial[last]];
  int64_t rows = ir_shape_elements(&in->shape) / ow;
  /* Row coordinates: image, feature, then the spatial dimensions but the last. */
  int64_t ext[IR_MAX_RANK + 2];
  ext[0] = in->shape.dims[0];
  ext[1] = cout;
  for (int i = 0; i < last; i++) ext[2 + i] = in->shape.dims[2 + i];

  cg_kernel k;
  if (!cg_kernel_begin(c, &k, d, body)) return false;
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(c->llc, body, "entry"));
  LLVMValueRef outp = LLVMGetParam(body, 0);
  cg_loop lu, lz;
  LLVMValueRef u = cg_loop_open(c, &lu, LLVMGetParam(body, cg_arg_lo(d)), LLVMGetParam(body, cg_arg_hi(d)), "row");
  LLVMValueRef coord[IR_MAX_RANK + 2] = {0}, rest = u;
  for (int i = last + 1; i >= 0; i--) {
    if (i == 0) coord[i] = rest;
    else {
      coord[i] = LLVMBuildURem(b, rest, cg_i64(c, ext[i]), "");
      rest = LLVMBuildUDiv(b, rest, cg_i64(c, ext[i]), "");
    }
  }
  LLVMValueRef img = coord[0], co = coord[1];
  LLVMValueRef grp = groups == 1 ? cg_i64(c, 0) : LLVMBuildUDiv(b, co, cg_i64(c, cout_g), "");
  LLVMValueRef rbase = LLVMBuildNSWMul(b, u, cg_i64(c, ow), "");
  LLVMValueRef q = cg_loop_open(c, &lz, cg_i64(c, 0), cg_i64(c, ow), "z");
  cg_store(c, IR_F32, outp, LLVMBuildNSWAdd(b, rbase, q, ""), LLVMConstReal(c->t_f32, 0.0));
  cg_loop_close(c, &lz);

  cg_loop lci, lt[IR_MAX_RANK], lw, lq;
  LLVMValueRef ci = cg_loop_open(c, &lci, cg_i64(c, 0), cg_i64(c, cin_g), "ci");
  LLVMValueRef tap[IR_MAX_RANK];
  for (int i = 0; i < last; i++) tap[i] = cg_loop_open(c, &lt[i], cg_i64(c, 0), cg_i64(c, w->d[i].size), "t");
  /* Rows of the input this tap reads; skip the tap if any is padding. */
  cg_index xi, wi;
  cg_index_init(&k, &xi, xs->rank);
  cg_index_init(&k, &wi, ks->rank);
  LLVMValueRef valid = LLVMConstInt(c->t_i1, 1, 0);
  xi.d[cd->in_batch] = img;
  xi.d[cd->in_feature] = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, grp, cg_i64(c, cin_g), ""), ci, "");
  for (int i = 0; i < last; i++)
    xi.d[cd->in_spatial[i]] = cg_window_tap(c, &w->d[i], xs->dims[cd->in_spatial[i]], coord[2 + i], tap[i], &valid);
  LLVMBasicBlockRef yes = LLVMAppendBasicBlockInContext(c->llc, body, "tap");
  LLVMBasicBlockRef no = LLVMAppendBasicBlockInContext(c->llc, body, "notap");
  LLVMBuildCondBr(b, valid, yes, no);
  LLVMPositionBuilderAtEnd(b, yes);
  uint32_t mark = cg_memo_mark(&k);
  const ir_window_dim *wl = &w->d[last];
  LLVMValueRef tw = cg_loop_open(c, &lw, cg_i64(c, 0), cg_i64(c, wl->size), "tw");
  wi.d[cd->k_out] = co;
  wi.d[cd->k_in] = ci;
  for (int i = 0; i < last; i++) wi.d[cd->k_spatial[i]] = tap[i];
  wi.d[cd->k_spatial[last]] = tw;
  wi.uid = ++k.next_uid;
  LLVMValueRef wv = cg_elem(&k, in->ops[1], &wi);
  /* Columns: iw(q) = q·s + off lies in [0, W) for q in [qlo, qhi). */
  LLVMValueRef off = LLVMBuildNSWSub(b, LLVMBuildNSWMul(b, tw, cg_i64(c, wl->rhs_dilate), ""), cg_i64(c, wl->pad_lo), "");
  LLVMValueRef qlo, qhi;
  cg_inside_span(c, off, wl->stride, iwd, cg_i64(c, ow), &qlo, &qhi);
  q = cg_loop_open(c, &lq, qlo, qhi, "q");
  cg_index xq = xi;
  xq.uid = ++k.next_uid;
  xq.d[cd->in_spatial[last]] = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, q, cg_i64(c, wl->stride), ""), off, "");
  LLVMValueRef xv = cg_elem(&k, in->ops[0], &xq);
  LLVMValueRef o = LLVMBuildNSWAdd(b, rbase, q, "");
  LLVMValueRef prod = LLVMBuildFMul(b, wv, xv, "");
  LLVMSetFastMathFlags(prod, LLVMFastMathAllowContract);
  LLVMValueRef sum = LLVMBuildFAdd(b, cg_load(c, IR_F32, outp, o), prod, "");
  LLVMSetFastMathFlags(sum, LLVMFastMathAllowContract);
  cg_store(c, IR_F32, outp, o, sum);
  cg_loop_close(c, &lq);
  cg_loop_close(c, &lw);
  cg_memo_reset(&k, mark);
  LLVMBuildBr(b, no);
  LLVMMoveBasicBlockAfter(no, LLVMGetInsertBlock(b));
  LLVMPositionBuilderAtEnd(b, no);
  for (int i = last; i-- > 0;) cg_loop_close(c, &lt[i]);
  cg_loop_close(c, &lci);
  if (hero != d->root) {
    /* The fused epilogue, over the row just accumulated (still in L1): the
     * root at each column, with the convolution read back from the row. */
    cg_epilogue_begin(&k, d, hero);
    cg_loop le;
    LLVMValueRef qe = cg_loop_open(c, &le, cg_i64(c, 0), cg_i64(c, ow), "e");
    cg_index ex;
    cg_index_init(&k, &ex, in->shape.rank);
    ex.d[0] = img;
    ex.d[1] = co;
    for (int i = 0; i < last; i++) ex.d[2 + i] = coord[2 + i];
    ex.d[2 + last] = qe;
    cg_epilogue_store(&k, d, &ex, LLVMBuildNSWAdd(b, rbase, qe, ""));
    cg_loop_close(c, &le);
  }
  cg_loop_close(c, &lu);
  LLVMBuildRetVoid(b);
  cg_kernel_end(&k);
  int64_t taps = 1;
  for (int i = 0; i < ns; i++) taps *= w->d[i].size;
  out->n = rows;
  out->cost = (double)(cin_g * taps * ow) * 2 + (double)ow * (hero != d->root ? 4 : 1);
  out->serial = false;
  if (images) out->units = cg_units_scaled(c, rows, images);
  return !c->failed;
}
