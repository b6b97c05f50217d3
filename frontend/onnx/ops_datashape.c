/*
 * ONNX ops whose output sizes depend on input values: NonZero and Compress
 * with run-time inputs (their rows and constant-input paths are in
 * ops_index.c), TopK with a run-time K (ops_reduce.c), Unique and
 * NonMaxSuppression; at the end, the run-time forms of Range and the
 * helpers ConstantOfShape's uses (ops_index.c), whose bounds the user gives
 * with --max-shape naming the output.
 *
 * Each size that a value decides becomes a computed symbol
 * (ir_sym_declare_computed) given its value by one set_symbol, bounded by
 * what the static input shape allows. The heavy work (sorts, gathers,
 * prefix sums) runs on static shapes at that bound, so code generation
 * sees static big ops; only the last slice cuts the result to the
 * computed size. Positions are compacted with a sort of distinct keys
 * (kept ? i : bound + i), which puts the kept positions first, ascending.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/ox.h"

/* A symbol name from node n's first output (e.g. "y" with suffix "count"
 * gives y_count): identifier characters kept, others replaced by '_'. */
static void sym_name(const ox_node *n, const char *suffix, char *buf, size_t len) {
  const char *o = n->p->n_output > 0 && n->p->output[0][0] ? n->p->output[0] : "out";
  size_t k = 0;
  if (!isalpha((unsigned char)o[0]) && o[0] != '_') buf[k++] = 'v';
  for (; *o && k + 1 < len; o++) buf[k++] = isalnum((unsigned char)*o) || *o == '_' ? *o : '_';
  buf[k] = 0;
  /* Keep room for the suffix and the "_N" ir_sym_declare_computed may add. */
  if (k > 40) buf[k = 40] = 0;
  snprintf(buf + k, len - k, "_%s", suffix);
}

ir_dexpr ox_computed_size(ox_ctx *cx, const ox_node *n, ir_id count, int64_t bound, const char *suffix) {
  if (count == IR_NONE) return 0;
  if (cx->c != ir_module_entry(cx->m)) {
    /* set_symbol belongs in the entry computation: a Loop body or If
     * branch would give the size a new value on every run of it. */
    ox_unsupported(cx, n, "its output size depends on input values, which is not supported inside a subgraph "
                   "(Loop, Scan or If body) yet");
    return 0;
  }
  char name[96];
  sym_name(n, suffix, name, sizeof name);
  int k = -1;
  ir_dexpr e = ir_sym_declare_computed(cx->m, name, bound, &k);
  if (!e) {
    ox_error(cx, n, "cannot declare the size '%s' (bound %lld)", name, (long long)bound);
    return 0;
  }
  ir_id c = ox_reshape(cx, count, 0, NULL);
  if (ir_set_symbol(&cx->b, c, k) == IR_NONE) return 0;
  return e;
}

ir_id ox_slice_axis_to(ox_ctx *cx, ir_id x, int axis, ir_dexpr limit) {
  if (x == IR_NONE || !limit) return IR_NONE;
  ir_shape s = ox_shape(cx, x);
  ir_dexpr start[IR_MAX_RANK], lim[IR_MAX_RANK];
  for (int i = 0; i < s.rank; i++) {
    start[i] = ir_dexpr_const(cx->m, 0);
    lim[i] = i == axis ? limit : ir_shape_dim(cx->m, &s, i);
  }
  return ox_slice_sym(cx, x, start, lim, NULL);
}

/* x[idx] for 1-D x and 1-D idx (static sizes). */
static ir_id gather1(ox_ctx *cx, ir_id x, ir_id idx) {
  ir_gather_dims g;
  memset(&g, 0, sizeof g);
  g.index_vector_dim = 1;
  g.nstart_map = g.ncollapsed = 1;
  g.slice_sizes[0] = 1;
  return ir_gather(&cx->b, x, idx, &g);
}

/* Rows x[idx[i], :] of a [A, R] matrix, idx 1-D. */
static ir_id gather_rows(ox_ctx *cx, ir_id x, ir_id idx) {
  ir_shape s = ox_shape(cx, x);
  ir_gather_dims g;
  memset(&g, 0, sizeof g);
  g.index_vector_dim = 1;
  g.nstart_map = g.ncollapsed = 1;
  g.slice_sizes[0] = 1;
  g.slice_sizes[1] = s.dims[1];
  g.noffset = 1;
  g.offset_dims[0] = 1;
  return ir_gather(&cx->b, x, idx, &g);
}

static bool done(ox_node *n, ir_id r) {
  n->out[0] = r;
  return r != IR_NONE;
}

static ir_id iota1(ox_ctx *cx, int64_t len) { return ir_iota(&cx->b, ir_shape_make(IR_I64, 1, &len), 0); }

/* The 1-D sort of keys carrying `carry` along (stable, ascending): the
 * carried values in key order. */
static ir_id sort_carry(ox_ctx *cx, ir_id keys, ir_id carry) {
  ir_id ops[2] = {keys, carry};
  return ir_get_tuple_element(&cx->b, ir_sort(&cx->b, 2, ops, 0, false), 1);
}

/* The positions of the true entries of the 1-D mask first, ascending,
 * then bound + i for the false ones (distinct keys, so the order is
 * unique); *count the number of true entries (an i64 scalar). */
static ir_id compact(ox_ctx *cx, ir_id mask, ir_id *count) {
  int64_t len = ox_shape(cx, mask).dims[0];
  ir_id i = iota1(cx, len);
  ir_id keys = ir_select(&cx->b, mask, i, ir_binary(&cx->b, IR_OP_ADD, i, ox_full_like(cx, i, IR_I64, (double)len)));
  int64_t zero = 0;
  *count = ir_reduce(&cx->b, ir_convert(&cx->b, mask, IR_I64), 1, &zero, IR_COMB_ADD);
  return ir_sort(&cx->b, 1, &keys, 0, false);
}

/* Refuses symbolic dimensions of input i: the bounds below come from
 * static sizes. */
