/*
 * Control flow: If, Loop and Scan, lowered to the IR's conditional and
 * while (docs/onnx-import.md, "Control flow"; docs/ir.md for the ops).
 *
 * A subgraph becomes a computation of its own, lowered node by node with
 * the same op tables as the main graph. ONNX subgraphs read enclosing
 * values by name, but an IR computation sees only its parameters, so every
 * outer value a subgraph reads is threaded in: it becomes an extra
 * parameter of the subgraph's computation (and of every computation in
 * between, for nested subgraphs) and an extra operand of the conditional,
 * or an extra element of the while state that the body passes on
 * unchanged. Small outer constants are copied in instead, so that values a
 * lowering must know at import time (a Reshape's shape, ...) stay known
 * inside a body.
 *
 * While a subgraph is lowered, cx->c and cx->b point at its computation,
 * cx's import-time-constant tables are the subgraph's own, and messages go
 * through a sink that puts the subgraph (attribute and node) in front.
 *
 * Shapes are static: both branches of an If must give the same shapes, a
 * loop-carried value keeps its shape, and the scan outputs of a Loop need
 * a trip count known at import time and a loop that cannot end early.
 * Everything else is refused naming the output or input concerned.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/ox.h"
#include "ir/namemap.h"
#include "kiln/kiln.h"

/* Outer constants with at most this many elements are copied into a
 * subgraph's computation; larger ones are threaded in as parameters. */
#define CF_COPY_LIMIT 4096

/* The names one graph defines and the computation they live in. */
typedef struct scope {
  struct scope *up; /* the enclosing graph's scope; NULL for the main graph */
  ir_comp *c;
  ir_namemap *names; /* ONNX name -> id in c */
  ir_namemap own;    /* storage behind `names` for subgraph scopes */
  bool inlined;      /* lowered into up's computation (an If with a known condition) */
  /* Outer values threaded in: capture k is parameter id param[k] of c and
   * value outer[k] of up->c. */
  ir_id *param, *outer;
  uint32_t ncap, capcap;
  int64_t nparams; /* parameters of c so far */
} scope;

/* The scope of the graph holding the node being lowered: the current
 * subgraph's, or (top) one for the main graph. */
static scope *current_scope(ox_ctx *cx, scope *top) {
  if (cx->scope) return cx->scope;
  memset(top, 0, sizeof *top);
  top->c = cx->c;
  top->names = cx->values;
  return top;
}

static bool add_capture(scope *s, ir_id param, ir_id outer) {
  if (s->ncap == s->capcap) {
    uint32_t cap = s->capcap ? 2 * s->capcap : 8;
    ir_id *p = realloc(s->param, cap * sizeof *p);
    if (!p) return false;
    s->param = p;
    ir_id *o = realloc(s->outer, cap * sizeof *o);
    if (!o) return false;
    s->outer = o;
    s->capcap = cap;
  }
  s->param[s->ncap] = param;
  s->outer[s->ncap++] = outer;
  return true;
}

static void scope_free(scope *s) {
  ir_namemap_free(&s->own);
  free(s->param);
  free(s->outer);
}

/* The id in s->c of the value `name`, threading it in from an enclosing
 * scope when s does not define it; IR_NONE when no scope does (or out of
 * memory). */
static ir_id scope_lookup(ox_ctx *cx, scope *s, const char *name) {
  ir_id v = s->names ? ir_namemap_get(s->names, name, strlen(name)) : IR_NONE;
  if (v != IR_NONE || !s->up) return v;
  ir_id ov = scope_lookup(cx, s->up, name);
  if (ov == IR_NONE || s->inlined) return ov;
  if (ox_is_box(ov)) {
    /* A box's elements are values of the enclosing computation; a
     * subgraph run at run time would need them threaded in one by one,
     * and a sequence changed there would change length at run time. */
    ox_unsupported(cx, NULL, "'%s' is %s of an enclosing graph; kiln reads sequences and optionals inside a "
                   "subgraph only where it inlines the subgraph (an If whose condition is known at import time, a "
                   "SequenceMap body)", name, ox_box_what(cx, ov));
    return IR_NONE;
  }
  const ir_inst *oi = ir_get(s->up->c, ov);
  ir_shape shape = oi->shape;
  ir_builder b;
  ir_builder_init(&b, cx->m, s->c, cx->d);
  ir_builder_set_loc(&b, NULL, name);
  if (oi->op == IR_OP_CONSTANT && ir_shape_elements(&shape) <= CF_COPY_LIMIT) {
    v = ir_constant(&b, shape, oi->data);
  } else {
    v = ir_parameter(&b, s->nparams++, shape, NULL);
    if (v != IR_NONE && !add_capture(s, v, ov)) v = IR_NONE;
  }
  if (v != IR_NONE && !ir_namemap_put(s->names, name, v)) v = IR_NONE;
  return v;
}

/* ---- entering and leaving a subgraph ---- */

/* Messages from inside a subgraph: "in attribute 'body' of node 'l'
 * (Loop): ..." in front. */
typedef struct prefix_sink {
  diag *to;
  char text[640];
} prefix_sink;

static void prefixed(void *user, diag_level level, const char *msg) {
  const prefix_sink *p = user;
  diag_emit(p->to, level, "%s: %s", p->text, msg);
}

/* What lowering a subgraph swaps out of cx. */
typedef struct saved_ctx {
  ir_comp *c;
  ir_builder b;
  diag *d;
  void *scope;
  const ox_node *cur;
  uint8_t *is_const;
  void **const_data;
  uint32_t nconst, capconst;
  prefix_sink ps;
  diag named;
} saved_ctx;

