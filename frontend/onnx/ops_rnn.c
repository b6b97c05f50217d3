/*
 * Recurrent ONNX ops: RNN, GRU and LSTM, unrolled over the (static)
 * sequence length.
 *
 * For each direction the input projections of every time step are one dot
 * ([seq * batch, input] x W^T, plus the biases); each step then adds the
 * recurrent dot H_{t-1} x R^T and applies the gate equations of the ONNX
 * spec as elementwise chains. Outputs are concatenations of the per-step
 * hidden states. The IR grows linearly with the sequence length, which is
 * fine for the short sequences of models compiled ahead of time.
 *
 * Gate orders (of W, R and B): RNN i; GRU z, r, h; LSTM i, o, f, c.
 * Supported: every direction, layout 0 and 1 (opset 14), initial states,
 * peepholes, clip, input_forget, linear_before_reset, the spec's
 * activation functions. sequence_lens must be absent or equal to the
 * sequence length for every batch entry (no per-entry lengths): checked at
 * import when it is a constant, at run time (an assert) when it is read
 * from an input.
 */
#include <stdio.h>
#include <string.h>

#include "frontend/onnx/ox.h"

typedef enum { K_RNN, K_GRU, K_LSTM } rnn_kind;

#define RNN_MAX_ACT 6

static const char *const act_names[] = {"Relu",     "Tanh",         "Sigmoid",    "Affine",  "LeakyRelu", "ThresholdedRelu",
                                        "ScaledTanh", "HardSigmoid", "Elu", "Softsign", "Softplus"};
enum { A_RELU, A_TANH, A_SIGMOID, A_AFFINE, A_LEAKY, A_THRESH, A_SCALED_TANH, A_HARD_SIGMOID, A_ELU, A_SOFTSIGN, A_SOFTPLUS, A_COUNT };

typedef struct rnn_attrs {
  rnn_kind kind;
  int ndir;       /* 1 or 2 */
  bool reverse;   /* the single direction runs backwards */
  int64_t hidden; /* -1: from R */
  int nact;
  int act[RNN_MAX_ACT];
  double alpha[RNN_MAX_ACT], beta[RNN_MAX_ACT];
  bool has_clip;
  double clip;
  int64_t layout, input_forget, linear_before_reset;
} rnn_attrs;

static int gates_of(rnn_kind k) { return k == K_LSTM ? 4 : k == K_GRU ? 3 : 1; }
static int acts_of(rnn_kind k) { return k == K_LSTM ? 3 : k == K_GRU ? 2 : 1; }

