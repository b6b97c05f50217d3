/* Constant, Identity, Dropout (inference: identity), and other glue ops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/ox.h"
#include "kiln/kiln.h"

static bool lower_identity(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  n->out[0] = n->in[0];
  return true;
}

/* Dropout in inference is the identity; its optional mask output is all
 * true (bool from opset 10; before, the input's type). Training mode is
 * refused: from opset 12 a true training_mode input; before opset 7 an
 * is_test=0 node that asks for the mask. (is_test defaults to 0, i.e.
 * training, but exporters of inference graphs left it so: without a mask
 * such a node is taken as the identity.) */
static bool lower_dropout(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  bool ok = true;
  if (n->opset < 7 && !ox_attr_int(cx, n, "is_test", 0, &ok) && n->nout > 1)
    return ox_unsupported(cx, n, "training-mode Dropout (is_test=0 with a mask output) is not supported");
  if (n->opset >= 12 && n->nin > 2 && n->in[2] != IR_NONE) {
    double train;
    if (!ox_const_scalar_f(cx, n, n->in[2], &train, "the 'training_mode' input")) return false;
    if (train != 0) return ox_unsupported(cx, n, "training-mode Dropout (random) is not supported");
  }
  if (!ok) return false;
  n->out[0] = n->in[0];
  if (n->nout > 1) n->out[1] = ox_full_like(cx, n->in[0], n->opset >= 10 ? IR_PRED : ox_shape(cx, n->in[0]).type, 1);
  return true;
}

static bool lower_constant(ox_ctx *cx, ox_node *n) {
  bool ok = true;
  const Onnx__AttributeProto *a;
  if ((a = ox_attr(n, "value"))) {
    if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR || !a->t) return ox_error(cx, n, "attribute 'value' must be a tensor");
    ir_shape s;
    void *data;
    char nm[512], what[600];
    snprintf(what, sizeof what, "node %s (Constant, opset %d): attribute 'value'", ox_node_name(n, nm, sizeof nm),
             n->opset);
    if (ox_tensor_data(a->t, cx->base_dir, what, &s, &data, cx->d) != KILN_OK) return false;
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
  const Onnx__AttributeProto *v = ox_attr(n, "value");
  if (v && v->t && v->t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__STRING)
    return ox_error(cx, n, "string constants are not supported (attribute 'value' is a STRING tensor)");
  return true;
}

const ox_op ox_ops_misc[] = {
    {"Identity", 1, lower_identity, NULL, {1, 1}, {1, 1}, NULL, 25},
    {"Dropout", 1, lower_dropout, NULL, {1, 3}, {1, 2}, "consumed_inputs:I@-5 is_test:i@-6 ratio:f@-11 seed:i@12-", 22},
    {"Constant", 1, lower_constant, check_constant, {0, 0}, {1, 1},
         "sparse_value:p@11- value:t value_float:f@12- value_floats:F@12- value_int:i@12- value_ints:I@12- "
         "value_string:s@12- value_strings:S@12-", 25},
    {0},
};
