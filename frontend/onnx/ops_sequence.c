/*
 * Sequences and optionals: SequenceConstruct, SequenceEmpty, SequenceAt,
 * SequenceInsert, SequenceErase, SequenceLength, SplitToSequence,
 * ConcatFromSequence, SequenceMap, Optional, OptionalHasElement and
 * OptionalGetElement (docs/onnx-import.md, "Sequences and optionals").
 *
 * kiln's IR has static shapes and no sequence type, so these values live
 * only at import time: a "box" (ox.h) is a list of the IR values of its
 * elements, each a tensor of its own static shape, known element by element
 * while importing. Every op whose positions are import-time constants is
 * then exact and leaves no trace in the IR but the element values it
 * selects: SequenceAt is the element, SequenceLength and
 * OptionalHasElement constants, SplitToSequence slices, ConcatFromSequence
 * one concatenate, SequenceMap its body lowered once per element.
 *
 * What would need a sequence at run time is refused naming the value: a
 * position that is not an import-time constant, a sequence or optional as
 * graph input or output, or as the state of a Loop or Scan (import.c and
 * ops_control.c call the guards here).
 */
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/ox.h"
#include "ir/symbolic.h"

/* A sequence or optional value. Boxes never change once made: an op that
 * "modifies" a sequence makes a new box. */
typedef struct ox_box {
  bool optional; /* else a sequence */
  ir_comp *c;    /* the computation its elements live in */
  /* Element type of a sequence (a tensor's), for SequenceInsert's check;
   * typed is false for an optional, or a sequence of unknown type. */
  bool typed;
  ir_type type;
  uint32_t n;   /* elements; an optional has 0 (empty) or 1 */
  ir_id *items; /* malloc'd; a tensor id, or for an optional a box id */
} ox_box;

static ox_box *box_of(ox_ctx *cx, ir_id v) { return &cx->boxes[v & ~OX_BOX_BIT]; }

const char *ox_box_what(ox_ctx *cx, ir_id v) {
  if (!ox_is_box(v) || (v & ~OX_BOX_BIT) >= cx->nboxes) return "a tensor";
  return box_of(cx, v)->optional ? "an optional" : "a sequence";
}

void ox_boxes_free(ox_ctx *cx) {
  for (uint32_t i = 0; i < cx->nboxes; i++) free(cx->boxes[i].items);
  free(cx->boxes);
  cx->boxes = NULL;
  cx->nboxes = cx->capboxes = 0;
}

/* A new box holding items[0..n) (copied); its id, or IR_NONE after
 * reporting. `type` is the element type of a sequence when typed. */
static ir_id box_new(ox_ctx *cx, const ox_node *n, bool optional, bool typed, ir_type type, uint32_t count,
                     const ir_id *items) {
  if (cx->nboxes >= OX_BOX_BIT - 1) {
    ox_unsupported(cx, n, "too many sequence and optional values");
    return IR_NONE;
  }
  if (cx->nboxes == cx->capboxes) {
    uint32_t cap = cx->capboxes ? 2 * cx->capboxes : 16;
    ox_box *b = realloc(cx->boxes, cap * sizeof *b);
    if (!b) {
      ox_error(cx, n, "out of memory");
      return IR_NONE;
    }
    cx->boxes = b;
    cx->capboxes = cap;
  }
  ir_id *copy = malloc((count + 1) * sizeof *copy);
  if (!copy) {
    ox_error(cx, n, "out of memory");
    return IR_NONE;
  }
  if (count) memcpy(copy, items, count * sizeof *copy);
  cx->boxes[cx->nboxes] = (ox_box){optional, cx->c, typed, type, count, copy};
  return OX_BOX_BIT | cx->nboxes++;
}

/* The ops of this file's table take boxes; so does Identity (from
 * Identity-14 on sequences, -16 optionals), whose lowering passes its
 * input through unchanged. */
static bool takes_boxes(const ox_op *op) {
  for (const ox_op *o = ox_ops_sequence; o->op_type; o++)
    if (o == op) return true;
  return !strcmp(op->op_type, "Identity");
}