/* Makes s (subgraph `attr` of node n) the scope being lowered. */
static void enter(ox_ctx *cx, const ox_node *n, const char *attr, scope *s, saved_ctx *sv) {
  sv->c = cx->c;
  sv->b = cx->b;
  sv->d = cx->d;
  sv->scope = cx->scope;
  sv->cur = cx->cur;
  char nm[512];
  snprintf(sv->ps.text, sizeof sv->ps.text, "in attribute '%s' of node %s (%s)", attr, ox_node_name(n, nm, sizeof nm),
           n->p->op_type);
  sv->ps.to = cx->d;
  sv->named = (diag){prefixed, &sv->ps, 0};
  cx->d = &sv->named;
  cx->scope = s;
  if (s->inlined) {
    cx->b.d = cx->d;
    return;
  }
  sv->is_const = cx->is_const;
  sv->const_data = cx->const_data;
  sv->nconst = cx->nconst;
  sv->capconst = cx->capconst;
  cx->is_const = NULL;
  cx->const_data = NULL;
  cx->nconst = cx->capconst = 0;
  cx->c = s->c;
  ir_builder_init(&cx->b, cx->m, s->c, cx->d);
}

static void leave(ox_ctx *cx, const scope *s, saved_ctx *sv) {
  if (!s->inlined) {
    free(cx->is_const);
    free(cx->const_data);
    cx->is_const = sv->is_const;
    cx->const_data = sv->const_data;
    cx->nconst = sv->nconst;
    cx->capconst = sv->capconst;
  }
  cx->c = sv->c;
  cx->b = sv->b;
  cx->d = sv->d;
  cx->scope = sv->scope;
  cx->cur = sv->cur;
}

/* A new computation for subgraph `what` and the scope of its names. */
static bool new_scope(ox_ctx *cx, scope *up, const char *what, scope *s) {
  memset(s, 0, sizeof *s);
  s->up = up;
  s->names = &s->own;
  const char *name = ir_fresh_name(cx->m, what);
  s->c = name ? ir_comp_add(cx->m, name, false) : NULL;
  return s->c != NULL;
}

/* ---- lowering a subgraph's nodes ---- */

static const Onnx__GraphProto *graph_attr(ox_ctx *cx, const ox_node *n, const char *name) {
  const Onnx__AttributeProto *a = ox_attr(n, name);
  if (!a || a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH || !a->g) {
    ox_error(cx, n, "needs the graph attribute '%s'", name);
    return NULL;
  }
  return a->g;
}

/* Checks the structure, op and version of one subgraph node (and, through
 * the op's own check, of the subgraphs it holds). */
static bool check_one(ox_ctx *cx, const ox_node *on) {
  const Onnx__NodeProto *nd = on->p;
  if (!nd->op_type || !nd->op_type[0]) return ox_error(cx, on, "node has no op_type");
  bool dflt = !nd->domain || !nd->domain[0] || !strcmp(nd->domain, "ai.onnx");
  if (!dflt) return ox_unsupported(cx, on, "operator domain '%s' is not supported (only the default ai.onnx domain is)",
                                   nd->domain);
  if (nd->n_input > OX_MAX_IO || nd->n_output > OX_MAX_IO)
    return ox_unsupported(cx, on, "more than %d inputs or outputs are not supported", OX_MAX_IO);
  const ox_op *op = ox_find_op(nd->op_type);
  int before = cx->errors;
  if (!ox_check_node(cx, on, op) || !ox_check_version(cx, on, op)) return false;
  if (op->check && !op->check(cx, on)) return false;
  return cx->errors == before;
}

/* Every node of subgraph g (attribute `attr` of n), before anything is
 * lowered: so that all unsupported ops of a model are reported at once. */
static bool check_graph(ox_ctx *cx, const ox_node *n, const char *attr) {
  const Onnx__AttributeProto *a = ox_attr(n, attr);
  if (!a || a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH || !a->g) return true; /* check.c reports it */
  const Onnx__GraphProto *g = a->g;
  saved_ctx sv;
  scope none;
  memset(&none, 0, sizeof none);
  none.inlined = true; /* enter() only swaps the message sink */
  enter(cx, n, attr, &none, &sv);
  bool ok = true;
  for (size_t i = 0; i < g->n_node; i++) {
    ox_node on;
    ox_init_node(cx, &on, g->node[i], (int)i);
    if (!check_one(cx, &on)) ok = false;
  }
  if (g->n_sparse_initializer) ok = ox_unsupported(cx, NULL, "sparse initializers are not supported");
  leave(cx, &none, &sv);
  return ok;
}

/* Lowers the initializers and nodes of g into s (already entered). ONNX
 * requires a graph's nodes in topological order, and names are defined
 * once across all scopes, so one pass in order suffices. */