static bool read_rnn_attrs(ox_ctx *cx, const ox_node *n, rnn_kind kind, rnn_attrs *a) {
  memset(a, 0, sizeof *a);
  a->kind = kind;
  static const char *const dirs[] = {"forward", "reverse", "bidirectional", NULL};
  int dir = ox_attr_choice(cx, n, "direction", "forward", dirs);
  bool ok = dir >= 0;
  a->hidden = ox_attr_int(cx, n, "hidden_size", -1, &ok);
  a->layout = n->opset >= 14 ? ox_attr_int(cx, n, "layout", 0, &ok) : 0;
  a->input_forget = kind == K_LSTM ? ox_attr_int(cx, n, "input_forget", 0, &ok) : 0;
  a->linear_before_reset = kind == K_GRU ? ox_attr_int(cx, n, "linear_before_reset", 0, &ok) : 0;
  a->has_clip = ox_attr(n, "clip") != NULL;
  a->clip = ox_attr_float(cx, n, "clip", 0, &ok);
  if (!ok) return false;
  a->ndir = dir == 2 ? 2 : 1;
  a->reverse = dir == 1;
  if (a->layout != 0 && a->layout != 1) return ox_error(cx, n, "attribute layout=%lld must be 0 or 1", (long long)a->layout);
  if (a->has_clip && !(a->clip > 0)) return ox_error(cx, n, "attribute clip=%g must be positive", a->clip);
  int want = acts_of(kind) * a->ndir;
  /* Defaults: RNN tanh; GRU sigmoid, tanh; LSTM sigmoid, tanh, tanh. */
  for (int d = 0; d < a->ndir; d++) {
    int *p = a->act + d * acts_of(kind);
    if (kind == K_RNN) p[0] = A_TANH;
    else {
      p[0] = A_SIGMOID;
      p[1] = A_TANH;
      if (kind == K_LSTM) p[2] = A_TANH;
    }
  }
  a->nact = want;
  const Onnx__AttributeProto *at = ox_attr(n, "activations");
  if (at) {
    if (at->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS)
      return ox_error(cx, n, "attribute 'activations' must be a list of strings");
    if ((int)at->n_strings != want)
      return ox_error(cx, n, "attribute 'activations' has %zu entries; %d are needed (%d per direction)", at->n_strings, want,
                      acts_of(kind));
    for (int i = 0; i < want; i++) {
      const ProtobufCBinaryData *s = &at->strings[i];
      int found = -1;
      for (int k = 0; k < A_COUNT; k++)
        if (strlen(act_names[k]) == s->len && !memcmp(act_names[k], s->data, s->len)) found = k;
      if (found < 0) return ox_error(cx, n, "activation %d ('%.*s') is not supported", i, (int)(s->len > 64 ? 64 : s->len), s->data);
      a->act[i] = found;
    }
  }
  float v[RNN_MAX_ACT];
  int na = ox_attr_floats(cx, n, "activation_alpha", v, RNN_MAX_ACT, &ok);
  for (int i = 0; i < want; i++) {
    int k = a->act[i];
    a->alpha[i] = i < na ? v[i] : k == A_LEAKY ? 0.01 : k == A_HARD_SIGMOID ? 0.2 : 1.0;
  }
  int nb = ox_attr_floats(cx, n, "activation_beta", v, RNN_MAX_ACT, &ok);
  for (int i = 0; i < want; i++) {
    int k = a->act[i];
    a->beta[i] = i < nb ? v[i] : k == A_HARD_SIGMOID ? 0.5 : k == A_SCALED_TANH ? 1.0 : 0.0;
  }
  return ok;
}

static bool check_rnn(ox_ctx *cx, const ox_node *n) {
  rnn_attrs a;
  const char *t = n->p->op_type;
  return read_rnn_attrs(cx, n, !strcmp(t, "LSTM") ? K_LSTM : !strcmp(t, "GRU") ? K_GRU : K_RNN, &a);
}

static ir_id scalar_like(ox_ctx *cx, ir_id x, double v) { return ox_full_like(cx, x, ox_shape(cx, x).type, v); }

/* Activation i of a on x. */
static ir_id activate(ox_ctx *cx, const rnn_attrs *a, int i, ir_id x) {
  if (x == IR_NONE) return IR_NONE;
  ir_builder *b = &cx->b;
  double al = a->alpha[i], be = a->beta[i];
  switch (a->act[i]) {
    case A_RELU: return ir_binary(b, IR_OP_MAX, x, scalar_like(cx, x, 0));
    case A_TANH: return ir_unary(b, IR_OP_TANH, x);
    case A_SIGMOID: return ir_unary(b, IR_OP_LOGISTIC, x);
    case A_AFFINE: return ir_binary(b, IR_OP_ADD, ir_binary(b, IR_OP_MUL, x, scalar_like(cx, x, al)), scalar_like(cx, x, be));
    case A_LEAKY:
      return ir_select(b, ir_compare(b, IR_CMP_GE, x, scalar_like(cx, x, 0)), x, ir_binary(b, IR_OP_MUL, x, scalar_like(cx, x, al)));
    case A_THRESH: return ir_select(b, ir_compare(b, IR_CMP_GT, x, scalar_like(cx, x, al)), x, scalar_like(cx, x, 0));
    case A_SCALED_TANH:
      return ir_binary(b, IR_OP_MUL, scalar_like(cx, x, al), ir_unary(b, IR_OP_TANH, ir_binary(b, IR_OP_MUL, x, scalar_like(cx, x, be))));
    case A_HARD_SIGMOID: return ox_hard_sigmoid(cx, x, al, be);
    case A_ELU: {
      ir_id neg = ir_binary(b, IR_OP_MUL, scalar_like(cx, x, al), ir_unary(b, IR_OP_EXPM1, x));
      return ir_select(b, ir_compare(b, IR_CMP_GE, x, scalar_like(cx, x, 0)), x, neg);
    }
    case A_SOFTSIGN:
      return ir_binary(b, IR_OP_DIV, x, ir_binary(b, IR_OP_ADD, scalar_like(cx, x, 1), ir_unary(b, IR_OP_ABS, x)));
    case A_SOFTPLUS:
    default: return ox_softplus(cx, x);
  }
}

