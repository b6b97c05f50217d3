/*
 * Reference interpreter: the driver. Evaluates computations instruction by
 * instruction in their (topological) order, dispatching each array op to its
 * family's kernel (eval_elem.c, eval_data.c, eval_index.c, eval_reduce.c,
 * eval_contract.c) and handling the structural ops here: parameter,
 * constant, tuple, get_tuple_element, fusion and conditional (the called
 * computation is evaluated on the operands), while (eval_while),
 * custom_call (through the caller's handler) and sort's tuple result.
 *
 * Invariants:
 *   - Every value is in logical row-major order. Layouts matter only at the
 *     boundary: entry parameters are read, and outputs written, in the
 *     layouts their shapes declare; constants are stored logically.
 *   - A value is released as soon as the last instruction using it has run
 *     (the root is kept), so peak memory follows the live set, not the graph.
 *   - Arrays in tuples and their get_tuple_element share one reference-
 *     counted block; borrowed arrays (constants, row-major entry inputs) are
 *     never written.
 *   - ir_eval_module_trace hands each entry value to a callback right after
 *     it is computed, before it can be released (kiln verify's bisection);
 *     without one the loop pays a single NULL test per instruction.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/eval_internal.h"
#include "ir/literal.h"
#include "ir/symbolic.h"

/* A value: one array, or a flat tuple of arrays. */
typedef struct ev_value {
  uint32_t n;
  bool tuple;
  ev_array *arr; /* n arrays; NULL when the value is empty or released */
} ev_value;

bool ev_fail(ev_ctx *ctx, const ir_inst *in, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  diag_error(ctx->d, "computation %%%s, instruction %%%s (%s): %s", ctx->comp ? ctx->comp->name : "?",
             in && in->name ? in->name : "?", in ? ir_op_name(in->op) : "?", msg);
  return false;
}

/* Blocks hold their data after a header padded to 64 bytes. */
#define EV_HDR 64

bool ev_array_alloc(ev_array *a, const ir_shape *s) {
  memset(a, 0, sizeof *a);
  a->shape = *s;
  a->n = ir_shape_elements(s);
  int64_t bytes = ir_shape_bytes(s);
  if (bytes < 0 || (uint64_t)bytes > SIZE_MAX - EV_HDR - 1) return false;
  ev_block *b = calloc(1, EV_HDR + (size_t)bytes + 1);
  if (!b) return false;
  b->refs = 1;
  a->blk = b;
  a->data = (char *)b + EV_HDR;
  return true;
}

void ev_array_retain(ev_array *a) {
  if (a->blk) a->blk->refs++;
}

void ev_array_release(ev_array *a) {
  if (a->blk && --a->blk->refs == 0) free(a->blk);
  a->blk = NULL;
  a->data = NULL;
}

static void value_release(ev_value *v) {
  for (uint32_t i = 0; v->arr && i < v->n; i++) ev_array_release(&v->arr[i]);
  free(v->arr);
  memset(v, 0, sizeof *v);
}

/* Makes *v a value of n arrays (zeroed descriptors). */
static bool value_init(ev_value *v, uint32_t n, bool tuple) {
  v->n = n;
  v->tuple = tuple;
  v->arr = calloc(n ? n : 1, sizeof *v->arr);
  return v->arr != NULL;
}

/* A value sharing the arrays of src. */
static bool value_share(ev_value *v, const ev_value *src) {
  if (!value_init(v, src->n, src->tuple)) return false;
  for (uint32_t i = 0; i < src->n; i++) {
    v->arr[i] = src->arr[i];
    ev_array_retain(&v->arr[i]);
  }
  return true;
}

typedef bool (*ev_kernel)(ev_ctx *, const ir_inst *, const ev_array *, ev_array *);

/* The interpreter runs static shapes only (a symbolic module is bound
 * first, ir_module_bind; computed symbols are bound as they are set), so
 * the size is the operand's dimension. */
static bool ev_get_dimension_size(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out) {
  (void)ctx;
  int64_t v = ops[0].shape.dims[in->index];
  memcpy(out->data, &v, sizeof v);
  return true;
}

