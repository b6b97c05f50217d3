/*
 * Layout assignment (pass "layout"): decides the layout of the operands and
 * results of every dot and convolution of the entry computation for the
 * target (pass_target) and writes it into the IR, so that the code
 * generator reads the decision instead of making it.
 *
 * What it decides today, for the CPU targets:
 *   - Constant GEMM operands (weights) that the tiled GEMM kernel will read
 *     (ir_gemm_tile says the product is tiled) get the panel layout of the
 *     kernel's packed operand (docs/ir.md, "Panel layouts"), when the
 *     target stores weights prepacked (ir_target.prepack_weights):
 *       A (convolution kernel [Cout, Cin, taps...], dot lhs [M, K...]):
 *         the row dimension cut into panels of the tile's rows (aw), the
 *         others in k's order:  [panel][k][aw]
 *       B (dot rhs [K..., N]): the column dimension in panels of the
 *         tile's columns (bw = bld): [panel][k][bw]
 *     The constant's storage then is the packed operand: emitted once, read
 *     as it is by the GEMM (codegen/cpu/cg_gemm.c), and by any other reader
 *     through the layout (codegen's cg_offset). A weight that another GEMM
 *     wants in other panels is copied for it.
 *   - Activations, results and computed operands keep the default layout:
 *     the CPU's convolution kernels read NCHW (ir_target.conv_layout) and
 *     the GEMM packs computed operands itself while it runs. So the pass
 *     introduces no relayout between instructions.
 *   - Relayouts already in the IR (transposes) are sunk below elementwise
 *     ops and cancelled in pairs that undo each other: the step an NHWC or
 *     blocked-layout target's relayouts will go through.
 * Every decision, taken or refused, is a remark with its reason.
 *
 * Invariant: layouts never change values; only constants' shapes change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/arena.h"
#include "passes/pass.h"

/* One dot or convolution seen as C[M,N] = A[M,K]·B[K,N] (ir_gemm_dims_of,
 * as the CPU GEMM sees it), with the dims its packed operands are laid
 * out by. */
typedef struct product {
  ir_gemm_dims g;
  int64_t a_rows, b_cols; /* the single dim of A's rows / B's columns, -1 when several */
  int nk;
  int64_t a_k[IR_MAX_RANK + 1], b_k[IR_MAX_RANK]; /* A's, B's dims of k in k's order */
  bool allow_swap;
} product;

/* Reads the product; returns a reason when the GEMM would not take it. */
static const char *analyze(const ir_comp *e, const ir_inst *in, const ir_target *t, product *p) {
  memset(p, 0, sizeof *p);
  const ir_shape *x = ir_shape_of(e, in->ops[0]), *y = ir_shape_of(e, in->ops[1]);
  if (in->shape.type != IR_F32 || x->type != IR_F32 || y->type != IR_F32) return "not f32";
  if (!ir_shape_has_default_layout(&in->shape)) return "the result is not in the default layout";
  const char *why = ir_gemm_dims_of(in, x, y, &p->g);
  if (why) return why;
  const ir_gemm_dims *g = &p->g;
  p->allow_swap = true;
  if (!g->conv) {
    p->nk = g->nk;
    memcpy(p->a_k, g->kl, sizeof g->kl);
    memcpy(p->b_k, g->kr, sizeof g->kr);
    p->a_rows = g->nlf == 1 ? g->lf[0] : -1;
    p->b_cols = g->nrf == 1 ? g->rf[0] : -1;
    return NULL;
  }
  const ir_conv_dims *cd = in->conv;
  p->a_rows = cd->k_out;
  p->b_cols = -1;
  p->nk = 1 + cd->nspatial;
  p->a_k[0] = cd->k_in;
  for (int i = 0; i < cd->nspatial; i++) p->a_k[i + 1] = cd->k_spatial[i];
  /* The transposed tile is not taken where the GEMM's im2col reads whole
   * input row spans (it needs vector-aligned B panels). */
  ir_gemm_im2col im = ir_gemm_im2col_of(in, x, g, t->vec_f32);
  if (im.rowvec && ir_shape_has_default_layout(x)) p->allow_swap = false;
  return NULL;
}

/* The panel layout of operand `which` (0: A, 1: B) of p with panels of w:
 * a dot's batch dims most major (the first one outermost: the kernel's
 * batch index is row-major over them), then the panelled dim, then the k
 * dims in k's order, so that the bytes are [batch][panel][k][w]. False
 * with a reason when no such layout gives the kernel's packed order. */
