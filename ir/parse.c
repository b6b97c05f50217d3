/*
 * Parser of the text form (grammar in docs/ir.md). A hand-written recursive
 * descent over characters. It stops at the first error and reports it as
 *
 *   file:line:col: error: expected X, found 'Y'
 *     <the source line>
 *     <caret under the column>
 *
 * Every instruction is shape-checked as soon as it is read (so a wrong
 * declared shape is reported at its line); module-wide rules are left to
 * ir_verify, which runs on the finished module.
 *
 * Symbols ("symbol b <= 64") come before the first computation; sizes,
 * slice starts and limits and gather slice sizes may then be dimension
 * expressions over them ("b*s", "(s+1)/2"), built with ir/symbolic.h.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "ir/literal.h"
#include "ir/namemap.h"
#include "ir/symbolic.h"

/* Attribute keys; a bit each in the per-instruction "seen" mask. */
#define KEYS(X)                                                                                         \
  X(IO_NAME, "io_name") X(IOTA_DIM, "iota_dimension") X(DIRECTION, "direction")                          \
  X(DIMENSIONS, "dimensions") X(COMBINER, "combiner") X(DESCENDING, "descending") X(SLICE, "slice")       \
  X(DS_SIZES, "dynamic_slice_sizes") X(PADDING, "padding") X(OFFSET_DIMS, "offset_dims")                 \
  X(COLLAPSED, "collapsed_slice_dims") X(START_MAP, "start_index_map") X(IVD, "index_vector_dim")        \
  X(SLICE_SIZES, "slice_sizes") X(UPD_WIN, "update_window_dims") X(INSERTED, "inserted_window_dims")     \
  X(SCATTER_MAP, "scatter_dims_to_operand_dims") X(WINDOW, "window") X(LHS_BATCH, "lhs_batch_dims")      \
  X(LHS_CONTRACT, "lhs_contracting_dims") X(RHS_BATCH, "rhs_batch_dims")                                \
  X(RHS_CONTRACT, "rhs_contracting_dims") X(DIM_LABELS, "dim_labels") X(GROUPS, "feature_group_count")   \
  X(INDEX, "index") X(KIND, "kind") X(CALLS, "calls") X(TARGET, "custom_call_target")                    \
  X(CONFIG, "backend_config") X(LOC, "loc") X(TRUE_COMP, "true_computation")                              \
  X(FALSE_COMP, "false_computation") X(CONDITION, "condition") X(BODY, "body") X(MESSAGE, "message")

enum {
#define X(e, s) K_##e,
  KEYS(X)
#undef X
      K_COUNT
};
static const char *const key_names[] = {
#define X(e, s) s,
    KEYS(X)
#undef X
};
#define B(k) (1ull << K_##k)

/* Attributes each family requires and allows (loc is allowed everywhere). */
static void family_keys(ir_family f, uint64_t *req, uint64_t *opt) {
  *req = 0;
  *opt = B(LOC);
  switch (f) {
    case IR_FAM_PARAMETER: *opt |= B(IO_NAME); break;
    case IR_FAM_IOTA: *req = B(IOTA_DIM); break;
    case IR_FAM_COMPARE: *req = B(DIRECTION); break;
    case IR_FAM_BROADCAST:
    case IR_FAM_TRANSPOSE:
    case IR_FAM_REVERSE:
    case IR_FAM_CONCATENATE: *req = B(DIMENSIONS); break;
    case IR_FAM_REDUCE: *req = B(DIMENSIONS) | B(COMBINER); break;
    case IR_FAM_SORT:
      *req = B(DIMENSIONS);
      *opt |= B(DESCENDING);
      break;
    case IR_FAM_SLICE: *req = B(SLICE); break;
    case IR_FAM_DYNAMIC_SLICE: *req = B(DS_SIZES); break;
    case IR_FAM_PAD: *req = B(PADDING); break;
    case IR_FAM_GATHER: *req = B(OFFSET_DIMS) | B(COLLAPSED) | B(START_MAP) | B(IVD) | B(SLICE_SIZES); break;
    case IR_FAM_SCATTER: *req = B(UPD_WIN) | B(INSERTED) | B(SCATTER_MAP) | B(IVD) | B(COMBINER); break;
    case IR_FAM_REDUCE_WINDOW: *req = B(WINDOW) | B(COMBINER); break;
    case IR_FAM_DOT:
      *req = B(LHS_CONTRACT) | B(RHS_CONTRACT);
      *opt |= B(LHS_BATCH) | B(RHS_BATCH);
      break;
    case IR_FAM_CONVOLUTION:
      *req = B(WINDOW) | B(DIM_LABELS);
      *opt |= B(GROUPS);
      break;
    case IR_FAM_GET_TUPLE_ELEMENT:
    case IR_FAM_GET_DIMENSION_SIZE:
    case IR_FAM_SET_SYMBOL: *req = B(INDEX); break;
    case IR_FAM_FUSION: *req = B(KIND) | B(CALLS); break;
    case IR_FAM_CONDITIONAL: *req = B(TRUE_COMP) | B(FALSE_COMP); break;
    case IR_FAM_WHILE: *req = B(CONDITION) | B(BODY); break;
    case IR_FAM_CUSTOM_CALL:
      *req = B(TARGET);
      *opt |= B(CONFIG);
      break;
    case IR_FAM_ASSERT: *req = B(MESSAGE); break;
    default: break;
  }
}

typedef struct parser {
  const char *src;
  size_t n, pos;
  const char *file;
  diag *d;
  bool failed;
  ir_module *m;
  ir_namemap names; /* the current computation's instructions (operands) */
  ir_namemap all;   /* every instruction of the module (names are module-wide) */
  size_t *inst_at; /* source offset of each instruction of the current computation */
  size_t ninst_at, cap_inst_at;
} parser;

/* Reports an error at byte offset `at` with the source line and a caret. */
static void error_at(parser *p, size_t at, const char *fmt, ...) DIAG_PRINTF(3, 4);
static void error_at(parser *p, size_t at, const char *fmt, ...) {
  if (p->failed) return;
  p->failed = true;
  if (at > p->n) at = p->n;
  int line = 1;
  size_t ls = 0;
  for (size_t i = 0; i < at; i++)
    if (p->src[i] == '\n') {
      line++;
      ls = i + 1;
    }
  size_t le = ls;
  while (le < p->n && p->src[le] != '\n') le++;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  int linelen = (int)(le - ls > 300 ? 300 : le - ls);
  int col = (int)(at - ls);
  char caret[320];
  int cpos = col < 300 ? col : 300;
  for (int i = 0; i < cpos; i++) caret[i] = p->src[ls + (size_t)i] == '\t' ? '\t' : ' ';
  caret[cpos] = '^';
  caret[cpos + 1] = 0;
  diag_error(p->d, "%s:%d:%d: error: %s\n  %.*s\n  %s", p->file, line, col + 1, msg, linelen, p->src + ls, caret);
}

/* A short description of what is at the current position, for messages. */
static const char *found(parser *p, char *buf, size_t n) {
  if (p->pos >= p->n) return "end of file";
  size_t i = p->pos, k = 0;
  if (ir_is_ident_char(p->src[i])) {
    while (i < p->n && ir_is_ident_char(p->src[i]) && k + 5 < n) buf[k++] = p->src[i++];
  } else {
    unsigned char c = (unsigned char)p->src[i];
    if (c < 0x20 || c >= 0x7f) {
      snprintf(buf, n, "byte 0x%02x", c);
      return buf;
    }
    buf[k++] = (char)c;
  }
  buf[k] = 0;
  char tmp[80];
  snprintf(tmp, sizeof tmp, "'%s'", buf);
  snprintf(buf, n, "%s", tmp);
  return buf;
}

static void expected(parser *p, const char *what) {
  char b[80];
  error_at(p, p->pos, "expected %s, found %s", what, found(p, b, sizeof b));
}

static void ws(parser *p) {
  while (p->pos < p->n) {
    char c = p->src[p->pos];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') p->pos++;
    else if (c == '/' && p->pos + 1 < p->n && p->src[p->pos + 1] == '/') {
      while (p->pos < p->n && p->src[p->pos] != '\n') p->pos++;
    } else break;
  }
}

static bool peek(parser *p, char c) {
  ws(p);
  return p->pos < p->n && p->src[p->pos] == c;
}

static bool accept(parser *p, char c) {
  if (p->failed || !peek(p, c)) return false;
  p->pos++;
  return true;
}

static bool expect(parser *p, char c) {
  if (accept(p, c)) return true;
  char what[8] = {'\'', c, '\'', 0};
  expected(p, what);
  return false;
}

static bool accept_str(parser *p, const char *s) {
  ws(p);
  size_t n = strlen(s);
  if (p->failed || p->pos + n > p->n || memcmp(p->src + p->pos, s, n) != 0) return false;
  p->pos += n;
  return true;
}