/* Whether op is in table t (ended by {0}). */
static bool in_table(const ox_op *op, const ox_op *t) {
  for (; t->op_type; t++)
    if (t == op) return true;
  return false;
}

/* Whether op's lowering keeps symbolic dimensions (ir/symbolic.h) right,
 * or refuses them itself: the tables whose every lowering was reviewed for
 * them (ops_tensor.c and ops_index.c handle theirs), and single ops of
 * the others. Any other op given a symbolic input is refused in
 * ox_lower_node: a lowering that reads dims alone would take a symbolic
 * size for its bound, a wrong answer at every other binding. */
static bool symbolic_ok(const ox_op *op) {
  static const char *const reviewed[] = {"MatMul", "Gemm", "BatchNormalization", "InstanceNormalization",
                                         "LayerNormalization", "LRN", "MeanVarianceNormalization", "Identity",
                                         "Dropout", "Constant", "LpNormalization", "RMSNormalization",
                                         "GroupNormalization", NULL};
  if (in_table(op, ox_ops_elementwise) || in_table(op, ox_ops_activation) || in_table(op, ox_ops_pointwise) ||
      in_table(op, ox_ops_conv) || in_table(op, ox_ops_reduce) || in_table(op, ox_ops_tensor) ||
      in_table(op, ox_ops_index))
    return true;
  for (int i = 0; reviewed[i]; i++)
    if (!strcmp(op->op_type, reviewed[i])) return true;
  return false;
}

bool ox_lower_node(ox_ctx *cx, const ox_op *op, ox_node *n) {
  if (!symbolic_ok(op)) {
    for (int i = 0; i < n->nin; i++) {
      if (n->in[i] == IR_NONE || ox_is_box(n->in[i])) continue;
      const ir_shape s = ox_shape(cx, n->in[i]);
      if (!ox_is_symbolic(&s)) continue;
      char b[160];
      return ox_unsupported(cx, n, "input %d ('%s') is %s: this op's lowering does not handle symbolic dimensions "
                            "yet; fix them with --input-shape", i, n->p->input[i], ir_shape_str_m(cx->m, &s, b, sizeof b));
    }
  }
  if (!takes_boxes(op)) {
    for (int i = 0; i < n->nin; i++) {
      if (!ox_is_box(n->in[i])) continue;
      const char *name = n->p->input[i], *what = ox_box_what(cx, n->in[i]);
      if (!strcmp(op->op_type, "Loop") || !strcmp(op->op_type, "Scan"))
        return ox_unsupported(cx, n, "input %d ('%s') is %s: kiln does not support sequences or optionals as the "
                              "state or inputs of a Loop or Scan (a sequence that changes in a loop has a length known "
                              "only at run time, which needs dynamic shapes)", i, name, what);
      return ox_unsupported(cx, n, "input %d ('%s') is %s; kiln's sequences and optionals exist only at import time, "
                            "as inputs of the sequence and optional ops and Identity", i, name, what);
    }
  }
  return op->lower(cx, n);
}

/* ---- reading inputs ---- */

/* Input i as a sequence (a box of cx->c); NULL after reporting. */
static const ox_box *seq_input(ox_ctx *cx, const ox_node *n, int i) {
  if (i >= n->nin || n->in[i] == IR_NONE) {
    ox_error(cx, n, "needs input %d, which is missing", i);
    return NULL;
  }
  ir_id v = n->in[i];
  if (!ox_is_box(v) || box_of(cx, v)->optional) {
    ox_error(cx, n, "input %d ('%s') must be a sequence, but it is %s", i, n->p->input[i], ox_box_what(cx, v));
    return NULL;
  }
  const ox_box *b = box_of(cx, v);
  if (b->c != cx->c) { /* ops_control.c refuses this earlier; a guard */
    ox_unsupported(cx, n, "input %d ('%s') is a sequence of another computation", i, n->p->input[i]);
    return NULL;
  }
  return b;
}