/* Gives a computed symbol its value, within [0, bound]. */
static bool ev_set_symbol(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out) {
  ir_type t = ops[0].shape.type;
  int k = (int)in->index;
  int64_t v = ir_elem_get_i(t, ops[0].data, 0);
  if (ir_type_is_unsigned(t) && ir_elem_get_u(t, ops[0].data, 0) > (uint64_t)ir_sym_bound(ctx->m, k))
    return ev_fail(ctx, in, "the size '%s' is %llu here, outside [0, %lld] (its bound)", ir_sym_name(ctx->m, k),
                   (unsigned long long)ir_elem_get_u(t, ops[0].data, 0), (long long)ir_sym_bound(ctx->m, k));
  if (v < 0 || v > ir_sym_bound(ctx->m, k))
    return ev_fail(ctx, in, "the size '%s' is %lld here, outside [0, %lld] (its bound)", ir_sym_name(ctx->m, k),
                   (long long)v, (long long)ir_sym_bound(ctx->m, k));
  if (ctx->binding) ctx->binding[k] = v;
  memcpy(out->data, &v, sizeof v);
  return true;
}

/* x, once ok holds; else the run stops with the message. */
static bool ev_assert(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out) {
  if (!*(const uint8_t *)ops[0].data) return ev_fail(ctx, in, "%s", in->config ? in->config : "assertion failed");
  int64_t bytes = ir_shape_bytes(&ops[1].shape);
  if (bytes > 0) memcpy(out->data, ops[1].data, (size_t)bytes);
  return true;
}

static ev_kernel kernel_for(ir_family f) {
  switch (f) {
    case IR_FAM_ASSERT: return ev_assert;
    case IR_FAM_SET_SYMBOL: return ev_set_symbol;
    case IR_FAM_IOTA: return ev_iota;
    case IR_FAM_GET_DIMENSION_SIZE: return ev_get_dimension_size;
    case IR_FAM_UNARY: return ev_unary;
    case IR_FAM_BINARY: return ev_binary;
    case IR_FAM_COMPARE: return ev_compare;
    case IR_FAM_SELECT: return ev_select;
    case IR_FAM_CLAMP: return ev_clamp;
    case IR_FAM_CONVERT: return ev_convert;
    case IR_FAM_BROADCAST: return ev_broadcast;
    case IR_FAM_RESHAPE: return ev_reshape;
    case IR_FAM_TRANSPOSE: return ev_transpose;
    case IR_FAM_SLICE: return ev_slice;
    case IR_FAM_DYNAMIC_SLICE: return ev_dynamic_slice;
    case IR_FAM_DYNAMIC_UPDATE_SLICE: return ev_dynamic_update_slice;
    case IR_FAM_CONCATENATE: return ev_concatenate;
    case IR_FAM_PAD: return ev_pad;
    case IR_FAM_REVERSE: return ev_reverse;
    case IR_FAM_GATHER: return ev_gather;
    case IR_FAM_SCATTER: return ev_scatter;
    case IR_FAM_REDUCE: return ev_reduce;
    case IR_FAM_REDUCE_WINDOW: return ev_reduce_window;
    case IR_FAM_DOT: return ev_dot;
    case IR_FAM_CONVOLUTION: return ev_convolution;
    default: return NULL;
  }
}

/* Physical strides (in elements) of a shape's layout. */
static void layout_strides(const ir_shape *s, int64_t *st) {
  int64_t k = 1;
  for (int i = 0; i < s->rank; i++) {
    st[s->minor_to_major[i]] = k;
    k *= s->dims[s->minor_to_major[i]];
  }
}

static bool eval_comp(ev_ctx *ctx, const ir_comp *c, const ev_value *args, uint32_t nargs, ev_value *result);

static bool eval_custom_call(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_value *v) {
  if (!ctx->opts || !ctx->opts->custom_call)
    return ev_fail(ctx, in, "custom_call target \"%s\" cannot be evaluated: no custom_call handler was given",
                   in->target ? in->target : "");
  bool tuple = in->shape.type == IR_TUPLE;
  uint32_t nout = tuple ? in->ntuple : 1;
  if (!value_init(v, nout, tuple)) return ev_fail(ctx, in, "out of memory");
  ir_tensor *tin = calloc(in->nops + 1, sizeof *tin), *tout = calloc(nout + 1, sizeof *tout);
  bool ok = tin && tout;
  for (uint32_t i = 0; ok && i < nout; i++) {
    ok = ev_array_alloc(&v->arr[i], tuple ? &in->tuple[i] : &in->shape);
    if (ok) {
      tout[i].shape = v->arr[i].shape;
      ir_shape_set_default_layout(&tout[i].shape);
      tout[i].data = v->arr[i].data;
    }
  }
  if (!ok) {
    free(tin), free(tout);
    return ev_fail(ctx, in, "out of memory");
  }
  for (uint32_t i = 0; i < in->nops; i++) {
    tin[i].shape = ops[i].shape;
    ir_shape_set_default_layout(&tin[i].shape);
    tin[i].data = ops[i].data;
  }
  char err[512] = "";
  ok = ctx->opts->custom_call(ctx->opts->user, in->target, in->config, (int)in->nops, tin, (int)nout, tout, err,
                              sizeof err);
  free(tin), free(tout);
  if (!ok)
    return ev_fail(ctx, in, "custom_call target \"%s\" failed: %s", in->target, err[0] ? err : "(no message)");
  return true;
}

