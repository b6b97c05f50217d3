/*
 * Loss ONNX ops (opset 12+): NegativeLogLikelihoodLoss and
 * SoftmaxCrossEntropyLoss, for graphs that compute a loss at inference
 * time (evaluation, distillation).
 *
 * Both pick, for every sample position, the input at the target class:
 * a one-hot mask (iota over the class dimension compared with the
 * broadcast target) selects it and a sum over classes collapses the
 * dimension, so no gather is needed and the chain stays elementwise plus
 * one reduction. Per-class weights are picked the same way; positions whose
 * target is ignore_index get weight 0 (and a target outside [0, C) picks
 * nothing, i.e. 0, where ONNX leaves the result undefined). Reductions as
 * in ONNX's reference: 'none', 'sum', or 'mean' = sum of weighted losses /
 * sum of applied weights (the plain mean when neither weights nor
 * ignore_index are given).
 */
#include <string.h>

#include "frontend/onnx/ox.h"

typedef enum { RED_NONE, RED_SUM, RED_MEAN } loss_reduction;

static bool read_reduction(ox_ctx *cx, const ox_node *n, loss_reduction *out) {
  static const char *const names[] = {"none", "sum", "mean", NULL}; /* loss_reduction's order */
  int k = ox_attr_choice(cx, n, "reduction", "mean", names);
  if (k < 0) return false;
  *out = (loss_reduction)k;
  return true;
}

static bool check_loss(ox_ctx *cx, const ox_node *n) {
  loss_reduction r;
  return read_reduction(cx, n, &r);
}

/* The loss from log-probabilities lp [N, C, d...] (any float type),
 * target [N, d...] (integers) and optional weight [C]. */
static ir_id nll(ox_ctx *cx, const ox_node *n, ir_id lp, ir_id target, ir_id weight) {
  bool ok = true;
  loss_reduction red;
  if (!read_reduction(cx, n, &red)) return IR_NONE;
  const Onnx__AttributeProto *ia = ox_attr(n, "ignore_index");
  int64_t ignore = ox_attr_int(cx, n, "ignore_index", 0, &ok);
  if (!ok) return IR_NONE;
  ir_shape xs = ox_shape(cx, lp), ts = ox_shape(cx, target);
  ir_type t = xs.type;
  char b1[160], b2[160];
  if (!ir_type_is_float(t)) {
    ox_error(cx, n, "input 0 has type %s; a floating-point type is needed", ir_type_name(t));
    return IR_NONE;
  }
  if (!ir_type_is_int(ts.type)) {
    ox_error(cx, n, "input 1 (target) has type %s; an integer type is needed", ir_type_name(ts.type));
    return IR_NONE;
  }
  bool shape_ok = xs.rank >= 2 && ts.rank == xs.rank - 1 && ts.dims[0] == xs.dims[0];
  for (int i = 2; shape_ok && i < xs.rank; i++) shape_ok = ts.dims[i - 1] == xs.dims[i];
  if (!shape_ok) {
    ox_error(cx, n, "input 0 is %s and the target %s; [N, C, d...] and [N, d...] are needed", ir_shape_str(&xs, b1, sizeof b1),
             ir_shape_str(&ts, b2, sizeof b2));
    return IR_NONE;
  }
  int rank = xs.rank;
  int64_t c = xs.dims[1], one = 1;
  if (weight != IR_NONE) {
    ir_shape ws = ox_shape(cx, weight);
    if (ws.type != t || ws.rank != 1 || ws.dims[0] != c) {
      ox_error(cx, n, "input 2 (weight) is %s; %s[%lld] is needed", ir_shape_str(&ws, b1, sizeof b1), ir_type_name(t), (long long)c);
      return IR_NONE;
    }
  }
  /* One-hot mask over the class dimension. */
  int64_t xd[IR_MAX_RANK], map[IR_MAX_RANK];
  memcpy(xd, xs.dims, sizeof xd);
  for (int i = 0; i < rank - 1; i++) map[i] = i == 0 ? 0 : i + 1;
  ir_id tg = ts.type == IR_I64 ? target : ir_convert(&cx->b, target, IR_I64);
  ir_id tb = ir_broadcast(&cx->b, tg, rank, xd, map);
  ir_id hot = ir_compare(&cx->b, IR_CMP_EQ, ir_iota(&cx->b, ir_shape_make(IR_I64, rank, xd), 1), tb);
  ir_id zero = ox_full_like(cx, lp, t, 0);
  ir_id picked = ox_reduce(cx, ir_select(&cx->b, hot, lp, zero), 1, &one, IR_COMB_ADD, false);
  /* Weight per position: weight[target], zero where ignored. */
  ir_id w = IR_NONE;
  if (weight != IR_NONE)
    w = ox_reduce(cx, ir_select(&cx->b, hot, ox_broadcast_along(cx, weight, rank, xd, 1), zero), 1, &one, IR_COMB_ADD, false);
  if (ia) {
    ir_id keep = ir_compare(&cx->b, IR_CMP_NE, tg, ox_full_like(cx, tg, IR_I64, (double)ignore));
    ir_id z = ox_full_like(cx, tg, t, 0);
    w = ir_select(&cx->b, keep, w != IR_NONE ? w : ox_full_like(cx, tg, t, 1), z);
  }
  ir_id loss = ir_unary(&cx->b, IR_OP_NEG, picked);
  if (w != IR_NONE) loss = ir_binary(&cx->b, IR_OP_MUL, loss, w);
  if (red == RED_NONE || loss == IR_NONE) return loss;
  int64_t all[IR_MAX_RANK];
  for (int i = 0; i < rank - 1; i++) all[i] = i;
  ir_id sum = ox_reduce(cx, loss, rank - 1, all, IR_COMB_ADD, false);
  if (red == RED_SUM) return sum;
  ir_id den = w != IR_NONE ? ox_reduce(cx, w, rank - 1, all, IR_COMB_ADD, false)
                           : ox_scalar(cx, t, (double)ir_shape_elements(&ts));
  return ir_binary(&cx->b, IR_OP_DIV, sum, den);
}