/* Input i as a tensor (not a box); IR_NONE after reporting. */
static ir_id tensor_input(ox_ctx *cx, const ox_node *n, int i) {
  if (i >= n->nin || n->in[i] == IR_NONE) {
    ox_error(cx, n, "needs input %d, which is missing", i);
    return IR_NONE;
  }
  if (ox_is_box(n->in[i])) {
    ox_error(cx, n, "input %d ('%s') must be a tensor, but it is %s", i, n->p->input[i], ox_box_what(cx, n->in[i]));
    return IR_NONE;
  }
  return n->in[i];
}

/* The position input i (a scalar int32/int64 known at import time),
 * normalised against a sequence of `len` elements: in [-len, len) when
 * !end_ok, in [-len, len] when end_ok (SequenceInsert may append). */
static bool position(ox_ctx *cx, const ox_node *n, int i, int64_t len, bool end_ok, int64_t *out) {
  ir_id v = tensor_input(cx, n, i);
  if (v == IR_NONE) return false;
  ir_shape s = ox_shape(cx, v);
  char b[160];
  if ((s.type != IR_I32 && s.type != IR_I64) || ir_shape_elements(&s) != 1)
    return ox_error(cx, n, "input 'position' ('%s') must be an int32 or int64 scalar, got %s", n->p->input[i],
                    ir_shape_str(&s, b, sizeof b));
  if (!ox_is_const(cx, v))
    return ox_unsupported(cx, n, "input 'position' ('%s') is not known at import time; kiln holds a sequence as a "
                          "list known while importing and needs positions in it as constants (a position known only "
                          "at run time needs dynamic shapes)", n->p->input[i]);
  int64_t p;
  if (ox_const_ints(cx, n, v, &p, 1, "input 'position'") != 1) return false;
  int64_t hi = end_ok ? len : len - 1;
  if (p < -len || p > hi)
    return ox_error(cx, n, "position %lld is out of range for a sequence of %lld elements (accepted: %lld to %lld)",
                    (long long)p, (long long)len, (long long)-len, (long long)hi);
  *out = p < 0 ? p + len : p;
  return true;
}

/* ---- the sequence ops ---- */

static bool lower_sequence_empty(ox_ctx *cx, ox_node *n) {
  bool ok = true;
  int64_t dt = ox_attr_int(cx, n, "dtype", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, &ok);
  if (!ok) return false;
  ir_type t;
  if (!ox_type_from_onnx((int32_t)dt, &t))
    return ox_unsupported(cx, n, "dtype %s is not supported", ox_onnx_type_name((int32_t)dt));
  return (n->out[0] = box_new(cx, n, false, true, t, 0, NULL)) != IR_NONE;
}

static bool lower_sequence_construct(ox_ctx *cx, ox_node *n) {
  ir_id xs[OX_MAX_IO];
  if (!ox_need_inputs(cx, n, 1)) return false;
  for (int i = 0; i < n->nin; i++) {
    if ((xs[i] = tensor_input(cx, n, i)) == IR_NONE) return false;
    ir_type t0 = ox_shape(cx, xs[0]).type, t = ox_shape(cx, xs[i]).type;
    if (t != t0)
      return ox_error(cx, n, "input %d ('%s') is %s but input 0 is %s; a sequence's tensors have one element type", i,
                      n->p->input[i], ir_type_name(t), ir_type_name(t0));
  }
  return (n->out[0] = box_new(cx, n, false, true, ox_shape(cx, xs[0]).type, (uint32_t)n->nin, xs)) != IR_NONE;
}

static bool lower_sequence_at(ox_ctx *cx, ox_node *n) {
  const ox_box *s = seq_input(cx, n, 0);
  int64_t p;
  if (!s || !position(cx, n, 1, s->n, false, &p)) return false;
  n->out[0] = s->items[p];
  return true;
}