static bool packed_shape(const product *p, const ir_shape *s, int which, int w, ir_shape *out, const char **why) {
  int64_t cut = which == 0 ? p->a_rows : p->b_cols;
  if (cut < 0) {
    *why = which == 0 ? "the rows of A span several dimensions" : "the columns of B span several dimensions";
    return false;
  }
  if (p->g.conv && p->g.groups > 1 && p->g.M % w) {
    *why = "grouped: a group's output features do not fill whole panels";
    return false;
  }
  const int64_t *kd = which == 0 ? p->a_k : p->b_k;
  if (p->g.nb + p->nk + 1 != s->rank) {
    *why = "the operand has dimensions outside batch, rows and k";
    return false;
  }
  *out = *s;
  int n = 0;
  for (int i = p->nk - 1; i >= 0; i--) out->minor_to_major[n++] = (uint8_t)kd[i];
  out->minor_to_major[n++] = (uint8_t)cut;
  const int64_t *bd = which == 0 ? p->g.bdim_l : p->g.bdim_r;
  for (int i = p->g.nb - 1; i >= 0; i--) out->minor_to_major[n++] = (uint8_t)bd[i];
  out->panel_dim = (uint8_t)cut;
  out->panel = w;
  return true;
}

/* Gives operand `opi` of instruction `pid` (a constant) the shape `want`:
 * in place, unless the constant already has another panel layout (another
 * GEMM's) or is an output of the entry computation (outputs are never
 * padded): then a copy with that layout is made for this product. Returns
 * the constant now read, IR_NONE when out of memory. */
static ir_id relayout_constant(ir_module *m, ir_comp *e, ir_id pid, int opi, const ir_shape *want, const char **copied) {
  ir_id cid = e->insts[pid].ops[opi];
  const ir_inst *root = e->root != IR_NONE ? &e->insts[e->root] : NULL;
  bool is_output = false;
  for (uint32_t k = 0; root && k < root->nops; k++) is_output |= root->ops[k] == cid;
  *copied = NULL;
  if (!e->insts[cid].shape.panel && !is_output) {
    e->insts[cid].shape = *want;
    return cid;
  }
  ir_inst proto = e->insts[cid];
  proto.name = ir_fresh_name(m, proto.name);
  if (!proto.name) return IR_NONE;
  proto.shape = *want;
  int64_t bytes = ir_shape_bytes(&proto.shape);
  proto.data = arena_memdup(&m->arena, proto.data, (size_t)(bytes > 0 ? bytes : 1), 64);
  if (!proto.data) return IR_NONE;
  ir_id nid = ir_comp_append(m, e, &proto); /* may move e->insts */
  if (nid == IR_NONE) return IR_NONE;
  e->insts[pid].ops[opi] = nid;
  *copied = is_output ? "it is also an output, which is never padded" : "another GEMM reads it in other panels";
  return nid;
}

static const char *tile_name(const ir_target *t, char *buf, size_t n) {
  snprintf(buf, n, "%s tile %dx%d", t->isa, t->gemm_mr, t->gemm_nv);
  return buf;
}

