/*
 * Model-level rewrites around convolutions and dots (pass "rewrite"):
 *
 *   mul(conv(x, W), s)            -> conv(x, W')          W'[o,...] = W[o,...] * s[o]
 *   mul(add(conv(x, W), b), s)    -> add(conv(x, W'), b') b' = b * s
 *   add(add(conv(x, W), b1), b2)  -> add(conv(x, W), b')  b' = b1 + b2
 *   add(b, conv(x, W))            -> add(conv(x, W), b)   (the product first)
 *
 * and the same for dot when the operand that the scale's dimension belongs
 * to is a constant (rhs for a per-column scale, lhs for a per-row one,
 * either for a scalar). `s` and `b` are per-channel constants: constants
 * (possibly broadcast or reshaped) whose value depends only on the output
 * feature dimension of the convolution (or on one free dimension of the
 * dot). This is what inference batch normalisation becomes after import
 * and folding (`x * a + b` with a, b broadcast along the feature
 * dimension), Gemm's alpha, and a convolution's own bias followed by a
 * batch normalisation. The result is one product plus one bias add, which
 * the fusion pass then applies in the product's epilogue.
 *
 * Invariants: only single-use products and adds are rewritten (a product
 * read elsewhere keeps its value); new weights are new constants (the old
 * ones may be shared), computed in double and rounded once to the weight
 * type; only floating-point products are touched.
 */
#include <stdlib.h>
#include <string.h>

#include "ir/literal.h"
#include "passes/pass.h"

#define REWRITE_MAX_ROUNDS 8

typedef struct rw {
  ir_module *m;
  ir_comp *c;
  pass_ctx *ctx;
  uint32_t *uses; /* [ninsts] number of uses (the root counts as one) */
} rw;

static bool count_uses(rw *r) {
  ir_comp *c = r->c;
  uint32_t *u = realloc(r->uses, sizeof(uint32_t) * (c->ninsts + 1));
  if (!u) return false;
  r->uses = u;
  memset(r->uses, 0, sizeof(uint32_t) * c->ninsts);
  for (uint32_t i = 0; i < c->ninsts; i++)
    for (uint32_t k = 0; k < c->insts[i].nops; k++) r->uses[c->insts[i].ops[k]]++;
  if (c->root != IR_NONE) r->uses[c->root]++;
  return true;
}

/* If `id` (of dims `s`) holds values that depend only on dimension `dim`
 * (dim < 0: on nothing), writes them (s->dims[dim] values, or one) to out
 * and returns true. Recognised: constants (checked element by element),
 * broadcasts and reshapes of constants. */
static bool channel_values(const ir_comp *c, ir_id id, const ir_shape *s, int dim, double *out) {
  const ir_inst *in = ir_get(c, id);
  /* A symbolic dimension is no channel: its size (the bound) is not the
   * number of values at run time, and a constant cannot have it. */
  if (dim >= 0 && s->sym[dim]) return false;
  int64_t nch = dim >= 0 ? s->dims[dim] : 1;
  if (!ir_type_is_float(in->shape.type)) return false;
  if (in->op == IR_OP_BROADCAST) {
    const ir_inst *x = ir_get(c, in->ops[0]);
    while (x->op == IR_OP_RESHAPE) x = ir_get(c, x->ops[0]);
    if (x->op != IR_OP_CONSTANT) return false;
    int64_t xe = ir_shape_elements(&x->shape);
    /* The operand's non-unit dimensions must all land on `dim`. */
    const ir_shape *bs = ir_shape_of(c, in->ops[0]);
    for (int i = 0; i < bs->rank; i++)
      if (bs->dims[i] != 1 && in->dims[i] != dim) return false;
    if (xe == 1) {
      double v = ir_elem_get_f(x->shape.type, x->data, 0);
      for (int64_t i = 0; i < nch; i++) out[i] = v;
      return true;
    }
    if (xe != nch) return false;
    for (int64_t i = 0; i < nch; i++) out[i] = ir_elem_get_f(x->shape.type, x->data, i);
    return true;
  }
  while (in->op == IR_OP_RESHAPE && ir_shape_elements(&in->shape) == 1) in = ir_get(c, in->ops[0]);
  if (in->op != IR_OP_CONSTANT) return false;
  int64_t n = ir_shape_elements(&in->shape);
  if (n == 1) {
    double v = ir_elem_get_f(in->shape.type, in->data, 0);
    for (int64_t i = 0; i < nch; i++) out[i] = v;
    return true;
  }
  if (!ir_shape_same_dims(&in->shape, s) || dim < 0) return false;
  int64_t st[IR_MAX_RANK];
  ir_shape_strides(s, st);
  bool *seen = calloc((size_t)nch, 1);
  if (!seen) return false;
  bool ok = true;
  for (int64_t i = 0; i < n && ok; i++) {
    int64_t ch = i / st[dim] % nch;
    double v = ir_elem_get_f(in->shape.type, in->data, i);
    if (!seen[ch]) {
      seen[ch] = true;
      out[ch] = v;
    } else if (!(out[ch] == v)) {
      ok = false;
    }
  }
  free(seen);
  return ok;
}