static bool lower_sequence_insert(ox_ctx *cx, ox_node *n) {
  const ox_box *s = seq_input(cx, n, 0);
  ir_id x = s ? tensor_input(cx, n, 1) : IR_NONE;
  if (x == IR_NONE) return false;
  ir_type t = ox_shape(cx, x).type;
  if (s->typed && t != s->type)
    return ox_error(cx, n, "the tensor ('%s') is %s but the sequence holds %s", n->p->input[1], ir_type_name(t),
                    ir_type_name(s->type));
  int64_t p = s->n; /* default: at the back */
  if (n->nin > 2 && n->in[2] != IR_NONE && !position(cx, n, 2, s->n, true, &p)) return false;
  uint32_t len = s->n;
  ir_id *xs = malloc((len + 1) * sizeof *xs);
  if (!xs) return ox_error(cx, n, "out of memory");
  for (uint32_t i = 0, k = 0; i <= len; i++) xs[i] = i == (uint32_t)p ? x : s->items[k++];
  n->out[0] = box_new(cx, n, false, true, t, len + 1, xs); /* s may move: box_new reallocates */
  free(xs);
  return n->out[0] != IR_NONE;
}

static bool lower_sequence_erase(ox_ctx *cx, ox_node *n) {
  const ox_box *s = seq_input(cx, n, 0);
  if (!s) return false;
  if (s->n == 0) return ox_error(cx, n, "the sequence ('%s') is empty: there is nothing to erase", n->p->input[0]);
  int64_t p = (int64_t)s->n - 1; /* default: the last */
  if (n->nin > 1 && n->in[1] != IR_NONE && !position(cx, n, 1, s->n, false, &p)) return false;
  uint32_t len = s->n;
  bool typed = s->typed;
  ir_type t = s->type;
  ir_id *xs = malloc(len * sizeof *xs);
  if (!xs) return ox_error(cx, n, "out of memory");
  for (uint32_t i = 0, k = 0; i < len; i++)
    if (i != (uint32_t)p) xs[k++] = s->items[i];
  n->out[0] = box_new(cx, n, false, typed, t, len - 1, xs);
  free(xs);
  return n->out[0] != IR_NONE;
}

static bool lower_sequence_length(ox_ctx *cx, ox_node *n) {
  const ox_box *s = seq_input(cx, n, 0);
  if (!s) return false;
  return (n->out[0] = ox_scalar(cx, IR_I64, (double)s->n)) != IR_NONE;
}

/* SplitToSequence: slices of the input along `axis`. The split input, when
 * given, is a scalar (chunks of that length, the last one shorter when the
 * length does not divide evenly) or a 1-D list of lengths summing to the
 * dimension; it must be known at import time since it decides shapes.
 * Without it each slice has length 1 and keepdims=0 drops the axis. */