/* Decides the layout of one operand side (0: A, 1: B) of product `pid`. */
static bool assign_side(ir_module *m, ir_comp *e, ir_id pid, const product *p, const ir_gemm_tiling *tl, int which,
                        pass_ctx *ctx, bool *changed) {
  const ir_target *t = pass_target(ctx);
  const char *pname = e->insts[pid].name, *role = p->g.conv ? "weights" : which == 0 ? "lhs" : "rhs";
  int opi = which == 0 ? p->g.a : p->g.b;
  ir_id cid = e->insts[pid].ops[opi];
  const ir_inst *c = &e->insts[cid];
  char sb[128], lb[128], tb[64];
  if (c->op != IR_OP_CONSTANT) {
    pass_remark(ctx, "layout: %%%s %s %%%s: default layout (computed: the GEMM packs it while it runs)", pname, role,
                c->name);
    return true;
  }
  if (!t->prepack_weights) {
    pass_remark(ctx, "layout: %%%s %s %%%s: kept (the target packs weights at run time: %s)", pname, role, c->name,
                t->cpu);
    return true;
  }
  if (p->g.conv && which == 1) {
    pass_remark(ctx, "layout: %%%s input %%%s: kept (a constant input is read through im2col, not packed)", pname,
                c->name);
    return true;
  }
  if (which == 1 && (tl->swap || tl->bld != tl->bw)) {
    pass_remark(ctx, "layout: %%%s %s %%%s: kept (B panels of %d columns are padded to %d)", pname, role, c->name, tl->bw,
                tl->bld);
    return true;
  }
  int w = which == 0 ? tl->aw : tl->bw;
  ir_shape want;
  const char *why = NULL;
  if (!packed_shape(p, &c->shape, which, w, &want, &why)) {
    pass_remark(ctx, "layout: %%%s %s %%%s: kept (%s)", pname, role, c->name, why);
    return true;
  }
  ir_shape_str(&c->shape, sb, sizeof sb);
  if (ir_shape_equal(&c->shape, &want)) {
    pass_remark(ctx, "layout: %%%s %s %%%s %s: already in the kernel's panels", pname, role, c->name, sb);
    return true;
  }
  const char *copied;
  ir_id nid = relayout_constant(m, e, pid, opi, &want, &copied);
  if (nid == IR_NONE) {
    ctx->failed = ctx->oom = true;
    return false;
  }
  *changed = true;
  ir_shape_str(&want, lb, sizeof lb);
  const char *brace = strchr(lb, '{');
  char as[160] = "";
  if (copied) snprintf(as, sizeof as, " as %%%s, a copy (%s)", e->insts[nid].name, copied);
  if (which == 0)
    pass_remark(ctx, "layout: %%%s %s %%%s %s -> %s%s (GEMM A panels of %d rows, %s%s)", e->insts[pid].name, role,
                e->insts[cid].name, sb, brace ? brace : lb, as, w, tile_name(t, tb, sizeof tb),
                tl->swap ? ", transposed" : "");
  else
    pass_remark(ctx, "layout: %%%s %s %%%s %s -> %s%s (GEMM B panels of %d columns, %s)", e->insts[pid].name, role,
                e->insts[cid].name, sb, brace ? brace : lb, as, w, tile_name(t, tb, sizeof tb));
  return true;
}

/* ---- relayouts: sunk across elementwise ops, cancelled in pairs ---------- */

/* Uses of `id` by live instructions of e (dead: replaced here already). */
static uint32_t live_uses(const ir_comp *e, ir_id id, const uint8_t *dead) {
  uint32_t n = 0;
  for (ir_id i = 0; i < e->ninsts; i++)
    if (!dead[i])
      for (uint32_t k = 0; k < e->insts[i].nops; k++) n += e->insts[i].ops[k] == id;
  return n + (e->root == id);
}

static bool same_perm(const ir_inst *a, const ir_inst *b) {
  if (a->ndims != b->ndims) return false;
  for (uint32_t i = 0; i < a->ndims; i++)
    if (a->dims[i] != b->dims[i]) return false;
  return true;
}

/* An elementwise op whose operands are all transposes by one permutation,
 * each read only by it: becomes the op on the transposes' operands followed
 * by one transpose, so that relayouts move toward the consumers, where a
 * transpose that undoes them cancels (below). Returns the new transpose,
 * IR_NONE when nothing was done (*oom on failure). */
static ir_id sink_transpose(ir_module *m, ir_comp *e, ir_id id, const uint8_t *dead, bool *oom) {
  const ir_inst *in = &e->insts[id];
  if (!(ir_op_get(in->op)->flags & IR_F_ELEMENTWISE) || in->nops == 0 || in->nops > 4 || in->shape.type == IR_TUPLE)
    return IR_NONE;
  const ir_inst *t0 = &e->insts[in->ops[0]];
  ir_id src[4];
  for (uint32_t k = 0; k < in->nops; k++) {
    const ir_inst *t = &e->insts[in->ops[k]];
    if (t->op != IR_OP_TRANSPOSE || !same_perm(t, t0) || live_uses(e, in->ops[k], dead) != 1) return IR_NONE;
    for (uint32_t j = 0; j < k; j++)
      if (in->ops[j] == in->ops[k]) return IR_NONE; /* counted once above: read twice by this op */
    src[k] = t->ops[0];
  }
  ir_inst op = *in, tr = *t0;
  ir_shape xs = e->insts[src[0]].shape;
  op.shape = ir_shape_make(in->shape.type, xs.rank, xs.dims);
  memcpy(op.shape.sym, xs.sym, sizeof xs.sym); /* symbolic dimensions move with their sizes */
  op.ops = src;
  op.name = ir_fresh_name(m, in->name);
  if (!op.name) return *oom = true, IR_NONE;
  ir_id nop = ir_comp_append(m, e, &op); /* may move e->insts */
  if (nop == IR_NONE) return *oom = true, IR_NONE;
  tr.shape = e->insts[id].shape;
  tr.ops = &nop;
  tr.name = ir_fresh_name(m, e->insts[id].name);
  if (!tr.name) return *oom = true, IR_NONE;
  ir_id ntr = ir_comp_append(m, e, &tr);
  if (ntr == IR_NONE) return *oom = true, IR_NONE;
  ir_replace_uses(e, id, ntr);
  return ntr;
}