static bool static_input(ox_ctx *cx, const ox_node *n, int i, const char *what) {
  return ox_refuse_symbolic(cx, n, n->in[i], 0, IR_MAX_RANK - 1, what,
                            "the bound of the data-dependent result size is taken from static sizes");
}

/* ---- NonZero ---- */

/* Rows r of the result are (p / stride_r) mod dims_r for the compacted
 * flat positions p, computed at the bound (every element) and then cut to
 * the count. A scalar counts as shape [1], as NumPy's nonzero does. */
bool ox_nonzero_dynamic(ox_ctx *cx, ox_node *n) {
  if (!static_input(cx, n, 0, "the input")) return false;
  ir_shape s = ox_shape(cx, n->in[0]);
  int64_t total = ir_shape_elements(&s), strides[IR_MAX_RANK], dims[IR_MAX_RANK];
  int rank = s.rank ? s.rank : 1;
  if (s.rank) {
    ir_shape_strides(&s, strides);
    memcpy(dims, s.dims, sizeof dims);
  } else {
    strides[0] = 1;
    dims[0] = 1;
  }
  ir_id flat = ox_reshape(cx, n->in[0], 1, &total);
  ir_id mask = ir_compare(&cx->b, IR_CMP_NE, flat, ox_full_like(cx, flat, s.type, 0));
  ir_id count;
  ir_id pos = compact(cx, mask, &count);
  int64_t rd[2] = {rank, total}, map1 = 1, map0 = 0;
  ir_id p = ir_broadcast(&cx->b, pos, 2, rd, &map1);
  ir_id st = ir_broadcast(&cx->b, ox_const_i64(cx, rank, strides), 2, rd, &map0);
  ir_id dm = ir_broadcast(&cx->b, ox_const_i64(cx, rank, dims), 2, rd, &map0);
  ir_id rows = ir_binary(&cx->b, IR_OP_REM, ir_binary(&cx->b, IR_OP_DIV, p, st), dm);
  ir_dexpr e = ox_computed_size(cx, n, count, total, "count");
  n->out[0] = ox_slice_axis_to(cx, rows, 1, e);
  return n->out[0] != IR_NONE;
}

void ox_gather_axis_dims(const ir_shape *s, int axis, ir_gather_dims *g) {
  memset(g, 0, sizeof *g);
  g->index_vector_dim = 1;
  g->nstart_map = g->ncollapsed = 1;
  g->start_index_map[0] = g->collapsed_slice_dims[0] = axis;
  for (int i = 0; i < s->rank; i++) g->slice_sizes[i] = i == axis ? 1 : s->dims[i];
  for (int i = 0; i < s->rank; i++)
    if (i != axis) g->offset_dims[g->noffset++] = i;
}

/* ---- Compress ---- */

/* The positions along `axis` whose condition is true (among the first
 * min(len, size) entries), gathered at the bound and cut to the count.
 * x has already been flattened when the node has no axis. */
bool ox_compress_dynamic(ox_ctx *cx, ox_node *n, ir_id x, int axis) {
  ir_shape s = ox_shape(cx, x), sc = ox_shape(cx, n->in[1]);
  int64_t d = s.dims[axis], len = sc.dims[0] < d ? sc.dims[0] : d;
  ir_id cond = ox_slice_axis(cx, n->in[1], 0, 0, len, 1);
  ir_id count;
  ir_id pos = compact(cx, cond, &count);
  ir_gather_dims g;
  ox_gather_axis_dims(&s, axis, &g);
  /* gather puts the index dimension first among the batch dimensions,
   * offset dimensions keep their place: the result is x's shape with the
   * axis of size len. */
  ir_id all = ir_gather(&cx->b, x, pos, &g);
  ir_dexpr e = ox_computed_size(cx, n, count, len, "count");
  n->out[0] = ox_slice_axis_to(cx, all, axis, e);
  return n->out[0] != IR_NONE;
}

/* ---- Unique ---- */

/* x moved so that the slices along `axis` are the rows of an [A, R]
 * matrix (row-major order of the other dimensions, as NumPy compares
 * them); the flattened input as [E, 1] without an axis. */
static ir_id unique_rows(ox_ctx *cx, ir_id x, int axis, int64_t *a, int64_t *r) {
  ir_shape s = ox_shape(cx, x);
  if (axis < 0) {
    *a = ir_shape_elements(&s);
    *r = 1;
  } else {
    int64_t perm[IR_MAX_RANK];
    perm[0] = axis;
    for (int i = 0, k = 1; i < s.rank; i++)
      if (i != axis) perm[k++] = i;
    bool id = true;
    for (int i = 0; i < s.rank; i++) id = id && perm[i] == i;
    if (!id) x = ir_transpose(&cx->b, x, perm);
    *a = s.dims[axis];
    *r = 1;
    for (int i = 0; i < s.rank; i++)
      if (i != axis) *r *= s.dims[i];
  }
  int64_t d2[2] = {*a, *r};
  return ox_reshape(cx, x, 2, d2);
}

/* Unique (opset 11): see the file comment. With A rows of R values:
 * 1. a stable lexicographic sort of the rows (one stable sort per column,
 *    last column first) gives perm (sorted position -> original row);
 * 2. a run starts where a sorted row differs from the one before; the
 *    number of runs is the computed size U; the run id of each sorted row
 *    is the prefix count of starts, minus 1;
 * 3. the run starts compacted give, per run, its first sorted position:
 *    Y is that row, indices its original row (the stable sort keeps the
 *    first occurrence first), counts the distance to the next start;
 * 4. inverse_indices: the run id of each original row, through the
 *    inverse permutation of perm;
 * 5. sorted=0 reorders the runs by their first index (another sort).
 * Everything is computed at A entries; Y, indices and counts are cut to U
 * at the end. */
