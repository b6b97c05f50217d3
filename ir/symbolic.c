/*
 * Symbols and dimension expressions (ir/symbolic.h).
 *
 * Working form: a poly is up to IR_DEXPR_MAX_TERMS terms, each a nonzero
 * coefficient times a sorted list of atom ids. Canonical order: terms with
 * more atoms first, then by atom list; the constant term (no atoms) last.
 * Interned polys are found through an open-addressing hash table.
 */
#include "ir/symbolic.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct term {
  int64_t coeff;
  uint8_t n;
  uint32_t a[IR_DEXPR_MAX_ATOMS];
} term;

typedef struct poly {
  int n;
  term t[IR_DEXPR_MAX_TERMS];
} poly;

/* An atom: symbol `sym` (>= 0) or floor(arg / div) (sym == -1). */
typedef struct atom {
  int32_t sym;
  ir_dexpr arg;
  int64_t div;
} atom;

typedef struct stored {
  uint32_t n;
  term *t;
  uint64_t hash;
} stored;

struct ir_symtab {
  char **names;
  int64_t *bounds;
  bool *computed; /* set by a set_symbol instruction: 0 <= value <= bound */
  int nsyms, capsyms;
  atom *atoms;
  uint32_t natoms, capatoms;
  stored *ex; /* expression id e is ex[e - 1] */
  uint32_t nex, capex;
  uint32_t *htab; /* expression ids, 0 empty */
  uint32_t hcap;
};

static struct ir_symtab *tab(ir_module *m) {
  if (!m->syms) m->syms = calloc(1, sizeof *m->syms);
  return m->syms;
}

void ir_symtab_free(struct ir_symtab *t) {
  if (!t) return;
  for (int i = 0; i < t->nsyms; i++) free(t->names[i]);
  for (uint32_t i = 0; i < t->nex; i++) free(t->ex[i].t);
  free(t->names);
  free(t->bounds);
  free(t->computed);
  free(t->atoms);
  free(t->ex);
  free(t->htab);
  free(t);
}

struct ir_symtab *ir_symtab_clone(const struct ir_symtab *s) {
  if (!s) return NULL;
  struct ir_symtab *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->names = calloc((size_t)s->capsyms + 1, sizeof *t->names);
  t->bounds = calloc((size_t)s->capsyms + 1, sizeof *t->bounds);
  t->computed = calloc((size_t)s->capsyms + 1, sizeof *t->computed);
  t->atoms = calloc((size_t)s->capatoms + 1, sizeof *t->atoms);
  t->ex = calloc((size_t)s->capex + 1, sizeof *t->ex);
  t->htab = calloc((size_t)s->hcap + 1, sizeof *t->htab);
  if (!t->names || !t->bounds || !t->computed || !t->atoms || !t->ex || !t->htab) goto fail;
  t->capsyms = s->capsyms, t->capatoms = s->capatoms, t->capex = s->capex, t->hcap = s->hcap;
  for (int i = 0; i < s->nsyms; i++, t->nsyms++) {
    t->names[i] = strdup(s->names[i]);
    t->bounds[i] = s->bounds[i];
    t->computed[i] = s->computed[i];
    if (!t->names[i]) goto fail;
  }
  if (s->natoms) memcpy(t->atoms, s->atoms, s->natoms * sizeof *t->atoms);
  t->natoms = s->natoms;
  if (s->hcap) memcpy(t->htab, s->htab, s->hcap * sizeof *t->htab);
  for (uint32_t i = 0; i < s->nex; i++, t->nex++) {
    t->ex[i] = s->ex[i];
    t->ex[i].t = malloc((s->ex[i].n ? s->ex[i].n : 1) * sizeof(term));
    if (!t->ex[i].t) goto fail;
    if (s->ex[i].n) memcpy(t->ex[i].t, s->ex[i].t, s->ex[i].n * sizeof(term));
  }
  return t;
fail:
  ir_symtab_free(t);
  return NULL;
}

/* ---- symbols ---- */

int ir_sym_count(const ir_module *m) { return m->syms ? m->syms->nsyms : 0; }
const char *ir_sym_name(const ir_module *m, int k) { return m->syms->names[k]; }
int64_t ir_sym_bound(const ir_module *m, int k) { return m->syms->bounds[k]; }
bool ir_sym_is_computed(const ir_module *m, int k) { return m->syms->computed[k]; }
int64_t ir_sym_lower(const ir_module *m, int k) { return m->syms->computed[k] ? 0 : 1; }
bool ir_module_has_computed_syms(const ir_module *m) {
  for (int k = 0; k < ir_sym_count(m); k++)
    if (m->syms->computed[k]) return true;
  return false;
}

int ir_sym_find(const ir_module *m, const char *name) {
  for (int i = 0; i < ir_sym_count(m); i++)
    if (!strcmp(m->syms->names[i], name)) return i;
  return -1;
}

