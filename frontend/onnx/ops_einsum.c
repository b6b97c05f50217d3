/*
 * Einsum (opset 12): the equation is decomposed into core IR ops.
 *
 *   1. A label repeated within one operand (a diagonal, "ii->i") becomes a
 *      select against an iota equality mask and a sum over the second
 *      occurrence.
 *   2. A label that only one operand has and the output lacks is summed
 *      away at once.
 *   3. Operands are combined left to right, two at a time, by one dot:
 *      labels both have and something later needs are batch dimensions,
 *      labels both have and nothing later needs are contracted, the rest
 *      are free. Size-1 dimensions broadcast against their partner.
 *   4. What is left is summed over labels the output lacks and transposed
 *      into the output's order.
 *
 * Labels are numbered: 'A'..'Z' are 0..25, 'a'..'z' 26..51 (so sorting
 * numbers sorts as ASCII, which the implicit output form needs), and the
 * dimensions an ellipsis covers get 52 + their position counted so that
 * ellipses of different ranks align on the right, as NumPy's do.
 */
#include <stdio.h>
#include <string.h>

#include "frontend/onnx/ox.h"

#define EL_LETTERS 52
#define EL_MAX (EL_LETTERS + IR_MAX_RANK)

/* An operand during the decomposition: its value and one label per
 * dimension. */
typedef struct term {
  ir_id v;
  int rank;
  int lab[IR_MAX_RANK];
} term;

static int letter_label(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return 26 + (c - 'a');
  return -1;
}

/* Parses one term of the equation (s..e) for an operand of `rank`
 * dimensions (-1 for the output, whose rank is what the term says).
 * Ellipsis dimensions are labelled against `ell_rank`, the widest
 * ellipsis. Returns the number of labels, or -1 after reporting. */
static int parse_term(ox_ctx *cx, const ox_node *n, const char *s, const char *e, int rank, int ell_rank, int *lab,
                      int *ell_out, const char *what) {
  int letters = 0;
  bool ell = false;
  for (const char *p = s; p < e; p++) {
    if (*p == '.') {
      if (ell || e - p < 3 || p[1] != '.' || p[2] != '.') {
        ox_error(cx, n, "equation: %s has a malformed or second ellipsis", what);
        return -1;
      }
      ell = true;
      p += 2;
    } else if (letter_label(*p) >= 0) {
      letters++;
    } else {
      ox_error(cx, n, "equation: %s contains '%c'; only letters and '...' are allowed", what, *p);
      return -1;
    }
  }
  int e_dims = 0;
  if (rank >= 0) {
    if (ell) e_dims = rank - letters;
    if ((!ell && letters != rank) || e_dims < 0) {
      ox_error(cx, n, "equation: %s names %d dimension(s) but the input has rank %d", what, letters, rank);
      return -1;
    }
  } else if (ell) {
    e_dims = ell_rank;
  }
  if (letters + e_dims > IR_MAX_RANK) {
    ox_error(cx, n, "equation: %s has more than %d dimensions", what, IR_MAX_RANK);
    return -1;
  }
  int k = 0;
  for (const char *p = s; p < e; p++) {
    if (*p == '.') {
      for (int j = 0; j < e_dims; j++) lab[k++] = EL_LETTERS + (ell_rank - e_dims) + j;
      p += 2;
    } else {
      lab[k++] = letter_label(*p);
    }
  }
  if (ell_out) *ell_out = ell ? e_dims : -1;
  return k;
}

static int find_label(const term *t, int l) {
  for (int i = 0; i < t->rank; i++)
    if (t->lab[i] == l) return i;
  return -1;
}

/* Sums t over its dimension d, dropping it. */
static bool sum_dim(ox_ctx *cx, term *t, int d) {
  int64_t dd = d;
  t->v = ox_reduce(cx, t->v, 1, &dd, IR_COMB_ADD, false);
  for (int i = d; i < t->rank - 1; i++) t->lab[i] = t->lab[i + 1];
  t->rank--;
  return t->v != IR_NONE;
}