static bool lower_unique(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1) || !static_input(cx, n, 0, "input X")) return false;
  bool ok = true, has_axis = ox_attr(n, "axis") != NULL;
  int64_t axis = ox_attr_int(cx, n, "axis", 0, &ok), sorted = ox_attr_int(cx, n, "sorted", 1, &ok);
  if (!ok) return false;
  ir_id x = n->in[0];
  ir_shape s = ox_shape(cx, x);
  if (!ir_type_is_float(s.type) && !ir_type_is_int(s.type))
    return ox_error(cx, n, "input X has type %s; a numeric type is needed", ir_type_name(s.type));
  if (has_axis && !ox_axis(cx, n, axis, s.rank, false, &axis)) return false;
  if (!has_axis) axis = -1;
  int64_t a, r;
  ir_id rows = unique_rows(cx, x, (int)axis, &a, &r);
  if (rows == IR_NONE) return false;
  ir_id perm = iota1(cx, a);
  for (int64_t c = r - 1; c >= 0 && a > 0; c--) {
    ir_id col = ox_reshape(cx, ox_slice_axis(cx, rows, 1, c, c + 1, 1), 1, &a);
    /* The first pass sorts the rows in their own order. */
    perm = sort_carry(cx, c == r - 1 ? col : gather1(cx, col, perm), perm);
  }
  ir_id srows = a > 0 ? gather_rows(cx, rows, perm) : rows;
  ir_id start;
  if (a > 1 && r == 0) {
    ir_id i = iota1(cx, a); /* rows of no values are all equal: one run */
    start = ir_compare(&cx->b, IR_CMP_EQ, i, ox_full_like(cx, i, IR_I64, 0));
  } else if (a > 1) {
    int64_t one = 1;
    /* prev[i] = srows[i - 1] (prev[0] = srows[0], equal to itself). */
    ir_id parts[2] = {ox_slice_axis(cx, srows, 0, 0, 1, 1), ox_slice_axis(cx, srows, 0, 0, a - 1, 1)};
    ir_id prev = ir_concatenate(&cx->b, 2, parts, 0);
    ir_id ne = ir_compare(&cx->b, IR_CMP_NE, srows, prev);
    if (ir_type_is_float(s.type)) {
      /* NaNs are equal here, as in NumPy's unique (the sort puts them last,
       * together): differ = a != b unless both are NaN. */
      ir_id a_num = ir_compare(&cx->b, IR_CMP_EQ, srows, srows), b_num = ir_compare(&cx->b, IR_CMP_EQ, prev, prev);
      ne = ir_binary(&cx->b, IR_OP_AND, ne, ir_binary(&cx->b, IR_OP_OR, a_num, b_num));
    }
    ir_id diff = ir_convert(&cx->b, ne, IR_I64);
    ir_id any = ir_reduce(&cx->b, diff, 1, &one, IR_COMB_MAX);
    ir_id first = ir_compare(&cx->b, IR_CMP_EQ, iota1(cx, a), ox_full_like(cx, any, IR_I64, 0));
    start = ir_binary(&cx->b, IR_OP_OR, first, ir_compare(&cx->b, IR_CMP_NE, any, ox_full_like(cx, any, IR_I64, 0)));
  } else {
    start = ir_broadcast(&cx->b, ir_constant_i(&cx->b, IR_PRED, 1), 1, &a, NULL);
  }
  ir_id count;
  ir_id keys = compact(cx, start, &count); /* run starts first, then >= a */
  ir_id big = ox_full_like(cx, keys, IR_I64, (double)a);
  /* Run id of each sorted row: inclusive prefix count of starts, minus 1. */
  ir_id runid;
  if (a > 0) {
    ir_window w;
    memset(&w, 0, sizeof w);
    w.rank = 1;
    w.d[0] = (ir_window_dim){a, 1, a - 1, 0, 1, 1};
    runid = ir_binary(&cx->b, IR_OP_SUB, ir_reduce_window(&cx->b, ir_convert(&cx->b, start, IR_I64), &w, IR_COMB_ADD),
                      ox_full_like(cx, big, IR_I64, 1));
  } else {
    runid = big;
  }
  /* Per run u (u < U): its first sorted position keys[u], the next run's
   * (or a for the last), its row and original index. Entries u >= U are
   * clamped junk that the final slice drops. */
  ir_id startpos = ir_binary(&cx->b, IR_OP_MIN, keys, ox_full_like(cx, keys, IR_I64, (double)(a > 0 ? a - 1 : 0)));
  ir_id next = keys;
  if (a > 0) {
    ir_id last = ox_full_like(cx, ox_slice_axis(cx, keys, 0, 0, 1, 1), IR_I64, (double)a);
    ir_id parts[2] = {ox_slice_axis(cx, keys, 0, 1, a, 1), last};
    next = ir_concatenate(&cx->b, 2, parts, 0);
  }
  ir_id counts = ir_binary(&cx->b, IR_OP_SUB, ir_binary(&cx->b, IR_OP_MIN, next, big), startpos);
  ir_id y = a > 0 ? gather_rows(cx, srows, startpos) : rows;
  ir_id first = a > 0 ? gather1(cx, perm, startpos) : perm;
  /* inverse permutation of perm: the sorted position of each row. */
  ir_id where = a > 0 ? sort_carry(cx, perm, iota1(cx, a)) : perm;
  ir_id inverse = a > 0 ? gather1(cx, runid, where) : runid;
  if (!sorted && a > 0) {
    /* Runs in order of first occurrence: the runs past U get keys after
     * every real index. */
    ir_id u = iota1(cx, a);
    ir_id valid = ir_compare(&cx->b, IR_CMP_LT, keys, big);
    ir_id fkey = ir_select(&cx->b, valid, first, ir_binary(&cx->b, IR_OP_ADD, u, big));
    ir_id order = sort_carry(cx, fkey, u);     /* new position -> run */
    ir_id rank = sort_carry(cx, order, u);     /* run -> new position */
    y = gather_rows(cx, y, order);
    first = gather1(cx, first, order);
    counts = gather1(cx, counts, order);
    inverse = gather1(cx, rank, inverse);
  }
  ir_dexpr e = ox_computed_size(cx, n, count, a, "count");
  if (!e) return false;
  /* Y back to x's layout: [U, other dims...] with the axis moved back. */
  ir_id yy;
  if (axis < 0) {
    yy = ox_slice_axis_to(cx, ox_reshape(cx, y, 1, &a), 0, e);
  } else {
    int64_t od[IR_MAX_RANK], perm_back[IR_MAX_RANK];
    od[0] = a;
    for (int i = 0, k = 1; i < s.rank; i++)
      if (i != axis) od[k++] = s.dims[i];
    /* moved dimension k (0 the axis, then the others in order) goes back
     * to its place: result dimension i is moved dimension perm_back[i]. */
    for (int i = 0; i < s.rank; i++) perm_back[i] = i == axis ? 0 : i < axis ? i + 1 : i;
    ir_id t = ox_reshape(cx, y, s.rank, od);
    bool id = true;
    for (int i = 0; i < s.rank; i++) id = id && perm_back[i] == i;
    if (!id) t = ir_transpose(&cx->b, t, perm_back);
    yy = ox_slice_axis_to(cx, t, (int)axis, e);
  }
  n->out[0] = yy;
  if (n->nout > 1) n->out[1] = ox_slice_axis_to(cx, first, 0, e);
  if (n->nout > 2) n->out[2] = inverse;
  if (n->nout > 3) n->out[3] = ox_slice_axis_to(cx, counts, 0, e);
  for (int i = 0; i < n->nout && i < 4; i++)
    if (n->out[i] == IR_NONE) return false;
  return true;
}