bool ir_sym_name_ok(const char *s) {
  if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_')) return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_')) return false;
  return true;
}

static ir_dexpr intern(ir_module *m, poly *p);

static ir_dexpr atom_poly(ir_module *m, uint32_t a) {
  poly p = {.n = 1};
  p.t[0].coeff = 1;
  p.t[0].n = 1;
  p.t[0].a[0] = a;
  return intern(m, &p);
}

/* The id of atom x, added when new; UINT32_MAX on out of memory. */
static uint32_t atom_id(ir_module *m, atom x) {
  struct ir_symtab *t = tab(m);
  if (!t) return UINT32_MAX;
  for (uint32_t i = 0; i < t->natoms; i++)
    if (t->atoms[i].sym == x.sym && t->atoms[i].arg == x.arg && t->atoms[i].div == x.div) return i;
  if (t->natoms == t->capatoms) {
    uint32_t cap = t->capatoms ? t->capatoms * 2 : 16;
    atom *na = realloc(t->atoms, cap * sizeof *na);
    if (!na) return UINT32_MAX;
    t->atoms = na, t->capatoms = cap;
  }
  t->atoms[t->natoms] = x;
  return t->natoms++;
}

static ir_dexpr declare(ir_module *m, const char *name, int64_t bound, bool computed) {
  if (!ir_sym_name_ok(name) || bound < (computed ? 0 : 1)) return 0;
  int k = ir_sym_find(m, name);
  if (k >= 0) return m->syms->bounds[k] == bound && m->syms->computed[k] == computed ? ir_sym_expr(m, k) : 0;
  struct ir_symtab *t = tab(m);
  if (!t) return 0;
  if (t->nsyms == t->capsyms) {
    int cap = t->capsyms ? t->capsyms * 2 : 8;
    char **nn = realloc(t->names, (size_t)cap * sizeof *nn);
    if (!nn) return 0;
    t->names = nn;
    int64_t *nb = realloc(t->bounds, (size_t)cap * sizeof *nb);
    if (!nb) return 0;
    t->bounds = nb;
    bool *nc = realloc(t->computed, (size_t)cap * sizeof *nc);
    if (!nc) return 0;
    t->computed = nc, t->capsyms = cap;
  }
  char *dup = strdup(name);
  if (!dup) return 0;
  t->names[t->nsyms] = dup;
  t->bounds[t->nsyms] = bound;
  t->computed[t->nsyms] = computed;
  t->nsyms++;
  return ir_sym_expr(m, t->nsyms - 1);
}

ir_dexpr ir_sym_declare(ir_module *m, const char *name, int64_t bound) { return declare(m, name, bound, false); }

ir_dexpr ir_sym_declare_computed(ir_module *m, const char *name, int64_t bound, int *k) {
  char buf[128];
  /* A fresh name: name, name_2, name_3, ... */
  snprintf(buf, sizeof buf, "%s", name);
  for (int i = 2; ir_sym_find(m, buf) >= 0 && i < 100000; i++) snprintf(buf, sizeof buf, "%s_%d", name, i);
  if (ir_sym_find(m, buf) >= 0) return 0;
  ir_dexpr e = declare(m, buf, bound, true);
  if (e && k) *k = ir_sym_count(m) - 1;
  return e;
}

ir_dexpr ir_sym_expr(ir_module *m, int k) {
  if (k < 0 || k >= ir_sym_count(m)) return 0;
  uint32_t a = atom_id(m, (atom){.sym = k});
  return a == UINT32_MAX ? 0 : atom_poly(m, a);
}

/* ---- canonical form and interning ---- */

static int term_cmp(const term *x, const term *y) {
  if (x->n != y->n) return x->n > y->n ? -1 : 1;
  for (int i = 0; i < x->n; i++)
    if (x->a[i] != y->a[i]) return x->a[i] < y->a[i] ? -1 : 1;
  return 0;
}

/* Sorts atoms and terms, merges like terms, drops zero terms; false on
 * coefficient overflow. */
static bool canon(poly *p) {
  for (int i = 0; i < p->n; i++) {
    term *t = &p->t[i];
    for (int j = 1; j < t->n; j++)
      for (int k = j; k > 0 && t->a[k - 1] > t->a[k]; k--) {
        uint32_t s = t->a[k];
        t->a[k] = t->a[k - 1], t->a[k - 1] = s;
      }
  }
  for (int j = 1; j < p->n; j++)
    for (int k = j; k > 0 && term_cmp(&p->t[k - 1], &p->t[k]) > 0; k--) {
      term s = p->t[k];
      p->t[k] = p->t[k - 1], p->t[k - 1] = s;
    }
  int w = 0;
  for (int i = 0; i < p->n; i++) {
    if (w > 0 && !term_cmp(&p->t[w - 1], &p->t[i])) {
      if (__builtin_add_overflow(p->t[w - 1].coeff, p->t[i].coeff, &p->t[w - 1].coeff)) return false;
    } else {
      p->t[w++] = p->t[i];
    }
    if (p->t[w - 1].coeff == 0) w--;
  }
  p->n = w;
  return true;
}