static bool lower_split_to_sequence(ox_ctx *cx, ox_node *n) {
  ir_id x = tensor_input(cx, n, 0);
  if (x == IR_NONE) return false;
  bool ok = true;
  int64_t axis = ox_attr_int(cx, n, "axis", 0, &ok), keepdims = ox_attr_int(cx, n, "keepdims", 1, &ok);
  if (!ok) return false;
  ir_shape xs = ox_shape(cx, x);
  if (!ox_axis(cx, n, axis, xs.rank, false, &axis)) return false;
  int64_t dim = xs.dims[axis];
  int64_t *lens = NULL;
  int64_t count = 0;
  bool drop = false;
  ir_id sp = n->nin > 1 ? n->in[1] : IR_NONE;
  if (sp == IR_NONE) {
    count = dim;
    drop = keepdims == 0;
    lens = malloc((size_t)(count + 1) * sizeof *lens);
    for (int64_t i = 0; lens && i < count; i++) lens[i] = 1;
  } else {
    if (ox_is_box(sp)) return ox_error(cx, n, "input 'split' must be a tensor, but it is %s", ox_box_what(cx, sp));
    ir_shape ss = ox_shape(cx, sp);
    char b[160];
    if ((ss.type != IR_I32 && ss.type != IR_I64) || ss.rank > 1)
      return ox_error(cx, n, "input 'split' must be an int32 or int64 scalar or 1-D tensor, got %s",
                      ir_shape_str(&ss, b, sizeof b));
    if (!ox_is_const(cx, sp))
      return ox_unsupported(cx, n, "input 'split' ('%s') is not known at import time; kiln needs the lengths of a "
                            "SplitToSequence's pieces as constants (they decide the shapes)", n->p->input[1]);
    int64_t m = ir_shape_elements(&ss);
    int64_t *v = malloc((size_t)(m + 1) * sizeof *v);
    if (!v) return ox_error(cx, n, "out of memory");
    if (ox_const_ints(cx, n, sp, v, (int)m, "input 'split'") != m) {
      free(v);
      return false;
    }
    if (ss.rank == 0) {
      int64_t c = v[0];
      free(v);
      if (c <= 0) return ox_error(cx, n, "a scalar split must be positive, got %lld", (long long)c);
      count = dim / c + (dim % c != 0);
      lens = malloc((size_t)(count + 1) * sizeof *lens);
      for (int64_t i = 0; lens && i < count; i++) lens[i] = i + 1 < count || dim % c == 0 ? c : dim % c;
    } else {
      int64_t sum = 0;
      for (int64_t i = 0; i < m; i++) {
        if (v[i] < 0 || v[i] > dim) {
          long long bad = (long long)v[i];
          free(v);
          return ox_error(cx, n, "split length %lld (entry %lld) is not in [0, %lld]", bad, (long long)i,
                          (long long)dim);
        }
        sum += v[i];
      }
      if (sum != dim) {
        free(v);
        return ox_error(cx, n, "the split lengths sum to %lld, but the input has %lld elements along axis %lld",
                        (long long)sum, (long long)dim, (long long)axis);
      }
      count = m;
      lens = v;
    }
  }
  if (!lens) return ox_error(cx, n, "out of memory");
  ir_id *items = malloc((size_t)(count + 1) * sizeof *items);
  if (!items) {
    free(lens);
    return ox_error(cx, n, "out of memory");
  }
  int64_t start = 0, dd[IR_MAX_RANK];
  for (int d = 0, k = 0; d < xs.rank; d++)
    if (d != axis) dd[k++] = xs.dims[d];
  for (int64_t i = 0; ok && i < count; i++) {
    ir_id piece = ox_slice_axis(cx, x, (int)axis, start, start + lens[i], 1);
    if (drop) piece = ox_reshape(cx, piece, xs.rank - 1, dd);
    start += lens[i];
    items[i] = piece;
    ok = piece != IR_NONE;
  }
  free(lens);
  n->out[0] = ok ? box_new(cx, n, false, true, xs.type, (uint32_t)count, items) : IR_NONE;
  free(items);
  return n->out[0] != IR_NONE;
}

/* ConcatFromSequence: the elements joined along `axis`, or with new_axis=1
 * stacked along a new dimension at `axis` (then in [-r-1, r]). */
static bool lower_concat_from_sequence(ox_ctx *cx, ox_node *n) {
  const ox_box *s = seq_input(cx, n, 0);
  if (!s) return false;
  bool ok = true;
  const Onnx__AttributeProto *a = ox_attr(n, "axis");
  int64_t axis = ox_attr_int(cx, n, "axis", 0, &ok), new_axis = ox_attr_int(cx, n, "new_axis", 0, &ok);
  if (!ok) return false;
  if (!a) return ox_error(cx, n, "needs the attribute 'axis'");
  if (new_axis != 0 && new_axis != 1) return ox_error(cx, n, "attribute new_axis=%lld must be 0 or 1", (long long)new_axis);
  if (s->n == 0)
    return ox_error(cx, n, "the sequence ('%s') is empty; ConcatFromSequence needs at least one tensor", n->p->input[0]);
  uint32_t len = s->n;
  ir_id *xs = malloc(len * sizeof *xs);
  if (!xs) return ox_error(cx, n, "out of memory");
  memcpy(xs, s->items, len * sizeof *xs);
  ir_shape s0 = ox_shape(cx, xs[0]);
  if (new_axis && s0.rank + 1 > IR_MAX_RANK) ok = ox_unsupported(cx, n, "a result of rank %d is too large", s0.rank + 1);
  if (ok) ok = ox_axis(cx, n, axis, s0.rank, new_axis != 0, &axis);
  for (uint32_t i = 0; ok && i < len; i++) {
    ir_shape si = ox_shape(cx, xs[i]);
    bool fits = si.type == s0.type && si.rank == s0.rank;
    for (int d = 0; fits && d < s0.rank; d++) fits = si.dims[d] == s0.dims[d] || (!new_axis && d == axis);
    char b1[160], b2[160];
    if (!fits)
      ok = ox_error(cx, n, "element %u of the sequence is %s but element 0 is %s; %s", i, ir_shape_str(&si, b1, sizeof b1),
                    ir_shape_str(&s0, b2, sizeof b2),
                    new_axis ? "stacking needs equal shapes" : "they may differ only along the concatenation axis");
    if (ok && new_axis) {
      int64_t dims[IR_MAX_RANK];
      for (int d = 0, k = 0; d <= s0.rank; d++) dims[d] = d == axis ? 1 : si.dims[k++];
      ok = (xs[i] = ox_reshape(cx, xs[i], s0.rank + 1, dims)) != IR_NONE;
    }
  }
  if (ok) n->out[0] = len == 1 ? xs[0] : ir_concatenate(&cx->b, (int)len, xs, axis);
  free(xs);
  return ok && n->out[0] != IR_NONE;
}