/* ---- NonMaxSuppression ---- */

/* State of the greedy loop over the score-sorted positions i of every
 * (batch, class) at once: the loop counter, the kept mask, the number
 * kept so far per (batch, class), then loop invariants (the sorted box
 * corners and areas, the score-threshold mask, max_output_boxes_per_class
 * and iou_threshold). */
enum { NMS_I, NMS_KEEP, NMS_NKEPT, NMS_LO0, NMS_LO1, NMS_HI0, NMS_HI1, NMS_AREA, NMS_VALID, NMS_MAX, NMS_IOU, NMS_N };

/* A new computation with parameters of the shapes of init[0..NMS_N);
 * returns it, its parameters in p. */
static ir_comp *nms_comp(ox_ctx *cx, const char *what, const ir_id *init, ir_builder *b, ir_id *p) {
  const char *name = ir_fresh_name(cx->m, what);
  ir_comp *c = name ? ir_comp_add(cx->m, name, false) : NULL;
  if (!c) return NULL;
  ir_builder_init(b, cx->m, c, cx->d);
  for (int k = 0; k < NMS_N; k++)
    if ((p[k] = ir_parameter(b, k, *ir_shape_of(cx->c, init[k]), NULL)) == IR_NONE) return NULL;
  return c;
}

static int nms_finish(ox_ctx *cx, ir_comp *c, ir_id root) {
  if (!c || root == IR_NONE) return -1;
  c->root = root;
  return ir_comp_canonicalize(cx->m, c) ? ir_module_find_comp(cx->m, c->name) : -1;
}

/* The loop body: position i of every (batch, class) is kept when its score
 * passes the threshold, fewer than max_output boxes are kept yet, and no
 * kept box overlaps it with IoU > iou_threshold. Sorted by score, the
 * kept boxes are exactly the earlier positions, so one pass in order is
 * ONNX's greedy selection. */
static int nms_body(ox_ctx *cx, const ir_id *init, int64_t bb, int64_t cc, int64_t nn) {
  ir_builder b;
  ir_id p[NMS_N];
  ir_comp *c = nms_comp(cx, "nms_body", init, &b, p);
  if (!c) return -1;
  ir_type t = ir_shape_of(c, p[NMS_LO0])->type;
  int64_t d3[3] = {bb, cc, nn}, d2[2] = {bb, cc}, sz[3] = {bb, cc, 1}, map01[2] = {0, 1};
  ir_id zero = ir_constant_i(&b, IR_I64, 0);
  ir_id starts[3] = {zero, zero, p[NMS_I]};
  ir_id at[NMS_N]; /* position i's value of the [B, C, N] state, over all N */
  for (int k = NMS_LO0; k <= NMS_VALID; k++) {
    ir_id v = ir_reshape(&b, ir_dynamic_slice(&b, p[k], starts, sz), 2, d2);
    at[k] = k == NMS_VALID ? v : ir_broadcast(&b, v, 3, d3, map01);
  }
  ir_id fzero = ir_broadcast(&b, ir_constant_f(&b, t, 0), 3, d3, NULL);
  ir_id ih = ir_binary(&b, IR_OP_MAX, fzero,
                       ir_binary(&b, IR_OP_SUB, ir_binary(&b, IR_OP_MIN, p[NMS_HI0], at[NMS_HI0]),
                                 ir_binary(&b, IR_OP_MAX, p[NMS_LO0], at[NMS_LO0])));
  ir_id iw = ir_binary(&b, IR_OP_MAX, fzero,
                       ir_binary(&b, IR_OP_SUB, ir_binary(&b, IR_OP_MIN, p[NMS_HI1], at[NMS_HI1]),
                                 ir_binary(&b, IR_OP_MAX, p[NMS_LO1], at[NMS_LO1])));
  ir_id inter = ir_binary(&b, IR_OP_MUL, ih, iw);
  ir_id uni = ir_binary(&b, IR_OP_SUB, ir_binary(&b, IR_OP_ADD, p[NMS_AREA], at[NMS_AREA]), inter);
  /* Boxes that do not overlap never suppress each other, whatever the
   * threshold (as ONNX Runtime's check); overlapping boxes have a
   * positive union. */
  ir_id iou = ir_binary(&b, IR_OP_DIV, inter, uni);
  ir_id over = ir_binary(&b, IR_OP_AND, ir_compare(&b, IR_CMP_GT, inter, fzero),
                         ir_compare(&b, IR_CMP_GT, iou, ir_broadcast(&b, p[NMS_IOU], 3, d3, NULL)));
  ir_id sup = ir_convert(&b, ir_binary(&b, IR_OP_AND, p[NMS_KEEP], over), IR_I64);
  int64_t two = 2;
  ir_id any = ir_reduce(&b, sup, 1, &two, IR_COMB_MAX);
  ir_id free_ = ir_compare(&b, IR_CMP_EQ, any, ir_broadcast(&b, zero, 2, d2, NULL));
  ir_id room = ir_compare(&b, IR_CMP_LT, p[NMS_NKEPT], ir_broadcast(&b, p[NMS_MAX], 2, d2, NULL));
  ir_id take = ir_binary(&b, IR_OP_AND, at[NMS_VALID], ir_binary(&b, IR_OP_AND, free_, room));
  ir_id here = ir_compare(&b, IR_CMP_EQ, ir_iota(&b, ir_shape_make(IR_I64, 3, d3), 2),
                          ir_broadcast(&b, p[NMS_I], 3, d3, NULL));
  ir_id next[NMS_N];
  memcpy(next, p, sizeof next);
  next[NMS_I] = ir_binary(&b, IR_OP_ADD, p[NMS_I], ir_constant_i(&b, IR_I64, 1));
  ir_id kept_here = ir_binary(&b, IR_OP_AND, here, ir_broadcast(&b, take, 3, d3, map01));
  next[NMS_KEEP] = ir_binary(&b, IR_OP_OR, p[NMS_KEEP], kept_here);
  next[NMS_NKEPT] = ir_binary(&b, IR_OP_ADD, p[NMS_NKEPT], ir_convert(&b, take, IR_I64));
  return nms_finish(cx, c, ir_tuple(&b, NMS_N, next));
}

