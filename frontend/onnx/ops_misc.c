/* Constant, Identity, Dropout (inference: identity), and other glue ops. */
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/ox.h"
#include "kiln/kiln.h"

static bool lower_identity(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  n->out[0] = n->in[0];
  /* Dropout's optional mask output: all true in inference. */
  if (n->nout > 1) n->out[1] = ox_full_like(cx, n->in[0], IR_PRED, 1);
  return true;
}

static bool lower_constant(ox_ctx *cx, ox_node *n) {
  bool ok = true;
  const Onnx__AttributeProto *a;
  if ((a = ox_attr(n, "value"))) {
    if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR || !a->t) return ox_error(cx, n, "attribute 'value' must be a tensor");
    ir_shape s;
    void *data;
    if (ox_tensor_data(a->t, cx->base_dir, "attribute 'value'", &s, &data, cx->d) != KILN_OK) return false;
    n->out[0] = ir_constant(&cx->b, s, data);
    free(data);
  } else if ((a = ox_attr(n, "value_float"))) {
    n->out[0] = ox_scalar(cx, IR_F32, ox_attr_float(cx, n, "value_float", 0, &ok));
  } else if ((a = ox_attr(n, "value_int"))) {
    n->out[0] = ir_constant_i(&cx->b, IR_I64, ox_attr_int(cx, n, "value_int", 0, &ok));
  } else if ((a = ox_attr(n, "value_floats"))) {
    if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS) return ox_error(cx, n, "attribute 'value_floats' must be floats");
    int64_t d = (int64_t)a->n_floats;
    n->out[0] = ir_constant(&cx->b, ir_shape_make(IR_F32, 1, &d), a->floats);
  } else if ((a = ox_attr(n, "value_ints"))) {
    if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS) return ox_error(cx, n, "attribute 'value_ints' must be ints");
    int64_t d = (int64_t)a->n_ints;
    n->out[0] = ir_constant(&cx->b, ir_shape_make(IR_I64, 1, &d), a->ints);
  } else {
    return ox_error(cx, n, "needs one of the attributes value, value_float(s), value_int(s)");
  }
  return ok && n->out[0] != IR_NONE;
}

static bool check_constant(ox_ctx *cx, const ox_node *n) {
  if (ox_attr(n, "sparse_value")) return ox_error(cx, n, "sparse constants are not supported");
  if (ox_attr(n, "value_string") || ox_attr(n, "value_strings")) return ox_error(cx, n, "string constants are not supported");
  return true;
}

const ox_op ox_ops_misc[] = {
    {"Identity", OX_MIN_OPSET, lower_identity, NULL},
    {"Dropout", OX_MIN_OPSET, lower_identity, NULL},
    {"Constant", OX_MIN_OPSET, lower_constant, check_constant},
    {NULL, 0, NULL, NULL},
};