/* The product's operand that holds the weights scaled along result
 * dimension `dim` (-1: a scalar scale), and the operand dimension that
 * matches `dim` (-1 for a scalar). Returns the operand index or -1. */
static int weight_operand(const ir_comp *c, const ir_inst *p, int dim, int *wdim) {
  *wdim = -1;
  if (p->op == IR_OP_CONVOLUTION) {
    if (ir_get(c, p->ops[1])->op != IR_OP_CONSTANT) return -1;
    if (dim >= 0) {
      if (dim != p->conv->out_feature) return -1;
      *wdim = (int)p->conv->k_out;
    }
    return 1;
  }
  /* dot: result dims are batch, lhs free, rhs free, in order. */
  const ir_dot_dims *dd = p->a.dot;
  if (dim < 0) {
    if (ir_get(c, p->ops[1])->op == IR_OP_CONSTANT) return 1;
    return ir_get(c, p->ops[0])->op == IR_OP_CONSTANT ? 0 : -1;
  }
  if (dim < dd->nbatch) return -1;
  const ir_shape *xs = ir_shape_of(c, p->ops[0]), *ys = ir_shape_of(c, p->ops[1]);
  int side = -1, od = -1, r = dd->nbatch;
  for (int s = 0; s < 2 && side < 0; s++) {
    const ir_shape *os = s ? ys : xs;
    const int64_t *bd = s ? dd->rhs_batch : dd->lhs_batch, *cd = s ? dd->rhs_contract : dd->lhs_contract;
    for (int i = 0; i < os->rank; i++) {
      bool free_dim = true;
      for (int j = 0; j < dd->nbatch; j++) free_dim = free_dim && bd[j] != i;
      for (int j = 0; j < dd->ncontract; j++) free_dim = free_dim && cd[j] != i;
      if (!free_dim) continue;
      if (r == dim) {
        side = s;
        od = i;
        break;
      }
      r++;
    }
  }
  if (side < 0 || ir_get(c, p->ops[side])->op != IR_OP_CONSTANT) return -1;
  *wdim = od;
  return side;
}

/* Result dimension a per-channel constant runs along: tries a scalar
 * first, then each dimension (with `weights`, only those whose weights
 * are a constant that can absorb a scale). */
static bool find_scale(const ir_comp *c, const ir_inst *p, ir_id s, bool weights, double *vals, int *dim) {
  if (channel_values(c, s, &p->shape, -1, vals)) {
    *dim = -1;
    return true;
  }
  for (int d = 0; d < p->shape.rank; d++) {
    int wd;
    if (weights && weight_operand(c, p, d, &wd) < 0) continue;
    if (channel_values(c, s, &p->shape, d, vals)) {
      *dim = d;
      return true;
    }
  }
  return false;
}

static bool is_product(const ir_inst *in) {
  return (in->op == IR_OP_CONVOLUTION || in->op == IR_OP_DOT) && ir_type_is_float(in->shape.type);
}

/* Appends a new constant: the weights of operand `wi` of product `pid`
 * scaled by vals along `wdim` (all elements by vals[0] when wdim < 0), and
 * points the product at it. */