/* Step 1: diagonals. For a label at dimensions p < q, keep the elements
 * with equal indices there and sum over q. */
static bool take_diagonals(ox_ctx *cx, const ox_node *n, term *t) {
  for (int p = 0; p < t->rank; p++) {
    for (int q = p + 1; q < t->rank; q++) {
      if (t->lab[q] != t->lab[p]) continue;
      ir_shape s = ox_shape(cx, t->v);
      if (s.dims[p] != s.dims[q])
        return ox_error(cx, n, "equation: a repeated label spans dimensions of sizes %lld and %lld", (long long)s.dims[p],
                        (long long)s.dims[q]);
      ir_shape is = ir_shape_make(IR_I64, s.rank, s.dims);
      ir_id eq = ir_compare(&cx->b, IR_CMP_EQ, ir_iota(&cx->b, is, p), ir_iota(&cx->b, is, q));
      t->v = ir_select(&cx->b, eq, t->v, ox_full_like(cx, t->v, s.type, 0));
      if (!sum_dim(cx, t, q)) return false;
      q--;
    }
  }
  return true;
}

/* Label use counts over the operands from `from` on, plus the output. */
static void count_uses(const term *ts, int nt, int from, const int *out, int nout, int *uses) {
  memset(uses, 0, sizeof(int) * EL_MAX);
  for (int i = from; i < nt; i++)
    for (int d = 0; d < ts[i].rank; d++) uses[ts[i].lab[d]]++;
  for (int d = 0; d < nout; d++) uses[out[d]]++;
}

/* Sums away the dimensions of t whose labels `keep` does not hold. */
static bool sum_unneeded(ox_ctx *cx, term *t, const bool *keep) {
  for (int d = t->rank - 1; d >= 0; d--)
    if (!keep[t->lab[d]] && !sum_dim(cx, t, d)) return false;
  return true;
}

/* Stretches size-1 dimensions of a and b against their partner label. */
static bool align_sizes(ox_ctx *cx, const ox_node *n, term *a, term *b) {
  for (int pass = 0; pass < 2; pass++) {
    term *x = pass ? b : a, *y = pass ? a : b;
    ir_shape xs = ox_shape(cx, x->v), ys = ox_shape(cx, y->v);
    int64_t want[IR_MAX_RANK];
    bool change = false;
    for (int d = 0; d < x->rank; d++) {
      want[d] = xs.dims[d];
      int e = find_label(y, x->lab[d]);
      if (e < 0 || ys.dims[e] == xs.dims[d]) continue;
      if (xs.dims[d] != 1 && ys.dims[e] != 1)
        return ox_error(cx, n, "equation: a label has sizes %lld and %lld in two operands", (long long)xs.dims[d],
                        (long long)ys.dims[e]);
      if (xs.dims[d] == 1) {
        want[d] = ys.dims[e];
        change = true;
      }
    }
    if (change) x->v = ox_broadcast_to(cx, n, x->v, x->rank, want);
    if (x->v == IR_NONE) return false;
  }
  return true;
}

