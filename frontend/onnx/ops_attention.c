/*
 * Transformer ONNX ops of opsets 23 and 24: RotaryEmbedding (23) and
 * Attention (23, 24), lowered to core IR ops (dots, slices, gathers,
 * elementwise ops and reductions).
 *
 * Attention is lowered exactly where the specification is unambiguous.
 * Its text and its reference implementation disagree on the order of the
 * mask and the softcap (and so on what qk_matmul_output_mode 1 and 2
 * return); such combinations are refused with ox_unsupported rather than
 * imported with a guess.
 */
#include <math.h>
#include <string.h>

#include "frontend/onnx/ox.h"


static ir_id conv_i64(ox_ctx *cx, ir_id x) { return ox_convert(cx, x, IR_I64); }

/* cache[position_ids]: (P, H2) gathered by (B, S) indices to (B, S, H2). */
static ir_id gather_rows(ox_ctx *cx, ir_id cache, ir_id pos) {
  ir_shape cs = ox_shape(cx, cache);
  ir_gather_dims g;
  memset(&g, 0, sizeof g);
  g.index_vector_dim = 2;
  g.nstart_map = 1;
  g.start_index_map[0] = 0;
  g.ncollapsed = 1;
  g.collapsed_slice_dims[0] = 0;
  g.slice_sizes[0] = 1;
  g.slice_sizes[1] = cs.dims[1];
  g.noffset = 1;
  g.offset_dims[0] = 2;
  return ir_gather(&cx->b, cache, pos, &g);
}

/* RotaryEmbedding: rotates pairs (x1, x2) of the first rotary_embedding_dim
 * (R) features of each head by the angle whose cos and sin the caches hold
 * for the token's position:
 *   real = cos x1 - sin x2,  imag = sin x1 + cos x2
 * The pairs are (i, i + R/2) for i < R/2, or (2i, 2i + 1) when interleaved;
 * features from R on pass through. X is (B, heads, S, D), or (B, S, heads *
 * D) with num_heads given; the caches are (P, R/2) indexed by position_ids
 * (B, S), or (B, S, R/2) when there are no position_ids. */