/* Accepts a whole word (not a prefix of a longer identifier). */
static bool accept_word(parser *p, const char *w) {
  ws(p);
  size_t n = strlen(w);
  if (p->failed || p->pos + n > p->n || memcmp(p->src + p->pos, w, n) != 0) return false;
  if (p->pos + n < p->n && ir_is_ident_char(p->src[p->pos + n])) return false;
  p->pos += n;
  return true;
}

/* Identifier [A-Za-z0-9_.-]+; returns its start and length. */
static bool ident(parser *p, const char **s, size_t *n, const char *what) {
  ws(p);
  size_t st = p->pos;
  while (p->pos < p->n && ir_is_ident_char(p->src[p->pos])) p->pos++;
  if (p->pos == st) {
    expected(p, what);
    return false;
  }
  *s = p->src + st;
  *n = p->pos - st;
  return true;
}

static bool int64_tok(parser *p, int64_t *out, const char *what) {
  ws(p);
  size_t st = p->pos;
  if (p->pos < p->n && (p->src[p->pos] == '-' || p->src[p->pos] == '+')) p->pos++;
  size_t ds = p->pos;
  while (p->pos < p->n && p->src[p->pos] >= '0' && p->src[p->pos] <= '9') p->pos++;
  if (p->pos == ds) {
    p->pos = st;
    expected(p, what);
    return false;
  }
  char buf[32];
  size_t len = p->pos - st;
  if (len >= sizeof buf) {
    error_at(p, st, "integer out of range");
    return false;
  }
  memcpy(buf, p->src + st, len);
  buf[len] = 0;
  errno = 0;
  long long v = strtoll(buf, NULL, 10);
  if (errno == ERANGE) {
    error_at(p, st, "integer out of range");
    return false;
  }
  *out = v;
  return true;
}

/* Value of a hex digit; -1 for anything else. */
static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Quoted string with escapes; copied into the module arena. NUL refused. */
static const char *string_tok(parser *p) {
  ws(p);
  if (p->pos >= p->n || p->src[p->pos] != '"') {
    expected(p, "a quoted string");
    return NULL;
  }
  size_t st = p->pos++;
  char *out = malloc(p->n - p->pos + 1);
  if (!out) {
    error_at(p, st, "out of memory");
    return NULL;
  }
  size_t k = 0;
  while (p->pos < p->n && p->src[p->pos] != '"') {
    char c = p->src[p->pos++];
    if (c == '\n') break;
    if (c == '\\') {
      if (p->pos >= p->n) break;
      char e = p->src[p->pos++];
      if (e == 'n') c = '\n';
      else if (e == 't') c = '\t';
      else if (e == '"' || e == '\\') c = e;
      else if (e == 'x') {
        /* Exactly two hex digits (strtol alone would take a sign or spaces). */
        int hi = p->pos + 2 <= p->n ? hex_digit(p->src[p->pos]) : -1;
        int lo = p->pos + 2 <= p->n ? hex_digit(p->src[p->pos + 1]) : -1;
        int v = hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
        if (v <= 0) {
          free(out);
          error_at(p, p->pos - 2, "bad \\x escape (two hex digits, not 00)");
          return NULL;
        }
        p->pos += 2;
        c = (char)v;
      } else {
        free(out);
        if (e > 0x20 && e < 0x7f) error_at(p, p->pos - 2, "unknown escape '\\%c'", e);
        else error_at(p, p->pos - 2, "unknown escape: '\\' followed by byte 0x%02x", (unsigned char)e);
        return NULL;
      }
    }
    out[k++] = c;
  }
  if (p->pos >= p->n || p->src[p->pos] != '"') {
    free(out);
    error_at(p, st, "unterminated string");
    return NULL;
  }
  p->pos++;
  const char *r = arena_strndup(&p->m->arena, out, k);
  free(out);
  return r;
}

/* '%' name, copied into the arena. */
static const char *pname(parser *p, const char *what) {
  if (!peek(p, '%')) {
    expected(p, what);
    return NULL;
  }
  p->pos++;
  if (p->pos >= p->n || !ir_is_ident_char(p->src[p->pos])) {
    expected(p, "a name after '%'");
    return NULL;
  }
  const char *s;
  size_t n;
  if (!ident(p, &s, &n, "a name")) return NULL;
  return arena_strndup(&p->m->arena, s, n);
}

/* {a,b,c} */
static int int_list(parser *p, int64_t *v, int max) {
  if (!expect(p, '{')) return -1;
  int n = 0;
  if (accept(p, '}')) return 0;
  do {
    if (n == max) {
      error_at(p, p->pos, "too many entries (at most %d)", max);
      return -1;
    }
    if (!int64_tok(p, &v[n++], "an integer")) return -1;
  } while (accept(p, ','));
  if (!expect(p, '}')) return -1;
  return n;
}

/* A layout: {minor_to_major...} with an optional panel tiling
 * ":P(dim,size)" before the closing brace (docs/ir.md). Returns the number
 * of minor_to_major entries read into v, -1 after an error; the panel goes
 * into s. */
static int layout_list(parser *p, int64_t *v, ir_shape *s) {
  if (!expect(p, '{')) return -1;
  int n = 0;
  if (!peek(p, '}') && !peek(p, ':')) {
    do {
      if (n == IR_MAX_RANK) {
        error_at(p, p->pos, "too many entries (at most %d)", IR_MAX_RANK);
        return -1;
      }
      if (!int64_tok(p, &v[n++], "an integer")) return -1;
    } while (accept(p, ','));
  }
  if (accept(p, ':')) {
    size_t at = (ws(p), p->pos);
    int64_t dim, size;
    if (!accept_word(p, "P")) {
      error_at(p, at, "expected P(dim,size) after ':' in a layout");
      return -1;
    }
    if (!expect(p, '(') || !int64_tok(p, &dim, "the panelled dimension") || !expect(p, ',') ||
        !int64_tok(p, &size, "the panel size") || !expect(p, ')'))
      return -1;
    if (dim < 0 || dim >= IR_MAX_RANK || size < 1 || size > INT32_MAX) {
      error_at(p, at, "panel P(%lld,%lld): the dimension must be one of the shape's and the size 1..%d", (long long)dim,
               (long long)size, INT32_MAX);
      return -1;
    }
    s->panel_dim = (uint8_t)dim;
    s->panel = (int32_t)size;
  }
  if (!expect(p, '}')) return -1;
  return n;
}

/* ---- dimension expressions (docs/ir.md, "Symbolic dimensions") ----
 *
 *   expr   := ['-'] term (('+' | '-') term)*
 *   term   := factor (('*' factor) | ('/' INT))*
 *   factor := INT | SYMBOL | '(' expr ')'
 *
 * '/' floor-divides the product so far by a positive integer literal. A
 * value stays a plain constant until a symbol joins it, so static text
 * never adds expressions to the module's table. */
typedef struct dval {
  bool sym;  /* e is the value; otherwise c is */
  int64_t c;
  ir_dexpr e;
} dval;

#define DEXPR_MAX_DEPTH 64

/* Reports an expression the table cannot hold (ir/symbolic.h: 0 on
 * overflow, too many terms or atoms, out of memory). */
static bool dexpr_fail(parser *p, size_t at) {
  error_at(p, at, "dimension expression is too large (at most %d terms of %d factors, values within 64 bits)",
           IR_DEXPR_MAX_TERMS, IR_DEXPR_MAX_ATOMS);
  return false;
}

static ir_dexpr dval_expr(parser *p, const dval *v) { return v->sym ? v->e : ir_dexpr_const(p->m, v->c); }

/* Stores expression e in *v, folding it back to a constant when it is one
 * (b-b, 2*(s/2)-2*(s/2)). */
static bool dval_set(parser *p, size_t at, dval *v, ir_dexpr e) {
  if (!e) return dexpr_fail(p, at);
  int64_t c;
  if (ir_dexpr_is_const(p->m, e, &c)) *v = (dval){.c = c};
  else *v = (dval){.sym = true, .e = e};
  return true;
}

/* *a = *a + sign * b. */
static bool dval_add(parser *p, size_t at, dval *a, const dval *b, int sign) {
  if (!a->sym && !b->sym) {
    int64_t r;
    bool ovf = sign > 0 ? __builtin_add_overflow(a->c, b->c, &r) : __builtin_sub_overflow(a->c, b->c, &r);
    if (ovf) return dexpr_fail(p, at);
    a->c = r;
    return true;
  }
  ir_dexpr x = dval_expr(p, a), y = dval_expr(p, b);
  if (!x || !y) return dexpr_fail(p, at);
  return dval_set(p, at, a, sign > 0 ? ir_dexpr_add(p->m, x, y) : ir_dexpr_sub(p->m, x, y));
}