static int nms_cond(ox_ctx *cx, const ir_id *init, int64_t nn) {
  ir_builder b;
  ir_id p[NMS_N];
  ir_comp *c = nms_comp(cx, "nms_cond", init, &b, p);
  return c ? nms_finish(cx, c, ir_compare(&b, IR_CMP_LT, p[NMS_I], ir_constant_i(&b, IR_I64, nn))) : -1;
}

/* An optional scalar input i (a scalar or one-element tensor) as a scalar
 * of type t, or dflt when absent. */
static ir_id scalar_input(ox_ctx *cx, const ox_node *n, int i, ir_type t, double dflt, const char *what) {
  if (i >= n->nin || n->in[i] == IR_NONE) return ox_scalar(cx, t, dflt);
  ir_shape s = ox_shape(cx, n->in[i]);
  if (!ir_shape_is_static(&s) || ir_shape_elements(&s) != 1 || s.type == IR_PRED) {
    ox_error(cx, n, "%s must hold one number", what);
    return IR_NONE;
  }
  return ir_convert(&cx->b, ox_reshape(cx, n->in[i], 0, NULL), t);
}

/* NonMaxSuppression (10, 11): per (batch, class), boxes in decreasing
 * score order (ties: lower index first), skipping those whose score is
 * not above score_threshold (when given), selecting each that overlaps no
 * selected box with IoU > iou_threshold, up to max_output_boxes_per_class.
 * The scores are sorted together with the box corners; a while loop over
 * the N sorted positions selects for all (batch, class) pairs at once;
 * the kept positions are compacted into [batch, class, box] rows. The
 * number of rows is a computed size bounded by B * C * min(N, max) (max a
 * constant) or B * C * N. */