static bool lower_rotary(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 3)) return false;
  bool ok = true;
  int64_t inter = ox_attr_int(cx, n, "interleaved", 0, &ok), heads = ox_attr_int(cx, n, "num_heads", 0, &ok);
  int64_t rdim = ox_attr_int(cx, n, "rotary_embedding_dim", 0, &ok);
  ir_id x = n->in[0], cosc = n->in[1], sinc = n->in[2], pos = n->nin > 3 ? n->in[3] : IR_NONE;
  if (!ok || !ox_need_float(cx, n, x, "X")) return false;
  ir_shape s = ox_shape(cx, x);
  ir_type t = s.type;
  for (int i = 1; i < 3; i++) {
    ir_type ti = ox_shape(cx, n->in[i]).type;
    if (ti != t) return ox_error(cx, n, "input %d has type %s; X has %s", i, ir_type_name(ti), ir_type_name(t));
  }
  int64_t bsz, seq, d, x4[4];
  int seq_axis; /* of the 4-D view */
  if (s.rank == 4) {
    bsz = s.dims[0], seq = s.dims[2], d = s.dims[3];
    if (heads != 0 && heads != s.dims[1])
      return ox_error(cx, n, "num_heads=%lld but X (batch, heads, sequence, head size) has %lld heads", (long long)heads,
                      (long long)s.dims[1]);
    memcpy(x4, s.dims, sizeof x4);
    seq_axis = 2;
  } else if (s.rank == 3) {
    bsz = s.dims[0], seq = s.dims[1];
    if (heads < 1) return ox_error(cx, n, "a 3-D X needs attribute num_heads >= 1");
    if (s.dims[2] % heads)
      return ox_error(cx, n, "num_heads=%lld does not divide the hidden size %lld", (long long)heads, (long long)s.dims[2]);
    d = s.dims[2] / heads;
    x4[0] = bsz, x4[1] = seq, x4[2] = heads, x4[3] = d;
    seq_axis = 1;
  } else {
    return ox_error(cx, n, "X has rank %d; RotaryEmbedding takes 3-D or 4-D input", s.rank);
  }
  int64_t r = rdim ? rdim : d;
  if (r < 0 || r > d || r % 2)
    return ox_error(cx, n, "the rotary dimension %lld must be even and at most the head size %lld", (long long)r, (long long)d);
  int64_t half = r / 2, want[3] = {bsz, seq, half};
  if (pos != IR_NONE) {
    ir_shape ps = ox_shape(cx, pos);
    if (!ir_type_is_int(ps.type) || ps.type == IR_PRED)
      return ox_error(cx, n, "position_ids has type %s; expected integers", ir_type_name(ps.type));
    if (ps.rank != 2 || ps.dims[0] != bsz || ps.dims[1] != seq)
      return ox_error(cx, n, "position_ids must be (batch %lld, sequence %lld)", (long long)bsz, (long long)seq);
    for (int i = 1; i < 3; i++) {
      ir_shape cs = ox_shape(cx, n->in[i]);
      if (cs.rank != 2 || cs.dims[1] != half)
        return ox_error(cx, n, "with position_ids, input %d must be (positions, %lld)", i, (long long)half);
    }
    cosc = gather_rows(cx, cosc, pos);
    sinc = gather_rows(cx, sinc, pos);
  } else {
    for (int i = 1; i < 3; i++) {
      ir_shape cs = ox_shape(cx, n->in[i]);
      if (cs.rank != 3 || memcmp(cs.dims, want, sizeof want))
        return ox_error(cx, n, "without position_ids, input %d must be (batch %lld, sequence %lld, %lld)", i,
                        (long long)bsz, (long long)seq, (long long)half);
    }
  }
  /* Caches (B, S, R/2) spread over the heads of the 4-D view. */
  int64_t hd[4] = {x4[0], x4[1], x4[2], half}, map[3] = {0, seq_axis, 3};
  ir_id cb = ir_broadcast(&cx->b, cosc, 4, hd, map), sb = ir_broadcast(&cx->b, sinc, 4, hd, map);
  ir_id xv = ox_reshape(cx, x, 4, x4);
  ir_id x1 = inter ? ox_slice_axis(cx, xv, 3, 0, r, 2) : ox_slice_axis(cx, xv, 3, 0, half, 1);
  ir_id x2 = inter ? ox_slice_axis(cx, xv, 3, 1, r, 2) : ox_slice_axis(cx, xv, 3, half, r, 1);
  ir_builder *b = &cx->b;
  ir_id re = ir_binary(b, IR_OP_SUB, ir_binary(b, IR_OP_MUL, cb, x1), ir_binary(b, IR_OP_MUL, sb, x2));
  ir_id im = ir_binary(b, IR_OP_ADD, ir_binary(b, IR_OP_MUL, sb, x1), ir_binary(b, IR_OP_MUL, cb, x2));
  ir_id rot;
  if (inter) {
    /* (.., R/2) pairs side by side as (.., R/2, 2), then flattened. */
    int64_t p5[5] = {x4[0], x4[1], x4[2], half, 1}, rd[4] = {x4[0], x4[1], x4[2], r};
    ir_id parts[2] = {ox_reshape(cx, re, 5, p5), ox_reshape(cx, im, 5, p5)};
    rot = ox_reshape(cx, ir_concatenate(b, 2, parts, 4), 4, rd);
  } else {
    ir_id parts[2] = {re, im};
    rot = ir_concatenate(b, 2, parts, 3);
  }
  if (r < d) {
    ir_id parts[2] = {rot, ox_slice_axis(cx, xv, 3, r, d, 1)};
    rot = ir_concatenate(b, 2, parts, 3);
  }
  n->out[0] = ox_reshape(cx, rot, s.rank, s.dims);
  return n->out[0] != IR_NONE;
}

/* x (B, S, H * D) viewed as (B, H, S, D); IR_NONE after reporting when H
 * does not divide the hidden size. */