static bool dval_mul(parser *p, size_t at, dval *a, const dval *b) {
  if (!a->sym && !b->sym) {
    if (__builtin_mul_overflow(a->c, b->c, &a->c)) return dexpr_fail(p, at);
    return true;
  }
  ir_dexpr x = dval_expr(p, a), y = dval_expr(p, b);
  if (!x || !y) return dexpr_fail(p, at);
  return dval_set(p, at, a, ir_dexpr_mul(p->m, x, y));
}

/* floor(*a / c), c >= 1. */
static bool dval_floordiv(parser *p, size_t at, dval *a, int64_t c) {
  if (!a->sym) {
    int64_t q = a->c / c;
    a->c = a->c % c != 0 && a->c < 0 ? q - 1 : q;
    return true;
  }
  return dval_set(p, at, a, ir_dexpr_floordiv(p->m, a->e, c));
}

/* A decimal literal without a sign (digits only). */
static bool uint_lit(parser *p, int64_t *out) {
  size_t st = p->pos;
  int64_t v = 0;
  while (p->pos < p->n && p->src[p->pos] >= '0' && p->src[p->pos] <= '9') {
    if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, p->src[p->pos] - '0', &v)) {
      error_at(p, st, "integer out of range");
      return false;
    }
    p->pos++;
  }
  *out = v;
  return true;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_sym_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

static bool dexpr_sum(parser *p, dval *out, const char *what, int depth);

static bool dexpr_factor(parser *p, dval *out, const char *what, int depth) {
  ws(p);
  size_t at = p->pos;
  char c = p->pos < p->n ? p->src[p->pos] : 0;
  if (c == '(') {
    if (depth >= DEXPR_MAX_DEPTH) {
      error_at(p, at, "dimension expression nested more than %d deep", DEXPR_MAX_DEPTH);
      return false;
    }
    p->pos++;
    return dexpr_sum(p, out, what, depth + 1) && expect(p, ')');
  }
  if (is_digit(c)) {
    *out = (dval){0};
    return uint_lit(p, &out->c);
  }
  if (is_sym_start(c)) {
    /* Symbol names are [A-Za-z_][A-Za-z0-9_]*: unlike instruction names
     * they stop at '-', so "s-1" reads as a difference. */
    size_t st = p->pos;
    while (p->pos < p->n && (is_sym_start(p->src[p->pos]) || is_digit(p->src[p->pos]))) p->pos++;
    size_t len = p->pos - st;
    int k = ir_sym_count(p->m) - 1;
    while (k >= 0 && !(strlen(ir_sym_name(p->m, k)) == len && !memcmp(ir_sym_name(p->m, k), p->src + st, len))) k--;
    if (k < 0) {
      error_at(p, st, "unknown symbol '%.*s' (declare it with 'symbol %.*s <= BOUND' after the module line)", (int)len,
               p->src + st, (int)len, p->src + st);
      return false;
    }
    return dval_set(p, st, out, ir_sym_expr(p->m, k));
  }
  expected(p, what);
  return false;
}

static bool dexpr_term(parser *p, dval *out, const char *what, int depth) {
  size_t at = (ws(p), p->pos);
  if (!dexpr_factor(p, out, what, depth)) return false;
  for (;;) {
    if (accept(p, '*')) {
      dval f;
      if (!dexpr_factor(p, &f, what, depth) || !dval_mul(p, at, out, &f)) return false;
    } else if (peek(p, '/')) { /* ws() has skipped a "//" comment already */
      p->pos++;
      ws(p);
      size_t dat = p->pos;
      int64_t c;
      if (p->pos >= p->n || !is_digit(p->src[p->pos])) {
        expected(p, "a positive integer after '/' (floor division by a constant)");
        return false;
      }
      if (!uint_lit(p, &c)) return false;
      if (c == 0) {
        error_at(p, dat, "division by zero in a dimension expression");
        return false;
      }
      if (!dval_floordiv(p, at, out, c)) return false;
    } else {
      return true;
    }
  }
}

static bool dexpr_sum(parser *p, dval *out, const char *what, int depth) {
  size_t at = (ws(p), p->pos);
  /* A leading '+' is accepted for the plain integers older text has. */
  bool neg = accept(p, '-');
  if (!neg) accept(p, '+');
  if (!dexpr_term(p, out, what, depth)) return false;
  if (neg) {
    dval zero = {0};
    dval t = *out;
    *out = zero;
    if (!dval_add(p, at, out, &t, -1)) return false;
  }
  for (;;) {
    int sign = accept(p, '+') ? 1 : accept(p, '-') ? -1 : 0;
    if (!sign) return true;
    dval t;
    if (!dexpr_term(p, &t, what, depth) || !dval_add(p, at, out, &t, sign)) return false;
  }
}

/* A size, slice start or slice limit that may be a dimension expression
 * (`what` is what a syntax error expected, `noun` names it otherwise): *v gets a constant (and *sym 0), or the
 * expression's upper bound (and *sym the expression). An expression that
 * may be negative at some binding is refused; a negative constant is left
 * to the caller, whose rule (dimension, slice start) says why. Sizes
 * are checked with ir_dexpr_nonneg, like the shape rules check them. */
static bool dim_expr(parser *p, const char *what, const char *noun, int64_t *v, uint32_t *sym) {
  size_t at = (ws(p), p->pos);
  dval d;
  if (!dexpr_sum(p, &d, what, 0)) return false;
  if (!d.sym) {
    *v = d.c;
    *sym = 0;
    return true;
  }
  int64_t hi = ir_dexpr_upper(p->m, d.e);
  bool nonneg = ir_dexpr_nonneg(p->m, d.e);
  if (!nonneg || hi == INT64_MAX) {
    char b[256];
    ir_dexpr_str(p->m, d.e, b, sizeof b);
    if (!nonneg)
      error_at(p, at, "%s %s may be negative (lower bound %lld within the symbols' bounds)", noun, b,
               (long long)ir_dexpr_lower(p->m, d.e));
    else error_at(p, at, "%s %s has no bound that fits in 64 bits", noun, b);
    return false;
  }
  *v = hi;
  *sym = d.e;
  return true;
}

static bool shape_tok(parser *p, ir_shape *s) {
  const char *t;
  size_t tn;
  size_t at = (ws(p), p->pos);
  if (!ident(p, &t, &tn, "an element type")) return false;
  memset(s, 0, sizeof *s);
  if (!ir_type_from_name(t, tn, &s->type)) {
    error_at(p, at, "unknown element type '%.*s'", (int)tn, t);
    return false;
  }
  if (!expect(p, '[')) return false;
  int r = 0;
  if (!accept(p, ']')) {
    do {
      if (r == IR_MAX_RANK) {
        error_at(p, p->pos, "rank exceeds the maximum of %d", IR_MAX_RANK);
        return false;
      }
      size_t dat = (ws(p), p->pos);
      if (!dim_expr(p, "a dimension size", "dimension", &s->dims[r], &s->sym[r])) return false;
      if (s->dims[r] < 0) {
        error_at(p, dat, "dimension size %lld is negative", (long long)s->dims[r]);
        return false;
      }
      r++;
    } while (accept(p, ','));
    if (!expect(p, ']')) return false;
  }
  s->rank = (uint8_t)r;
  ir_shape_set_default_layout(s);
  if (peek(p, '{')) {
    size_t lat = p->pos;
    int64_t lay[IR_MAX_RANK];
    int n = layout_list(p, lay, s);
    if (n < 0) return false;
    if (n != r) {
      error_at(p, lat, "layout has %d entries for rank %d", n, r);
      return false;
    }
    for (int i = 0; i < r; i++) {
      if (lay[i] < 0 || lay[i] >= r) {
        error_at(p, lat, "layout entry %lld out of range", (long long)lay[i]);
        return false;
      }
      s->minor_to_major[i] = (uint8_t)lay[i];
    }
    if (!ir_shape_layout_valid(s)) {
      error_at(p, lat, "layout must be a permutation of 0..%d", r - 1);
      return false;
    }
  }
  if (ir_shape_bytes(s) < 0) {
    error_at(p, at, "shape is too large");
    return false;
  }
  return true;
}