static uint64_t poly_hash(const poly *p) {
  uint64_t h = 1469598103934665603ull;
#define MIX(v)                    \
  do {                            \
    h ^= (uint64_t)(v);           \
    h *= 1099511628211ull;        \
  } while (0)
  MIX(p->n);
  for (int i = 0; i < p->n; i++) {
    MIX(p->t[i].coeff);
    MIX(p->t[i].n);
    for (int j = 0; j < p->t[i].n; j++) MIX(p->t[i].a[j]);
  }
#undef MIX
  return h;
}

static bool same_poly(const stored *s, const poly *p) {
  if (s->n != (uint32_t)p->n) return false;
  for (int i = 0; i < p->n; i++)
    if (s->t[i].coeff != p->t[i].coeff || term_cmp(&s->t[i], &p->t[i])) return false;
  return true;
}

static bool rehash(struct ir_symtab *t, uint32_t cap) {
  uint32_t *h = calloc(cap, sizeof *h);
  if (!h) return false;
  for (uint32_t e = 1; e <= t->nex; e++) {
    uint32_t k = (uint32_t)t->ex[e - 1].hash & (cap - 1);
    while (h[k]) k = (k + 1) & (cap - 1);
    h[k] = e;
  }
  free(t->htab);
  t->htab = h, t->hcap = cap;
  return true;
}

static ir_dexpr intern(ir_module *m, poly *p) {
  if (!canon(p)) return 0;
  struct ir_symtab *t = tab(m);
  if (!t) return 0;
  if ((t->nex + 1) * 2 > t->hcap && !rehash(t, t->hcap ? t->hcap * 2 : 64)) return 0;
  uint64_t h = poly_hash(p);
  uint32_t k = (uint32_t)h & (t->hcap - 1);
  for (; t->htab[k]; k = (k + 1) & (t->hcap - 1)) {
    const stored *s = &t->ex[t->htab[k] - 1];
    if (s->hash == h && same_poly(s, p)) return t->htab[k];
  }
  if (t->nex == t->capex) {
    uint32_t cap = t->capex ? t->capex * 2 : 32;
    stored *ns = realloc(t->ex, cap * sizeof *ns);
    if (!ns) return 0;
    t->ex = ns, t->capex = cap;
  }
  term *terms = malloc((p->n ? (size_t)p->n : 1) * sizeof *terms);
  if (!terms) return 0;
  if (p->n) memcpy(terms, p->t, (size_t)p->n * sizeof *terms);
  t->ex[t->nex] = (stored){.n = (uint32_t)p->n, .t = terms, .hash = h};
  t->htab[k] = ++t->nex;
  return t->nex;
}

/* The working form of e; false for an invalid id. */
static bool load(const ir_module *m, ir_dexpr e, poly *p) {
  if (!m->syms || e == 0 || e > m->syms->nex) return false;
  const stored *s = &m->syms->ex[e - 1];
  p->n = (int)s->n;
  memcpy(p->t, s->t, s->n * sizeof(term));
  return true;
}

uint32_t ir_dexpr_count(const ir_module *m) { return m->syms ? m->syms->nex : 0; }

/* ---- arithmetic ---- */

ir_dexpr ir_dexpr_const(ir_module *m, int64_t v) {
  poly p = {.n = 1};
  p.t[0].coeff = v;
  return intern(m, &p);
}

bool ir_dexpr_is_const(const ir_module *m, ir_dexpr e, int64_t *v) {
  if (!m->syms || e == 0 || e > m->syms->nex) return false;
  const stored *s = &m->syms->ex[e - 1];
  if (s->n > 1 || (s->n == 1 && s->t[0].n)) return false;
  if (v) *v = s->n ? s->t[0].coeff : 0;
  return true;
}

int ir_dexpr_as_sym(const ir_module *m, ir_dexpr e) {
  if (!m->syms || e == 0 || e > m->syms->nex) return -1;
  const stored *s = &m->syms->ex[e - 1];
  if (s->n != 1 || s->t[0].coeff != 1 || s->t[0].n != 1) return -1;
  return m->syms->atoms[s->t[0].a[0]].sym;
}

ir_dexpr ir_dexpr_add(ir_module *m, ir_dexpr a, ir_dexpr b) {
  poly x, y;
  if (!load(m, a, &x) || !load(m, b, &y) || x.n + y.n > IR_DEXPR_MAX_TERMS * 2) return 0;
  poly r;
  r.n = 0;
  /* Merge through a buffer large enough for both, then check the limit. */
  term buf[IR_DEXPR_MAX_TERMS * 2];
  int n = 0;
  for (int i = 0; i < x.n; i++) buf[n++] = x.t[i];
  for (int i = 0; i < y.n; i++) buf[n++] = y.t[i];
  /* Combine like terms before the size check. */
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      if (buf[j].coeff && !term_cmp(&buf[i], &buf[j])) {
        if (__builtin_add_overflow(buf[i].coeff, buf[j].coeff, &buf[i].coeff)) return 0;
        buf[j].coeff = 0;
      }
  for (int i = 0; i < n; i++) {
    if (!buf[i].coeff) continue;
    if (r.n == IR_DEXPR_MAX_TERMS) return 0;
    r.t[r.n++] = buf[i];
  }
  return intern(m, &r);
}