static bool lower_nodes(ox_ctx *cx, scope *s, const Onnx__GraphProto *g) {
  for (size_t i = 0; i < g->n_initializer; i++) {
    const Onnx__TensorProto *t = g->initializer[i];
    char what[600];
    snprintf(what, sizeof what, "initializer '%s'", t->name ? t->name : "");
    ir_shape sh;
    void *data;
    if (!t->name || !t->name[0]) return ox_error(cx, NULL, "initializer #%zu has no name", i);
    if (ox_tensor_data(t, cx->base_dir, what, &sh, &data, cx->d) != KILN_OK) return false;
    ir_builder_set_loc(&cx->b, NULL, t->name);
    ir_id k = ir_constant(&cx->b, sh, data);
    free(data);
    if (k == IR_NONE || !ir_namemap_put(s->names, t->name, k)) return ox_error(cx, NULL, "out of memory");
  }
  for (size_t i = 0; i < g->n_node; i++) {
    const Onnx__NodeProto *nd = g->node[i];
    ox_node on;
    ox_init_node(cx, &on, nd, (int)i); /* checked by the import's pre-pass (check_graph) */
    int looked = cx->errors;
    for (int j = 0; j < on.nin; j++) {
      if (!nd->input[j][0]) continue;
      on.in[j] = scope_lookup(cx, s, nd->input[j]);
      if (on.in[j] == IR_NONE && cx->errors > looked) return false; /* reported by scope_lookup */
      if (on.in[j] == IR_NONE)
        return ox_error(cx, &on, "input '%s' is defined neither before this node in its graph nor in an enclosing "
                        "graph (a subgraph's nodes must be in topological order)", nd->input[j]);
    }
    ir_builder_set_loc(&cx->b, nd->op_type, nd->name && nd->name[0] ? nd->name : (nd->n_output ? nd->output[0] : ""));
    const ox_node *saved = cx->cur;
    cx->cur = &on;
    int before = cx->d->errors;
    bool ok = ox_lower_node(cx, ox_find_op(nd->op_type), &on);
    cx->cur = saved;
    if (!ok) {
      if (cx->d->errors == before) ox_error(cx, &on, "could not be lowered");
      return false;
    }
    for (int j = 0; j < on.nout; j++) {
      if (!nd->output[j][0]) continue;
      if (on.out[j] == IR_NONE)
        return ox_unsupported(cx, &on, "output %d ('%s') is not produced by kiln's lowering of this op", j, nd->output[j]);
      if (ir_namemap_get(s->names, nd->output[j], strlen(nd->output[j])) != IR_NONE)
        return ox_error(cx, &on, "tensor name '%s' is defined twice", nd->output[j]);
      if (!ir_namemap_put(s->names, nd->output[j], on.out[j])) return ox_error(cx, &on, "out of memory");
    }
  }
  return true;
}

/* The value of subgraph output k (looked up in s, after lower_nodes). */
static ir_id graph_output(ox_ctx *cx, scope *s, const Onnx__GraphProto *g, size_t k) {
  const char *name = g->output[k]->name;
  ir_id v = name && name[0] ? scope_lookup(cx, s, name) : IR_NONE;
  if (v == IR_NONE) ox_error(cx, NULL, "graph output '%s' is not produced by any node, input or initializer", name ? name : "");
  if (ox_is_box(v) && !s->inlined) {
    ox_unsupported(cx, NULL, "graph output '%s' is %s; kiln's sequences and optionals exist only at import time, so a "
                   "subgraph can give one only where kiln inlines it (an If whose condition is known at import time)",
                   name, ox_box_what(cx, v));
    return IR_NONE;
  }
  return v;
}

/* v (one element) as a scalar of its type; `what` names it. */
static ir_id one_element(ox_ctx *cx, const ox_node *n, ir_id v, ir_type t, const char *what) {
  ir_shape s = ox_shape(cx, v);
  char b[160];
  if (s.type != t || ir_shape_elements(&s) != 1) {
    ox_error(cx, n, "%s must be a %s tensor of one element, got %s", what, ir_type_name(t), ir_shape_str(&s, b, sizeof b));
    return IR_NONE;
  }
  return ox_reshape(cx, v, 0, NULL);
}

/* A parameter standing for subgraph input vi, which the spec makes a
 * scalar (a loop's iteration number or condition): some exporters declare
 * it as a tensor of one element, so it takes the declared shape. */
static ir_id declared_scalar(ox_ctx *cx, ir_id p, const Onnx__ValueInfoProto *vi) {
  const Onnx__TypeProto__Tensor *tt = vi && vi->type && vi->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE
                                          ? vi->type->tensor_type
                                          : NULL;
  const Onnx__TensorShapeProto *sp = tt ? tt->shape : NULL;
  if (!sp || sp->n_dim == 0 || sp->n_dim > IR_MAX_RANK) return p;
  int64_t dims[IR_MAX_RANK];
  for (size_t i = 0; i < sp->n_dim; i++) {
    const Onnx__TensorShapeProto__Dimension *d = sp->dim[i];
    bool one = d->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE || d->dim_value == 1;
    if (!one) return p;
    dims[i] = 1;
  }
  return ox_reshape(cx, p, (int)sp->n_dim, dims);
}

static bool put_input(ox_ctx *cx, scope *s, const Onnx__ValueInfoProto *vi, ir_id v) {
  if (!vi->name || !vi->name[0]) return ox_error(cx, NULL, "a subgraph input has no name");
  if (v == IR_NONE) return false;
  if (!ir_namemap_put(s->names, vi->name, v)) return ox_error(cx, NULL, "out of memory");
  return true;
}

/* Sets the root of computation s->c (entered) to the tuple of xs. */
static bool finish_comp(ox_ctx *cx, scope *s, int n, const ir_id *xs) {
  ir_builder_set_loc(&cx->b, NULL, NULL);
  ir_id t = ir_tuple(&cx->b, n, xs);
  if (t == IR_NONE) return false;
  s->c->root = t;
  return true;
}

/* ---- If ---- */

/* Lowers branch `attr` of If node n into a new computation (scope *s).
 * Its root is the tuple of the branch outputs. */
static bool lower_branch(ox_ctx *cx, const ox_node *n, scope *up, const char *attr, scope *s) {
  const Onnx__GraphProto *g = graph_attr(cx, n, attr);
  if (!g) return false;
  if (!new_scope(cx, up, attr, s)) return ox_error(cx, n, "out of memory");
  saved_ctx sv;
  enter(cx, n, attr, s, &sv);
  bool ok = lower_nodes(cx, s, g);
  ir_id outs[OX_MAX_IO];
  for (size_t k = 0; ok && k < g->n_output; k++) ok = (outs[k] = graph_output(cx, s, g, k)) != IR_NONE;
  if (ok) ok = finish_comp(cx, s, (int)g->n_output, outs);
  leave(cx, s, &sv);
  return ok;
}