static ir_id heads_first(ox_ctx *cx, const ox_node *n, ir_id x, int64_t heads, const char *what) {
  ir_shape s = ox_shape(cx, x);
  if (heads < 1 || s.dims[2] % heads) {
    ox_error(cx, n, "%s's hidden size %lld is not a multiple of %lld heads", what, (long long)s.dims[2], (long long)heads);
    return IR_NONE;
  }
  int64_t d4[4] = {s.dims[0], s.dims[1], heads, s.dims[2] / heads}, perm[4] = {0, 2, 1, 3};
  return ir_transpose(&cx->b, ox_reshape(cx, x, 4, d4), perm);
}

/* (B, H, S, D) with each head repeated rep times in place (h0 h0 h1 h1 ...):
 * query head h of grouped-query attention reads key/value head h / rep. */
static ir_id repeat_heads(ox_ctx *cx, ir_id x, int64_t rep) {
  if (rep == 1 || x == IR_NONE) return x;
  ir_shape s = ox_shape(cx, x);
  int64_t d5[5] = {s.dims[0], s.dims[1], rep, s.dims[2], s.dims[3]}, map[4] = {0, 1, 3, 4};
  int64_t d4[4] = {s.dims[0], s.dims[1] * rep, s.dims[2], s.dims[3]};
  return ox_reshape(cx, ir_broadcast(&cx->b, x, 5, d5, map), 4, d4);
}

/* 0 where `allowed`, -inf elsewhere, in type t. */
static ir_id bias_from(ox_ctx *cx, ir_id allowed, ir_type t) {
  return ir_select(&cx->b, allowed, ox_full_like(cx, allowed, t, 0), ox_full_like(cx, allowed, t, -INFINITY));
}

static ir_id add_bias(ox_ctx *cx, const ox_node *n, ir_id acc, ir_id b) {
  return acc == IR_NONE ? b : ox_binary(cx, n, IR_OP_ADD, acc, b);
}

/* attn_mask as an additive bias broadcast to full (B, heads, Sq, T): a bool
 * mask gives 0 (attend) or -inf; a last dimension shorter than T is padded
 * with -inf (False). */
static ir_id mask_bias(ox_ctx *cx, const ox_node *n, ir_id m, ir_type t, const int64_t *full) {
  ir_shape ms = ox_shape(cx, m);
  bool is_bool = ms.type == IR_PRED;
  if (!is_bool && ms.type != t) {
    ox_unsupported(cx, n, "attn_mask has type %s; kiln takes a bool mask or a float mask of Q's type %s",
                   ir_type_name(ms.type), ir_type_name(t));
    return IR_NONE;
  }
  if (ms.rank < 1 || ms.rank > 4) {
    ox_error(cx, n, "attn_mask has rank %d; it must broadcast to (batch, heads, q sequence, total sequence)", ms.rank);
    return IR_NONE;
  }
  int64_t last = ms.dims[ms.rank - 1], total = full[3];
  if (last > total) {
    ox_error(cx, n, "attn_mask's last dimension %lld exceeds the total sequence length %lld", (long long)last, (long long)total);
    return IR_NONE;
  }
  if (last == 1 && total > 1) {
    /* Broadcasting would stretch it; the padding rule would mask all but
     * the first key. The specification allows both readings. */
    ox_unsupported(cx, n, "attn_mask's last dimension is 1 but the total sequence length is %lld (broadcast or pad is ambiguous)",
                   (long long)total);
    return IR_NONE;
  }
  if (last < total) {
    int64_t lo[IR_MAX_RANK] = {0}, hi[IR_MAX_RANK] = {0}, in[IR_MAX_RANK] = {0};
    hi[ms.rank - 1] = total - last;
    m = ir_pad(&cx->b, m, is_bool ? ox_scalar(cx, IR_PRED, 0) : ox_scalar(cx, t, -INFINITY), lo, hi, in);
  }
  if (is_bool) m = bias_from(cx, m, t);
  return ox_broadcast_to(cx, n, m, 4, full);
}

