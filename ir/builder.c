/*
 * Builder: one function per op family; each fills a prototype instruction
 * and hands it to ir_build, which infers the shape (refusing invalid
 * instructions with a message naming the op and location) and appends it.
 */
#include "ir/builder.h"

#include "ir/literal.h"

#include <stdio.h>
#include <string.h>

void ir_builder_init(ir_builder *b, ir_module *m, ir_comp *c, diag *d) {
  b->m = m;
  b->c = c;
  b->d = d;
  b->loc.op_type = NULL;
  b->loc.name = NULL;
}

void ir_builder_set_loc(ir_builder *b, const char *op_type, const char *name) {
  b->loc.op_type = op_type ? arena_strdup(&b->m->arena, op_type) : NULL;
  b->loc.name = name ? arena_strdup(&b->m->arena, name) : NULL;
}

static bool any_none(const ir_id *ops, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    if (ops[i] == IR_NONE) return true;
  return false;
}

ir_id ir_build(ir_builder *b, const ir_inst *proto) {
  if (any_none(proto->ops, proto->nops)) return IR_NONE;
  char err[512];
  ir_shape s;
  ir_shape *tuple;
  uint32_t nt;
  if (!ir_infer_shape(b->m, b->c, proto, &s, &tuple, &nt, err, sizeof err)) {
    if (b->loc.name || b->loc.op_type)
      diag_error(b->d, "%s (node '%s'%s%s): %s", ir_op_name(proto->op), b->loc.name ? b->loc.name : "",
                 b->loc.op_type ? ", " : "", b->loc.op_type ? b->loc.op_type : "", err);
    else
      diag_error(b->d, "%s: %s", ir_op_name(proto->op), err);
    return IR_NONE;
  }
  ir_inst in = *proto;
  in.shape = s;
  in.tuple = tuple;
  in.ntuple = nt;
  if (!in.loc.name && !in.loc.op_type) in.loc = b->loc;
  ir_id id = ir_comp_append(b->m, b->c, &in);
  if (id == IR_NONE) diag_error(b->d, "out of memory");
  return id;
}

static ir_inst proto(ir_op op, uint32_t n, ir_id *ops) {
  ir_inst p;
  memset(&p, 0, sizeof p);
  p.op = op;
  p.nops = n;
  p.ops = ops;
  return p;
}

ir_id ir_parameter(ir_builder *b, int64_t number, ir_shape shape, const char *io_name) {
  ir_inst p = proto(IR_OP_PARAMETER, 0, NULL);
  p.shape = shape;
  p.index = number;
  p.io_name = io_name;
  return ir_build(b, &p);
}

ir_id ir_constant(ir_builder *b, ir_shape shape, const void *data) {
  ir_inst p = proto(IR_OP_CONSTANT, 0, NULL);
  p.shape = shape;
  int64_t bytes = ir_shape_bytes(&shape);
  if (bytes < 0 || shape.type == IR_TUPLE) {
    diag_error(b->d, "constant: invalid shape");
    return IR_NONE;
  }
  p.data = arena_memdup(&b->m->arena, data, (size_t)bytes, 64);
  if (!p.data) {
    diag_error(b->d, "out of memory");
    return IR_NONE;
  }
  return ir_build(b, &p);
}

/* Scalars go through ir_elem_set_*, which saturates out-of-range floats
 * (as convert does) instead of the undefined C conversion. */
ir_id ir_constant_f(ir_builder *b, ir_type t, double v) {
  uint64_t buf = 0;
  ir_elem_set_f(t, &buf, 0, v);
  return ir_constant(b, ir_shape_scalar(t), &buf);
}

ir_id ir_constant_i(ir_builder *b, ir_type t, int64_t v) {
  uint64_t buf = 0;
  ir_elem_set_i(t, &buf, 0, v);
  return ir_constant(b, ir_shape_scalar(t), &buf);
}

ir_id ir_iota(ir_builder *b, ir_shape shape, int64_t dim) {
  ir_inst p = proto(IR_OP_IOTA, 0, NULL);
  p.shape = shape;
  p.index = dim;
  return ir_build(b, &p);
}