ir_dexpr ir_dexpr_mul_const(ir_module *m, ir_dexpr a, int64_t c) {
  poly x;
  if (!load(m, a, &x)) return 0;
  for (int i = 0; i < x.n; i++)
    if (__builtin_mul_overflow(x.t[i].coeff, c, &x.t[i].coeff)) return 0;
  return intern(m, &x);
}

ir_dexpr ir_dexpr_add_const(ir_module *m, ir_dexpr a, int64_t c) {
  ir_dexpr k = ir_dexpr_const(m, c);
  return k ? ir_dexpr_add(m, a, k) : 0;
}

ir_dexpr ir_dexpr_sub(ir_module *m, ir_dexpr a, ir_dexpr b) {
  ir_dexpr nb = ir_dexpr_mul_const(m, b, -1);
  return nb ? ir_dexpr_add(m, a, nb) : 0;
}

ir_dexpr ir_dexpr_mul(ir_module *m, ir_dexpr a, ir_dexpr b) {
  poly x, y, r;
  if (!load(m, a, &x) || !load(m, b, &y)) return 0;
  r.n = 0;
  for (int i = 0; i < x.n; i++)
    for (int j = 0; j < y.n; j++) {
      term t = {0};
      if (x.t[i].n + y.t[j].n > IR_DEXPR_MAX_ATOMS) return 0;
      if (__builtin_mul_overflow(x.t[i].coeff, y.t[j].coeff, &t.coeff)) return 0;
      t.n = (uint8_t)(x.t[i].n + y.t[j].n);
      memcpy(t.a, x.t[i].a, x.t[i].n * sizeof(uint32_t));
      memcpy(t.a + x.t[i].n, y.t[j].a, y.t[j].n * sizeof(uint32_t));
      for (int k = 1; k < t.n; k++)
        for (int l = k; l > 0 && t.a[l - 1] > t.a[l]; l--) {
          uint32_t s = t.a[l];
          t.a[l] = t.a[l - 1], t.a[l - 1] = s;
        }
      int k = 0;
      while (k < r.n && term_cmp(&r.t[k], &t)) k++;
      if (k < r.n) {
        if (__builtin_add_overflow(r.t[k].coeff, t.coeff, &r.t[k].coeff)) return 0;
      } else {
        if (r.n == IR_DEXPR_MAX_TERMS) return 0;
        r.t[r.n++] = t;
      }
    }
  return intern(m, &r);
}

static int64_t floor_div(int64_t a, int64_t c) {
  int64_t q = a / c;
  return (a % c != 0 && (a < 0) != (c < 0)) ? q - 1 : q;
}

ir_dexpr ir_dexpr_floordiv(ir_module *m, ir_dexpr a, int64_t c) {
  poly x;
  if (c < 1 || !load(m, a, &x)) return 0;
  if (c == 1) return a;
  /* a = c*q + r with every coefficient of r in [1, c): then
   * floor(a / c) = q + floor(r / c) exactly, q being integer valued. */
  poly q = {.n = 0}, r = {.n = 0};
  for (int i = 0; i < x.n; i++) {
    int64_t k = floor_div(x.t[i].coeff, c), rem = x.t[i].coeff - k * c;
    if (k) q.t[q.n] = x.t[i], q.t[q.n++].coeff = k;
    if (rem) r.t[r.n] = x.t[i], r.t[r.n++].coeff = rem;
  }
  ir_dexpr qe = intern(m, &q);
  if (!qe) return 0;
  if (r.n == 0) return qe;
  if (r.n == 1 && r.t[0].n == 0) return qe; /* a constant remainder in [1, c) floors to 0 */
  /* floor((floor(y / d) + k) / c) == floor((y + k*d) / (d*c)) for integers
   * y, k and d, c >= 1: nested divisions become one, so that s/2/2 and s/4
   * are the same expression. */
  int fi = -1, ki = -1;
  bool other = false; /* a term that is neither the constant nor the one floor */
  for (int i = 0; i < r.n; i++) {
    if (r.t[i].n == 0) ki = i;
    else if (r.t[i].n == 1 && r.t[i].coeff == 1 && m->syms->atoms[r.t[i].a[0]].sym < 0 && fi < 0) fi = i;
    else other = true;
  }
  if (!other && fi >= 0) {
    atom in = m->syms->atoms[r.t[fi].a[0]];
    int64_t dc, kd;
    if (!__builtin_mul_overflow(in.div, c, &dc) && !__builtin_mul_overflow(ki >= 0 ? r.t[ki].coeff : 0, in.div, &kd)) {
      ir_dexpr y = kd ? ir_dexpr_add_const(m, in.arg, kd) : in.arg;
      ir_dexpr f = y ? ir_dexpr_floordiv(m, y, dc) : 0;
      return f ? ir_dexpr_add(m, qe, f) : 0;
    }
  }
  ir_dexpr re = intern(m, &r);
  if (!re) return 0;
  uint32_t at = atom_id(m, (atom){.sym = -1, .arg = re, .div = c});
  if (at == UINT32_MAX) return 0;
  ir_dexpr fe = atom_poly(m, at);
  return fe ? ir_dexpr_add(m, qe, fe) : 0;
}