static bool scale_weights(rw *r, ir_id pid, int wi, int wdim, const double *vals) {
  ir_comp *c = r->c;
  const ir_inst *w = ir_get(c, ir_get(c, pid)->ops[wi]);
  int64_t n = ir_shape_elements(&w->shape), bytes = ir_shape_bytes(&w->shape);
  void *data = arena_alloc(&r->m->arena, (size_t)(bytes > 0 ? bytes : 1), 64);
  if (!data) return false;
  int64_t st[IR_MAX_RANK];
  ir_shape_strides(&w->shape, st);
  for (int64_t i = 0; i < n; i++) {
    double s = wdim >= 0 ? vals[i / st[wdim] % w->shape.dims[wdim]] : vals[0];
    ir_elem_set_f(w->shape.type, data, i, ir_elem_get_f(w->shape.type, w->data, i) * s);
  }
  ir_inst proto = *w;
  proto.name = NULL;
  proto.data = data;
  ir_id nw = ir_comp_append(r->m, c, &proto);
  if (nw == IR_NONE) return false;
  ir_get(c, pid)->ops[wi] = nw;
  return true;
}

/* Appends broadcast(constant vals[dims[dim]]) of the product's shape (a
 * scalar broadcast when dim < 0) and returns it. */
static ir_id bias_const(rw *r, const ir_inst *p, int dim, const double *vals, const ir_loc *loc) {
  ir_comp *c = r->c;
  ir_shape ps = p->shape;
  int64_t n = dim >= 0 ? ps.dims[dim] : 1;
  ir_shape vs = dim >= 0 ? ir_shape_make(ps.type, 1, &n) : ir_shape_scalar(ps.type);
  int64_t bytes = ir_shape_bytes(&vs);
  void *data = arena_alloc(&r->m->arena, (size_t)(bytes > 0 ? bytes : 1), 64);
  if (!data) return IR_NONE;
  for (int64_t i = 0; i < n; i++) ir_elem_set_f(ps.type, data, i, vals[i]);
  ir_inst k;
  memset(&k, 0, sizeof k);
  k.op = IR_OP_CONSTANT;
  k.shape = vs;
  k.data = data;
  k.loc = *loc;
  ir_id kid = ir_comp_append(r->m, c, &k);
  if (kid == IR_NONE) return IR_NONE;
  ir_inst b;
  memset(&b, 0, sizeof b);
  b.op = IR_OP_BROADCAST;
  b.shape = ps;
  b.nops = 1;
  b.ops = &kid;
  b.ndims = dim >= 0 ? 1 : 0;
  b.dims[0] = dim;
  b.loc = *loc;
  return ir_comp_append(r->m, c, &b);
}

/* Index (0 or 1) of a binary op's operand that is a single-use product, or
 * -1. With both, the first. */
static int product_side(const rw *r, const ir_inst *in) {
  for (int k = 0; k < 2; k++) {
    const ir_inst *p = ir_get(r->c, in->ops[k]);
    if (is_product(p) && r->uses[in->ops[k]] == 1) return k;
  }
  return -1;
}