static bool lower_nms(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2) || !static_input(cx, n, 0, "input boxes") || !static_input(cx, n, 1, "input scores"))
    return false;
  bool ok = true;
  int64_t center = ox_attr_int(cx, n, "center_point_box", 0, &ok);
  if (!ok) return false;
  if (center != 0 && center != 1)
    return ox_error(cx, n, "center_point_box must be 0 or 1, not %lld", (long long)center);
  ir_shape sb = ox_shape(cx, n->in[0]), ss = ox_shape(cx, n->in[1]);
  if (!ir_type_is_float(sb.type) || ss.type != sb.type)
    return ox_error(cx, n, "boxes and scores must have the same floating-point type (%s, %s)", ir_type_name(sb.type),
                    ir_type_name(ss.type));
  if (sb.rank != 3 || sb.dims[2] != 4 || ss.rank != 3 || ss.dims[0] != sb.dims[0] || ss.dims[2] != sb.dims[1])
    return ox_error(cx, n, "boxes must be [batches, boxes, 4] and scores [batches, classes, boxes]");
  int64_t bb = ss.dims[0], cc = ss.dims[1], nn = ss.dims[2], d3[3] = {bb, cc, nn};
  int64_t maxc = nn; /* the bound per (batch, class) */
  if (n->nin > 2 && n->in[2] != IR_NONE && ox_is_const(cx, n->in[2])) {
    int64_t v;
    if (ox_const_ints(cx, n, n->in[2], &v, 1, "max_output_boxes_per_class") != 1)
      return ox_error(cx, n, "max_output_boxes_per_class must hold one integer");
    maxc = v < 0 ? 0 : v < nn ? v : nn;
  }
  if (n->nin <= 2 || n->in[2] == IR_NONE || maxc == 0 || bb * cc * nn == 0) {
    /* Nothing can be selected (max_output_boxes_per_class absent is 0). */
    int64_t d[2] = {0, 3}, none = 0;
    return done(n, ir_constant(&cx->b, ir_shape_make(IR_I64, 2, d), &none));
  }
  ir_type t = sb.type;
  ir_id maxo = ir_convert(&cx->b, ox_reshape(cx, n->in[2], 0, NULL), IR_I64);
  ir_id iou_thr = scalar_input(cx, n, 3, t, 0, "iou_threshold");
  bool has_score = n->nin > 4 && n->in[4] != IR_NONE;
  ir_id score_thr = has_score ? scalar_input(cx, n, 4, t, 0, "score_threshold") : IR_NONE;
  /* Corners lo <= hi along both coordinate pairs (0, 2) and (1, 3) of the
   * corner format, or from centre and size. */
  int64_t d2[2] = {bb, nn}, map02[2] = {0, 2};
  ir_id a[4];
  for (int k = 0; k < 4; k++) a[k] = ox_reshape(cx, ox_slice_axis(cx, n->in[0], 2, k, k + 1, 1), 2, d2);
  ir_id corner[4]; /* lo0, lo1, hi0, hi1 */
  for (int k = 0; k < 2; k++) {
    if (center) {
      ir_id half = ir_binary(&cx->b, IR_OP_DIV, a[k + 2], ox_full_like(cx, a[k + 2], t, 2));
      corner[k] = ir_binary(&cx->b, IR_OP_SUB, a[k], half);
      corner[k + 2] = ir_binary(&cx->b, IR_OP_ADD, a[k], half);
    } else {
      corner[k] = ir_binary(&cx->b, IR_OP_MIN, a[k], a[k + 2]);
      corner[k + 2] = ir_binary(&cx->b, IR_OP_MAX, a[k], a[k + 2]);
    }
  }
  /* Sort each (batch, class) by score, descending and stable, carrying the
   * box index and its corners. */
  ir_id ops[6];
  ops[0] = n->in[1];
  ops[1] = ir_iota(&cx->b, ir_shape_make(IR_I64, 3, d3), 2);
  for (int k = 0; k < 4; k++) ops[k + 2] = ir_broadcast(&cx->b, corner[k], 3, d3, map02);
  ir_id sorted = ir_sort(&cx->b, 6, ops, 2, true);
  ir_id el[6];
  for (int k = 0; k < 6; k++) el[k] = ir_get_tuple_element(&cx->b, sorted, k);
  ir_id init[NMS_N];
  init[NMS_I] = ox_scalar(cx, IR_I64, 0);
  init[NMS_KEEP] = ir_broadcast(&cx->b, ir_constant_i(&cx->b, IR_PRED, 0), 3, d3, NULL);
  init[NMS_NKEPT] = ir_broadcast(&cx->b, ox_scalar(cx, IR_I64, 0), 2, d3, NULL); /* [B, C] */
  init[NMS_LO0] = el[2];
  init[NMS_LO1] = el[3];
  init[NMS_HI0] = el[4];
  init[NMS_HI1] = el[5];
  init[NMS_AREA] = ir_binary(&cx->b, IR_OP_MUL, ir_binary(&cx->b, IR_OP_SUB, el[4], el[2]),
                             ir_binary(&cx->b, IR_OP_SUB, el[5], el[3]));
  init[NMS_VALID] = has_score ? ir_compare(&cx->b, IR_CMP_GT, el[0], ir_broadcast(&cx->b, score_thr, 3, d3, NULL))
                              : ir_broadcast(&cx->b, ir_constant_i(&cx->b, IR_PRED, 1), 3, d3, NULL);
  init[NMS_MAX] = maxo;
  init[NMS_IOU] = iou_thr;
  for (int k = 0; k < NMS_N; k++)
    if (init[k] == IR_NONE) return false;
  int cond = nms_cond(cx, init, nn), body = nms_body(cx, init, bb, cc, nn);
  if (cond < 0 || body < 0) return false;
  ir_id keep = ir_get_tuple_element(&cx->b, ir_while(&cx->b, (uint32_t)cond, (uint32_t)body, NMS_N, init), NMS_KEEP);
  /* Kept positions in (batch, class, score order) order -> rows. */
  int64_t total = bb * cc * nn, one[2] = {total, 1};
  ir_id count;
  ir_id pos = compact(cx, ox_reshape(cx, keep, 1, &total), &count);
  ir_id box = gather1(cx, ox_reshape(cx, el[1], 1, &total), pos);
  ir_id cn = ox_full_like(cx, pos, IR_I64, (double)(cc * nn)), nv = ox_full_like(cx, pos, IR_I64, (double)nn);
  ir_id bi = ir_binary(&cx->b, IR_OP_DIV, pos, cn);
  ir_id ci = ir_binary(&cx->b, IR_OP_REM, ir_binary(&cx->b, IR_OP_DIV, pos, nv),
                       ox_full_like(cx, pos, IR_I64, (double)cc));
  ir_id cols[3] = {ox_reshape(cx, bi, 2, one), ox_reshape(cx, ci, 2, one), ox_reshape(cx, box, 2, one)};
  ir_id rows = ir_concatenate(&cx->b, 3, cols, 1);
  ir_dexpr e = ox_computed_size(cx, n, count, bb * cc * maxc, "count");
  return done(n, ox_slice_axis_to(cx, rows, 0, e));
}

/* ---- sizes that no input shape bounds: Range, ConstantOfShape ---- */

/* The lowerings of these ops are in ops_index.c; what they share with the
 * ops above is here. Their result sizes are run-time values with no bound
 * the importer can derive (any range length, any shape entry), so the
 * user names the node's output in --max-shape, and buffers are planned
 * for that bound. */

bool ox_value_bound(ox_ctx *cx, const ox_node *n, int rank, int64_t *dims, const char *inputs) {
  const char *out = n->p->n_output > 0 ? n->p->output[0] : "";
  const onnx_binding *b = out[0] ? ox_output_bound(cx, out) : NULL;
  char eg[64] = ""; /* NxN... for the rank */
  for (int i = 0, k = 0; i < rank && k < (int)sizeof eg - 8; i++)
    k += snprintf(eg + k, sizeof eg - (size_t)k, "%sN", i ? "x" : "");
  const char *each = rank == 1 ? "N: the most elements it may have" : "each N: the largest that entry may be";
  if (!b && !out[0])
    return ox_error(cx, n, "its output size depends on run-time values; give the output a name, then bound it with "
                    "--max-shape NAME=%s (%s)", eg, each);
  if (!b) {
    /* "must be known at compile time, but it depends on graph input 'a'"
     * is what kiln test-onnx reads to freeze the inputs named. */
    bool named = inputs && inputs[0];
    return ox_error(cx, n, "the %s of output '%s' must be known at compile time, but it depends on %s%s; bound it "
                    "with --max-shape %s=%s (%s), or freeze the input%s to values (kiln import --input-value "
                    "NAME=FILE.npy)", rank == 1 ? "size" : "shape", out, named ? "graph input " : "run-time values",
                    named ? inputs : "", out, eg, each, named && strchr(inputs, ',') ? "s" : "");
  }
  if (b->rank != rank)
    return ox_error(cx, n, "--max-shape %s= gives %d dimension%s, but output '%s' has rank %d (--max-shape %s=%s)",
                    out, b->rank, b->rank == 1 ? "" : "s", out, rank, out, eg);
  for (int i = 0; i < rank; i++) dims[i] = b->dims[i];
  return true;
}