ir_dexpr ir_dexpr_ceildiv(ir_module *m, ir_dexpr a, int64_t c) {
  if (c < 1) return 0;
  ir_dexpr b = ir_dexpr_add_const(m, a, c - 1);
  return b ? ir_dexpr_floordiv(m, b, c) : 0;
}

/* ---- ranges and evaluation ---- */

__extension__ typedef __int128 i128;

static int64_t sat(i128 v) {
  return v > INT64_MAX ? INT64_MAX : v < INT64_MIN ? INT64_MIN : (int64_t)v;
}

static void range(const ir_module *m, ir_dexpr e, int64_t *lo, int64_t *hi);

static void atom_range(const ir_module *m, uint32_t a, int64_t *lo, int64_t *hi) {
  const atom *x = &m->syms->atoms[a];
  if (x->sym >= 0) {
    *lo = m->syms->computed[x->sym] ? 0 : 1, *hi = m->syms->bounds[x->sym];
    return;
  }
  int64_t l, h;
  range(m, x->arg, &l, &h);
  *lo = l == INT64_MIN ? INT64_MIN : floor_div(l, x->div);
  *hi = h == INT64_MAX ? INT64_MAX : floor_div(h, x->div);
}

static void range(const ir_module *m, ir_dexpr e, int64_t *lo, int64_t *hi) {
  const stored *s = &m->syms->ex[e - 1];
  i128 L = 0, H = 0;
  for (uint32_t i = 0; i < s->n; i++) {
    i128 tl = s->t[i].coeff, th = s->t[i].coeff;
    for (int j = 0; j < s->t[i].n; j++) {
      int64_t al, ah;
      atom_range(m, s->t[i].a[j], &al, &ah);
      i128 c[4] = {tl * al, tl * ah, th * al, th * ah};
      tl = th = c[0];
      for (int k = 1; k < 4; k++) {
        if (c[k] < tl) tl = c[k];
        if (c[k] > th) th = c[k];
      }
      tl = sat(tl), th = sat(th);
    }
    L = sat(L + tl), H = sat(H + th);
  }
  *lo = sat(L), *hi = sat(H);
}

int64_t ir_dexpr_upper(const ir_module *m, ir_dexpr e) {
  if (!m->syms || e == 0 || e > m->syms->nex) return INT64_MAX;
  int64_t lo, hi;
  range(m, e, &lo, &hi);
  return hi;
}

int64_t ir_dexpr_lower(const ir_module *m, ir_dexpr e) {
  if (!m->syms || e == 0 || e > m->syms->nex) return INT64_MIN;
  int64_t lo, hi;
  range(m, e, &lo, &hi);
  return lo;
}

/* The range of e ignores that a floor atom and the rest of its expression
 * move together: s - floor(s/2) gets [1-8, 16-0] for s <= 16 although it
 * is never below 1. Scaling by the divisors' product L and bounding each
 * term k*floor(a/c) by a linear one removes the atom:
 *   k < 0: k*floor(a/c) >= k*a/c          (floor(a/c) <= a/c)
 *   k > 0: k*floor(a/c) >= k*(a-c+1)/c    (floor(a/c) >= (a-c+1)/c)
 * so L*e >= L*rest + sum of (L/c)*k*(a or a-c+1), an expression whose
 * range often proves what e's could not (2s - s = s >= 1 above). */