/* Sinks transposes across elementwise ops and cancels a transpose of a
 * transpose whose combined permutation is the identity. The layout pass
 * introduces no transposes for the CPU today (only constants change
 * layout), so this acts on relayouts already in the IR; it is the step an
 * NHWC or blocked-layout target's relayouts will go through. */
static bool sink_and_cancel(ir_module *m, ir_comp *e, pass_ctx *ctx) {
  uint32_t cap = e->ninsts * 3 + 16; /* each rewrite appends 2; bounded below */
  uint8_t *dead = calloc(cap, 1);
  if (!dead) return ctx->failed = ctx->oom = true, false;
  bool changed = false, oom = false;
  for (ir_id id = 0; id < e->ninsts && e->ninsts + 2 < cap; id++) {
    if (dead[id]) continue;
    const ir_inst *in = &e->insts[id];
    if (in->op == IR_OP_TRANSPOSE && e->insts[in->ops[0]].op == IR_OP_TRANSPOSE) {
      const ir_inst *inner = &e->insts[in->ops[0]];
      bool identity = true;
      for (uint32_t i = 0; i < in->ndims; i++) identity &= inner->dims[in->dims[i]] == (int64_t)i;
      if (identity) {
        pass_remark(ctx, "layout: %%%s cancels %%%s (their combined permutation is the identity): %%%s is read directly",
                    in->name, inner->name, e->insts[inner->ops[0]].name);
        dead[id] = 1;
        ir_replace_uses(e, id, inner->ops[0]);
        changed = true;
      }
      continue;
    }
    char name[64];
    snprintf(name, sizeof name, "%s", in->name);
    char tname[64];
    snprintf(tname, sizeof tname, "%s", in->nops ? e->insts[in->ops[0]].name : "");
    ir_id nt = sink_transpose(m, e, id, dead, &oom);
    if (oom) break;
    if (nt == IR_NONE) continue;
    dead[id] = 1;
    pass_remark(ctx, "layout: %%%s: transpose %%%s sunk below it (elementwise: the same op on the untransposed "
                "operands, then %%%s)", name, tname, e->insts[nt].name);
    changed = true;
  }
  free(dead);
  if (oom) ctx->failed = ctx->oom = true;
  return changed;
}

bool pass_layout(ir_module *m, pass_ctx *ctx) {
  ir_comp *e = ir_module_entry(m);
  if (!e) return false;
  const ir_target *t = pass_target(ctx);
  bool changed = false;
  uint32_t n = e->ninsts; /* copies appended below are constants, not products */
  for (ir_id id = 0; id < n && !ctx->failed; id++) {
    const ir_inst *in = &e->insts[id];
    if (in->op != IR_OP_DOT && in->op != IR_OP_CONVOLUTION) continue;
    product p;
    const char *why = analyze(e, in, t, &p);
    if (why) {
      pass_remark(ctx, "layout: %%%s: default layouts (no tiled GEMM: %s)", in->name, why);
      continue;
    }
    ir_gemm_tiling tl;
    if (!ir_gemm_tile(t, p.g.M, p.g.N, p.g.K, p.g.conv, p.allow_swap, &tl)) {
      pass_remark(ctx, "layout: %%%s: default layouts (no tiled GEMM: %.0f multiply-adds, under the target's %.0f)",
                  in->name, (double)p.g.M * (double)p.g.N * (double)p.g.K, t->gemm_min_macs);
      continue;
    }
    if (p.g.conv)
      pass_remark(ctx, "layout: %%%s: input and result stay NCHW (%s)", in->name,
                  t->conv_layout == IR_CONV_NHWC ? "the target prefers NHWC, which no CPU kernel reads yet"
                                                 : "the target's convolution kernels read NCHW");
    if (!assign_side(m, e, id, &p, &tl, 0, ctx, &changed)) return changed;
    if (!p.g.conv && !assign_side(m, e, id, &p, &tl, 1, ctx, &changed)) return changed;
  }
  if (!ctx->failed && sink_and_cancel(m, e, ctx)) changed = true;
  return changed;
}
