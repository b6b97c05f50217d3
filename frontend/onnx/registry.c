/*
 * The op registry: joins the tables of the ops_*.c files. Lookup is by op
 * type in the default domain; the lowering itself reads the node's opset.
 */
#include <string.h>

#include "frontend/onnx/ox.h"

static const ox_op *const tables[] = {
    ox_ops_elementwise, ox_ops_tensor, ox_ops_nn,     ox_ops_reduce,    ox_ops_misc,      ox_ops_conv,
    ox_ops_activation,  ox_ops_index,  ox_ops_quant,  ox_ops_signal,    ox_ops_einsum,    ox_ops_resize,
    ox_ops_loss,        ox_ops_rnn,    ox_ops_norm,   ox_ops_pointwise, ox_ops_attention, ox_ops_control,
    ox_ops_spatial,     ox_ops_sequence, ox_ops_datashape,
};

const ox_op *ox_find_op(const char *op_type) {
  for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
    for (const ox_op *op = tables[t]; op->op_type; op++)
      if (!strcmp(op->op_type, op_type)) return op;
  return NULL;
}

const ox_op *ox_op_index(size_t i) {
  for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
    for (const ox_op *op = tables[t]; op->op_type; op++)
      if (!i--) return op;
  return NULL;
}