/* One literal element of type t into data[i]. */
static bool elem_tok(parser *p, ir_type t, void *data, int64_t i) {
  ws(p);
  size_t st = p->pos;
  while (p->pos < p->n && (ir_is_ident_char(p->src[p->pos]) || p->src[p->pos] == '+')) p->pos++;
  size_t len = p->pos - st;
  char buf[64];
  if (len == 0 || len >= sizeof buf) {
    p->pos = st;
    expected(p, "a number");
    return false;
  }
  memcpy(buf, p->src + st, len);
  buf[len] = 0;
  char *end;
  if (t == IR_PRED) {
    if (strcmp(buf, "true") && strcmp(buf, "false")) {
      error_at(p, st, "expected true or false, found '%s'", buf);
      return false;
    }
    ir_elem_set_i(t, data, i, buf[0] == 't');
    return true;
  }
  errno = 0;
  if (ir_type_is_float(t)) {
    double v = strtod(buf, &end);
    if (*end || end == buf) {
      error_at(p, st, "expected a number, found '%s'", buf);
      return false;
    }
    ir_elem_set_f(t, data, i, v);
    return true;
  }
  if (ir_type_is_unsigned(t)) {
    if (buf[0] == '-') {
      error_at(p, st, "negative value '%s' for %s", buf, ir_type_name(t));
      return false;
    }
    unsigned long long v = strtoull(buf, &end, 10);
    int bits = ir_type_bits(t);
    if (*end || end == buf || errno == ERANGE || (bits < 64 && v >> bits)) {
      error_at(p, st, "'%s' is not a %s value", buf, ir_type_name(t));
      return false;
    }
    ir_elem_set_u(t, data, i, v);
    return true;
  }
  long long v = strtoll(buf, &end, 10);
  int bits = ir_type_bits(t);
  if (*end || end == buf || errno == ERANGE ||
      (bits < 64 && (v < -(1ll << (bits - 1)) || v >= (1ll << (bits - 1))))) {
    error_at(p, st, "'%s' is not a %s value", buf, ir_type_name(t));
    return false;
  }
  ir_elem_set_i(t, data, i, v);
  return true;
}

static bool literal_dim(parser *p, const ir_shape *s, void *data, int dim, int64_t *pos) {
  if (dim == s->rank) return elem_tok(p, s->type, data, (*pos)++);
  size_t at = (ws(p), p->pos);
  if (!expect(p, '{')) return false;
  for (int64_t i = 0; i < s->dims[dim]; i++) {
    if (i && !expect(p, ',')) return false;
    if (!literal_dim(p, s, data, dim + 1, pos)) return false;
  }
  if (!accept(p, '}')) {
    if (peek(p, ',')) error_at(p, at, "literal has more than %lld entries in dimension %d", (long long)s->dims[dim], dim);
    else expected(p, "'}'");
    return false;
  }
  return true;
}

/* "3x3" or "1_1x2_2" style lists: nf fields per entry separated by '_'. */
static int x_list(parser *p, int64_t (*v)[3], int minf, int maxf, int *nfields) {
  int n = 0;
  do {
    if (n == IR_MAX_RANK) {
      error_at(p, p->pos, "too many dimensions");
      return -1;
    }
    int f = 0;
    do {
      if (f == maxf) {
        error_at(p, p->pos, "too many '_' fields");
        return -1;
      }
      if (!int64_tok(p, &v[n][f++], "an integer")) return -1;
    } while (p->pos < p->n && p->src[p->pos] == '_' && (p->pos++, true));
    if (f < minf) {
      error_at(p, p->pos, "expected %d '_'-separated fields", minf);
      return -1;
    }
    nfields[n] = f;
    n++;
  } while (p->pos < p->n && p->src[p->pos] == 'x' && (p->pos++, true));
  return n;
}

static bool window_tok(parser *p, ir_window *w, int *rank_out) {
  memset(w, 0, sizeof *w);
  for (int i = 0; i < IR_MAX_RANK; i++) {
    w->d[i].size = w->d[i].stride = w->d[i].lhs_dilate = w->d[i].rhs_dilate = 1;
  }
  int rank = -1;
  if (!expect(p, '{')) return false;
  while (!accept(p, '}')) {
    if (p->failed) return false;
    const char *k;
    size_t kn;
    size_t at = (ws(p), p->pos);
    if (!ident(p, &k, &kn, "a window field (size, stride, pad, lhs_dilate, rhs_dilate)")) return false;
    if (!expect(p, '=')) return false;
    int64_t v[IR_MAX_RANK][3];
    int nf[IR_MAX_RANK];
    bool is_pad = kn == 3 && memcmp(k, "pad", 3) == 0;
    ws(p);
    int n = x_list(p, v, is_pad ? 2 : 1, is_pad ? 2 : 1, nf);
    if (n < 0) return false;
    if (rank >= 0 && n != rank) {
      error_at(p, at, "window field has %d dimensions, others have %d", n, rank);
      return false;
    }
    rank = n;
    for (int i = 0; i < n; i++) {
      if (is_pad) {
        w->d[i].pad_lo = v[i][0];
        w->d[i].pad_hi = v[i][1];
      } else if (kn == 4 && !memcmp(k, "size", 4)) w->d[i].size = v[i][0];
      else if (kn == 6 && !memcmp(k, "stride", 6)) w->d[i].stride = v[i][0];
      else if (kn == 10 && !memcmp(k, "lhs_dilate", 10)) w->d[i].lhs_dilate = v[i][0];
      else if (kn == 10 && !memcmp(k, "rhs_dilate", 10)) w->d[i].rhs_dilate = v[i][0];
      else {
        error_at(p, at, "unknown window field '%.*s'", (int)kn, k);
        return false;
      }
    }
  }
  w->rank = rank < 0 ? 0 : rank;
  *rank_out = w->rank;
  return true;
}

/* dim_labels=bf01_oi01->bf01 */
static bool labels_part(parser *p, size_t at, const char *s, size_t n, char a, char b, int64_t *da, int64_t *db,
                        int64_t *sp, int *nsp) {
  *da = *db = -1;
  int ns = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == a && *da < 0) *da = (int64_t)i;
    else if (c == b && *db < 0) *db = (int64_t)i;
    else if (c >= '0' && c <= '9' && c - '0' < IR_MAX_RANK - 2 && sp[c - '0'] < 0) {
      sp[c - '0'] = (int64_t)i;
      ns++;
    } else {
      error_at(p, at, "bad dim_labels character '%c' (expected %c, %c or a spatial digit, each once)", c, a, b);
      return false;
    }
  }
  if (*da < 0 || *db < 0) {
    error_at(p, at, "dim_labels part '%.*s' needs both '%c' and '%c'", (int)n, s, a, b);
    return false;
  }
  for (int i = 0; i < ns; i++)
    if (sp[i] < 0) {
      error_at(p, at, "dim_labels spatial digits must be 0..%d", ns - 1);
      return false;
    }
  *nsp = ns;
  return true;
}

static bool dim_labels_tok(parser *p, ir_conv_dims *cd) {
  ws(p);
  size_t at = p->pos;
  size_t st = p->pos;
  while (p->pos < p->n && (ir_is_ident_char(p->src[p->pos]) || p->src[p->pos] == '>')) p->pos++;
  const char *s = p->src + st;
  size_t n = p->pos - st;
  const char *us = memchr(s, '_', n);
  const char *ar = NULL;
  for (size_t i = 0; i + 1 < n; i++)
    if (s[i] == '-' && s[i + 1] == '>') ar = s + i;
  if (!us || !ar || ar < us) {
    error_at(p, at, "dim_labels must look like bf01_oi01->bf01");
    return false;
  }
  memset(cd, 0, sizeof *cd);
  int64_t sp_in[IR_MAX_RANK], sp_k[IR_MAX_RANK], sp_o[IR_MAX_RANK];
  for (int i = 0; i < IR_MAX_RANK; i++) sp_in[i] = sp_k[i] = sp_o[i] = -1;
  int n1, n2, n3;
  if (!labels_part(p, at, s, (size_t)(us - s), 'b', 'f', &cd->in_batch, &cd->in_feature, sp_in, &n1)) return false;
  if (!labels_part(p, at, us + 1, (size_t)(ar - us - 1), 'i', 'o', &cd->k_in, &cd->k_out, sp_k, &n2)) return false;
  if (!labels_part(p, at, ar + 2, (size_t)(s + n - ar - 2), 'b', 'f', &cd->out_batch, &cd->out_feature, sp_o, &n3))
    return false;
  if (n1 != n2 || n2 != n3) {
    error_at(p, at, "dim_labels parts have different numbers of spatial dimensions");
    return false;
  }
  cd->nspatial = n1;
  for (int i = 0; i < n1; i++) {
    cd->in_spatial[i] = sp_in[i];
    cd->k_spatial[i] = sp_k[i];
    cd->out_spatial[i] = sp_o[i];
  }
  return true;
}

/* Temporary attribute storage while an instruction is read. */
typedef struct attrs {
  uint64_t seen;
  int64_t dims[IR_MAX_RANK];
  int ndims;
  int64_t v[K_COUNT][IR_MAX_RANK];
  int nv[K_COUNT];
  int64_t scalar[K_COUNT];
  ir_slice_attr slice;
  int nslice;
  ir_pad_attr pad;
  int npad;
  ir_window window;
  int nwindow;
  ir_conv_dims conv;
  ir_dot_dims dot;
  ir_gather_dims gather;
  ir_scatter_dims scatter;
} attrs;