static bool lower_nll(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  n->out[0] = nll(cx, n, n->in[0], n->in[1], n->nin > 2 ? n->in[2] : IR_NONE);
  return n->out[0] != IR_NONE;
}

/* SoftmaxCrossEntropyLoss: the NLL of log_softmax(scores) over dimension
 * 1 (numerically stable: the maximum is subtracted first); the optional
 * second output is those log-probabilities. */
static bool lower_sce(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  ir_id x = n->in[0];
  ir_shape xs = ox_shape(cx, x);
  if (!ir_type_is_float(xs.type)) return ox_error(cx, n, "input 0 has type %s; a floating-point type is needed", ir_type_name(xs.type));
  if (xs.rank < 2) return ox_error(cx, n, "input 0 has rank %d; [N, C, d...] is needed", xs.rank);
  int64_t one = 1;
  ir_id m = ox_unreduce(cx, ox_reduce(cx, x, 1, &one, IR_COMB_MAX, false), x, 1, &one);
  ir_id d = ir_binary(&cx->b, IR_OP_SUB, x, m);
  ir_id s = ox_reduce(cx, ir_unary(&cx->b, IR_OP_EXP, d), 1, &one, IR_COMB_ADD, false);
  ir_id lp = ir_binary(&cx->b, IR_OP_SUB, d, ox_unreduce(cx, ir_unary(&cx->b, IR_OP_LOG, s), x, 1, &one));
  if (lp == IR_NONE) return false;
  n->out[0] = nll(cx, n, lp, n->in[1], n->nin > 2 ? n->in[2] : IR_NONE);
  if (n->nout > 1) n->out[1] = lp;
  return n->out[0] != IR_NONE;
}

const ox_op ox_ops_loss[] = {
    {"NegativeLogLikelihoodLoss", 12, lower_nll, check_loss, {2, 3}, {1, 1}, "ignore_index:i reduction:s", 22},
    {"SoftmaxCrossEntropyLoss", 12, lower_sce, check_loss, {2, 3}, {1, 2}, "ignore_index:i reduction:s", 0},
    {0},
};