/* ceil((limit - start) / delta) for i64 scalars when the range goes from
 * start towards limit (else 0), exactly: the distance and |delta| in u64
 * (no overflow for any int64 values: INT64_MIN to INT64_MAX is 2^64 - 1),
 * the quotient rounded up, then saturated at INT64_MAX so that a range
 * longer than any bound is refused by set_symbol rather than wrapped. */
static ir_id range_len_i64(ox_ctx *cx, ir_id start, ir_id limit, ir_id delta) {
  ir_id zero = ox_scalar(cx, IR_I64, 0), uzero = ox_scalar(cx, IR_U64, 0);
  ir_id up = ir_compare(&cx->b, IR_CMP_GT, limit, start), pos = ir_compare(&cx->b, IR_CMP_GT, delta, zero);
  ir_id towards = ir_binary(&cx->b, IR_OP_AND, ir_compare(&cx->b, IR_CMP_EQ, up, pos),
                            ir_compare(&cx->b, IR_CMP_NE, delta, zero));
  ir_id us = ir_convert(&cx->b, start, IR_U64), ul = ir_convert(&cx->b, limit, IR_U64);
  ir_id ud = ir_convert(&cx->b, delta, IR_U64);
  ir_id dist = ir_select(&cx->b, up, ir_binary(&cx->b, IR_OP_SUB, ul, us), ir_binary(&cx->b, IR_OP_SUB, us, ul));
  ir_id mag = ir_select(&cx->b, pos, ud, ir_binary(&cx->b, IR_OP_SUB, uzero, ud));
  mag = ir_binary(&cx->b, IR_OP_MAX, mag, ox_scalar(cx, IR_U64, 1)); /* delta 0: not towards anyway */
  ir_id q = ir_binary(&cx->b, IR_OP_DIV, dist, mag);
  ir_id more = ir_compare(&cx->b, IR_CMP_NE, ir_binary(&cx->b, IR_OP_REM, dist, mag), uzero);
  q = ir_binary(&cx->b, IR_OP_ADD, q, ir_convert(&cx->b, more, IR_U64));
  q = ir_binary(&cx->b, IR_OP_MIN, q, ir_constant_i(&cx->b, IR_U64, INT64_MAX)); /* exact, unlike a double */
  return ir_select(&cx->b, towards, ir_convert(&cx->b, q, IR_I64), zero);
}

/* Range of run-time scalars: the length max(0, ceil((limit - start) /
 * delta)) computed in the IR (integers in i64, exactly; floats in their
 * type, as ONNX's reference computes it, then converted: a NaN gives 0,
 * an infinity saturates and set_symbol refuses it), 0 when delta is 0 (the
 * spec leaves that undefined); the values start + i * delta at the bound,
 * cut to the length. */
bool ox_range_dynamic(ox_ctx *cx, ox_node *n, ir_type t, int64_t bound) {
  ir_id v[3];
  for (int i = 0; i < 3; i++) {
    ir_shape s = ox_shape(cx, n->in[i]);
    if (!ir_shape_is_static(&s) || ir_shape_elements(&s) != 1)
      return ox_error(cx, n, "start, limit and delta must be scalars");
    v[i] = ox_reshape(cx, n->in[i], 0, NULL);
  }
  if (!ox_check_size(cx, n, t, 1, &bound)) return false;
  ir_id len;
  if (ir_type_is_float(t)) {
    ir_id q = ir_binary(&cx->b, IR_OP_DIV, ir_binary(&cx->b, IR_OP_SUB, v[1], v[0]), v[2]);
    len = ir_convert(&cx->b, ir_unary(&cx->b, IR_OP_CEIL, q), IR_I64);
  } else {
    ir_id w[3];
    for (int i = 0; i < 3; i++) w[i] = ir_convert(&cx->b, v[i], IR_I64);
    len = range_len_i64(cx, w[0], w[1], w[2]);
  }
  ir_id zero = ox_scalar(cx, IR_I64, 0);
  len = ir_binary(&cx->b, IR_OP_MAX, len, zero);
  len = ir_select(&cx->b, ir_compare(&cx->b, IR_CMP_EQ, v[2], ox_scalar(cx, t, 0)), zero, len);
  ir_dexpr e = ox_computed_size(cx, n, len, bound, "len");
  if (!e) return false;
  ir_id i = ir_iota(&cx->b, ir_shape_make(t, 1, &bound), 0);
  ir_id start = ir_broadcast(&cx->b, v[0], 1, &bound, NULL), delta = ir_broadcast(&cx->b, v[2], 1, &bound, NULL);
  ir_id all = ir_binary(&cx->b, IR_OP_ADD, start, ir_binary(&cx->b, IR_OP_MUL, i, delta));
  return done(n, ox_slice_axis_to(cx, all, 0, e));
}

const ox_op ox_ops_datashape[] = {
    {"Unique", 11, lower_unique, NULL, {1, 1}, {1, 4}, "axis:i sorted:i", 0},
    {"NonMaxSuppression", 10, lower_nms, NULL, {2, 5}, {1, 1}, "center_point_box:i", 0},
    {0},
};

/* ---- shapes given by run-time values: Reshape, Unsqueeze, Squeeze ---- */