ir_id ir_unary(ir_builder *b, ir_op op, ir_id x) {
  ir_inst p = proto(op, 1, &x);
  if (ir_op_get(op)->family != IR_FAM_UNARY) {
    diag_error(b->d, "%s is not a unary elementwise op", ir_op_name(op));
    return IR_NONE;
  }
  return ir_build(b, &p);
}

ir_id ir_binary(ir_builder *b, ir_op op, ir_id x, ir_id y) {
  ir_id ops[2] = {x, y};
  ir_inst p = proto(op, 2, ops);
  if (ir_op_get(op)->family != IR_FAM_BINARY) {
    diag_error(b->d, "%s is not a binary elementwise op", ir_op_name(op));
    return IR_NONE;
  }
  return ir_build(b, &p);
}

ir_id ir_compare(ir_builder *b, ir_cmp dir, ir_id x, ir_id y) {
  ir_id ops[2] = {x, y};
  ir_inst p = proto(IR_OP_COMPARE, 2, ops);
  p.cmp = dir;
  return ir_build(b, &p);
}

ir_id ir_select(ir_builder *b, ir_id pred, ir_id on_true, ir_id on_false) {
  ir_id ops[3] = {pred, on_true, on_false};
  ir_inst p = proto(IR_OP_SELECT, 3, ops);
  return ir_build(b, &p);
}

ir_id ir_clamp(ir_builder *b, ir_id lo, ir_id x, ir_id hi) {
  ir_id ops[3] = {lo, x, hi};
  ir_inst p = proto(IR_OP_CLAMP, 3, ops);
  return ir_build(b, &p);
}

ir_id ir_convert(ir_builder *b, ir_id x, ir_type t) {
  ir_inst p = proto(IR_OP_CONVERT, 1, &x);
  p.shape.type = t;
  return ir_build(b, &p);
}

static bool rank_ok(ir_builder *b, const char *what, int n) {
  if (n < 0 || n > IR_MAX_RANK) {
    diag_error(b->d, "%s: rank %d out of range (max %d)", what, n, IR_MAX_RANK);
    return false;
  }
  return true;
}

ir_id ir_broadcast(ir_builder *b, ir_id x, int n, const int64_t *dims, const int64_t *map) {
  if (x == IR_NONE || !rank_ok(b, "broadcast", n)) return IR_NONE;
  ir_inst p = proto(IR_OP_BROADCAST, 1, &x);
  p.shape = ir_shape_make(IR_F32, n, dims);
  int r = ir_shape_of(b->c, x)->rank;
  p.ndims = (uint32_t)r;
  for (int i = 0; i < r; i++) p.dims[i] = map[i];
  return ir_build(b, &p);
}

ir_id ir_broadcast_scalar(ir_builder *b, ir_id x, int n, const int64_t *dims) {
  if (x == IR_NONE) return IR_NONE;
  const ir_shape *s = ir_shape_of(b->c, x);
  if (s->rank == n) {
    bool same = true;
    for (int i = 0; i < n; i++) same = same && s->dims[i] == dims[i] && !s->sym[i]; /* dims are static sizes */
    if (same) return x;
  }
  if (s->rank != 0) {
    diag_error(b->d, "broadcast: operand must be a scalar");
    return IR_NONE;
  }
  return ir_broadcast(b, x, n, dims, NULL);
}

ir_id ir_reshape(ir_builder *b, ir_id x, int n, const int64_t *dims) {
  if (!rank_ok(b, "reshape", n)) return IR_NONE;
  ir_inst p = proto(IR_OP_RESHAPE, 1, &x);
  p.shape = ir_shape_make(IR_F32, n, dims);
  return ir_build(b, &p);
}

ir_id ir_broadcast_to(ir_builder *b, ir_id x, ir_shape shape, const int64_t *map) {
  if (x == IR_NONE || !rank_ok(b, "broadcast", shape.rank)) return IR_NONE;
  ir_inst p = proto(IR_OP_BROADCAST, 1, &x);
  p.shape = shape;
  ir_shape_set_default_layout(&p.shape);
  int r = ir_shape_of(b->c, x)->rank;
  p.ndims = (uint32_t)r;
  for (int i = 0; i < r; i++) p.dims[i] = map[i];
  return ir_build(b, &p);
}