/* Columns [g * h, (g + 1) * h) of a [rows, G * h] matrix. */
static ir_id gate(ox_ctx *cx, ir_id m, int g, int64_t h) { return ox_slice_axis(cx, m, 1, g * h, (g + 1) * h, 1); }

static ir_id clip(ox_ctx *cx, const rnn_attrs *a, ir_id x) {
  if (!a->has_clip || x == IR_NONE) return x;
  ir_type t = ox_shape(cx, x).type;
  return ir_clamp(&cx->b, ox_scalar(cx, t, -a->clip), x, ox_scalar(cx, t, a->clip));
}

/* Row d of a [D, rest...] tensor, as [rest...]. */
static ir_id take_dir(ox_ctx *cx, ir_id v, int d) {
  if (v == IR_NONE) return IR_NONE;
  ir_shape s = ox_shape(cx, v);
  return ox_reshape(cx, ox_slice_axis(cx, v, 0, d, d + 1, 1), s.rank - 1, s.dims + 1);
}

/* x @ m^T for x [rows, k] and m [cols, k]. */
static ir_id dot_t(ox_ctx *cx, ir_id x, ir_id m) {
  ir_dot_dims d;
  memset(&d, 0, sizeof d);
  d.ncontract = 1;
  d.lhs_contract[0] = 1;
  d.rhs_contract[0] = 1;
  return ir_dot(&cx->b, x, m, &d, IR_TUPLE);
}

static ir_id row_bcast(ox_ctx *cx, ir_id v, int64_t rows) {
  if (v == IR_NONE) return IR_NONE;
  const ir_shape vs = ox_shape(cx, v);
  int64_t d[2] = {rows, ir_shape_elements(&vs)};
  return ox_broadcast_along(cx, v, 2, d, 1);
}