/* while: the state starts as the operands; each round evaluates the
 * condition on it and, while that holds, replaces it by the body's result.
 * The state's arrays are shared (reference-counted) with the body's
 * parameters and results, so a body that passes an element through costs
 * no copy. */
static bool eval_while(ev_ctx *ctx, const ir_inst *in, const ev_value *vals, ev_value *v) {
  uint32_t n = in->nops;
  ev_value state, *args = calloc(n, sizeof *args);
  if (!args || !value_init(&state, n, true)) {
    free(args);
    return ev_fail(ctx, in, "out of memory");
  }
  for (uint32_t i = 0; i < n; i++) {
    state.arr[i] = vals[in->ops[i]].arr[0];
    ev_array_retain(&state.arr[i]);
  }
  const ir_comp *saved = ctx->comp, *cond = ctx->m->comps[in->called], *body = ctx->m->comps[in->called2];
  bool ok = true;
  for (;;) {
    for (uint32_t i = 0; i < n; i++) args[i] = (ev_value){1, false, &state.arr[i]}; /* borrowed */
    ev_value p = {0};
    ok = eval_comp(ctx, cond, args, n, &p);
    bool go = ok && p.arr && p.arr[0].data && *(const uint8_t *)p.arr[0].data;
    value_release(&p);
    if (!ok || !go) break;
    ev_value next = {0};
    ok = eval_comp(ctx, body, args, n, &next);
    if (!ok) break;
    if (!next.tuple || next.n != n) {
      value_release(&next);
      ctx->comp = saved;
      ok = ev_fail(ctx, in, "the body did not return the state tuple");
      break;
    }
    value_release(&state);
    state = next;
  }
  ctx->comp = saved;
  free(args);
  if (!ok) {
    value_release(&state);
    return false;
  }
  *v = state;
  return true;
}