ir_id ir_reshape_to(ir_builder *b, ir_id x, ir_shape shape) {
  if (!rank_ok(b, "reshape", shape.rank)) return IR_NONE;
  ir_inst p = proto(IR_OP_RESHAPE, 1, &x);
  p.shape = shape;
  ir_shape_set_default_layout(&p.shape);
  return ir_build(b, &p);
}

ir_id ir_transpose(ir_builder *b, ir_id x, const int64_t *perm) {
  if (x == IR_NONE) return IR_NONE;
  ir_inst p = proto(IR_OP_TRANSPOSE, 1, &x);
  int r = ir_shape_of(b->c, x)->rank;
  p.ndims = (uint32_t)r;
  for (int i = 0; i < r; i++) p.dims[i] = perm[i];
  return ir_build(b, &p);
}

ir_id ir_slice(ir_builder *b, ir_id x, const int64_t *start, const int64_t *limit, const int64_t *stride) {
  if (x == IR_NONE) return IR_NONE;
  ir_slice_attr s;
  memset(&s, 0, sizeof s);
  int r = ir_shape_of(b->c, x)->rank;
  for (int i = 0; i < r; i++) {
    s.start[i] = start[i];
    s.limit[i] = limit[i];
    s.stride[i] = stride ? stride[i] : 1;
  }
  ir_inst p = proto(IR_OP_SLICE, 1, &x);
  p.a.slice = &s;
  return ir_build(b, &p);
}

ir_id ir_slice_attr_of(ir_builder *b, ir_id x, const ir_slice_attr *a) {
  ir_inst p = proto(IR_OP_SLICE, 1, &x);
  p.a.slice = (ir_slice_attr *)a;
  return ir_build(b, &p);
}

ir_id ir_get_dimension_size(ir_builder *b, ir_id x, int64_t dim) {
  ir_inst p = proto(IR_OP_GET_DIMENSION_SIZE, 1, &x);
  p.index = dim;
  return ir_build(b, &p);
}

ir_id ir_set_symbol(ir_builder *b, ir_id x, int sym) {
  ir_inst p = proto(IR_OP_SET_SYMBOL, 1, &x);
  p.index = sym;
  return ir_build(b, &p);
}

ir_id ir_assert(ir_builder *b, ir_id ok, ir_id x, const char *message) {
  ir_id ops[2] = {ok, x};
  ir_inst p = proto(IR_OP_ASSERT, 2, ops);
  p.config = message ? message : "";
  return ir_build(b, &p);
}

ir_id ir_dynamic_slice(ir_builder *b, ir_id x, const ir_id *starts, const int64_t *sizes) {
  if (x == IR_NONE) return IR_NONE;
  int r = ir_shape_of(b->c, x)->rank;
  ir_id ops[IR_MAX_RANK + 1];
  ops[0] = x;
  for (int i = 0; i < r; i++) ops[i + 1] = starts[i];
  ir_inst p = proto(IR_OP_DYNAMIC_SLICE, (uint32_t)r + 1, ops);
  p.ndims = (uint32_t)r;
  for (int i = 0; i < r; i++) p.dims[i] = sizes[i];
  return ir_build(b, &p);
}

ir_id ir_dynamic_update_slice(ir_builder *b, ir_id x, ir_id update, const ir_id *starts) {
  if (x == IR_NONE) return IR_NONE;
  int r = ir_shape_of(b->c, x)->rank;
  ir_id ops[IR_MAX_RANK + 2];
  ops[0] = x;
  ops[1] = update;
  for (int i = 0; i < r; i++) ops[i + 2] = starts[i];
  ir_inst p = proto(IR_OP_DYNAMIC_UPDATE_SLICE, (uint32_t)r + 2, ops);
  return ir_build(b, &p);
}

ir_id ir_concatenate(ir_builder *b, int n, const ir_id *xs, int64_t dim) {
  ir_inst p = proto(IR_OP_CONCATENATE, (uint32_t)n, (ir_id *)xs);
  p.ndims = 1;
  p.dims[0] = dim;
  return ir_build(b, &p);
}