static bool rnn_common(ox_ctx *cx, ox_node *n, rnn_kind kind) {
  if (!ox_need_inputs(cx, n, 3)) return false;
  rnn_attrs a;
  if (!read_rnn_attrs(cx, n, kind, &a)) return false;
  ir_id x = n->in[0], w = n->in[1], r = n->in[2];
  ir_id bias = n->nin > 3 ? n->in[3] : IR_NONE, seql = n->nin > 4 ? n->in[4] : IR_NONE;
  ir_id h0 = n->nin > 5 ? n->in[5] : IR_NONE, c0 = kind == K_LSTM && n->nin > 6 ? n->in[6] : IR_NONE;
  ir_id peep = kind == K_LSTM && n->nin > 7 ? n->in[7] : IR_NONE;
  ir_shape xs = ox_shape(cx, x), ws = ox_shape(cx, w), rs = ox_shape(cx, r);
  ir_type t = xs.type;
  if (!ir_type_is_float(t)) return ox_error(cx, n, "input X has type %s; a floating-point type is needed", ir_type_name(t));
  if (xs.rank != 3) return ox_error(cx, n, "input X has rank %d; 3 is needed", xs.rank);
  int G = gates_of(kind), D = a.ndir;
  int64_t S = a.layout ? xs.dims[1] : xs.dims[0], B = a.layout ? xs.dims[0] : xs.dims[1], I = xs.dims[2];
  int64_t H = rs.rank == 3 ? rs.dims[2] : -1;
  if (a.hidden >= 0 && a.hidden != H) return ox_error(cx, n, "attribute hidden_size=%lld disagrees with R's last dimension", (long long)a.hidden);
  char b1[160];
  if (ws.rank != 3 || ws.dims[0] != D || ws.dims[1] != G * H || ws.dims[2] != I || ws.type != t)
    return ox_error(cx, n, "input W is %s; %s[%d, %lld, %lld] is needed", ir_shape_str(&ws, b1, sizeof b1), ir_type_name(t), D,
                    (long long)(G * H), (long long)I);
  if (rs.rank != 3 || rs.dims[0] != D || rs.dims[1] != G * H || rs.type != t)
    return ox_error(cx, n, "input R is %s; %s[%d, %lld, %lld] is needed", ir_shape_str(&rs, b1, sizeof b1), ir_type_name(t), D,
                    (long long)(G * H), (long long)H);
  if (S < 1 || H < 1) return ox_error(cx, n, "empty sequence or hidden size");
  const struct {
    ir_id v;
    const char *name;
    int64_t d1, d2; /* expected dims after the direction (d2 0: rank 2) */
  } opt[] = {{bias, "B", 2 * G * H, 0}, {h0, "initial_h", B, H}, {c0, "initial_c", B, H}, {peep, "P", 3 * H, 0}};
  for (int i = 0; i < 4; i++) {
    if (opt[i].v == IR_NONE) continue;
    ir_shape s = ox_shape(cx, opt[i].v);
    bool state = opt[i].d2 != 0;
    int64_t e0 = state && a.layout ? B : D, e1 = state && a.layout ? D : opt[i].d1;
    bool good = s.type == t && s.rank == (state ? 3 : 2) && s.dims[0] == e0 && s.dims[1] == e1 && (!state || s.dims[2] == H);
    if (!good) return ox_error(cx, n, "input %s has an unexpected shape %s", opt[i].name, ir_shape_str(&s, b1, sizeof b1));
  }
  /* sequence_lens read at run time: the same rule, checked there (every
   * step of the input then waits on the check). */
  ir_id lens_ok = IR_NONE;
  if (seql != IR_NONE && !ox_is_const(cx, seql) && ox_reads_data(cx, seql, NULL, 0)) {
    ir_shape ls = ox_shape(cx, seql);
    if (!ir_type_is_int(ls.type) || ls.type == IR_PRED || ls.rank != 1 || ls.sym[0] || ls.dims[0] != B)
      return ox_error(cx, n, "the 'sequence_lens' input must hold one integer per batch entry (%lld)", (long long)B);
    int64_t zero = 0;
    ir_id l = ir_convert(&cx->b, seql, IR_I64);
    lens_ok = ir_reduce(&cx->b, ir_compare(&cx->b, IR_CMP_EQ, l, ox_full_like(cx, l, IR_I64, (double)S)), 1, &zero,
                        IR_COMB_AND);
    seql = IR_NONE;
  }
  if (seql != IR_NONE) {
    int64_t lens[4096];
    if (B > 4096) return ox_unsupported(cx, n, "the 'sequence_lens' input is supported for batches of up to 4096");
    int got = ox_const_ints(cx, n, seql, lens, 4096, "the 'sequence_lens' input");
    if (got < 0) return false;
    for (int i = 0; i < got; i++)
      if (lens[i] != S)
        return ox_unsupported(cx, n, "sequence_lens[%d] is %lld; kiln supports only full-length sequences (%lld)", i, (long long)lens[i],
                        (long long)S);
  }
  /* Time-major states: [D, B, H] from layout 1's [B, D, H]. */
  int64_t p3[3] = {1, 0, 2};
  if (a.layout) {
    if (h0 != IR_NONE) h0 = ir_transpose(&cx->b, h0, p3);
    if (c0 != IR_NONE) c0 = ir_transpose(&cx->b, c0, p3);
    x = ir_transpose(&cx->b, x, p3);
  }
  int64_t sb_i[2] = {S * B, I};
  ir_id x2 = ox_reshape(cx, x, 2, sb_i);
  if (lens_ok != IR_NONE) {
    char nm[300], msg[512];
    snprintf(msg, sizeof msg, "node %s (%s): kiln supports only full-length sequences: every sequence_lens entry "
             "must be %lld", ox_node_name(n, nm, sizeof nm), n->p->op_type, (long long)S);
    x2 = ir_assert(&cx->b, lens_ok, x2, msg);
  }
  ir_id ys[2] = {IR_NONE, IR_NONE}, yh[2], yc[2];
  for (int d = 0; d < D; d++) {
    ir_id wd = take_dir(cx, w, d), rd = take_dir(cx, r, d);
    ir_id bd = take_dir(cx, bias, d), pd = take_dir(cx, peep, d);
    ir_id wb = IR_NONE, rb = IR_NONE;
    int64_t one = 1, zero = 0, gh = G * H, gh2 = 2 * G * H;
    if (bd != IR_NONE) {
      wb = ir_slice(&cx->b, bd, &zero, &gh, &one);
      rb = ir_slice(&cx->b, bd, &gh, &gh2, &one);
    }
    /* Input projections of every step, with the biases folded in (GRU's
     * recurrent h-gate bias stays separate: it goes inside the reset). */
    ir_id xw = dot_t(cx, x2, wd);
    if (wb != IR_NONE) {
      ir_id bsum = wb;
      if (kind != K_GRU) bsum = ir_binary(&cx->b, IR_OP_ADD, wb, rb);
      else {
        /* z and r take Wb + Rb; h takes Wb only: Rb with its h part zeroed. */
        int64_t twoh = 2 * H, h1 = H;
        ir_id rzr = ir_slice(&cx->b, rb, &zero, &twoh, &one);
        ir_id rz0 = ir_pad(&cx->b, rzr, ox_scalar(cx, t, 0), &zero, &h1, &zero);
        bsum = ir_binary(&cx->b, IR_OP_ADD, wb, rz0);
      }
      xw = ir_binary(&cx->b, IR_OP_ADD, xw, row_bcast(cx, bsum, S * B));
    }
    int64_t hd[2] = {B, H};
    ir_id h = h0 != IR_NONE ? take_dir(cx, h0, d) : ir_broadcast(&cx->b, ox_scalar(cx, t, 0), 2, hd, NULL);
    ir_id c = IR_NONE;
    if (kind == K_LSTM) c = c0 != IR_NONE ? take_dir(cx, c0, d) : ir_broadcast(&cx->b, ox_scalar(cx, t, 0), 2, hd, NULL);
    ir_id pi = IR_NONE, po = IR_NONE, pf = IR_NONE;
    if (pd != IR_NONE) {
      for (int k = 0; k < 3; k++) {
        int64_t st = k * H, li = (k + 1) * H, one = 1;
        ir_id p = ox_broadcast_along(cx, ir_slice(&cx->b, pd, &st, &li, &one), 2, hd, 1);
        if (k == 0) pi = p;
        else if (k == 1) po = p;
        else pf = p;
      }
    }
    ir_id rbh = IR_NONE;
    if (kind == K_GRU && rb != IR_NONE) {
      int64_t st = 2 * H, li = 3 * H;
      rbh = row_bcast(cx, ir_slice(&cx->b, rb, &st, &li, &one), B);
    }
    const int *act = a.act + d * acts_of(kind);
    rnn_attrs ad = a; /* activation k of this direction at index k */
    for (int k = 0; k < acts_of(kind); k++) {
      ad.act[k] = act[k];
      ad.alpha[k] = a.alpha[d * acts_of(kind) + k];
      ad.beta[k] = a.beta[d * acts_of(kind) + k];
    }
    bool rev = D == 2 ? d == 1 : a.reverse;
    ir_id steps[1024];
    if (S > 1024) return ox_unsupported(cx, n, "sequences longer than 1024 steps are not supported (this one has %lld)", (long long)S);
    int64_t b_gh[2] = {B, G * H}, y4[4] = {1, 1, B, H};
    for (int64_t k = 0; k < S; k++) {
      int64_t tt = rev ? S - 1 - k : k;
      int64_t st[2] = {tt * B, 0}, li[2] = {(tt + 1) * B, G * H}, sd[2] = {1, 1};
      ir_id xt = ox_reshape(cx, ir_slice(&cx->b, xw, st, li, sd), 2, b_gh);
      ir_id hr = dot_t(cx, h, rd);
      ir_id hn;
      if (kind == K_RNN) {
        hn = activate(cx, &ad, 0, clip(cx, &a, ir_binary(&cx->b, IR_OP_ADD, xt, hr)));
      } else if (kind == K_GRU) {
        ir_id z = activate(cx, &ad, 0, clip(cx, &a, ir_binary(&cx->b, IR_OP_ADD, gate(cx, xt, 0, H), gate(cx, hr, 0, H))));
        ir_id rr = activate(cx, &ad, 0, clip(cx, &a, ir_binary(&cx->b, IR_OP_ADD, gate(cx, xt, 1, H), gate(cx, hr, 1, H))));
        ir_id pre;
        if (a.linear_before_reset) {
          ir_id lin = gate(cx, hr, 2, H);
          if (rbh != IR_NONE) lin = ir_binary(&cx->b, IR_OP_ADD, lin, rbh);
          pre = ir_binary(&cx->b, IR_OP_ADD, gate(cx, xt, 2, H), ir_binary(&cx->b, IR_OP_MUL, rr, lin));
        } else {
          /* (r * H) x Rh^T: Rh is rows [2H, 3H) of R. */
          int64_t rst[2] = {2 * H, 0}, rli[2] = {3 * H, H}, rsd[2] = {1, 1};
          ir_id rh_m = ir_slice(&cx->b, rd, rst, rli, rsd);
          ir_id lin = dot_t(cx, ir_binary(&cx->b, IR_OP_MUL, rr, h), rh_m);
          if (rbh != IR_NONE) lin = ir_binary(&cx->b, IR_OP_ADD, lin, rbh);
          pre = ir_binary(&cx->b, IR_OP_ADD, gate(cx, xt, 2, H), lin);
        }
        ir_id hh = activate(cx, &ad, 1, clip(cx, &a, pre));
        /* H = (1 - z) * hh + z * H = hh + z * (H - hh). */
        hn = ir_binary(&cx->b, IR_OP_ADD, hh, ir_binary(&cx->b, IR_OP_MUL, z, ir_binary(&cx->b, IR_OP_SUB, h, hh)));
      } else {
        ir_id gi = ir_binary(&cx->b, IR_OP_ADD, gate(cx, xt, 0, H), gate(cx, hr, 0, H));
        ir_id go = ir_binary(&cx->b, IR_OP_ADD, gate(cx, xt, 1, H), gate(cx, hr, 1, H));
        ir_id gf = ir_binary(&cx->b, IR_OP_ADD, gate(cx, xt, 2, H), gate(cx, hr, 2, H));
        ir_id gc = ir_binary(&cx->b, IR_OP_ADD, gate(cx, xt, 3, H), gate(cx, hr, 3, H));
        if (pi != IR_NONE) {
          gi = ir_binary(&cx->b, IR_OP_ADD, gi, ir_binary(&cx->b, IR_OP_MUL, pi, c));
          gf = ir_binary(&cx->b, IR_OP_ADD, gf, ir_binary(&cx->b, IR_OP_MUL, pf, c));
        }
        ir_id i_ = activate(cx, &ad, 0, clip(cx, &a, gi));
        ir_id f_ = a.input_forget ? ir_binary(&cx->b, IR_OP_SUB, scalar_like(cx, i_, 1), i_) : activate(cx, &ad, 0, clip(cx, &a, gf));
        ir_id c_ = activate(cx, &ad, 1, clip(cx, &a, gc));
        c = ir_binary(&cx->b, IR_OP_ADD, ir_binary(&cx->b, IR_OP_MUL, f_, c), ir_binary(&cx->b, IR_OP_MUL, i_, c_));
        if (po != IR_NONE) go = ir_binary(&cx->b, IR_OP_ADD, go, ir_binary(&cx->b, IR_OP_MUL, po, c));
        ir_id o_ = activate(cx, &ad, 0, clip(cx, &a, go));
        hn = ir_binary(&cx->b, IR_OP_MUL, o_, activate(cx, &ad, 2, c));
      }
      if (hn == IR_NONE) return false;
      h = hn;
      steps[tt] = ox_reshape(cx, h, 4, y4);
    }
    ys[d] = S == 1 ? steps[0] : ir_concatenate(&cx->b, (int)S, steps, 0);
    int64_t h3[3] = {1, B, H};
    yh[d] = ox_reshape(cx, h, 3, h3);
    yc[d] = kind == K_LSTM ? ox_reshape(cx, c, 3, h3) : IR_NONE;
  }
  ir_id y = D == 1 ? ys[0] : ir_concatenate(&cx->b, 2, ys, 1);
  ir_id yhs = D == 1 ? yh[0] : ir_concatenate(&cx->b, 2, yh, 0);
  ir_id ycs = kind != K_LSTM ? IR_NONE : D == 1 ? yc[0] : ir_concatenate(&cx->b, 2, yc, 0);
  if (a.layout) {
    int64_t p4[4] = {2, 0, 1, 3};
    y = ir_transpose(&cx->b, y, p4);
    yhs = ir_transpose(&cx->b, yhs, p3);
    if (ycs != IR_NONE) ycs = ir_transpose(&cx->b, ycs, p3);
  }
  n->out[0] = y;
  if (n->nout > 1) n->out[1] = yhs;
  if (n->nout > 2 && kind == K_LSTM) n->out[2] = ycs;
  return y != IR_NONE && yhs != IR_NONE;
}

static bool lower_rnn(ox_ctx *cx, ox_node *n) { return rnn_common(cx, n, K_RNN); }
static bool lower_gru(ox_ctx *cx, ox_node *n) { return rnn_common(cx, n, K_GRU); }
static bool lower_lstm(ox_ctx *cx, ox_node *n) { return rnn_common(cx, n, K_LSTM); }

const ox_op ox_ops_rnn[] = {
    {"RNN", 7, lower_rnn, check_rnn, {3, 6}, {0, 2},
         "activation_alpha:F activation_beta:F activations:S clip:f direction:s hidden_size:i layout:i@14-", 22},
    {"GRU", 7, lower_gru, check_rnn, {3, 6}, {0, 2},
         "activation_alpha:F activation_beta:F activations:S clip:f direction:s hidden_size:i layout:i@14- "
         "linear_before_reset:i", 22},
    {"LSTM", 7, lower_lstm, check_rnn, {3, 8}, {0, 3},
         "activation_alpha:F activation_beta:F activations:S clip:f direction:s hidden_size:i input_forget:i "
         "layout:i@14-", 22},
    {0},
};