/* Adds `count` unused parameters to s->c numbered from `first`, with the
 * shapes of values outer[0..count) of the enclosing computation `oc`. */
static bool pad_params(ox_ctx *cx, scope *s, const ir_comp *oc, int64_t first, uint32_t count, const ir_id *outer) {
  ir_builder b;
  ir_builder_init(&b, cx->m, s->c, cx->d);
  for (uint32_t k = 0; k < count; k++)
    if (ir_parameter(&b, first + k, *ir_shape_of(oc, outer[k]), NULL) == IR_NONE) return false;
  return true;
}

static bool lower_if(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  const Onnx__GraphProto *gt = graph_attr(cx, n, "then_branch"), *ge = graph_attr(cx, n, "else_branch");
  if (!gt || !ge) return false;
  if (gt->n_input || ge->n_input) return ox_error(cx, n, "the branches of an If take no inputs");
  if ((int)gt->n_output != n->nout || (int)ge->n_output != n->nout)
    return ox_error(cx, n, "then_branch has %zu outputs and else_branch %zu, but the node has %d", gt->n_output,
                    ge->n_output, n->nout);
  ir_id pred = one_element(cx, n, n->in[0], IR_PRED, "the condition");
  if (pred == IR_NONE) return false;
  scope top, *up = current_scope(cx, &top);

  if (ox_is_const(cx, pred)) {
    /* The branch is known: its nodes go straight into this computation. */
    const uint8_t *p = ox_const_data(cx, n, pred, "the condition");
    if (!p) return false;
    return ox_inline_graph(cx, n, *p ? "then_branch" : "else_branch", 0, NULL, n->nout, n->out);
  }

  scope st, se;
  memset(&se, 0, sizeof se);
  bool ok = lower_branch(cx, n, up, "then_branch", &st);
  if (ok) ok = lower_branch(cx, n, up, "else_branch", &se);
  const ir_inst *rt = ok ? ir_get(st.c, st.c->root) : NULL, *re = ok ? ir_get(se.c, se.c->root) : NULL;
  for (int k = 0; ok && k < n->nout; k++) {
    char b1[160], b2[160];
    if (!ir_shape_same_dims(&rt->tuple[k], &re->tuple[k]))
      ok = ox_unsupported(cx, n, "output %d ('%s') is %s from then_branch but %s from else_branch; kiln needs both "
                          "branches to give the same type and static shape", k, n->p->output[k],
                          ir_shape_str(&rt->tuple[k], b1, sizeof b1), ir_shape_str(&re->tuple[k], b2, sizeof b2));
  }
  /* Operands: then's captures, then else's; each branch gets parameters
   * for both lists (else's own renumbered after then's). */
  ir_id *ops = NULL;
  uint32_t nops = ok ? st.ncap + se.ncap : 0;
  if (ok) {
    for (uint32_t i = 0; i < se.c->ninsts; i++)
      if (se.c->insts[i].op == IR_OP_PARAMETER) se.c->insts[i].index += st.ncap;
    ok = pad_params(cx, &st, cx->c, st.ncap, se.ncap, se.outer) && pad_params(cx, &se, cx->c, 0, st.ncap, st.outer);
    ops = malloc((nops + 1) * sizeof *ops);
    if (!ops) ok = false;
    for (uint32_t k = 0; ok && k < nops; k++) ops[k] = k < st.ncap ? st.outer[k] : se.outer[k - st.ncap];
    if (ok) ok = ir_comp_canonicalize(cx->m, st.c) && ir_comp_canonicalize(cx->m, se.c);
    if (!ok && !cx->d->errors) ox_error(cx, n, "out of memory");
  }
  ir_id r = IR_NONE;
  if (ok) {
    uint32_t ti = (uint32_t)ir_module_find_comp(cx->m, st.c->name), ei = (uint32_t)ir_module_find_comp(cx->m, se.c->name);
    r = ir_conditional(&cx->b, pred, ti, ei, (int)nops, ops);
    ok = r != IR_NONE;
  }
  for (int k = 0; ok && k < n->nout; k++) ok = (n->out[k] = ir_get_tuple_element(&cx->b, r, k)) != IR_NONE;
  free(ops);
  scope_free(&st);
  scope_free(&se);
  return ok;
}

static bool check_if(ox_ctx *cx, const ox_node *n) {
  bool a = check_graph(cx, n, "then_branch"), b = check_graph(cx, n, "else_branch");
  return a && b;
}

/* ---- Loop and Scan: a while over a state tuple ---- */

/*
 * The while state of both: a few leading elements of the op's own (the
 * iteration counter first), the captures of the body, then the scan-output
 * buffers, which are preallocated at their final length and written one
 * slice per iteration with dynamic_update_slice:
 *
 *   Loop: [iter, M, cond, v_1..v_N, captures..., buf_1..buf_K]
 *   Scan: [iter, s_1..s_N, x_1..x_M, captures..., buf_1..buf_K]
 *
 * The condition computation takes the whole state too.
 */
typedef struct loop_build {
  scope body;
  uint32_t nlead;            /* state elements before the captures */
  ir_id lead_out[OX_MAX_IO + 3]; /* the body's next values of those */
  uint32_t nbuf;
  ir_shape buf_shape[OX_MAX_IO];
  ir_id buf_out[OX_MAX_IO];  /* the body's updated buffers */
} loop_build;