/* Evaluates instruction id of ctx->comp into *v (empty on entry). */
static bool eval_one(ev_ctx *ctx, const ir_comp *c, ir_id id, ev_value *vals, const ev_value *args, uint32_t nargs,
                     ev_value *v) {
  const ir_inst *in = &c->insts[id];
  const ir_op_info *info = ir_op_get(in->op);
  switch (info->family) {
    case IR_FAM_PARAMETER:
      if (in->index < 0 || (uint64_t)in->index >= nargs || !args[in->index].arr)
        return ev_fail(ctx, in, "parameter %lld was not given", (long long)in->index);
      if (!value_share(v, &args[in->index])) return ev_fail(ctx, in, "out of memory");
      return true;
    case IR_FAM_CONSTANT:
      if (!value_init(v, 1, false)) return ev_fail(ctx, in, "out of memory");
      v->arr[0].shape = in->shape;
      v->arr[0].n = ir_shape_elements(&in->shape);
      v->arr[0].data = in->data; /* borrowed: constants live in the module */
      return true;
    case IR_FAM_TUPLE:
      if (!value_init(v, in->nops, true)) return ev_fail(ctx, in, "out of memory");
      for (uint32_t i = 0; i < in->nops; i++) {
        v->arr[i] = vals[in->ops[i]].arr[0];
        ev_array_retain(&v->arr[i]);
      }
      return true;
    case IR_FAM_GET_TUPLE_ELEMENT: {
      const ev_value *t = &vals[in->ops[0]];
      if (in->index < 0 || (uint64_t)in->index >= t->n) return ev_fail(ctx, in, "tuple index out of range");
      if (!value_init(v, 1, false)) return ev_fail(ctx, in, "out of memory");
      v->arr[0] = t->arr[in->index];
      ev_array_retain(&v->arr[0]);
      return true;
    }
    case IR_FAM_FUSION: {
      ev_value *fargs = calloc(in->nops + 1, sizeof *fargs);
      if (!fargs) return ev_fail(ctx, in, "out of memory");
      for (uint32_t i = 0; i < in->nops; i++) fargs[i] = vals[in->ops[i]]; /* borrowed for the call */
      const ir_comp *saved = ctx->comp;
      bool ok = eval_comp(ctx, ctx->m->comps[in->called], fargs, in->nops, v);
      ctx->comp = saved;
      free(fargs);
      return ok;
    }
    case IR_FAM_CONDITIONAL: {
      const ev_array *p = &vals[in->ops[0]].arr[0];
      uint32_t ci = p->data && *(const uint8_t *)p->data ? in->called : in->called2;
      ev_value *fargs = calloc(in->nops, sizeof *fargs);
      if (!fargs) return ev_fail(ctx, in, "out of memory");
      for (uint32_t i = 1; i < in->nops; i++) fargs[i - 1] = vals[in->ops[i]]; /* borrowed for the call */
      const ir_comp *saved = ctx->comp;
      bool ok = eval_comp(ctx, ctx->m->comps[ci], fargs, in->nops - 1, v);
      ctx->comp = saved;
      free(fargs);
      return ok;
    }
    case IR_FAM_WHILE: return eval_while(ctx, in, vals, v);
    default: break;
  }

  /* With computed symbols: this instruction at the values known so far
   * (every symbol it mentions is set by now, ir_verify). */
  ir_inst bound;
  ir_slice_attr bsl;
  ir_gather_dims bg;
  if (ctx->binding && in->shape.type != IR_TUPLE) {
    if (!ir_inst_bind_copy(ctx->m, c, in, ctx->binding, &bound, &bsl, &bg, ctx->d)) return false;
    in = &bound;
  }
  ev_array *ops = calloc(in->nops + 1, sizeof *ops);
  if (!ops) return ev_fail(ctx, in, "out of memory");
  for (uint32_t i = 0; i < in->nops; i++) ops[i] = vals[in->ops[i]].arr[0];
  bool ok;
  if (info->family == IR_FAM_CUSTOM_CALL) {
    ok = eval_custom_call(ctx, in, ops, v);
  } else if (info->family == IR_FAM_SORT) {
    bool tuple = in->shape.type == IR_TUPLE;
    ok = value_init(v, in->nops, tuple);
    for (uint32_t i = 0; ok && i < in->nops; i++) ok = ev_array_alloc(&v->arr[i], &ops[i].shape);
    ok = ok ? ev_sort(ctx, in, ops, v->arr) : ev_fail(ctx, in, "out of memory");
  } else {
    ev_kernel k = kernel_for(info->family);
    if (!k) ok = ev_fail(ctx, in, "the interpreter has no kernel for this op");
    else if (!value_init(v, 1, false) || !ev_array_alloc(&v->arr[0], &in->shape))
      ok = ev_fail(ctx, in, "out of memory (%lld bytes)", (long long)ir_shape_bytes(&in->shape));
    else ok = k(ctx, in, ops, &v->arr[0]);
  }
  free(ops);
  return ok;
}

/* Hands the entry value of instruction id to the trace hook. */
static void report_value(ev_ctx *ctx, const ir_comp *c, ir_id id, const ev_value *v) {
  ir_tensor one, *ts = v->n > 1 ? calloc(v->n, sizeof *ts) : &one;
  if (!ts) return; /* out of memory: the trace misses a value, the evaluation goes on */
  for (uint32_t k = 0; k < v->n; k++) {
    ts[k].shape = v->arr[k].shape;
    ir_shape_set_default_layout(&ts[k].shape);
    ts[k].data = v->arr[k].data;
  }
  ctx->value(ctx->value_user, c, id, v->n, ts);
  if (ts != &one) free(ts);
}