ir_id ir_pad(ir_builder *b, ir_id x, ir_id value, const int64_t *lo, const int64_t *hi, const int64_t *interior) {
  if (x == IR_NONE) return IR_NONE;
  ir_pad_attr a;
  memset(&a, 0, sizeof a);
  int r = ir_shape_of(b->c, x)->rank;
  for (int i = 0; i < r; i++) {
    a.lo[i] = lo[i];
    a.hi[i] = hi[i];
    a.interior[i] = interior ? interior[i] : 0;
  }
  ir_id ops[2] = {x, value};
  ir_inst p = proto(IR_OP_PAD, 2, ops);
  p.a.pad = &a;
  return ir_build(b, &p);
}

ir_id ir_reverse(ir_builder *b, ir_id x, int n, const int64_t *dims) {
  if (!rank_ok(b, "reverse", n)) return IR_NONE;
  ir_inst p = proto(IR_OP_REVERSE, 1, &x);
  p.ndims = (uint32_t)n;
  for (int i = 0; i < n; i++) p.dims[i] = dims[i];
  return ir_build(b, &p);
}

ir_id ir_gather(ir_builder *b, ir_id x, ir_id idx, const ir_gather_dims *g) {
  ir_id ops[2] = {x, idx};
  ir_inst p = proto(IR_OP_GATHER, 2, ops);
  p.a.gather = (ir_gather_dims *)g;
  return ir_build(b, &p);
}

ir_id ir_scatter(ir_builder *b, ir_id x, ir_id idx, ir_id upd, const ir_scatter_dims *s, ir_combiner comb) {
  ir_id ops[3] = {x, idx, upd};
  ir_inst p = proto(IR_OP_SCATTER, 3, ops);
  p.a.scatter = (ir_scatter_dims *)s;
  p.comb = comb;
  return ir_build(b, &p);
}

ir_id ir_reduce(ir_builder *b, ir_id x, int n, const int64_t *dims, ir_combiner comb) {
  if (!rank_ok(b, "reduce", n)) return IR_NONE;
  ir_inst p = proto(IR_OP_REDUCE, 1, &x);
  p.ndims = (uint32_t)n;
  for (int i = 0; i < n; i++) p.dims[i] = dims[i];
  p.comb = comb;
  return ir_build(b, &p);
}

ir_id ir_reduce_window(ir_builder *b, ir_id x, const ir_window *w, ir_combiner comb) {
  ir_inst p = proto(IR_OP_REDUCE_WINDOW, 1, &x);
  p.a.window = (ir_window *)w;
  p.comb = comb;
  return ir_build(b, &p);
}

static ir_type result_type(ir_builder *b, ir_id x, ir_type t) {
  return t == IR_TUPLE && x != IR_NONE ? ir_shape_of(b->c, x)->type : t;
}

ir_id ir_dot(ir_builder *b, ir_id x, ir_id y, const ir_dot_dims *d, ir_type rt) {
  ir_id ops[2] = {x, y};
  ir_inst p = proto(IR_OP_DOT, 2, ops);
  p.a.dot = (ir_dot_dims *)d;
  p.shape.type = result_type(b, x, rt);
  return ir_build(b, &p);
}

ir_id ir_convolution(ir_builder *b, ir_id x, ir_id w, const ir_window *win, const ir_conv_dims *cd,
                     int64_t feature_groups, ir_type rt) {
  ir_id ops[2] = {x, w};
  ir_inst p = proto(IR_OP_CONVOLUTION, 2, ops);
  p.a.window = (ir_window *)win;
  p.conv = (ir_conv_dims *)cd;
  p.index = feature_groups;
  p.shape.type = result_type(b, x, rt);
  return ir_build(b, &p);
}

ir_id ir_sort(ir_builder *b, int n, const ir_id *xs, int64_t dim, bool descending) {
  ir_inst p = proto(IR_OP_SORT, (uint32_t)n, (ir_id *)xs);
  p.ndims = 1;
  p.dims[0] = dim;
  p.descending = descending;
  return ir_build(b, &p);
}

ir_id ir_tuple(ir_builder *b, int n, const ir_id *xs) {
  ir_inst p = proto(IR_OP_TUPLE, (uint32_t)n, (ir_id *)xs);
  return ir_build(b, &p);
}

ir_id ir_get_tuple_element(ir_builder *b, ir_id x, int64_t index) {
  ir_inst p = proto(IR_OP_GET_TUPLE_ELEMENT, 1, &x);
  p.index = index;
  return ir_build(b, &p);
}