/* The callers (ops_tensor.c) compute the result's dimensions as i64
 * scalars in the IR and their own validity rules; what they share is here.
 * The checks run before any size is set: every dimension goes through an
 * assert of the whole predicate, so whichever set_symbol runs first
 * already stops a bad shape with the node's message, rather than one
 * naming a symbol's range. Each dimension is a computed size bounded by
 * `bound` (the caller's, when it knows better: Unsqueeze's and Squeeze's
 * dimensions are x's own or 1), else by the element count E: with a
 * product of E > 0, no dimension exceeds E. With E = 0 any shape holding a
 * 0 is valid; the bound is then the largest dimension of x (at least 1),
 * which covers the shapes that reorder or regroup x's own dimensions (an
 * empty [0, 3, 4] to [3, 4, 0]); a larger entry is refused at run time by
 * set_symbol, naming the size and its bound. The bounds are independent,
 * so buffers are planned for bound^rank elements: a large E reshaped to a
 * high rank is refused at import (ox_check_size). */
ir_id ox_reshape_computed(ox_ctx *cx, const ox_node *n, ir_id x, int rank, const ir_id *dims, int64_t bound, ir_id ok,
                          const char *what) {
  if (x == IR_NONE || ok == IR_NONE) return IR_NONE;
  ir_builder *b = &cx->b;
  ir_shape s = ox_shape(cx, x);
  int64_t total = ir_shape_elements(&s);
  if (bound <= 0 && total > 0) bound = total;
  if (bound <= 0) {
    bound = 1;
    for (int i = 0; i < s.rank; i++) bound = s.dims[i] > bound ? s.dims[i] : bound;
  }
  /* The product in f64: exact up to 2^53, and a product past that is
   * never rounded down to E (an element count kiln accepts). */
  ir_id zero = ox_scalar(cx, IR_I64, 0), prod = ox_scalar(cx, IR_F64, 1);
  for (int i = 0; i < rank; i++) {
    if (dims[i] == IR_NONE) return IR_NONE;
    ok = ir_binary(b, IR_OP_AND, ok, ir_compare(b, IR_CMP_GE, dims[i], zero));
    prod = ir_binary(b, IR_OP_MUL, prod, ir_convert(b, dims[i], IR_F64));
  }
  ok = ir_binary(b, IR_OP_AND, ok, ir_compare(b, IR_CMP_EQ, prod, ox_scalar(cx, IR_F64, (double)total)));
  char nm[300], msg[1024];
  snprintf(msg, sizeof msg, "node %s (%s): %s", ox_node_name(n, nm, sizeof nm), n->p->op_type ? n->p->op_type : "?",
           what);
  if (rank == 0) {
    if (total != 1) {
      ox_error(cx, n, "the result is a scalar, but the data has %lld elements", (long long)total);
      return IR_NONE;
    }
    return ir_assert(b, ok, ox_reshape(cx, x, 0, NULL), msg);
  }
  /* The gather's index array has one dimension more than the result. */
  if (rank >= IR_MAX_RANK) {
    ox_unsupported(cx, n, "a result of rank %d whose dimensions are read at run time is not supported (at most %d); "
                   "give the shape as a constant", rank, IR_MAX_RANK - 1);
    return IR_NONE;
  }
  /* Buffers are planned at the bounds, which are independent: bound^rank
   * elements of the result plus as many i64 indices. Past a practical
   * size (2^28 elements, 3 GiB for f32 data) the plan cannot be run. */
  double planned = 1;
  for (int i = 0; i < rank; i++) planned *= (double)bound;
  if (planned > (double)(1 << 28)) {
    ox_unsupported(cx, n, "its result's dimensions are read at run time, and kiln plans the result for every shape up "
                   "to %lld in each of its %d dimensions (%.3g elements): too large; give the shape as a constant (or "
                   "freeze the input it is computed from)", (long long)bound, rank, planned);
    return IR_NONE;
  }
  int64_t idims[IR_MAX_RANK + 1] = {0}, bounds[IR_MAX_RANK];
  for (int i = 0; i < rank; i++) bounds[i] = bound;
  if (!ox_check_size(cx, n, s.type, rank, bounds)) return IR_NONE; /* the buffers are planned at the bounds */
  idims[rank] = 1;
  ir_shape t = ir_shape_make(s.type, rank, idims), ti = ir_shape_make(IR_I64, rank + 1, idims);
  ir_id d[IR_MAX_RANK];
  for (int i = 0; i < rank; i++) {
    char suffix[16];
    snprintf(suffix, sizeof suffix, "d%d", i);
    d[i] = ir_assert(b, ok, dims[i], msg);
    ir_dexpr e = d[i] == IR_NONE ? 0 : ox_computed_size(cx, n, d[i], bound, suffix);
    if (!e || !ox_set_dim(cx, n, &t, i, e, "the result shape") || !ox_set_dim(cx, n, &ti, i, e, "the index shape"))
      return IR_NONE;
  }
  /* Nothing to read: a gather of single elements needs one. */
  if (total == 0) return ox_broadcast_shape(cx, ox_scalar(cx, s.type, 0), &t, NULL);
  /* Linear index sum_j iota_j * stride_j (row-major strides of the
   * result, from the run-time dimensions), one gather from flat x. */
  ir_id stride = ox_scalar(cx, IR_I64, 1), lin = IR_NONE;
  for (int i = rank - 1; i >= 0; i--) {
    ir_id part = ir_binary(b, IR_OP_MUL, ir_iota(b, ti, i), ox_broadcast_shape(cx, stride, &ti, NULL));
    lin = lin == IR_NONE ? part : ir_binary(b, IR_OP_ADD, lin, part);
    stride = ir_binary(b, IR_OP_MUL, stride, d[i]);
  }
  ir_gather_dims g;
  memset(&g, 0, sizeof g);
  g.index_vector_dim = rank;
  g.nstart_map = g.ncollapsed = 1;
  g.slice_sizes[0] = 1;
  return ir_gather(b, ox_reshape(cx, x, 1, &total), lin, &g);
}