/* SequenceMap: the body applied to each element, unrolled (the length is
 * known at import time). Inputs that are sequences give the body their
 * i-th element (all of one length), tensors are given whole; output j is
 * the sequence of the body's output j. */
static bool lower_sequence_map(ox_ctx *cx, ox_node *n) {
  const ox_box *s0 = seq_input(cx, n, 0);
  if (!s0) return false;
  uint32_t len = s0->n;
  for (int i = 1; i < n->nin; i++) {
    if (n->in[i] == IR_NONE) return ox_error(cx, n, "input %d is missing", i);
    if (!ox_is_box(n->in[i])) continue;
    const ox_box *si = seq_input(cx, n, i);
    if (!si) return false;
    if (si->n != len)
      return ox_error(cx, n, "input %d ('%s') is a sequence of %u elements but input 0 has %u; the sequences of a "
                      "SequenceMap have one length", i, n->p->input[i], si->n, len);
  }
  ir_id *outs = malloc(((size_t)n->nout * len + 1) * sizeof *outs);
  if (!outs) return ox_error(cx, n, "out of memory");
  bool ok = true;
  bool typed[OX_MAX_IO] = {0};
  ir_type types[OX_MAX_IO] = {0};
  for (uint32_t e = 0; ok && e < len; e++) {
    ir_id in[OX_MAX_IO], out[OX_MAX_IO];
    /* Re-read boxes each time: lowering the body may make new ones (and
     * move cx->boxes). */
    for (int i = 0; i < n->nin; i++) in[i] = ox_is_box(n->in[i]) ? box_of(cx, n->in[i])->items[e] : n->in[i];
    ok = ox_inline_graph(cx, n, "body", n->nin, in, n->nout, out);
    for (int j = 0; ok && j < n->nout; j++) {
      if (ox_is_box(out[j]))
        ok = ox_unsupported(cx, n, "output %d of the body is %s for element %u; kiln supports SequenceMap bodies "
                            "that give tensors", j, ox_box_what(cx, out[j]), e);
      else {
        types[j] = ox_shape(cx, out[j]).type;
        typed[j] = true;
        outs[(size_t)j * len + e] = out[j];
      }
    }
  }
  /* An empty input gives empty outputs: their element type is the body's
   * output type, which a body never lowered does not tell. */
  for (int j = 0; ok && j < n->nout; j++)
    ok = (n->out[j] = box_new(cx, n, false, typed[j], types[j], len, outs + (size_t)j * len)) != IR_NONE;
  free(outs);
  return ok;
}

static bool check_sequence_map(ox_ctx *cx, const ox_node *n) { return ox_check_graph(cx, n, "body"); }

/* ---- optionals ---- */

/* Optional(x) holds x (a tensor or a sequence); Optional() with only the
 * 'type' attribute is empty. */