/* One rewrite at instruction i, if any applies. Returns true if changed. */
static bool rewrite_one(rw *r, ir_id i, double *va, double *vb) {
  ir_comp *c = r->c;
  ir_inst *in = ir_get(c, i);
  if (in->op != IR_OP_MUL && in->op != IR_OP_ADD) return false;
  if (!ir_type_is_float(in->shape.type)) return false;
  int side = product_side(r, in);
  if (in->op == IR_OP_ADD && side == 1) {
    /* add(b, product) -> add(product, b): the canonical order. */
    ir_id t = in->ops[0];
    in->ops[0] = in->ops[1];
    in->ops[1] = t;
    return true;
  }
  if (in->op == IR_OP_MUL && side >= 0) {
    ir_id pid = in->ops[side];
    const ir_inst *p = ir_get(c, pid);
    int dim, wd;
    if (!find_scale(c, p, in->ops[1 - side], true, va, &dim)) return false;
    int wi = weight_operand(c, p, dim, &wd);
    if (wi < 0) return false;
    const char *pname = p->name, *mname = in->name;
    if (!scale_weights(r, pid, wi, wd, va)) goto oom;
    pass_remark(r->ctx, "rewrite: %%%s (per-channel scale) folded into the weights of %%%s", mname, pname);
    ir_replace_uses(c, i, pid);
    return true;
  }
  /* mul(add(product, b), s) and add(add(product, b1), b2). */
  for (int k = 0; k < 2; k++) {
    ir_id aid = in->ops[k];
    const ir_inst *a = ir_get(c, aid);
    if (a->op != IR_OP_ADD || r->uses[aid] != 1) continue;
    int ps = product_side(r, a);
    if (ps < 0) continue;
    ir_id pid = a->ops[ps];
    const ir_inst *p = ir_get(c, pid);
    int dim, wd;
    if (!find_scale(c, p, in->ops[1 - k], in->op == IR_OP_MUL, va, &dim)) continue;
    /* b must run along the same dimension (or be a scalar). */
    int bdim;
    if (channel_values(c, a->ops[1 - ps], &p->shape, dim, vb)) bdim = dim;
    else if (dim < 0 && find_scale(c, p, a->ops[1 - ps], false, vb, &bdim)) {
      /* a scalar scale with a per-channel bias: the bias's dimension. */
      for (int64_t q = 1; q < p->shape.dims[bdim]; q++) va[q] = va[0];
    } else {
      continue;
    }
    int64_t nch = bdim >= 0 ? p->shape.dims[bdim] : 1;
    const char *pname = p->name, *iname = in->name;
    ir_loc loc = in->loc;
    if (in->op == IR_OP_MUL) {
      int wi = weight_operand(c, p, dim, &wd);
      if (wi < 0) continue;
      if (!scale_weights(r, pid, wi, wd, va)) goto oom;
      for (int64_t q = 0; q < nch; q++) vb[q] *= va[q];
      pass_remark(r->ctx, "rewrite: %%%s (per-channel scale after a bias) folded into the weights and bias of %%%s",
                  iname, pname);
    } else {
      for (int64_t q = 0; q < nch; q++) vb[q] += va[q];
      pass_remark(r->ctx, "rewrite: %%%s and the bias add before it combined into one bias of %%%s", iname, pname);
    }
    ir_id bias = bias_const(r, ir_get(c, pid), bdim, vb, &loc);
    if (bias == IR_NONE) goto oom;
    /* Reuse the inner add: add(product, new bias) replaces the outer op. */
    ir_inst *ai = ir_get(c, aid);
    ai->ops[0] = pid;
    ai->ops[1] = bias;
    ir_replace_uses(c, i, aid);
    return true;
  }
  return false;
oom:
  r->ctx->failed = r->ctx->oom = true;
  diag_error(r->ctx->d, "rewrite: out of memory");
  return false;
}

static bool rewrite_comp(ir_module *m, ir_comp *c, pass_ctx *ctx) {
  bool changed = false;
  for (int round = 0; round < REWRITE_MAX_ROUNDS && !ctx->failed; round++) {
    int64_t maxch = 1;
    for (uint32_t i = 0; i < c->ninsts; i++)
      for (int d = 0; d < c->insts[i].shape.rank; d++)
        if (c->insts[i].shape.dims[d] > maxch) maxch = c->insts[i].shape.dims[d];
    rw r = {m, c, ctx, NULL};
    double *va = malloc(sizeof(double) * (size_t)maxch), *vb = malloc(sizeof(double) * (size_t)maxch);
    if (!count_uses(&r) || !va || !vb) {
      free(r.uses), free(va), free(vb);
      ctx->failed = ctx->oom = true;
      diag_error(ctx->d, "rewrite: out of memory");
      return changed;
    }
    bool any = false;
    uint32_t n = c->ninsts; /* instructions appended this round wait for the next */
    for (uint32_t i = 0; i < n && !ctx->failed; i++) {
      if (rewrite_one(&r, i, va, vb)) {
        any = true;
        if (!count_uses(&r)) {
          ctx->failed = ctx->oom = true;
          diag_error(ctx->d, "rewrite: out of memory");
        }
      }
    }
    free(r.uses), free(va), free(vb);
    if (!any) break;
    changed = true;
    if (!ir_comp_canonicalize(m, c)) {
      ctx->failed = ctx->oom = true;
      diag_error(ctx->d, "rewrite: out of memory while canonicalizing %%%s", c->name);
      break;
    }
  }
  return changed;
}

bool pass_rewrite(ir_module *m, pass_ctx *ctx) {
  ir_comp *e = ir_module_entry(m);
  return e ? rewrite_comp(m, e, ctx) : false;
}