bool ir_dexpr_nonneg(ir_module *m, ir_dexpr e) {
  if (ir_dexpr_lower(m, e) >= 0) return true;
  if (!m->syms || e == 0 || e > m->syms->nex) return false;
  const stored *s = &m->syms->ex[e - 1];
  int64_t L = 1;
  for (uint32_t i = 0; i < s->n; i++) {
    const term *t = &s->t[i];
    if (t->n == 1 && m->syms->atoms[t->a[0]].sym < 0 && __builtin_mul_overflow(L, m->syms->atoms[t->a[0]].div, &L))
      return false;
  }
  if (L == 1) return false; /* no floor term alone: nothing to remove */
  ir_dexpr acc = ir_dexpr_const(m, 0);
  const uint32_t n = s->n;
  for (uint32_t i = 0; acc && i < n; i++) {
    /* Copied: interning below may move the expression and atom tables
     * (each expression's terms stay where they are). */
    term t = m->syms->ex[e - 1].t[i];
    const atom x = t.n ? m->syms->atoms[t.a[0]] : (atom){.sym = 0};
    ir_dexpr part;
    if (t.n == 1 && x.sym < 0) {
      int64_t f;
      if (__builtin_mul_overflow(L / x.div, t.coeff, &f)) return false;
      part = t.coeff < 0 ? x.arg : ir_dexpr_add_const(m, x.arg, 1 - x.div);
      part = part ? ir_dexpr_mul_const(m, part, f) : 0;
    } else {
      poly p = {.n = 1};
      p.t[0] = t;
      if (__builtin_mul_overflow(t.coeff, L, &p.t[0].coeff)) return false;
      part = intern(m, &p);
    }
    acc = part ? ir_dexpr_add(m, acc, part) : 0;
  }
  return acc && ir_dexpr_lower(m, acc) >= 0;
}

bool ir_dexpr_eval(const ir_module *m, ir_dexpr e, const int64_t *binding, int64_t *out) {
  if (!m->syms || e == 0 || e > m->syms->nex) return false;
  const stored *s = &m->syms->ex[e - 1];
  int64_t sum = 0;
  for (uint32_t i = 0; i < s->n; i++) {
    int64_t v = s->t[i].coeff;
    for (int j = 0; j < s->t[i].n; j++) {
      const atom *x = &m->syms->atoms[s->t[i].a[j]];
      int64_t av;
      if (x->sym >= 0) {
        av = binding[x->sym];
      } else {
        if (!ir_dexpr_eval(m, x->arg, binding, &av)) return false;
        av = floor_div(av, x->div);
      }
      if (__builtin_mul_overflow(v, av, &v)) return false;
    }
    if (__builtin_add_overflow(sum, v, &sum)) return false;
  }
  *out = sum;
  return true;
}

int ir_dexpr_terms(const ir_module *m, ir_dexpr e, ir_dexpr_term *t) {
  if (!m->syms || e == 0 || e > m->syms->nex) return -1;
  const stored *s = &m->syms->ex[e - 1];
  for (uint32_t i = 0; i < s->n; i++) {
    t[i].coeff = s->t[i].coeff;
    t[i].n = s->t[i].n;
    for (int j = 0; j < s->t[i].n; j++) {
      const atom *x = &m->syms->atoms[s->t[i].a[j]];
      t[i].a[j] = (ir_dexpr_atom){x->sym, x->arg, x->div};
    }
  }
  return (int)s->n;
}

bool ir_dexpr_uses(const ir_module *m, ir_dexpr e, int k) {
  if (!m->syms || e == 0 || e > m->syms->nex) return false;
  const stored *s = &m->syms->ex[e - 1];
  for (uint32_t i = 0; i < s->n; i++)
    for (int j = 0; j < s->t[i].n; j++) {
      const atom *x = &m->syms->atoms[s->t[i].a[j]];
      if (x->sym == k || (x->sym < 0 && ir_dexpr_uses(m, x->arg, k))) return true;
    }
  return false;
}

/* ---- text ---- */

typedef struct out {
  char *buf;
  size_t n, k;
} out;

__attribute__((format(printf, 2, 3))) static void put(out *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(o->buf + o->k, o->k < o->n ? o->n - o->k : 0, fmt, ap);
  va_end(ap);
  if (w > 0) o->k += (size_t)w;
}

static void put_expr(const ir_module *m, ir_dexpr e, out *o);

/* The text must not depend on the order in which the module happened to
 * create its atoms (their ids): the parser creates them in the order the
 * text shows them, so an id-ordered writer could print a parsed module
 * differently from the module it was printed from. The writer orders atoms
 * by structure instead: symbols first, in declaration order, then floor
 * divisions by divisor and then by a hash of their argument's structure
 * (equal hashes of different arguments, improbable with 64 bits, fall back
 * to ids). Hashes combine terms and atoms by sums, so they need no order. */
static uint64_t fmix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

static uint64_t expr_hash(const ir_module *m, ir_dexpr e);

static uint64_t atom_hash(const ir_module *m, uint32_t a) {
  const atom *x = &m->syms->atoms[a];
  if (x->sym >= 0) return fmix64((uint64_t)x->sym + 1);
  return fmix64(expr_hash(m, x->arg) * 31u + (uint64_t)x->div + 0x9e3779b97f4a7c15ull);
}

static uint64_t expr_hash(const ir_module *m, ir_dexpr e) {
  const stored *s = &m->syms->ex[e - 1];
  uint64_t h = s->n;
  for (uint32_t i = 0; i < s->n; i++) {
    uint64_t th = (uint64_t)s->t[i].coeff;
    for (int j = 0; j < s->t[i].n; j++) th += fmix64(atom_hash(m, s->t[i].a[j]) + 0x632be59bd9b4e019ull);
    h += fmix64(th);
  }
  return h;
}