static bool eval_comp(ev_ctx *ctx, const ir_comp *c, const ev_value *args, uint32_t nargs, ev_value *result) {
  ctx->comp = c;
  if (c->root == IR_NONE || c->root >= c->ninsts) {
    diag_error(ctx->d, "computation %%%s: has no ROOT instruction", c->name);
    return false;
  }
  ev_value *vals = calloc(c->ninsts + 1, sizeof *vals);
  uint32_t *last = malloc((c->ninsts + 1) * sizeof *last);
  if (!vals || !last) {
    free(vals), free(last);
    diag_error(ctx->d, "computation %%%s: out of memory", c->name);
    return false;
  }
  /* last[i]: the last instruction that reads i (i itself when none does). */
  for (uint32_t i = 0; i < c->ninsts; i++) {
    last[i] = i;
    for (uint32_t k = 0; k < c->insts[i].nops; k++) last[c->insts[i].ops[k]] = i;
  }
  last[c->root] = UINT32_MAX;
  bool ok = true;
  for (uint32_t i = 0; i < c->ninsts && ok; i++) {
    ok = eval_one(ctx, c, i, vals, args, nargs, &vals[i]);
    ctx->comp = c;
    if (ok && ctx->value && c == ctx->entry && vals[i].arr) report_value(ctx, c, i, &vals[i]);
    const ir_inst *in = &c->insts[i];
    for (uint32_t k = 0; k < in->nops; k++)
      if (last[in->ops[k]] == i) value_release(&vals[in->ops[k]]);
    if (last[i] == i) value_release(&vals[i]);
  }
  if (ok) {
    *result = vals[c->root];
    memset(&vals[c->root], 0, sizeof vals[c->root]);
  }
  for (uint32_t i = 0; i < c->ninsts; i++) value_release(&vals[i]);
  free(vals), free(last);
  return ok;
}

bool ir_eval_module(const ir_module *m, const ir_eval_opts *opts, const void *const *inputs, void *const *outputs,
                    diag *d) {
  return ir_eval_module_trace(m, opts, inputs, outputs, NULL, NULL, d);
}

static bool eval_module(const ir_module *m, const ir_eval_opts *opts, const void *const *inputs, void *const *outputs,
                        int64_t *const *out_dims, ir_value_fn fn, void *user, diag *d);

bool ir_eval_module_trace(const ir_module *m, const ir_eval_opts *opts, const void *const *inputs,
                          void *const *outputs, ir_value_fn fn, void *user, diag *d) {
  return eval_module(m, opts, inputs, outputs, NULL, fn, user, d);
}

bool ir_eval_module_shaped(const ir_module *m, const ir_eval_opts *opts, const void *const *inputs,
                           void *const *outputs, int64_t *const *out_dims, diag *d) {
  return eval_module(m, opts, inputs, outputs, out_dims, NULL, NULL, d);
}

static bool eval_module(const ir_module *m, const ir_eval_opts *opts, const void *const *inputs, void *const *outputs,
                        int64_t *const *out_dims, ir_value_fn fn, void *user, diag *d) {
  const ir_comp *c = m ? ir_module_entry(m) : NULL;
  if (!c) {
    diag_error(d, "module has no entry computation");
    return false;
  }
  ev_ctx ctx = {m, opts, d, c, c, fn, user, NULL};
  /* Computed symbols get their values as set_symbol runs; every other
   * symbol is at its bound (the dims of a symbolic shape hold it), as
   * kiln_NAME_run runs a symbolic artifact: ir_module_bind makes a module
   * static at other values first. */
  int nsyms = ir_sym_count(m);
  int64_t binding_store[64];
  if (ir_module_has_computed_syms(m)) {
    if (nsyms > 64) {
      diag_error(d, "module %s: the interpreter evaluates at most 64 symbols", m->name);
      return false;
    }
    for (int k = 0; k < nsyms; k++) binding_store[k] = ir_sym_is_computed(m, k) ? -1 : ir_sym_bound(m, k);
    ctx.binding = binding_store;
  }
  uint32_t np = ir_comp_num_params(c);
  if (c->root == IR_NONE || c->root >= c->ninsts || c->insts[c->root].shape.type != IR_TUPLE) {
    diag_error(d, "computation %%%s: the entry ROOT must be a tuple of the outputs", c->name);
    return false;
  }
  const ir_inst *root = &c->insts[c->root];
  if ((np && !inputs) || (root->ntuple && !outputs)) {
    diag_error(d, "ir_eval_module: NULL input or output array");
    return false;
  }
  ev_value *args = calloc(np + 1, sizeof *args);
  if (!args) {
    diag_error(d, "out of memory");
    return false;
  }
  bool ok = true;
  /* Entry parameters: borrowed when row-major, else gathered into logical
   * order from their declared layout. */
  for (uint32_t p = 0; p < np && ok; p++) {
    ir_id id = ir_comp_param(c, p);
    if (id == IR_NONE) {
      ok = ev_fail(&ctx, NULL, "parameter %u is missing", p);
      break;
    }
    const ir_inst *in = &c->insts[id];
    const ir_shape *s = &in->shape;
    if (!value_init(&args[p], 1, false)) {
      ok = ev_fail(&ctx, in, "out of memory");
      break;
    }
    int64_t n = ir_shape_elements(s);
    if (n > 0 && !inputs[p]) {
      ok = ev_fail(&ctx, in, "input %u (\"%s\") is NULL", p, in->io_name ? in->io_name : in->name);
      break;
    }
    if (ir_shape_has_default_layout(s)) {
      args[p].arr[0].shape = *s;
      args[p].arr[0].n = n;
      args[p].arr[0].data = (void *)inputs[p];
      continue;
    }
    if (!ev_array_alloc(&args[p].arr[0], s)) {
      ok = ev_fail(&ctx, in, "out of memory");
      break;
    }
    int64_t lst[IR_MAX_RANK], pst[IR_MAX_RANK];
    ir_shape_strides(s, lst);
    layout_strides(s, pst);
    ev_copy_nd(ir_type_size(s->type), s->rank, s->dims, args[p].arr[0].data, 0, lst, inputs[p], 0, pst);
  }
  ev_value res = {0};
  if (ok) ok = eval_comp(&ctx, c, args, np, &res);
  if (ok && res.n != root->ntuple) ok = ev_fail(&ctx, root, "the root gives %u outputs, %u expected", res.n, root->ntuple);
  for (uint32_t i = 0; ok && i < root->ntuple; i++) {
    /* The value's shape: the root's, or what the computed sizes made it. */
    ir_shape sv = root->tuple[i];
    if (ctx.binding && sv.rank == res.arr[i].shape.rank)
      for (int j = 0; j < sv.rank; j++) sv.dims[j] = res.arr[i].shape.dims[j], sv.sym[j] = 0;
    const ir_shape *s = &sv;
    if (out_dims && out_dims[i])
      for (int j = 0; j < s->rank; j++) out_dims[i][j] = s->dims[j];
    if (ir_shape_elements(s) == 0) continue;
    if (!outputs[i]) {
      ok = ev_fail(&ctx, root, "output %u buffer is NULL", i);
      break;
    }
    int64_t lst[IR_MAX_RANK], pst[IR_MAX_RANK];
    ir_shape_strides(s, lst);
    layout_strides(s, pst);
    ev_copy_nd(ir_type_size(s->type), s->rank, s->dims, outputs[i], 0, pst, res.arr[i].data, 0, lst);
  }
  value_release(&res);
  for (uint32_t p = 0; p < np; p++) value_release(&args[p]);
  free(args);
  return ok;
}