/* The body's root: its next state, captures passed on unchanged. */
static bool finish_body(ox_ctx *cx, loop_build *lb) {
  uint32_t n = lb->nlead + lb->body.ncap + lb->nbuf;
  ir_id *xs = malloc((n + 1) * sizeof *xs);
  if (!xs) return false;
  uint32_t k = 0;
  for (uint32_t i = 0; i < lb->nlead; i++) xs[k++] = lb->lead_out[i];
  for (uint32_t i = 0; i < lb->body.ncap; i++) xs[k++] = lb->body.param[i];
  for (uint32_t i = 0; i < lb->nbuf; i++) xs[k++] = lb->buf_out[i];
  bool ok = finish_comp(cx, &lb->body, (int)n, xs);
  free(xs);
  return ok;
}

/* The condition computation: parameters for the whole state (shapes of
 * the body's), root `iter < limit` (limit: the state element `limit_at`,
 * or the constant `limit` when limit_at is 0), and'ed with the state
 * element `cond_at` when that is not 0. Returns its index, -1 on failure. */
static int build_cond(ox_ctx *cx, const loop_build *lb, uint32_t limit_at, int64_t limit, uint32_t cond_at) {
  scope s;
  if (!new_scope(cx, NULL, "loop_cond", &s)) return -1;
  ir_builder b;
  ir_builder_init(&b, cx->m, s.c, cx->d);
  uint32_t n = lb->nlead + lb->body.ncap + lb->nbuf;
  ir_id p[3] = {IR_NONE, IR_NONE, IR_NONE};
  bool ok = true;
  for (uint32_t i = 0; ok && i < n; i++) {
    ir_id id = ir_comp_param(lb->body.c, i);
    ok = id != IR_NONE;
    ir_id q = ok ? ir_parameter(&b, i, lb->body.c->insts[id].shape, NULL) : IR_NONE;
    ok = q != IR_NONE;
    if (i == 0) p[0] = q;
    if (limit_at && i == limit_at) p[1] = q;
    if (cond_at && i == cond_at) p[2] = q;
  }
  if (ok) {
    ir_id lim = limit_at ? p[1] : ir_constant_i(&b, IR_I64, limit);
    ir_id r = ir_compare(&b, IR_CMP_LT, p[0], lim);
    if (cond_at) r = ir_binary(&b, IR_OP_AND, r, p[2]);
    ok = r != IR_NONE;
    if (ok) s.c->root = r;
  }
  int idx = ok && ir_comp_canonicalize(cx->m, s.c) ? ir_module_find_comp(cx->m, s.c->name) : -1;
  scope_free(&s);
  return idx;
}

/* The while itself in the enclosing computation: initial state lead[0..
 * nlead), the captures' outer values, zero buffers. */
static ir_id build_while(ox_ctx *cx, const loop_build *lb, const ir_id *lead, int cond) {
  uint32_t n = lb->nlead + lb->body.ncap + lb->nbuf;
  ir_id *xs = malloc((n + 1) * sizeof *xs);
  if (!xs) return IR_NONE;
  uint32_t k = 0;
  for (uint32_t i = 0; i < lb->nlead; i++) xs[k++] = lead[i];
  for (uint32_t i = 0; i < lb->body.ncap; i++) xs[k++] = lb->body.outer[i];
  for (uint32_t i = 0; i < lb->nbuf; i++) {
    ir_id z = ox_scalar(cx, lb->buf_shape[i].type, 0);
    xs[k++] = ir_broadcast_scalar(&cx->b, z, lb->buf_shape[i].rank, lb->buf_shape[i].dims);
  }
  ir_id w = cond < 0 ? IR_NONE
                     : ir_while(&cx->b, (uint32_t)cond, (uint32_t)ir_module_find_comp(cx->m, lb->body.c->name), (int)n, xs);
  free(xs);
  return w;
}

/* Writes scan output element e (shape known) into the buffer of a length
 * `len` sequence along `axis` at position pos (an i64 scalar), in the body
 * (entered): adds the buffer parameter and its update to lb. */
static bool scan_write(ox_ctx *cx, const ox_node *n, loop_build *lb, ir_id e, int64_t len, int64_t axis, ir_id pos) {
  ir_shape es = ox_shape(cx, e);
  if (es.rank + 1 > IR_MAX_RANK) return ox_unsupported(cx, n, "a scan output of rank %d is too large", es.rank + 1);
  int64_t bd[IR_MAX_RANK], ud[IR_MAX_RANK];
  int r = es.rank + 1;
  for (int i = 0, j = 0; i < r; i++) {
    bd[i] = i == axis ? len : es.dims[j];
    ud[i] = i == axis ? 1 : es.dims[j];
    if (i != axis) j++;
  }
  if (!ox_check_size(cx, n, es.type, r, bd)) return false;
  ir_shape bs = ir_shape_make(es.type, r, bd);
  ir_id p = ir_parameter(&cx->b, lb->body.nparams++, bs, NULL);
  ir_id zero = ir_constant_i(&cx->b, IR_I64, 0);
  ir_id starts[IR_MAX_RANK];
  for (int i = 0; i < r; i++) starts[i] = i == axis ? pos : zero;
  ir_id u = ir_dynamic_update_slice(&cx->b, p, ox_reshape(cx, e, r, ud), starts);
  if (u == IR_NONE) return false;
  lb->buf_shape[lb->nbuf] = bs;
  lb->buf_out[lb->nbuf++] = u;
  return true;
}

/* `len - 1 - iter` for a reversed direction, else iter (in the body). */
static ir_id position(ox_ctx *cx, ir_id iter, int64_t len, bool reverse) {
  if (!reverse) return iter;
  return ir_binary(&cx->b, IR_OP_SUB, ir_constant_i(&cx->b, IR_I64, len - 1), iter);
}

/* While the body of n is entered, messages about n itself go to the sink
 * outside it (they name n already): swaps cx->d and returns the old one. */
static diag *about_node(ox_ctx *cx, const saved_ctx *sv) {
  diag *d = cx->d;
  cx->d = sv->ps.to;
  return d;
}