/* Attention (23, 24): Y = softmax(Q' K'^T + bias) V with Q' = Q sqrt(scale),
 * K' = K sqrt(scale) (scale defaults to 1 / sqrt(head size)), on (batch,
 * heads, sequence, head size) views of 3-D or 4-D inputs.
 *
 * - past_key/past_value are concatenated before K and V along the sequence
 *   (present_key/present_value are those results); the total sequence T
 *   is past + kv.
 * - Grouped-query attention: q heads a multiple of kv heads, each kv head
 *   repeated in place.
 * - bias sums the mask (see mask_bias), the causal mask (is_causal: query i
 *   attends key j <= i + offset) and the padding mask of nonpad_kv_seqlen
 *   (key j < nonpad[b]). The offset is 0 without a cache (the text's
 *   "upper left" alignment); with past_key it is the past length, and with
 *   nonpad_kv_seqlen nonpad[b] - Sq, as ONNX's reference (and so its
 *   backend test data) aligns queries that follow cached keys.
 * - softcap c > 0: scores become c tanh(scores / c); with a bias it is
 *   refused (the specification's diagram applies it after the mask, its
 *   reference before).
 * - softmax runs in softmax_precision when given.
 * - qk_matmul_output: mode 0 the scaled Q K^T, mode 3 the softmax; modes 1
 *   and 2 are refused (text and reference disagree on them). */