bool ir_eval_inst(const ir_module *m, const ir_comp *c, ir_id id, const void *const *operands, void *result,
                  diag *d) {
  if (!m || !c || id >= c->ninsts) {
    diag_error(d, "ir_eval_inst: no such instruction");
    return false;
  }
  const ir_inst *in = &c->insts[id];
  ev_ctx ctx = {m, NULL, d, c, NULL, NULL, NULL, NULL};
  const ir_op_info *info = ir_op_get(in->op);
  if (in->shape.type == IR_TUPLE || !info)
    return ev_fail(&ctx, in, "ir_eval_inst evaluates array-shaped instructions only");
  switch (info->family) {
    case IR_FAM_PARAMETER:
    case IR_FAM_FUSION:
    case IR_FAM_CONDITIONAL:
    case IR_FAM_WHILE:
    case IR_FAM_CUSTOM_CALL:
    case IR_FAM_TUPLE:
    case IR_FAM_GET_TUPLE_ELEMENT:
      return ev_fail(&ctx, in, "ir_eval_inst does not evaluate %s instructions", info->name);
    case IR_FAM_CONSTANT:
      if (ir_shape_bytes(&in->shape) > 0) memcpy(result, in->data, (size_t)ir_shape_bytes(&in->shape));
      return true;
    default: break;
  }
  ev_array *ops = calloc(in->nops + 1, sizeof *ops);
  if (!ops) return ev_fail(&ctx, in, "out of memory");
  for (uint32_t i = 0; i < in->nops; i++) {
    const ir_shape *s = &c->insts[in->ops[i]].shape;
    ops[i].shape = *s;
    ops[i].n = ir_shape_elements(s);
    ops[i].data = (void *)operands[i];
  }
  ev_array out = {in->shape, ir_shape_elements(&in->shape), result, NULL};
  bool ok;
  if (info->family == IR_FAM_SORT) {
    ok = ev_sort(&ctx, in, ops, &out);
  } else {
    ev_kernel k = kernel_for(info->family);
    ok = k ? k(&ctx, in, ops, &out) : ev_fail(&ctx, in, "the interpreter has no kernel for this op");
  }
  free(ops);
  return ok;
}