static bool enum_word(parser *p, const char *const *names, int count, int *out, const char *what) {
  const char *s;
  size_t n;
  size_t at = (ws(p), p->pos);
  if (!ident(p, &s, &n, what)) return false;
  for (int i = 0; i < count; i++)
    if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0) {
      *out = i;
      return true;
    }
  error_at(p, at, "expected %s, found '%.*s'", what, (int)n, s);
  return false;
}

static bool parse_attr(parser *p, ir_module *m, ir_inst *in, attrs *a) {
  const char *k;
  size_t kn;
  size_t at = (ws(p), p->pos);
  if (!ident(p, &k, &kn, "an attribute name")) return false;
  int key = -1;
  for (int i = 0; i < K_COUNT; i++)
    if (strlen(key_names[i]) == kn && memcmp(key_names[i], k, kn) == 0) key = i;
  if (key < 0) {
    error_at(p, at, "unknown attribute '%.*s'", (int)kn, k);
    return false;
  }
  if (a->seen & (1ull << key)) {
    error_at(p, at, "attribute '%s' given twice", key_names[key]);
    return false;
  }
  a->seen |= 1ull << key;
  if (!expect(p, '=')) return false;
  switch (key) {
    case K_IO_NAME: return (in->io_name = string_tok(p)) != NULL;
    case K_TARGET: return (in->target = string_tok(p)) != NULL;
    case K_CONFIG:
    case K_MESSAGE: return (in->config = string_tok(p)) != NULL;
    case K_IOTA_DIM:
    case K_IVD:
    case K_GROUPS:
    case K_INDEX: return int64_tok(p, &a->scalar[key], "an integer");
    case K_DIRECTION: {
      static const char *const dirs[] = {"EQ", "NE", "LT", "LE", "GT", "GE"};
      int v;
      if (!enum_word(p, dirs, 6, &v, "a direction (EQ, NE, LT, LE, GT, GE)")) return false;
      in->cmp = (ir_cmp)v;
      return true;
    }
    case K_COMBINER: {
      static const char *const combs[] = {"add", "mul", "max", "min", "and", "or", "assign"};
      int v;
      if (!enum_word(p, combs, 7, &v, "a combiner (add, mul, max, min, and, or, assign)")) return false;
      in->comb = (ir_combiner)v;
      return true;
    }
    case K_KIND: {
      static const char *const kinds[] = {"loop", "input", "output"};
      int v;
      if (!enum_word(p, kinds, 3, &v, "a fusion kind (loop, input, output)")) return false;
      in->fusion_kind = (ir_fusion_kind)v;
      return true;
    }
    case K_DESCENDING: {
      static const char *const bools[] = {"false", "true"};
      int v;
      if (!enum_word(p, bools, 2, &v, "true or false")) return false;
      in->descending = v == 1;
      return true;
    }
    case K_CALLS:
    case K_TRUE_COMP:
    case K_FALSE_COMP:
    case K_CONDITION:
    case K_BODY: {
      size_t cat = (ws(p), p->pos);
      const char *name = pname(p, "a computation name");
      if (!name) return false;
      int ci = ir_module_find_comp(m, name);
      if (ci < 0) {
        error_at(p, cat, "computation %%%s is not defined before this use", name);
        return false;
      }
      /* true_computation and condition go in `called`, like fusion's calls. */
      if (key == K_FALSE_COMP || key == K_BODY) in->called2 = (uint32_t)ci;
      else in->called = (uint32_t)ci;
      return true;
    }
    case K_SLICE: {
      if (!expect(p, '{')) return false;
      int n = 0;
      if (!accept(p, '}')) {
        do {
          if (n == IR_MAX_RANK) {
            error_at(p, p->pos, "too many slice dimensions");
            return false;
          }
          if (!expect(p, '[') ||
              !dim_expr(p, "a slice start", "slice start", &a->slice.start[n], &a->slice.start_sym[n]) ||
              !expect(p, ':') ||
              !dim_expr(p, "a slice limit", "slice limit", &a->slice.limit[n], &a->slice.limit_sym[n]))
            return false;
          a->slice.stride[n] = 1;
          if (accept(p, ':') && !int64_tok(p, &a->slice.stride[n], "a slice stride")) return false;
          if (!expect(p, ']')) return false;
          n++;
        } while (accept(p, ','));
        if (!expect(p, '}')) return false;
      }
      a->nslice = n;
      return true;
    }
    case K_PADDING: {
      if (peek(p, '{')) {
        p->pos++;
        a->npad = 0;
        return expect(p, '}');
      }
      int64_t v[IR_MAX_RANK][3];
      int nf[IR_MAX_RANK];
      ws(p);
      int n = x_list(p, v, 2, 3, nf);
      if (n < 0) return false;
      for (int i = 0; i < n; i++) {
        a->pad.lo[i] = v[i][0];
        a->pad.hi[i] = v[i][1];
        a->pad.interior[i] = nf[i] == 3 ? v[i][2] : 0;
      }
      a->npad = n;
      return true;
    }
    case K_SLICE_SIZES: {
      /* Like int_list, each entry a size that may be symbolic. */
      int n = 0;
      if (!expect(p, '{')) return false;
      if (!accept(p, '}')) {
        do {
          if (n == IR_MAX_RANK) {
            error_at(p, p->pos, "too many entries (at most %d)", IR_MAX_RANK);
            return false;
          }
          if (!dim_expr(p, "an integer", "slice size", &a->v[key][n], &a->gather.slice_sizes_sym[n])) return false;
          n++;
        } while (accept(p, ','));
        if (!expect(p, '}')) return false;
      }
      a->nv[key] = n;
      return true;
    }
    case K_WINDOW: return window_tok(p, &a->window, &a->nwindow);
    case K_DIM_LABELS: return dim_labels_tok(p, &a->conv);
    case K_LOC: {
      ws(p);
      const char *first = NULL;
      if (peek(p, '"')) first = string_tok(p);
      else {
        const char *s;
        size_t n;
        if (!ident(p, &s, &n, "an op type or a quoted name")) return false;
        first = arena_strndup(&m->arena, s, n);
        if (!peek(p, ':')) {
          expected(p, "':' and a quoted node name after the op type");
          return false;
        }
      }
      if (!first) return false;
      if (accept(p, ':')) {
        in->loc.op_type = first;
        in->loc.name = string_tok(p);
        return in->loc.name != NULL;
      }
      in->loc.name = first;
      return true;
    }
    default: {
      int n = int_list(p, a->v[key], IR_MAX_RANK);
      if (n < 0) return false;
      a->nv[key] = n;
      return true;
    }
  }
}

/* Moves parsed attributes into the instruction and checks their counts
 * against the operand ranks. */