/* A loop-carried (or Scan state) value must keep its type and shape. */
static bool same_state(ox_ctx *cx, const saved_ctx *sv, const ox_node *n, ir_id out, const ir_shape *init,
                       const char *name) {
  ir_shape s = ox_shape(cx, out);
  char b1[160], b2[160];
  if (ir_shape_same_dims(&s, init)) return true;
  diag *d = about_node(cx, sv);
  ox_unsupported(cx, n, "loop-carried value '%s' starts as %s but the body makes it %s; kiln needs loop-carried "
                 "values of one type and static shape", name, ir_shape_str(init, b1, sizeof b1),
                 ir_shape_str(&s, b2, sizeof b2));
  cx->d = d;
  return false;
}

static bool lower_loop(ox_ctx *cx, ox_node *n) {
  const Onnx__GraphProto *g = graph_attr(cx, n, "body");
  if (!g) return false;
  int N = n->nin - 2, K = (int)g->n_output - 1 - N;
  if (N < 0 || (int)g->n_input != 2 + N || K < 0 || n->nout != N + K)
    return ox_error(cx, n, "the body has %zu inputs and %zu outputs; with %d loop-carried values it needs %d inputs, and "
                    "1 + %d + K outputs for the node's %d outputs", g->n_input, g->n_output, N < 0 ? 0 : N, 2 + N, N,
                    n->nout);
  if (N + 3 > OX_MAX_IO) return ox_unsupported(cx, n, "more than %d loop-carried values", OX_MAX_IO - 3);
  /* M and cond: absent means no limit and true. */
  ir_id M = n->in[0] != IR_NONE ? one_element(cx, n, n->in[0], IR_I64, "the trip count M")
                                 : ir_constant_i(&cx->b, IR_I64, INT64_MAX);
  ir_id cond = n->in[1] != IR_NONE ? one_element(cx, n, n->in[1], IR_PRED, "the condition")
                                    : ir_constant_i(&cx->b, IR_PRED, 1);
  if (M == IR_NONE || cond == IR_NONE) return false;
  for (int i = 0; i < N; i++)
    if (n->in[2 + i] == IR_NONE) return ox_error(cx, n, "loop-carried input %d is missing", i);
  int64_t trip = -1; /* known trip count, for scan outputs */
  if (K > 0) {
    int64_t mv;
    if (n->in[0] == IR_NONE || !ox_is_const(cx, n->in[0]))
      return ox_unsupported(cx, n, "the Loop has scan outputs, whose length is its trip count: kiln needs the trip "
                            "count M known at import time (a constant or initializer)");
    if (ox_const_ints(cx, n, n->in[0], &mv, 1, "the trip count M") != 1) return false;
    trip = mv < 0 ? 0 : mv;
  }
  bool cond_true = n->in[1] == IR_NONE;
  if (!cond_true && ox_is_const(cx, cond)) {
    const uint8_t *p = ox_const_data(cx, n, cond, "the condition");
    if (!p) return false;
    cond_true = *p != 0;
  }

  scope top, *up = current_scope(cx, &top);
  loop_build lb;
  memset(&lb, 0, sizeof lb);
  if (!new_scope(cx, up, "loop_body", &lb.body)) return ox_error(cx, n, "out of memory");
  lb.nlead = (uint32_t)(3 + N);
  ir_shape lead_init[OX_MAX_IO + 3];
  ir_id lead[OX_MAX_IO + 3];
  lead[0] = ir_constant_i(&cx->b, IR_I64, 0);
  lead[1] = M;
  lead[2] = cond;
  for (int i = 0; i < N; i++) lead[3 + i] = n->in[2 + i];
  for (uint32_t i = 0; i < lb.nlead; i++) lead_init[i] = ox_shape(cx, lead[i]);

  saved_ctx sv;
  enter(cx, n, "body", &lb.body, &sv);
  ir_id p[OX_MAX_IO + 3];
  bool ok = true;
  for (uint32_t i = 0; ok && i < lb.nlead; i++) ok = (p[i] = ir_parameter(&cx->b, lb.body.nparams++, lead_init[i], NULL)) != IR_NONE;
  if (ok) ok = put_input(cx, &lb.body, g->input[0], declared_scalar(cx, p[0], g->input[0])) &&
               put_input(cx, &lb.body, g->input[1], declared_scalar(cx, p[2], g->input[1]));
  for (int i = 0; ok && i < N; i++) ok = put_input(cx, &lb.body, g->input[2 + i], p[3 + i]);
  if (ok) ok = lower_nodes(cx, &lb.body, g);
  ir_id cond_out = IR_NONE;
  if (ok) ok = (cond_out = graph_output(cx, &lb.body, g, 0)) != IR_NONE;
  if (ok) {
    diag *d = about_node(cx, &sv);
    ok = (cond_out = one_element(cx, n, cond_out, IR_PRED, "the body's condition output")) != IR_NONE;
    cx->d = d;
  }
  if (ok && K > 0) {
    /* The scan outputs hold the iterations run: a loop that may stop
     * before M would give them a length known only at run time. */
    bool always = cond_out == p[2] ? cond_true : false;
    if (cond_out != p[2] && ox_is_const(cx, cond_out)) {
      const uint8_t *v = ox_const_data(cx, n, cond_out, "the body's condition output");
      always = v && *v && cond_true;
    }
    if (!always) {
      diag *d = about_node(cx, &sv);
      ok = ox_unsupported(cx, n, "the Loop has scan outputs and a condition that may end it before the trip count, "
                          "which would give the scan outputs a length known only at run time; kiln supports scan "
                          "outputs of loops that always run M times");
      cx->d = d;
    }
  }
  lb.lead_out[0] = ok ? ir_binary(&cx->b, IR_OP_ADD, p[0], ir_constant_i(&cx->b, IR_I64, 1)) : IR_NONE;
  lb.lead_out[1] = p[1];
  lb.lead_out[2] = cond_out;
  for (int i = 0; ok && i < N; i++) {
    ok = (lb.lead_out[3 + i] = graph_output(cx, &lb.body, g, (size_t)(1 + i))) != IR_NONE &&
         same_state(cx, &sv, n, lb.lead_out[3 + i], &lead_init[3 + i], n->p->input[2 + i]);
  }
  /* Every scan output is looked up before any is written: a lookup may
   * add a capture parameter, and captures come before the scan buffers
   * scan_write adds (finish_body's state layout). */
  ir_id e[OX_MAX_IO];
  for (int k = 0; ok && k < K; k++) ok = (e[k] = graph_output(cx, &lb.body, g, (size_t)(1 + N + k))) != IR_NONE;
  for (int k = 0; ok && k < K; k++) ok = scan_write(cx, n, &lb, e[k], trip, 0, p[0]);
  if (ok) ok = finish_body(cx, &lb) && ir_comp_canonicalize(cx->m, lb.body.c);
  leave(cx, &lb.body, &sv);

  int ci = ok ? build_cond(cx, &lb, 1, 0, 2) : -1;
  ir_id w = ok ? build_while(cx, &lb, lead, ci) : IR_NONE;
  ok = w != IR_NONE;
  for (int i = 0; ok && i < N; i++) ok = (n->out[i] = ir_get_tuple_element(&cx->b, w, 3 + i)) != IR_NONE;
  for (int k = 0; ok && k < K; k++)
    ok = (n->out[N + k] = ir_get_tuple_element(&cx->b, w, lb.nlead + lb.body.ncap + (uint32_t)k)) != IR_NONE;
  scope_free(&lb.body);
  return ok;
}