static bool lower_optional(ox_ctx *cx, ox_node *n) {
  ir_id x = n->nin > 0 ? n->in[0] : IR_NONE;
  if (x == IR_NONE) {
    const Onnx__AttributeProto *a = ox_attr(n, "type");
    if (!a || !a->tp) return ox_error(cx, n, "needs an input or the attribute 'type' (the type of an empty optional)");
    return (n->out[0] = box_new(cx, n, true, false, IR_F32, 0, NULL)) != IR_NONE;
  }
  if (ox_is_box(x) && box_of(cx, x)->optional)
    return ox_error(cx, n, "input ('%s') is an optional; an optional holds a tensor or a sequence", n->p->input[0]);
  return (n->out[0] = box_new(cx, n, true, false, IR_F32, 1, &x)) != IR_NONE;
}

/* Version 15 takes an optional; 18 also a tensor or sequence (present) or
 * no input at all (absent). */
static bool lower_optional_has_element(ox_ctx *cx, ox_node *n) {
  ir_id x = n->nin > 0 ? n->in[0] : IR_NONE;
  bool v18 = n->opset >= 18;
  bool has;
  if (x == IR_NONE) {
    if (!v18) return ox_error(cx, n, "needs its input (OptionalHasElement-15 has no optional input)");
    has = false;
  } else if (ox_is_box(x) && box_of(cx, x)->optional) {
    has = box_of(cx, x)->n > 0;
  } else if (v18) {
    has = true;
  } else {
    return ox_error(cx, n, "input ('%s') must be an optional, but it is %s (OptionalHasElement-18 accepts that)",
                    n->p->input[0], ox_box_what(cx, x));
  }
  return (n->out[0] = ox_scalar(cx, IR_PRED, has)) != IR_NONE;
}

/* Version 15 takes an optional; 18 also a tensor or sequence, returned as
 * it is. An empty optional is an error by the spec. */
static bool lower_optional_get_element(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  ir_id x = n->in[0];
  if (!ox_is_box(x) || !box_of(cx, x)->optional) {
    if (n->opset < 18)
      return ox_error(cx, n, "input ('%s') must be an optional, but it is %s (OptionalGetElement-18 accepts that)",
                      n->p->input[0], ox_box_what(cx, x));
    n->out[0] = x;
    return true;
  }
  const ox_box *b = box_of(cx, x);
  if (b->n == 0) return ox_error(cx, n, "the optional ('%s') is empty: it holds no element to get", n->p->input[0]);
  n->out[0] = b->items[0];
  return true;
}

/* Versions: every sequence op is as of opset 11 (SplitToSequence-24 only
 * adds element types), SequenceMap 17, Optional 15; OptionalHasElement-18
 * and OptionalGetElement-18 also take plain tensors and sequences. */
const ox_op ox_ops_sequence[] = {
    {"SequenceEmpty", 11, lower_sequence_empty, NULL, {0, 0}, {1, 1}, "dtype:i", 11},
    {"SequenceConstruct", 11, lower_sequence_construct, NULL, {1, OX_MAX_IO}, {1, 1}, NULL, 11},
    {"SequenceAt", 11, lower_sequence_at, NULL, {2, 2}, {1, 1}, NULL, 11},
    {"SequenceInsert", 11, lower_sequence_insert, NULL, {2, 3}, {1, 1}, NULL, 11},
    {"SequenceErase", 11, lower_sequence_erase, NULL, {1, 2}, {1, 1}, NULL, 11},
    {"SequenceLength", 11, lower_sequence_length, NULL, {1, 1}, {1, 1}, NULL, 11},
    {"SplitToSequence", 11, lower_split_to_sequence, NULL, {1, 2}, {1, 1}, "axis:i keepdims:i", 24},
    {"ConcatFromSequence", 11, lower_concat_from_sequence, NULL, {1, 1}, {1, 1}, "axis:i new_axis:i", 11},
    {"SequenceMap", 17, lower_sequence_map, check_sequence_map, {1, OX_MAX_IO}, {1, OX_MAX_IO}, "body:g", 17},
    {"Optional", 15, lower_optional, NULL, {0, 1}, {1, 1}, "type:y", 15},
    {"OptionalHasElement", 15, lower_optional_has_element, NULL, {0, 1}, {1, 1}, NULL, 18},
    {"OptionalGetElement", 15, lower_optional_get_element, NULL, {1, 1}, {1, 1}, NULL, 18},
    {0},
};