static bool lower_attention(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 3)) return false;
  bool ok = true;
  int64_t causal = ox_attr_int(cx, n, "is_causal", 0, &ok), kvh = ox_attr_int(cx, n, "kv_num_heads", 0, &ok);
  int64_t qh = ox_attr_int(cx, n, "q_num_heads", 0, &ok), mode = ox_attr_int(cx, n, "qk_matmul_output_mode", 0, &ok);
  int64_t prec = ox_attr_int(cx, n, "softmax_precision", 0, &ok);
  double softcap = ox_attr_float(cx, n, "softcap", 0, &ok);
  bool has_scale = ox_attr(n, "scale") != NULL;
  double scale = ox_attr_float(cx, n, "scale", 1, &ok);
  if (!ok) return false;
  ir_id q = n->in[0], k = n->in[1], v = n->in[2];
  ir_id mask = n->nin > 3 ? n->in[3] : IR_NONE, pk = n->nin > 4 ? n->in[4] : IR_NONE, pv = n->nin > 5 ? n->in[5] : IR_NONE;
  ir_id nonpad = n->nin > 6 ? n->in[6] : IR_NONE;
  if (!ox_need_float(cx, n, q, "Q")) return false;
  ir_shape sq = ox_shape(cx, q), sk = ox_shape(cx, k), sv = ox_shape(cx, v);
  ir_type t = sq.type;
  if (sk.type != t || sv.type != t)
    return ox_unsupported(cx, n, "Q, K and V have types %s, %s and %s; kiln takes one type for all three",
                          ir_type_name(t), ir_type_name(sk.type), ir_type_name(sv.type));
  if (mode != 0 && mode != 3) {
    if (mode == 1 || mode == 2)
      return ox_unsupported(cx, n, "qk_matmul_output_mode=%lld: the specification and its reference disagree on it; kiln takes 0 or 3",
                            (long long)mode);
    return ox_error(cx, n, "attribute qk_matmul_output_mode=%lld is not 0, 1, 2 or 3", (long long)mode);
  }
  ir_type tsm = t;
  if (prec != 0 && (!ox_type_from_onnx((int32_t)prec, &tsm) || !ir_type_is_float(tsm)))
    return ox_error(cx, n, "attribute softmax_precision=%lld is not a floating-point type", (long long)prec);
  if ((pk == IR_NONE) != (pv == IR_NONE)) return ox_error(cx, n, "past_key and past_value must be given together");
  if (nonpad != IR_NONE && n->opset < 24) return ox_error(cx, n, "input nonpad_kv_seqlen exists from opset 24 on");
  if (nonpad != IR_NONE && pk != IR_NONE) return ox_error(cx, n, "nonpad_kv_seqlen cannot be used with past_key and past_value");
  if (sq.rank != sk.rank || sq.rank != sv.rank || (sq.rank != 3 && sq.rank != 4))
    return ox_error(cx, n, "Q, K and V have ranks %d, %d and %d; Attention takes all 3-D or all 4-D", sq.rank, sk.rank, sv.rank);
  if (sq.rank == 3) {
    if (qh < 1 || kvh < 1) return ox_error(cx, n, "3-D inputs need attributes q_num_heads and kv_num_heads");
    q = heads_first(cx, n, q, qh, "Q");
    k = heads_first(cx, n, k, kvh, "K");
    v = heads_first(cx, n, v, kvh, "V");
    if (q == IR_NONE || k == IR_NONE || v == IR_NONE) return false;
  } else {
    if ((qh && qh != sq.dims[1]) || (kvh && (kvh != sk.dims[1] || kvh != sv.dims[1])))
      return ox_error(cx, n, "q_num_heads/kv_num_heads disagree with the head dimension of the 4-D inputs");
  }
  ir_shape q4 = ox_shape(cx, q), k4 = ox_shape(cx, k), v4 = ox_shape(cx, v);
  int64_t bsz = q4.dims[0], nq = q4.dims[1], nkv = k4.dims[1], lq = q4.dims[2], d = q4.dims[3], dv = v4.dims[3];
  if (k4.dims[0] != bsz || v4.dims[0] != bsz || v4.dims[1] != nkv || k4.dims[3] != d || v4.dims[2] != k4.dims[2])
    return ox_error(cx, n, "Q, K and V disagree on batch, heads, sequence or head size");
  if (nkv < 1 || nq % nkv) return ox_error(cx, n, "%lld query heads are not a multiple of %lld key/value heads", (long long)nq, (long long)nkv);
  int64_t past = 0;
  if (pk != IR_NONE) {
    ir_shape ps = ox_shape(cx, pk), pvs = ox_shape(cx, pv);
    if (ps.type != t || pvs.type != t) return ox_unsupported(cx, n, "past_key/past_value must have Q's type %s", ir_type_name(t));
    if (ps.rank != 4 || pvs.rank != 4 || ps.dims[0] != bsz || ps.dims[1] != nkv || ps.dims[3] != d || pvs.dims[0] != bsz ||
        pvs.dims[1] != nkv || pvs.dims[3] != dv || pvs.dims[2] != ps.dims[2])
      return ox_error(cx, n, "past_key/past_value must be (batch, kv heads, past sequence, head size)");
    past = ps.dims[2];
    ir_id kp[2] = {pk, k}, vp[2] = {pv, v};
    k = ir_concatenate(&cx->b, 2, kp, 2);
    v = ir_concatenate(&cx->b, 2, vp, 2);
  }
  if (n->nout > 1) n->out[1] = k;
  if (n->nout > 2) n->out[2] = v;
  int64_t total = past + k4.dims[2], full[4] = {bsz, nq, lq, total};
  if (has_scale && !(scale > 0))
    return ox_unsupported(cx, n, "attribute scale=%g: Q and K are scaled by its square root, which needs scale > 0", scale);
  if (!has_scale) scale = 1 / sqrt((double)d);
  ir_id rs = ox_scalar(cx, t, sqrt(scale));
  ir_id qs = ox_binary(cx, n, IR_OP_MUL, q, rs), ks = ox_binary(cx, n, IR_OP_MUL, repeat_heads(cx, k, nq / nkv), rs);
  ir_dot_dims dd;
  memset(&dd, 0, sizeof dd);
  dd.nbatch = 2;
  dd.lhs_batch[0] = dd.rhs_batch[0] = 0;
  dd.lhs_batch[1] = dd.rhs_batch[1] = 1;
  dd.ncontract = 1;
  dd.lhs_contract[0] = dd.rhs_contract[0] = 3;
  ir_id qk = ir_dot(&cx->b, qs, ks, &dd, IR_TUPLE);

  /* The additive bias. */
  ir_id bias = IR_NONE;
  if (mask != IR_NONE) {
    bias = mask_bias(cx, n, mask, t, full);
    if (bias == IR_NONE) return false;
  }
  ir_id np_b = IR_NONE; /* nonpad_kv_seqlen per batch, as (B, 1, Sq, T) */
  if (nonpad != IR_NONE) {
    ir_shape ns = ox_shape(cx, nonpad);
    if (!ir_type_is_int(ns.type) || ns.type == IR_PRED || ns.rank != 1 || ns.dims[0] != bsz)
      return ox_error(cx, n, "nonpad_kv_seqlen must be an integer vector of %lld (the batch size)", (long long)bsz);
    int64_t bd[4] = {bsz, 1, lq, total}, map0 = 0;
    np_b = ir_broadcast(&cx->b, conv_i64(cx, nonpad), 4, bd, &map0);
    ir_id j = ir_iota(&cx->b, ir_shape_make(IR_I64, 4, bd), 3);
    bias = add_bias(cx, n, bias, ox_broadcast_to(cx, n, bias_from(cx, ir_compare(&cx->b, IR_CMP_LT, j, np_b), t), 4, full));
  }
  if (causal) {
    int64_t cd[4] = {np_b != IR_NONE ? bsz : 1, 1, lq, total};
    ir_shape cs = ir_shape_make(IR_I64, 4, cd);
    ir_id i = ir_iota(&cx->b, cs, 2), j = ir_iota(&cx->b, cs, 3);
    ir_id off = np_b != IR_NONE ? ir_binary(&cx->b, IR_OP_SUB, np_b, ox_full_like(cx, np_b, IR_I64, (double)lq))
                                : ox_full_like(cx, i, IR_I64, (double)past);
    ir_id allowed = ir_compare(&cx->b, IR_CMP_LE, j, ir_binary(&cx->b, IR_OP_ADD, i, off));
    bias = add_bias(cx, n, bias, ox_broadcast_to(cx, n, bias_from(cx, allowed, t), 4, full));
  }
  ir_id scores = qk;
  if (softcap > 0) {
    if (bias != IR_NONE)
      return ox_unsupported(cx, n, "softcap with a mask (attn_mask, is_causal or nonpad_kv_seqlen): the specification and "
                                   "its reference apply them in opposite orders");
    ir_id c = ox_full_like(cx, qk, t, softcap);
    scores = ir_binary(&cx->b, IR_OP_MUL, ir_unary(&cx->b, IR_OP_TANH, ir_binary(&cx->b, IR_OP_DIV, qk, c)), c);
  }
  if (bias != IR_NONE) scores = ir_binary(&cx->b, IR_OP_ADD, scores, bias);
  scores = ox_convert(cx, scores, tsm);
  int64_t last = 3;
  ir_id mx = ox_unreduce(cx, ox_reduce(cx, scores, 1, &last, IR_COMB_MAX, false), scores, 1, &last);
  ir_id e = ir_unary(&cx->b, IR_OP_EXP, ir_binary(&cx->b, IR_OP_SUB, scores, mx));
  ir_id p = ir_binary(&cx->b, IR_OP_DIV, e, ox_unreduce(cx, ox_reduce(cx, e, 1, &last, IR_COMB_ADD, false), e, 1, &last));
  p = ox_convert(cx, p, t);
  ir_id y = ir_matmul(&cx->b, p, repeat_heads(cx, v, nq / nkv));
  if (sq.rank == 3) {
    int64_t perm[4] = {0, 2, 1, 3}, d3[3] = {bsz, lq, nq * dv};
    y = ox_reshape(cx, ir_transpose(&cx->b, y, perm), 3, d3);
  }
  n->out[0] = y;
  if (n->nout > 3) n->out[3] = mode == 0 ? qk : p;
  return y != IR_NONE;
}

const ox_op ox_ops_attention[] = {
    {"RotaryEmbedding", 23, lower_rotary, NULL, {3, 4}, {1, 1}, "interleaved:i num_heads:i rotary_embedding_dim:i", 23},
    {"Attention", 23, lower_attention, NULL, {3, 7}, {1, 4},
     "is_causal:i kv_num_heads:i q_num_heads:i qk_matmul_output_mode:i scale:f softcap:f softmax_precision:i", 24},
    {0},
};