static bool check_loop(ox_ctx *cx, const ox_node *n) { return check_graph(cx, n, "body"); }

/* Reads the optional per-input/output list attribute `name` (count
 * values, default 0) into out. */
static bool scan_list(ox_ctx *cx, const ox_node *n, const char *name, int count, int64_t *out) {
  bool ok = true;
  for (int i = 0; i < count; i++) out[i] = 0;
  int got = ox_attr_ints(cx, n, name, out, OX_MAX_IO, &ok);
  if (!ok) return false;
  if (got >= 0 && got != count) return ox_error(cx, n, "attribute '%s' has %d values, expected %d", name, got, count);
  return true;
}

static bool lower_scan(ox_ctx *cx, ox_node *n) {
  const Onnx__GraphProto *g = graph_attr(cx, n, "body");
  if (!g) return false;
  bool ok = true;
  int64_t M = ox_attr_int(cx, n, "num_scan_inputs", -1, &ok);
  if (!ok) return false;
  int N = n->nin - (int)M, K = n->nout - N;
  if (M < 1 || N < 0 || K < 0 || (int)g->n_input != N + (int)M || (int)g->n_output != N + K)
    return ox_error(cx, n, "num_scan_inputs=%lld does not fit the node's %d inputs and %d outputs and the body's %zu "
                    "inputs and %zu outputs", (long long)M, n->nin, n->nout, g->n_input, g->n_output);
  if (N + (int)M + 1 > OX_MAX_IO) return ox_unsupported(cx, n, "more than %d state values and scan inputs", OX_MAX_IO - 1);
  int64_t in_axis[OX_MAX_IO], in_dir[OX_MAX_IO], out_axis[OX_MAX_IO], out_dir[OX_MAX_IO];
  if (!scan_list(cx, n, "scan_input_axes", (int)M, in_axis) || !scan_list(cx, n, "scan_input_directions", (int)M, in_dir) ||
      !scan_list(cx, n, "scan_output_axes", K, out_axis) || !scan_list(cx, n, "scan_output_directions", K, out_dir))
    return false;
  /* The sequence length: the scanned axis of every scan input. */
  int64_t len = -1;
  for (int j = 0; j < (int)M; j++) {
    ir_id x = n->in[N + j];
    if (x == IR_NONE) return ox_error(cx, n, "scan input %d is missing", j);
    ir_shape xs = ox_shape(cx, x);
    if (!ox_axis(cx, n, in_axis[j], xs.rank, false, &in_axis[j])) return false;
    if (len >= 0 && xs.dims[in_axis[j]] != len)
      return ox_error(cx, n, "scan input %d has %lld elements along its scan axis, the first one %lld", j,
                      (long long)xs.dims[in_axis[j]], (long long)len);
    len = xs.dims[in_axis[j]];
  }
  for (int i = 0; i < N; i++)
    if (n->in[i] == IR_NONE) return ox_error(cx, n, "state input %d is missing", i);

  scope top, *up = current_scope(cx, &top);
  loop_build lb;
  memset(&lb, 0, sizeof lb);
  if (!new_scope(cx, up, "scan_body", &lb.body)) return ox_error(cx, n, "out of memory");
  lb.nlead = (uint32_t)(1 + N + M);
  ir_shape lead_init[OX_MAX_IO + 3];
  ir_id lead[OX_MAX_IO + 3];
  lead[0] = ir_constant_i(&cx->b, IR_I64, 0);
  for (int i = 0; i < N + (int)M; i++) lead[1 + i] = n->in[i];
  for (uint32_t i = 0; i < lb.nlead; i++) lead_init[i] = ox_shape(cx, lead[i]);

  saved_ctx sv;
  enter(cx, n, "body", &lb.body, &sv);
  ir_id p[OX_MAX_IO + 3];
  for (uint32_t i = 0; ok && i < lb.nlead; i++) ok = (p[i] = ir_parameter(&cx->b, lb.body.nparams++, lead_init[i], NULL)) != IR_NONE;
  for (int i = 0; ok && i < N; i++) ok = put_input(cx, &lb.body, g->input[i], p[1 + i]);
  /* Scan input j's element of this iteration: the slice at the position
   * along its axis, that axis dropped. */
  for (int j = 0; ok && j < (int)M; j++) {
    const ir_shape *xs = &lead_init[1 + N + j];
    ir_id pos = position(cx, p[0], len, in_dir[j] != 0);
    ir_id zero = ir_constant_i(&cx->b, IR_I64, 0);
    ir_id starts[IR_MAX_RANK];
    int64_t sizes[IR_MAX_RANK], ed[IR_MAX_RANK];
    int r = 0;
    for (int d = 0; d < xs->rank; d++) {
      starts[d] = d == in_axis[j] ? pos : zero;
      sizes[d] = d == in_axis[j] ? 1 : xs->dims[d];
      if (d != in_axis[j]) ed[r++] = xs->dims[d];
    }
    ir_id e = ox_reshape(cx, ir_dynamic_slice(&cx->b, p[1 + N + j], starts, sizes), r, ed);
    ok = put_input(cx, &lb.body, g->input[N + j], e);
  }
  if (ok) ok = lower_nodes(cx, &lb.body, g);
  lb.lead_out[0] = ok ? ir_binary(&cx->b, IR_OP_ADD, p[0], ir_constant_i(&cx->b, IR_I64, 1)) : IR_NONE;
  for (int i = 0; ok && i < N; i++)
    ok = (lb.lead_out[1 + i] = graph_output(cx, &lb.body, g, (size_t)i)) != IR_NONE &&
         same_state(cx, &sv, n, lb.lead_out[1 + i], &lead_init[1 + i], n->p->input[i]);
  for (int j = 0; ok && j < (int)M; j++) lb.lead_out[1 + N + j] = p[1 + N + j];
  ir_id e[OX_MAX_IO]; /* looked up before any is written, as in Loop */
  for (int k = 0; ok && k < K; k++) ok = (e[k] = graph_output(cx, &lb.body, g, (size_t)(N + k))) != IR_NONE;
  for (int k = 0; ok && k < K; k++) {
    int64_t axis = out_axis[k];
    ok = ox_axis(cx, n, axis, ox_shape(cx, e[k]).rank + 1, false, &axis) &&
         scan_write(cx, n, &lb, e[k], len, axis, position(cx, p[0], len, out_dir[k] != 0));
  }
  if (ok) ok = finish_body(cx, &lb) && ir_comp_canonicalize(cx->m, lb.body.c);
  leave(cx, &lb.body, &sv);

  int ci = ok ? build_cond(cx, &lb, 0, len, 0) : -1;
  ir_id w = ok ? build_while(cx, &lb, lead, ci) : IR_NONE;
  ok = w != IR_NONE;
  for (int i = 0; ok && i < N; i++) ok = (n->out[i] = ir_get_tuple_element(&cx->b, w, 1 + i)) != IR_NONE;
  for (int k = 0; ok && k < K; k++)
    ok = (n->out[N + k] = ir_get_tuple_element(&cx->b, w, lb.nlead + lb.body.ncap + (uint32_t)k)) != IR_NONE;
  scope_free(&lb.body);
  return ok;
}