/* Step 3: one dot of a and b into a; `keep` marks labels needed later. */
static bool contract(ox_ctx *cx, const ox_node *n, term *a, term *b, const bool *keep) {
  /* A label that neither the partner nor anything later has is summed
   * first (a shared one is contracted by the dot instead). */
  bool ka[EL_MAX], kb[EL_MAX];
  for (int l = 0; l < EL_MAX; l++) {
    ka[l] = keep[l] || find_label(b, l) >= 0;
    kb[l] = keep[l] || find_label(a, l) >= 0;
  }
  if (!sum_unneeded(cx, a, ka) || !sum_unneeded(cx, b, kb)) return false;
  if (!align_sizes(cx, n, a, b)) return false;
  ir_dot_dims d;
  memset(&d, 0, sizeof d);
  term r;
  memset(&r, 0, sizeof r);
  for (int i = 0; i < a->rank; i++) {
    int j = find_label(b, a->lab[i]);
    if (j < 0) continue;
    if (keep[a->lab[i]]) {
      d.lhs_batch[d.nbatch] = i;
      d.rhs_batch[d.nbatch++] = j;
      r.lab[r.rank++] = a->lab[i];
    } else {
      d.lhs_contract[d.ncontract] = i;
      d.rhs_contract[d.ncontract++] = j;
    }
  }
  for (int i = 0; i < a->rank; i++)
    if (find_label(b, a->lab[i]) < 0) r.lab[r.rank++] = a->lab[i];
  for (int j = 0; j < b->rank; j++)
    if (find_label(a, b->lab[j]) < 0) r.lab[r.rank++] = b->lab[j];
  if (r.rank > IR_MAX_RANK) return ox_error(cx, n, "equation: an intermediate result would exceed rank %d", IR_MAX_RANK);
  r.v = ir_dot(&cx->b, a->v, b->v, &d, IR_TUPLE);
  *a = r;
  return r.v != IR_NONE;
}

