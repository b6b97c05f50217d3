/*
 * Neural-network ONNX ops: MatMul and (to come) Gemm, Conv, ConvTranspose,
 * pooling, normalisations, softmax.
 */
#include <string.h>

#include "frontend/onnx/ox.h"

/* NumPy matmul: 1-D operands gain and then lose a dimension; batch
 * dimensions broadcast. A rank-2 right operand under a batched left one
 * becomes one big GEMM (contract the last dimension, no batch dims). */
static bool lower_matmul(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  ir_id a = n->in[0], b = n->in[1];
  const ir_shape *sa = ox_shape(cx, a), *sb = ox_shape(cx, b);
  if (sa->type != sb->type) return ox_error(cx, n, "input types differ: %s and %s", ir_type_name(sa->type), ir_type_name(sb->type));
  if (sa->rank == 0 || sb->rank == 0) return ox_error(cx, n, "inputs must have rank >= 1");
  int ra = sa->rank, rb = sb->rank;
  int64_t da[IR_MAX_RANK + 1], db[IR_MAX_RANK + 1];
  memcpy(da, sa->dims, sizeof(int64_t) * (size_t)ra);
  memcpy(db, sb->dims, sizeof(int64_t) * (size_t)rb);
  bool vec_a = ra == 1, vec_b = rb == 1;
  if (vec_a) {
    da[1] = da[0];
    da[0] = 1;
    ra = 2;
    a = ox_reshape(cx, a, ra, da);
  }
  if (vec_b) {
    db[1] = 1;
    rb = 2;
    b = ox_reshape(cx, b, rb, db);
  }
  if (da[ra - 1] != db[rb - 2])
    return ox_error(cx, n, "inner dimensions differ: %lld vs %lld", (long long)da[ra - 1], (long long)db[rb - 2]);
  ir_id r;
  int64_t out[IR_MAX_RANK + 1];
  int ro;
  if (rb == 2) {
    ir_dot_dims d;
    memset(&d, 0, sizeof d);
    d.ncontract = 1;
    d.lhs_contract[0] = ra - 1;
    d.rhs_contract[0] = 0;
    r = ir_dot(&cx->b, a, b, &d, IR_TUPLE);
    ro = ra;
    memcpy(out, da, sizeof(int64_t) * (size_t)ra);
    out[ra - 1] = db[1];
  } else {
    /* Broadcast the batch dimensions of both to a common shape. */
    int nb = (ra > rb ? ra : rb) - 2;
    int64_t batch[IR_MAX_RANK];
    for (int i = 0; i < nb; i++) {
      int ia = i - (nb - (ra - 2)), ib = i - (nb - (rb - 2));
      int64_t x = ia >= 0 ? da[ia] : 1, y = ib >= 0 ? db[ib] : 1;
      if (x != y && x != 1 && y != 1)
        return ox_error(cx, n, "batch dimensions do not broadcast (%lld vs %lld)", (long long)x, (long long)y);
      batch[i] = x == 1 ? y : x;
    }
    int64_t ta[IR_MAX_RANK], tb[IR_MAX_RANK];
    memcpy(ta, batch, sizeof(int64_t) * (size_t)nb);
    memcpy(tb, batch, sizeof(int64_t) * (size_t)nb);
    ta[nb] = da[ra - 2];
    ta[nb + 1] = da[ra - 1];
    tb[nb] = db[rb - 2];
    tb[nb + 1] = db[rb - 1];
    a = ox_broadcast_to(cx, n, a, nb + 2, ta);
    b = ox_broadcast_to(cx, n, b, nb + 2, tb);
    ir_dot_dims d;
    memset(&d, 0, sizeof d);
    d.nbatch = nb;
    for (int i = 0; i < nb; i++) d.lhs_batch[i] = d.rhs_batch[i] = i;
    d.ncontract = 1;
    d.lhs_contract[0] = nb + 1;
    d.rhs_contract[0] = nb;
    r = ir_dot(&cx->b, a, b, &d, IR_TUPLE);
    ro = nb + 2;
    memcpy(out, batch, sizeof(int64_t) * (size_t)nb);
    out[nb] = ta[nb];
    out[nb + 1] = tb[nb + 1];
  }
  /* Drop the dimensions added for 1-D operands. */
  int64_t fin[IR_MAX_RANK];
  int rf = 0;
  for (int i = 0; i < ro; i++) {
    if (vec_a && i == ro - 2) continue;
    if (vec_b && i == ro - 1) continue;
    fin[rf++] = out[i];
  }
  n->out[0] = (vec_a || vec_b) ? ox_reshape(cx, r, rf, fin) : r;
  return n->out[0] != IR_NONE;
}

const ox_op ox_ops_nn[] = {
    {"MatMul", OX_MIN_OPSET, lower_matmul, NULL},
    {NULL, 0, NULL, NULL},
};