static bool apply_attrs(parser *p, size_t at, ir_comp *c, ir_inst *in, attrs *a) {
  ir_family fam = ir_op_get(in->op)->family;
  uint64_t req, opt;
  family_keys(fam, &req, &opt);
  for (int k = 0; k < K_COUNT; k++) {
    uint64_t bit = 1ull << k;
    if ((a->seen & bit) && !((req | opt) & bit)) {
      error_at(p, at, "attribute '%s' does not apply to %s", key_names[k], ir_op_name(in->op));
      return false;
    }
    if ((req & bit) && !(a->seen & bit)) {
      error_at(p, at, "%s needs attribute '%s'", ir_op_name(in->op), key_names[k]);
      return false;
    }
  }
  int r0 = in->nops ? c->insts[in->ops[0]].shape.rank : 0;
  if (a->seen & (B(DIMENSIONS) | B(DS_SIZES))) {
    int key = (a->seen & B(DIMENSIONS)) ? K_DIMENSIONS : K_DS_SIZES;
    in->ndims = (uint32_t)a->nv[key];
    memcpy(in->dims, a->v[key], sizeof in->dims);
  }
  switch (fam) {
    case IR_FAM_IOTA: in->index = a->scalar[K_IOTA_DIM]; break;
    case IR_FAM_GET_TUPLE_ELEMENT:
    case IR_FAM_GET_DIMENSION_SIZE:
    case IR_FAM_SET_SYMBOL: in->index = a->scalar[K_INDEX]; break;
    case IR_FAM_CONVOLUTION:
      in->index = (a->seen & B(GROUPS)) ? a->scalar[K_GROUPS] : 1;
      in->a.window = &a->window;
      in->conv = &a->conv;
      if (a->conv.nspatial != a->nwindow) {
        error_at(p, at, "window has %d dimensions but dim_labels has %d spatial dimensions", a->nwindow, a->conv.nspatial);
        return false;
      }
      break;
    case IR_FAM_REDUCE_WINDOW: in->a.window = &a->window; break;
    case IR_FAM_SLICE:
      if (a->nslice != r0) {
        error_at(p, at, "slice has %d dimensions, operand has rank %d", a->nslice, r0);
        return false;
      }
      in->a.slice = &a->slice;
      break;
    case IR_FAM_PAD:
      if (a->npad != r0) {
        error_at(p, at, "padding has %d dimensions, operand has rank %d", a->npad, r0);
        return false;
      }
      in->a.pad = &a->pad;
      break;
    case IR_FAM_DOT:
      if (a->nv[K_LHS_BATCH] != a->nv[K_RHS_BATCH] || a->nv[K_LHS_CONTRACT] != a->nv[K_RHS_CONTRACT]) {
        error_at(p, at, "lhs and rhs dimension lists differ in length");
        return false;
      }
      a->dot.nbatch = a->nv[K_LHS_BATCH];
      a->dot.ncontract = a->nv[K_LHS_CONTRACT];
      memcpy(a->dot.lhs_batch, a->v[K_LHS_BATCH], sizeof a->dot.lhs_batch);
      memcpy(a->dot.rhs_batch, a->v[K_RHS_BATCH], sizeof a->dot.rhs_batch);
      memcpy(a->dot.lhs_contract, a->v[K_LHS_CONTRACT], sizeof a->dot.lhs_contract);
      memcpy(a->dot.rhs_contract, a->v[K_RHS_CONTRACT], sizeof a->dot.rhs_contract);
      in->a.dot = &a->dot;
      break;
    case IR_FAM_GATHER:
      if (a->nv[K_SLICE_SIZES] != r0) {
        error_at(p, at, "slice_sizes has %d entries, operand has rank %d", a->nv[K_SLICE_SIZES], r0);
        return false;
      }
      a->gather.noffset = a->nv[K_OFFSET_DIMS];
      a->gather.ncollapsed = a->nv[K_COLLAPSED];
      a->gather.nstart_map = a->nv[K_START_MAP];
      memcpy(a->gather.offset_dims, a->v[K_OFFSET_DIMS], sizeof a->gather.offset_dims);
      memcpy(a->gather.collapsed_slice_dims, a->v[K_COLLAPSED], sizeof a->gather.collapsed_slice_dims);
      memcpy(a->gather.start_index_map, a->v[K_START_MAP], sizeof a->gather.start_index_map);
      memcpy(a->gather.slice_sizes, a->v[K_SLICE_SIZES], sizeof a->gather.slice_sizes);
      /* slice_sizes_sym was filled in place by parse_attr. */
      a->gather.index_vector_dim = a->scalar[K_IVD];
      in->a.gather = &a->gather;
      break;
    case IR_FAM_SCATTER:
      a->scatter.nwindow = a->nv[K_UPD_WIN];
      a->scatter.ninserted = a->nv[K_INSERTED];
      a->scatter.nscatter_map = a->nv[K_SCATTER_MAP];
      memcpy(a->scatter.update_window_dims, a->v[K_UPD_WIN], sizeof a->scatter.update_window_dims);
      memcpy(a->scatter.inserted_window_dims, a->v[K_INSERTED], sizeof a->scatter.inserted_window_dims);
      memcpy(a->scatter.scatter_dims_to_operand_dims, a->v[K_SCATTER_MAP], sizeof a->scatter.scatter_dims_to_operand_dims);
      a->scatter.index_vector_dim = a->scalar[K_IVD];
      in->a.scatter = &a->scatter;
      break;
    default: break;
  }
  return true;
}

/* Doubles an arena array of *cap elements of `elem` bytes (the old copy stays
 * in the arena until the module is freed: fine for the short lists this is
 * used for). Reports "out of memory" and returns NULL on failure. */
static void *grow(parser *p, void *old, size_t *cap, size_t elem) {
  size_t nc = *cap ? *cap * 2 : 16;
  void *n = nc <= SIZE_MAX / 2 / elem ? arena_alloc(&p->m->arena, nc * elem, 8) : NULL;
  if (!n) {
    error_at(p, p->pos, "out of memory");
    return NULL;
  }
  if (*cap) memcpy(n, old, *cap * elem);
  *cap = nc;
  return n;
}

/* Remembers where the current computation's next instruction starts, so
 * that rules checked at the end of a computation can point at it. */
static bool note_inst_at(parser *p, size_t at) {
  if (p->ninst_at == p->cap_inst_at) {
    size_t cap = p->cap_inst_at ? p->cap_inst_at * 2 : 64;
    size_t *n = realloc(p->inst_at, cap * sizeof *n);
    if (!n) return false;
    p->inst_at = n;
    p->cap_inst_at = cap;
  }
  p->inst_at[p->ninst_at++] = at;
  return true;
}

/* Rules of parameters that ir_verify would otherwise report without a
 * position: io_name only in the entry, input names and parameter numbers
 * used once (that the numbers have no gap is checked at the end of the
 * computation). */
static bool param_ok(parser *p, size_t at, const ir_comp *c, const ir_inst *in) {
  if (in->io_name && !c->is_entry) {
    error_at(p, at, "io_name is only allowed on parameters of the ENTRY computation");
    return false;
  }
  for (uint32_t i = 0; i < c->ninsts; i++) {
    const ir_inst *o = &c->insts[i];
    if (o->op != IR_OP_PARAMETER) continue;
    if (o->index == in->index) {
      error_at(p, at, "parameter number %lld is used twice (also by %%%s)", (long long)in->index, o->name);
      return false;
    }
    if (in->io_name && o->io_name && strcmp(in->io_name, o->io_name) == 0) {
      error_at(p, at, "input name \"%s\" is used twice (also by %%%s)", in->io_name, o->name);
      return false;
    }
  }
  return true;
}