static bool lower_einsum(ox_ctx *cx, ox_node *n) {
  bool ok = true;
  const char *eq = ox_attr_string(cx, n, "equation", NULL, &ok);
  if (!ok) return false;
  if (!eq) return ox_error(cx, n, "attribute 'equation' is required");
  if (n->nin < 1) return ox_error(cx, n, "needs at least one input");
  if (!ox_need_inputs(cx, n, n->nin)) return false;
  /* Strip spaces. */
  char buf[512];
  size_t k = 0;
  for (const char *p = eq; *p; p++) {
    if (*p == ' ' || *p == '\t') continue;
    if (k + 1 >= sizeof buf) return ox_error(cx, n, "attribute 'equation' is too long");
    buf[k++] = *p;
  }
  buf[k] = 0;
  char *arrow = strstr(buf, "->");
  char *lhs_end = arrow ? arrow : buf + k;
  /* The input terms: where each starts and ends. */
  const char *ts_s[OX_MAX_IO + 1], *ts_e[OX_MAX_IO + 1];
  int nt = 0;
  for (const char *p = buf;; p++) {
    if (nt > n->nin) return ox_error(cx, n, "equation has more input terms than the node has inputs (%d)", n->nin);
    ts_s[nt] = p;
    while (p < lhs_end && *p != ',') p++;
    ts_e[nt++] = p;
    if (p >= lhs_end) break;
  }
  if (nt != n->nin) return ox_error(cx, n, "equation has %d input term(s) but the node has %d input(s)", nt, n->nin);
  /* The widest ellipsis, which every ellipsis aligns to on the right. */
  int ell_rank = 0;
  for (int i = 0; i < nt; i++) {
    int letters = 0;
    bool has = false;
    for (const char *p = ts_s[i]; p < ts_e[i]; p++) {
      if (letter_label(*p) >= 0) letters++;
      if (*p == '.') has = true;
    }
    int r = ox_shape(cx, n->in[i]).rank;
    if (has && r - letters > ell_rank) ell_rank = r - letters;
  }
  term ts[OX_MAX_IO];
  ir_type type = ox_shape(cx, n->in[0]).type;
  for (int i = 0; i < nt; i++) {
    ir_shape sh = ox_shape(cx, n->in[i]);
    if (sh.type != type) return ox_error(cx, n, "input %d has type %s; input 0 has %s", i, ir_type_name(sh.type), ir_type_name(type));
    char what[32];
    snprintf(what, sizeof what, "input term %d", i);
    ts[i].v = n->in[i];
    ts[i].rank = parse_term(cx, n, ts_s[i], ts_e[i], sh.rank, ell_rank, ts[i].lab, NULL, what);
    if (ts[i].rank < 0) return false;
  }
  int out[IR_MAX_RANK], nout;
  int uses[EL_MAX];
  count_uses(ts, nt, 0, NULL, 0, uses);
  if (arrow) {
    int ell = -1;
    nout = parse_term(cx, n, arrow + 2, buf + k, -1, ell_rank, out, &ell, "the output term");
    if (nout < 0) return false;
    for (int i = 0; i < nout; i++) {
      if (!uses[out[i]]) return ox_error(cx, n, "equation: an output label appears in no input");
      for (int j = 0; j < i; j++)
        if (out[j] == out[i]) return ox_error(cx, n, "equation: the output repeats a label");
    }
  } else {
    /* Implicit output: the ellipsis dimensions, then the labels used
     * exactly once, in ASCII order. */
    nout = 0;
    for (int l = EL_LETTERS; l < EL_LETTERS + ell_rank; l++) out[nout++] = l;
    for (int l = 0; l < EL_LETTERS; l++)
      if (uses[l] == 1) {
        if (nout >= IR_MAX_RANK) return ox_error(cx, n, "equation: the output has more than %d dimensions", IR_MAX_RANK);
        out[nout++] = l;
      }
  }
  for (int i = 0; i < nt; i++)
    if (!take_diagonals(cx, n, &ts[i])) return false;
  /* Sum away labels only one operand needs. */
  for (int i = 0; i < nt; i++) {
    bool keep[EL_MAX];
    count_uses(ts, nt, 0, out, nout, uses);
    for (int l = 0; l < EL_MAX; l++) keep[l] = uses[l] > (find_label(&ts[i], l) >= 0 ? 1 : 0);
    if (!sum_unneeded(cx, &ts[i], keep)) return false;
  }
  term acc = ts[0];
  for (int i = 1; i < nt; i++) {
    bool keep[EL_MAX];
    count_uses(ts, nt, i + 1, out, nout, uses);
    for (int l = 0; l < EL_MAX; l++) keep[l] = uses[l] > 0;
    if (!contract(cx, n, &acc, &ts[i], keep)) return false;
  }
  bool keep[EL_MAX] = {false};
  for (int i = 0; i < nout; i++) keep[out[i]] = true;
  if (!sum_unneeded(cx, &acc, keep)) return false;
  if (acc.rank != nout) return ox_error(cx, n, "equation: internal label mismatch");
  int64_t perm[IR_MAX_RANK];
  bool ident = true;
  for (int i = 0; i < nout; i++) {
    perm[i] = find_label(&acc, out[i]);
    ident = ident && perm[i] == i;
  }
  n->out[0] = ident ? acc.v : ir_transpose(&cx->b, acc.v, perm);
  return n->out[0] != IR_NONE;
}

/* Syntax only (the terms' ranks need the input shapes): the characters,
 * one arrow at most, no comma after it. */
static bool check_einsum(ox_ctx *cx, const ox_node *n) {
  bool ok = true;
  const char *eq = ox_attr_string(cx, n, "equation", NULL, &ok);
  if (!ok) return false;
  if (!eq) return ox_error(cx, n, "attribute 'equation' is required");
  const char *arrow = strstr(eq, "->");
  if (arrow && (strstr(arrow + 2, "->") || strchr(arrow + 2, ',')))
    return ox_error(cx, n, "equation '%s' is malformed: at most one '->', and no ',' after it", eq);
  for (const char *p = eq; *p; p++) {
    bool arrow_char = arrow && (p == arrow || p == arrow + 1);
    if (!arrow_char && letter_label(*p) < 0 && !strchr(" \t,.", *p))
      return ox_error(cx, n, "equation '%s' contains '%c'; only letters, ',', '...' and '->' are allowed", eq, *p);
  }
  return true;
}

const ox_op ox_ops_einsum[] = {
    {"Einsum", 12, lower_einsum, check_einsum, {1, OX_MAX_IO}, {1, 1}, "equation:s", 0},
    {0},
};