/* ---- inlined subgraphs (SequenceMap) ---- */

bool ox_inline_graph(ox_ctx *cx, const ox_node *n, const char *attr, int nin, const ir_id *in, int nout, ir_id *out) {
  const Onnx__GraphProto *g = graph_attr(cx, n, attr);
  if (!g) return false;
  if ((int)g->n_input != nin || (int)g->n_output != nout)
    return ox_error(cx, n, "attribute '%s' has %zu inputs and %zu outputs, but the node gives it %d inputs and takes %d "
                    "outputs", attr, g->n_input, g->n_output, nin, nout);
  scope top, *up = current_scope(cx, &top);
  scope s;
  memset(&s, 0, sizeof s);
  s.up = up;
  s.c = cx->c;
  s.names = &s.own;
  s.inlined = true;
  saved_ctx sv;
  enter(cx, n, attr, &s, &sv);
  bool ok = true;
  for (int i = 0; ok && i < nin; i++) ok = put_input(cx, &s, g->input[i], in[i]);
  if (ok) ok = lower_nodes(cx, &s, g);
  for (int k = 0; ok && k < nout; k++) ok = (out[k] = graph_output(cx, &s, g, (size_t)k)) != IR_NONE;
  leave(cx, &s, &sv);
  scope_free(&s);
  return ok;
}

bool ox_check_graph(ox_ctx *cx, const ox_node *n, const char *attr) { return check_graph(cx, n, attr); }

/* If, Loop and Scan are the same from their first versions kiln reads
 * (If-1, Loop-1, Scan-9) to the newest (25): later versions add element,
 * sequence and optional types (kiln's sequences and optionals exist only
 * at import time: an inlined If may give one, loop state may not), If-11
 * lets the branches give different shapes (which kiln refuses, naming the
 * output), Scan-11 allows negative axes. Scan-8
 * had a batch axis and a sequence_lens input: not supported. */
const ox_op ox_ops_control[] = {
    {"If", 1, lower_if, check_if, {1, 1}, {1, OX_MAX_IO}, "then_branch:g else_branch:g", 25},
    {"Loop", 1, lower_loop, check_loop, {2, OX_MAX_IO}, {1, OX_MAX_IO}, "body:g", 25},
    {"Scan", 9, lower_scan, check_loop, {1, OX_MAX_IO}, {1, OX_MAX_IO},
     "body:g num_scan_inputs:i scan_input_axes:I scan_input_directions:I scan_output_axes:I scan_output_directions:I",
     25},
    {0},
};