static bool parse_inst(parser *p, ir_module *m, ir_comp *c, bool *is_root) {
  size_t at = (ws(p), p->pos);
  *is_root = accept_word(p, "ROOT");
  size_t name_at = (ws(p), p->pos);
  const char *name = pname(p, "an instruction ('%name = ...') or '}'");
  if (!name) return false;
  if (ir_namemap_get(&p->all, name, strlen(name)) != IR_NONE) {
    error_at(p, name_at, "instruction %%%s is defined twice (names are unique in the whole module)", name);
    return false;
  }
  if (!expect(p, '=')) return false;
  ir_inst in;
  memset(&in, 0, sizeof in);
  in.name = name;
  if (accept(p, '(')) {
    /* Any number of elements: whatever the builder makes must read back. */
    in.shape.type = IR_TUPLE;
    size_t cap = 0;
    if (!accept(p, ')')) {
      do {
        if (in.ntuple == cap && !(in.tuple = grow(p, in.tuple, &cap, sizeof *in.tuple))) return false;
        if (!shape_tok(p, &in.tuple[in.ntuple++])) return false;
      } while (accept(p, ','));
      if (!expect(p, ')')) return false;
    }
  } else if (!shape_tok(p, &in.shape)) {
    return false;
  }
  const char *opn;
  size_t opl;
  size_t op_at = (ws(p), p->pos);
  if (!ident(p, &opn, &opl, "an op name")) return false;
  if (!ir_op_from_name(opn, opl, &in.op)) {
    error_at(p, op_at, "unknown op '%.*s'", (int)opl, opn);
    return false;
  }
  if (!expect(p, '(')) return false;
  ir_id ops_local[16];
  ir_id *ops = ops_local;
  uint32_t cap = 16;
  if (in.op == IR_OP_PARAMETER) {
    if (!int64_tok(p, &in.index, "a parameter number")) return false;
  } else if (in.op == IR_OP_CONSTANT) {
    if (in.shape.type == IR_TUPLE) {
      error_at(p, op_at, "constant must have an array shape");
      return false;
    }
    if (!ir_shape_is_static(&in.shape)) {
      /* Its literal has one fixed number of elements. */
      error_at(p, at, "a constant's shape must be static, found %s", ir_shape_str_m(m, &in.shape, (char[256]){0}, 256));
      return false;
    }
    size_t lat = (ws(p), p->pos);
    if (accept_str(p, "{...}")) {
      error_at(p, lat, "constant data was elided in this dump ({...}); print the module again without --elide-constants to get text that parses");
      return false;
    }
    /* Each element takes at least one byte of text: refuse a shape the rest
     * of the text cannot fill before allocating memory for it. */
    int64_t elems = ir_shape_elements(&in.shape);
    if (elems > 0 && (uint64_t)elems > p->n - p->pos) {
      error_at(p, lat, "constant of shape %s has %lld elements, more than the rest of the text could hold",
               ir_shape_str(&in.shape, (char[160]){0}, 160), (long long)elems);
      return false;
    }
    in.data = arena_alloc(&m->arena, (size_t)ir_shape_bytes(&in.shape), 64);
    if (!in.data) {
      error_at(p, lat, "out of memory");
      return false;
    }
    int64_t pos = 0;
    /* An array with no elements is written "{}" whatever its rank (the
     * nested form is accepted too). */
    size_t save = p->pos;
    bool empty = ir_shape_elements(&in.shape) == 0 && in.shape.rank > 0 && accept(p, '{') && accept(p, '}');
    if (!empty) {
      p->pos = save;
      if (!literal_dim(p, &in.shape, in.data, 0, &pos)) return false;
    }
  } else if (!peek(p, ')')) {
    do {
      if (in.nops == cap) {
        ir_id *n = malloc(cap * 2 * sizeof *n);
        if (!n) {
          error_at(p, p->pos, "out of memory");
          goto fail;
        }
        memcpy(n, ops, cap * sizeof *n);
        if (ops != ops_local) free(ops);
        ops = n;
        cap *= 2;
      }
      size_t oat = (ws(p), p->pos);
      if (!peek(p, '%')) {
        expected(p, "an operand ('%name')");
        goto fail;
      }
      p->pos++;
      const char *s;
      size_t n;
      if (!ident(p, &s, &n, "an operand name")) goto fail;
      ir_id id = ir_namemap_get(&p->names, s, n);
      if (id == IR_NONE) {
        error_at(p, oat, "unknown instruction %%%.*s (operands must be defined before use)", (int)n, s);
        goto fail;
      }
      ops[in.nops++] = id;
    } while (accept(p, ','));
  }
  in.ops = ops;
  if (!expect(p, ')')) goto fail;
  attrs *a = calloc(1, sizeof *a);
  if (!a) {
    error_at(p, at, "out of memory");
    goto fail;
  }
  bool ok = true;
  while (ok && accept(p, ',')) ok = parse_attr(p, m, &in, a);
  const ir_op_info *info = ir_op_get(in.op);
  if (ok && ((int)in.nops < info->min_operands || (info->max_operands >= 0 && (int)in.nops > info->max_operands))) {
    if (info->min_operands == info->max_operands)
      error_at(p, op_at, "%s takes %d operand%s, got %u", info->name, info->min_operands,
               info->min_operands == 1 ? "" : "s", in.nops);
    else if (info->max_operands < 0)
      error_at(p, op_at, "%s takes at least %d operand%s, got %u", info->name, info->min_operands,
               info->min_operands == 1 ? "" : "s", in.nops);
    else
      error_at(p, op_at, "%s takes %d to %d operands, got %u", info->name, info->min_operands, info->max_operands,
               in.nops);
    ok = false;
  }
  ok = ok && apply_attrs(p, op_at, c, &in, a);
  if (ok && in.op == IR_OP_PARAMETER && !param_ok(p, at, c, &in)) ok = false;
  if (ok) {
    char err[512];
    ir_shape s;
    ir_shape *t;
    uint32_t nt;
    if (!ir_infer_shape(m, c, &in, &s, &t, &nt, err, sizeof err)) {
      error_at(p, op_at, "%s", err);
      ok = false;
    } else if (!ir_result_matches(&in, &s, t, nt)) {
      char b1[512];
      error_at(p, at, "declared shape does not match %s of its operands, which gives %s", info->name,
               ir_result_str_m(m, &s, t, nt, b1, sizeof b1));
      ok = false;
    }
  }
  ir_id id = IR_NONE;
  if (ok) {
    id = ir_comp_append(m, c, &in);
    if (id == IR_NONE || !ir_namemap_put(&p->names, c->insts[id].name, id) ||
        !ir_namemap_put(&p->all, c->insts[id].name, id) || !note_inst_at(p, at)) {
      error_at(p, at, "out of memory");
      ok = false;
    }
  }
  free(a);
  if (ops != ops_local) free(ops);
  if (ok && *is_root) {
    if (c->root != IR_NONE) {
      error_at(p, at, "computation %%%s has a second ROOT", c->name);
      return false;
    }
    c->root = id;
  }
  return ok;
fail:
  if (ops != ops_local) free(ops);
  return false;
}

static bool parse_comp(parser *p, ir_module *m) {
  bool entry = accept_word(p, "ENTRY");
  size_t at = (ws(p), p->pos);
  const char *name = pname(p, entry ? "a computation name ('%name')" : "'ENTRY' or a computation name ('%name')");
  if (!name) return false;
  if (ir_module_find_comp(m, name) >= 0) {
    error_at(p, at, "computation %%%s is defined twice", name);
    return false;
  }
  if (entry && m->entry >= 0) {
    error_at(p, at, "a second ENTRY computation");
    return false;
  }
  const char **outs = NULL;
  size_t capouts = 0;
  int nouts = -1;
  if (accept_word(p, "outputs")) {
    if (!entry) {
      error_at(p, at, "only the ENTRY computation names outputs");
      return false;
    }
    if (!expect(p, '=') || !expect(p, '{')) return false;
    nouts = 0;
    if (!accept(p, '}')) {
      do {
        if ((size_t)nouts == capouts && !(outs = grow(p, outs, &capouts, sizeof *outs))) return false;
        size_t sat = (ws(p), p->pos);
        if (!(outs[nouts++] = string_tok(p))) return false;
        for (int i = 0; i + 1 < nouts; i++)
          if (strcmp(outs[i], outs[nouts - 1]) == 0) {
            error_at(p, sat, "output name \"%s\" is used twice", outs[i]);
            return false;
          }
      } while (accept(p, ','));
      if (!expect(p, '}')) return false;
    }
  }
  if (!expect(p, '{')) return false;
  ir_comp *c = ir_comp_add(m, name, entry);
  if (!c) {
    error_at(p, at, "out of memory");
    return false;
  }
  ir_namemap_free(&p->names);
  p->ninst_at = 0;
  while (!accept(p, '}')) {
    if (p->failed) return false;
    if (p->pos >= p->n) {
      expected(p, "'}' closing computation");
      return false;
    }
    bool root;
    if (!parse_inst(p, m, c, &root)) return false;
  }
  if (c->root == IR_NONE) {
    error_at(p, at, "computation %%%s has no ROOT instruction", name);
    return false;
  }
  /* Numbers are distinct (param_ok), so a gap shows as a number >= n. */
  uint32_t nparams = ir_comp_num_params(c);
  for (uint32_t i = 0; i < c->ninsts; i++)
    if (c->insts[i].op == IR_OP_PARAMETER && (c->insts[i].index < 0 || c->insts[i].index >= (int64_t)nparams)) {
      error_at(p, p->inst_at[i], "parameter number %lld is out of range: the %u parameters of %%%s must be numbered 0..%u",
               (long long)c->insts[i].index, nparams, name, nparams - 1);
      return false;
    }
  if (entry) {
    const ir_inst *r = &c->insts[c->root];
    if (r->shape.type != IR_TUPLE) {
      error_at(p, at, "the ROOT of the ENTRY computation must be a tuple of its outputs");
      return false;
    }
    if (nouts >= 0 && (uint32_t)nouts != r->ntuple) {
      error_at(p, at, "%d output names for a ROOT tuple of %u", nouts, r->ntuple);
      return false;
    }
    c->noutputs = r->ntuple;
    c->output_names = arena_alloc(&m->arena, (r->ntuple ? r->ntuple : 1) * sizeof(char *), 8);
    if (!c->output_names) return false;
    for (uint32_t i = 0; i < r->ntuple; i++) {
      char def[32];
      snprintf(def, sizeof def, "output%u", i);
      c->output_names[i] = nouts >= 0 ? outs[i] : arena_strdup(&m->arena, def);
    }
  }
  return true;
}

/* A value of the entry computation in a plan: %name or %name#elem. */
static bool plan_value(parser *p, const ir_comp *e, const ir_namemap *names, const ir_plan *pl, uint32_t *out) {
  size_t at = (ws(p), p->pos);
  if (!accept(p, '%')) {
    expected(p, "a value ('%name' or '%name#element')");
    return false;
  }
  const char *s;
  size_t n;
  if (!ident(p, &s, &n, "a name")) return false;
  ir_id id = ir_namemap_get(names, s, n);
  if (id == IR_NONE) {
    error_at(p, at, "%%%.*s is not an instruction of the ENTRY computation", (int)n, s);
    return false;
  }
  int64_t k = 0;
  bool tuple = e->insts[id].shape.type == IR_TUPLE;
  if (tuple && (!expect(p, '#') || !int64_tok(p, &k, "an element number"))) return false;
  if (k < 0 || k >= (int64_t)ir_num_values(&e->insts[id])) {
    error_at(p, at, "%%%.*s has no element %lld", (int)n, s, (long long)k);
    return false;
  }
  *out = pl->first[id] + (uint32_t)k;
  return true;
}

/* plan workspace=N { %v: KIND, size=S, live=[D,L] ... } after the ENTRY
 * computation (ir/plan.c describes it). */