static int text_atom_cmp(const ir_module *m, uint32_t a, uint32_t b) {
  if (a == b) return 0;
  const atom *x = &m->syms->atoms[a], *y = &m->syms->atoms[b];
  if ((x->sym >= 0) != (y->sym >= 0)) return x->sym >= 0 ? -1 : 1;
  if (x->sym >= 0) return x->sym < y->sym ? -1 : 1;
  if (x->div != y->div) return x->div < y->div ? -1 : 1;
  uint64_t hx = expr_hash(m, x->arg), hy = expr_hash(m, y->arg);
  if (hx != hy) return hx < hy ? -1 : 1;
  return a < b ? -1 : 1;
}

static void sort_atoms(const ir_module *m, term *t) {
  for (int j = 1; j < t->n; j++)
    for (int k = j; k > 0 && text_atom_cmp(m, t->a[k - 1], t->a[k]) > 0; k--) {
      uint32_t x = t->a[k];
      t->a[k] = t->a[k - 1], t->a[k - 1] = x;
    }
}

/* Terms with more atoms first, then by their (sorted) atoms; the constant
 * last. */
static int text_term_cmp(const ir_module *m, const term *x, const term *y) {
  if (x->n != y->n) return x->n > y->n ? -1 : 1;
  for (int i = 0; i < x->n; i++) {
    int c = text_atom_cmp(m, x->a[i], y->a[i]);
    if (c) return c;
  }
  return 0;
}


/* A floor-division atom: "s/2" for a lone symbol, else "(expr)/c"; wrapped
 * in parentheses when it is not the first factor of its term, so that the
 * left-to-right reading of "*" and "/" gives back the same product. */
static void put_div(const ir_module *m, const atom *x, bool first, out *o) {
  if (!first) put(o, "(");
  if (ir_dexpr_as_sym(m, x->arg) >= 0) {
    put_expr(m, x->arg, o);
  } else {
    put(o, "(");
    put_expr(m, x->arg, o);
    put(o, ")");
  }
  put(o, "/%lld", (long long)x->div);
  if (!first) put(o, ")");
}

static void put_term(const ir_module *m, const term *t, bool negate, out *o) {
  /* The magnitude as unsigned: -INT64_MIN does not fit in int64_t. */
  uint64_t c = negate ? 0u - (uint64_t)t->coeff : (uint64_t)t->coeff;
  bool any = false;
  /* Floor-division atoms first, then the coefficient, then symbols. */
  for (int j = 0; j < t->n; j++) {
    const atom *x = &m->syms->atoms[t->a[j]];
    if (x->sym >= 0) continue;
    if (any) put(o, "*");
    put_div(m, x, !any, o);
    any = true;
  }
  if (c != 1 || t->n == 0) {
    if (negate || t->coeff >= 0) put(o, any ? "*%llu" : "%llu", (unsigned long long)c);
    else put(o, any ? "*%lld" : "%lld", (long long)t->coeff);
    any = true;
  }
  for (int j = 0; j < t->n; j++) {
    const atom *x = &m->syms->atoms[t->a[j]];
    if (x->sym < 0) continue;
    put(o, any ? "*%s" : "%s", m->syms->names[x->sym]);
    any = true;
  }
}

static void put_expr(const ir_module *m, ir_dexpr e, out *o) {
  const stored *s = &m->syms->ex[e - 1];
  if (s->n == 0) {
    put(o, "0");
    return;
  }
  /* The terms and their atoms in text order (text_atom_cmp). */
  term t[IR_DEXPR_MAX_TERMS];
  uint32_t n = s->n <= IR_DEXPR_MAX_TERMS ? s->n : IR_DEXPR_MAX_TERMS;
  memcpy(t, s->t, n * sizeof *t);
  for (uint32_t i = 0; i < n; i++) sort_atoms(m, &t[i]);
  for (uint32_t j = 1; j < n; j++)
    for (uint32_t k = j; k > 0 && text_term_cmp(m, &t[k - 1], &t[k]) > 0; k--) {
      term x = t[k];
      t[k] = t[k - 1], t[k - 1] = x;
    }
  /* Positive terms first, then the negative ones. */
  bool first = true;
  for (int pass = 0; pass < 2; pass++)
    for (uint32_t i = 0; i < n; i++) {
      bool neg = t[i].coeff < 0;
      if (neg != (pass == 1)) continue;
      if (neg) put(o, "-");
      else if (!first) put(o, "+");
      put_term(m, &t[i], neg, o);
      first = false;
    }
}

char *ir_dexpr_str(const ir_module *m, ir_dexpr e, char *buf, size_t n) {
  out o = {buf, n, 0};
  if (n) buf[0] = 0;
  if (!m->syms || e == 0 || e > m->syms->nex) put(&o, "?");
  else put_expr(m, e, &o);
  return buf;
}

