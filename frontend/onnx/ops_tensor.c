/*
 * Shape and data-movement ONNX ops: Reshape, Shape, and (to come) Flatten,
 * Squeeze, Unsqueeze, Transpose, Concat, Split, Slice, Gather, ...
 */
#include <string.h>

#include "frontend/onnx/ox.h"

/* Reshape (opset 5+: shape as an input; 0 copies a dimension unless
 * allowzero, -1 is inferred). */
static bool lower_reshape(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  bool ok = true;
  int64_t allowzero = n->opset >= 14 ? ox_attr_int(cx, n, "allowzero", 0, &ok) : 0;
  int64_t dims[IR_MAX_RANK];
  int r = ox_const_ints(cx, n, n->in[1], dims, IR_MAX_RANK, "the 'shape' input");
  if (r < 0 || !ok) return false;
  const ir_shape *s = ox_shape(cx, n->in[0]);
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < r; i++) {
    if (dims[i] == 0 && !allowzero) {
      if (i >= s->rank) return ox_error(cx, n, "shape entry %d is 0 (copy) but the input has rank %d", i, s->rank);
      dims[i] = s->dims[i];
    }
    if (dims[i] == -1) {
      if (infer >= 0) return ox_error(cx, n, "the shape has more than one -1");
      infer = i;
    } else if (dims[i] < 0) {
      return ox_error(cx, n, "shape entry %d is %lld", i, (long long)dims[i]);
    } else {
      known *= dims[i];
    }
  }
  int64_t total = ir_shape_elements(s);
  if (infer >= 0) {
    if (known == 0 || total % known) return ox_error(cx, n, "cannot infer the -1 dimension: %lld elements do not divide by %lld", (long long)total, (long long)known);
    dims[infer] = total / known;
  }
  n->out[0] = ox_reshape(cx, n->in[0], r, dims);
  return n->out[0] != IR_NONE;
}

/* Shape: a constant (static shapes), optionally sliced (opset 15). */
static bool lower_shape(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  const ir_shape *s = ox_shape(cx, n->in[0]);
  bool ok = true;
  int64_t start = 0, end = s->rank;
  if (n->opset >= 15) {
    start = ox_attr_int(cx, n, "start", 0, &ok);
    end = ox_attr_int(cx, n, "end", s->rank, &ok);
    if (!ok) return false;
    if (start < 0) start += s->rank;
    if (end < 0) end += s->rank;
    if (start < 0) start = 0;
    if (end > s->rank) end = s->rank;
    if (end < start) end = start;
  }
  n->out[0] = ox_const_i64(cx, (int)(end - start), s->dims + start);
  return n->out[0] != IR_NONE;
}

const ox_op ox_ops_tensor[] = {
    {"Reshape", 5, lower_reshape, NULL},
    {"Shape", OX_MIN_OPSET, lower_shape, NULL},
    {NULL, 0, NULL, NULL},
};