static bool parse_plan(parser *p, ir_module *m) {
  size_t at = p->pos - 4; /* at 'plan' */
  ir_comp *e = ir_module_entry(m);
  if (!e) {
    error_at(p, at, "a plan must follow the ENTRY computation");
    return false;
  }
  if (m->plan) {
    error_at(p, at, "a second plan");
    return false;
  }
  uint32_t nv = 0;
  for (ir_id id = 0; id < e->ninsts; id++) nv += ir_num_values(&e->insts[id]);
  ir_plan *pl = ir_plan_alloc(e->ninsts, nv);
  ir_namemap names = {0};
  uint8_t *seen = calloc(nv ? nv : 1, 1);
  bool ok = pl && seen;
  for (ir_id id = 0, v = 0; ok && id < e->ninsts; v += ir_num_values(&e->insts[id]), id++) {
    pl->first[id] = v;
    ok = ir_namemap_put(&names, e->insts[id].name, id);
  }
  if (!ok) error_at(p, at, "out of memory");
  if (ok) pl->first[e->ninsts] = nv;
  ok = ok && accept_word(p, "workspace") && expect(p, '=') && int64_tok(p, &pl->workspace, "a byte count") &&
       expect(p, '{');
  while (ok && !accept(p, '}')) {
    uint32_t v;
    size_t vat = (ws(p), p->pos);
    if (p->pos >= p->n) {
      expected(p, "'}' closing the plan");
      ok = false;
      break;
    }
    if (!plan_value(p, e, &names, pl, &v) || !expect(p, ':')) {
      ok = false;
      break;
    }
    if (seen[v]) {
      error_at(p, vat, "a second line for this value");
      ok = false;
      break;
    }
    seen[v] = 1;
    ir_buf *u = &pl->bufs[v];
    if (accept_word(p, "parameter")) {
      u->kind = IR_BUF_PARAMETER;
      ok = int64_tok(p, &u->index, "a parameter number");
    } else if (accept_word(p, "constant")) {
      u->kind = IR_BUF_CONSTANT;
    } else if (accept_word(p, "output")) {
      u->kind = IR_BUF_OUTPUT;
      ok = int64_tok(p, &u->index, "an output number");
    } else if (accept_word(p, "temp")) {
      u->kind = IR_BUF_TEMP;
      ok = expect(p, '@') && int64_tok(p, &u->offset, "a workspace offset");
    } else if ((u->kind = IR_BUF_ALIAS, accept_word(p, "alias")) || (u->kind = IR_BUF_IN_PLACE, accept_word(p, "in_place")) ||
               (u->kind = IR_BUF_SLICE, accept_word(p, "slice"))) {
      ok = plan_value(p, e, &names, pl, &u->of);
      if (ok && u->kind == IR_BUF_SLICE) ok = expect(p, '@') && int64_tok(p, &u->offset, "an offset in the slice's value");
    } else {
      expected(p, "a buffer kind (parameter, constant, output, temp, alias, in_place, slice)");
      ok = false;
    }
    ok = ok && expect(p, ',') && accept_word(p, "size") && expect(p, '=') && int64_tok(p, &u->size, "a byte count") &&
         expect(p, ',') && accept_word(p, "live") && expect(p, '=') && expect(p, '[') &&
         int64_tok(p, &u->def, "a launch position") && expect(p, ',') && int64_tok(p, &u->last, "a launch position") &&
         expect(p, ']');
    if (!ok && !p->failed) expected(p, "', size=BYTES, live=[DEF,LAST]'");
  }
  for (uint32_t v = 0; ok && v < nv; v++)
    if (!seen[v]) {
      error_at(p, p->pos, "the plan has no line for value %u of the ENTRY computation", v);
      ok = false;
    }
  ir_namemap_free(&names);
  free(seen);
  if (ok) {
    /* Checked here, where the message can point at the plan. */
    diag_buffer vd;
    diag_buffer_init(&vd);
    m->plan = pl;
    if (!ir_plan_verify(m, &vd.sink)) {
      error_at(p, at, "%s", vd.first);
      m->plan = NULL;
      ok = false;
    }
  }
  if (!ok) {
    ir_plan_free(pl);
    return false;
  }
  m->plan = pl;
  e->keep_order = true; /* the plan's live ranges are positions in this order */
  return true;
}

/* symbol NAME <= BOUND, after the module line and before the first
 * computation (whose shapes may use it). */
static bool parse_symbol(parser *p) {
  size_t at = p->pos - 6; /* at 'symbol' */
  if (p->m->ncomps > 0) {
    error_at(p, at, "symbols must be declared before the first computation");
    return false;
  }
  const char *s;
  size_t n;
  size_t nat = (ws(p), p->pos);
  if (!ident(p, &s, &n, "a symbol name")) return false;
  char *name = arena_strndup(&p->m->arena, s, n);
  if (!name) {
    error_at(p, nat, "out of memory");
    return false;
  }
  if (!ir_sym_name_ok(name)) {
    error_at(p, nat, "bad symbol name '%s' (letters, digits and '_', not starting with a digit)", name);
    return false;
  }
  if (ir_sym_find(p->m, name) >= 0) {
    error_at(p, nat, "symbol %s is declared twice", name);
    return false;
  }
  if (!accept_str(p, "<=")) {
    expected(p, "'<=' and the symbol's bound");
    return false;
  }
  int64_t bound;
  size_t bat = (ws(p), p->pos);
  if (!int64_tok(p, &bound, "the symbol's bound (an integer >= 1)")) return false;
  /* ", computed": a set_symbol instruction gives the value, 0 <= value <= bound. */
  bool computed = false;
  if (accept_str(p, ",")) {
    size_t kat = (ws(p), p->pos);
    const char *k;
    size_t kn;
    if (!ident(p, &k, &kn, "'computed'")) return false;
    if (kn != 8 || strncmp(k, "computed", 8) != 0) {
      error_at(p, kat, "expected 'computed' after the bound of symbol %s", name);
      return false;
    }
    computed = true;
  }
  if (bound < (computed ? 0 : 1)) {
    error_at(p, bat, "symbol %s has bound %lld; a bound must be at least %d", name, (long long)bound, computed ? 0 : 1);
    return false;
  }
  if (!(computed ? ir_sym_declare_computed(p->m, name, bound, NULL) : ir_sym_declare(p->m, name, bound))) {
    error_at(p, nat, "out of memory");
    return false;
  }
  return true;
}

/* Generated names never collide with parsed ones: start past every ".N". */
static void bump_name_counter(ir_module *m) {
  for (uint32_t ci = 0; ci < m->ncomps; ci++) {
    const ir_comp *c = m->comps[ci];
    for (uint32_t i = 0; i < c->ninsts; i++) {
      const char *dot = strrchr(c->insts[i].name, '.');
      if (!dot || !dot[1]) continue;
      char *end;
      unsigned long long v = strtoull(dot + 1, &end, 10);
      if (!*end && v >= m->next_name && v < UINT64_MAX / 2) m->next_name = v + 1;
    }
  }
}

ir_module *ir_parse_module(const char *text, size_t n, const char *file, diag *d) {
  parser p;
  memset(&p, 0, sizeof p);
  p.src = text;
  p.n = n;
  p.file = file ? file : "<input>";
  p.d = d;
  for (size_t i = 0; i < n; i++)
    if (text[i] == 0) {
      p.m = NULL;
      error_at(&p, i, "NUL byte in the text");
      return NULL;
    }
  p.m = ir_module_create("module");
  if (!p.m) {
    diag_error(d, "out of memory");
    return NULL;
  }
  ws(&p);
  if (!accept_word(&p, "module")) {
    expected(&p, "'module' and a module name");
  } else {
    ws(&p);
    if (peek(&p, '"')) {
      const char *name = string_tok(&p);
      if (name) p.m->name = name;
    } else {
      const char *s;
      size_t len;
      if (ident(&p, &s, &len, "a module name")) p.m->name = arena_strndup(&p.m->arena, s, len);
    }
  }
  while (!p.failed) {
    ws(&p);
    if (p.pos >= p.n) break;
    if (accept_word(&p, "symbol")) {
      if (!parse_symbol(&p)) break;
      continue;
    }
    if (accept_word(&p, "plan")) {
      if (!parse_plan(&p, p.m)) break;
      continue;
    }
    if (!parse_comp(&p, p.m)) break;
  }
  if (!p.failed && p.m->entry < 0) error_at(&p, p.n, "the module has no ENTRY computation");
  ir_namemap_free(&p.names);
  ir_namemap_free(&p.all);
  free(p.inst_at);
  if (p.failed) {
    ir_module_destroy(p.m);
    return NULL;
  }
  bump_name_counter(p.m);
  diag_buffer vd;
  diag_buffer_init(&vd);
  if (!ir_verify(p.m, &vd.sink)) {
    diag_error(d, "%s: error: %s", p.file, vd.first);
    ir_module_destroy(p.m);
    return NULL;
  }
  return p.m;
}