ir_id ir_fusion(ir_builder *b, ir_fusion_kind kind, uint32_t comp, int n, const ir_id *xs) {
  ir_inst p = proto(IR_OP_FUSION, (uint32_t)n, (ir_id *)xs);
  p.fusion_kind = kind;
  p.called = comp;
  return ir_build(b, &p);
}

ir_id ir_conditional(ir_builder *b, ir_id pred, uint32_t on_true, uint32_t on_false, int n, const ir_id *xs) {
  if (pred == IR_NONE) return IR_NONE;
  for (int i = 0; i < n; i++)
    if (xs[i] == IR_NONE) return IR_NONE;
  ir_id *ops = arena_alloc(&b->m->arena, (size_t)(n + 1) * sizeof *ops, 8);
  if (!ops) return IR_NONE;
  ops[0] = pred;
  for (int i = 0; i < n; i++) ops[i + 1] = xs[i];
  ir_inst p = proto(IR_OP_CONDITIONAL, (uint32_t)n + 1, ops);
  p.called = on_true;
  p.called2 = on_false;
  return ir_build(b, &p);
}

ir_id ir_while(ir_builder *b, uint32_t cond, uint32_t body, int n, const ir_id *state) {
  ir_inst p = proto(IR_OP_WHILE, (uint32_t)n, (ir_id *)state);
  p.called = cond;
  p.called2 = body;
  return ir_build(b, &p);
}

ir_id ir_custom_call(ir_builder *b, const char *target, const char *config, int n, const ir_id *xs, ir_shape shape,
                     int ntuple, const ir_shape *tuple) {
  ir_inst p = proto(IR_OP_CUSTOM_CALL, (uint32_t)n, (ir_id *)xs);
  p.target = target;
  p.config = config;
  p.shape = shape;
  if (ntuple > 0) {
    p.shape.type = IR_TUPLE;
    p.shape.rank = 0;
    p.ntuple = (uint32_t)ntuple;
    p.tuple = (ir_shape *)tuple;
  }
  return ir_build(b, &p);
}

ir_id ir_matmul(ir_builder *b, ir_id x, ir_id y) {
  if (x == IR_NONE || y == IR_NONE) return IR_NONE;
  int rx = ir_shape_of(b->c, x)->rank, ry = ir_shape_of(b->c, y)->rank;
  /* Batched when ranks are equal; a rank-2 or rank-1 right side applies to
   * every matrix of the left. Other mixes need the caller to broadcast. */
  if (rx < 1 || ry < 1 || (rx > 2 && ry > 2 && rx != ry) || (rx == 2 && ry > 2)) {
    diag_error(b->d, "matmul: unsupported ranks %d and %d", rx, ry);
    return IR_NONE;
  }
  ir_dot_dims d;
  memset(&d, 0, sizeof d);
  int batch = rx == ry ? rx - 2 : 0;
  if (batch < 0) batch = 0;
  d.nbatch = batch;
  for (int i = 0; i < batch; i++) d.lhs_batch[i] = d.rhs_batch[i] = i;
  d.ncontract = 1;
  d.lhs_contract[0] = rx - 1;
  d.rhs_contract[0] = ry >= 2 ? ry - 2 : 0;
  return ir_dot(b, x, y, &d, IR_TUPLE);
}

bool ir_set_root(ir_builder *b, ir_id root, int n, const char *const *names) {
  if (root == IR_NONE) return false;
  ir_comp *c = b->c;
  if (c->is_entry) {
    const ir_inst *r = ir_get(c, root);
    if (r->shape.type != IR_TUPLE || r->ntuple != (uint32_t)n) {
      diag_error(b->d, "entry root must be a tuple of %d outputs", n);
      return false;
    }
    c->output_names = arena_alloc(&b->m->arena, (size_t)(n ? n : 1) * sizeof(char *), 8);
    if (!c->output_names) return false;
    for (int i = 0; i < n; i++) {
      char def[32];
      snprintf(def, sizeof def, "output%d", i);
      c->output_names[i] = arena_strdup(&b->m->arena, names && names[i] ? names[i] : def);
      if (!c->output_names[i]) return false;
    }
    c->noutputs = (uint32_t)n;
  }
  c->root = root;
  return true;
}