/* ---- shapes ---- */

ir_dexpr ir_shape_dim(ir_module *m, const ir_shape *s, int i) {
  return s->sym[i] ? s->sym[i] : ir_dexpr_const(m, s->dims[i]);
}

bool ir_shape_set_dim(ir_module *m, ir_shape *s, int i, ir_dexpr e) {
  int64_t v;
  if (!e) return false;
  if (ir_dexpr_is_const(m, e, &v)) {
    if (v < 0) return false;
    s->dims[i] = v, s->sym[i] = 0;
    return true;
  }
  int64_t lo, hi;
  range(m, e, &lo, &hi);
  if ((lo < 0 && !ir_dexpr_nonneg(m, e)) || hi == INT64_MAX) return false;
  s->dims[i] = hi, s->sym[i] = e;
  return true;
}

ir_dexpr ir_shape_elements_dexpr(ir_module *m, const ir_shape *s) {
  ir_dexpr n = ir_dexpr_const(m, 1);
  for (int i = 0; n && i < s->rank; i++) {
    ir_dexpr d = ir_shape_dim(m, s, i);
    n = d ? ir_dexpr_mul(m, n, d) : 0;
  }
  return n;
}

char *ir_shape_str_m(const ir_module *m, const ir_shape *s, char *buf, size_t n) {
  if (ir_shape_is_static(s)) return ir_shape_str(s, buf, n);
  /* Print the static form with placeholders, then splice in the dims. */
  char tail[128];
  ir_shape_str(s, tail, sizeof tail);
  const char *close = strchr(tail, ']');
  out o = {buf, n, 0};
  if (n) buf[0] = 0;
  put(&o, "%s[", ir_type_name(s->type));
  for (int i = 0; i < s->rank; i++) {
    if (i) put(&o, ",");
    if (s->sym[i] && m->syms && s->sym[i] <= m->syms->nex) put_expr(m, s->sym[i], &o);
    else put(&o, "%lld", (long long)s->dims[i]);
  }
  put(&o, "%s", close ? close : "]");
  return buf;
}

bool ir_shape_bind(const ir_module *m, ir_shape *s, const int64_t *binding) {
  for (int i = 0; i < s->rank; i++) {
    if (!s->sym[i]) continue;
    int64_t v;
    if (!ir_dexpr_eval(m, s->sym[i], binding, &v) || v < 0) return false;
    s->dims[i] = v, s->sym[i] = 0;
  }
  return true;
}

bool ir_module_is_symbolic(const ir_module *m) {
  for (uint32_t ci = 0; ci < m->ncomps; ci++) {
    const ir_comp *c = m->comps[ci];
    for (uint32_t i = 0; i < c->ninsts; i++) {
      const ir_inst *in = &c->insts[i];
      if (!ir_shape_is_static(&in->shape)) return true;
      for (uint32_t k = 0; k < in->ntuple; k++)
        if (!ir_shape_is_static(&in->tuple[k])) return true;
    }
  }
  return false;
}

static bool shape_uses(const ir_module *m, const ir_shape *s, int k) {
  for (int i = 0; i < s->rank; i++)
    if (s->sym[i] && ir_dexpr_uses(m, s->sym[i], k)) return true;
  return false;
}

static bool inst_uses(const ir_module *m, const ir_inst *in, int k, int depth) {
  if (in->shape.type != IR_TUPLE && shape_uses(m, &in->shape, k)) return true;
  for (uint32_t t = 0; t < in->ntuple; t++)
    if (shape_uses(m, &in->tuple[t], k)) return true;
  ir_family f = ir_op_get(in->op)->family;
  for (int i = 0; f == IR_FAM_SLICE && in->a.slice && i < IR_MAX_RANK; i++)
    if ((in->a.slice->start_sym[i] && ir_dexpr_uses(m, in->a.slice->start_sym[i], k)) ||
        (in->a.slice->limit_sym[i] && ir_dexpr_uses(m, in->a.slice->limit_sym[i], k)))
      return true;
  for (int i = 0; f == IR_FAM_GATHER && in->a.gather && i < IR_MAX_RANK; i++)
    if (in->a.gather->slice_sizes_sym[i] && ir_dexpr_uses(m, in->a.gather->slice_sizes_sym[i], k)) return true;
  if (depth > 64) return true; /* calls nested this deep: assume it does */
  uint32_t called[2];
  int nc = ir_inst_callees(in, called);
  for (int j = 0; j < nc; j++) {
    if (called[j] >= m->ncomps) continue;
    const ir_comp *c = m->comps[called[j]];
    for (uint32_t i = 0; i < c->ninsts; i++)
      if (inst_uses(m, &c->insts[i], k, depth + 1)) return true;
  }
  return false;
}

bool ir_inst_uses_sym(const ir_module *m, const ir_inst *in, int k) { return inst_uses(m, in, k, 0); }
