/*
 * Modules and computations: creation, the op table lookups, appending
 * instructions, use replacement and canonical (topological) order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "ir/symbolic.h"

static const ir_op_info op_table[] = {
#define OP(e, kw, mn, mx, fam, ty, fl) {kw, mn, mx, IR_FAM_##fam, ty, fl},
#include "ir/ops.def"
};

const ir_op_info *ir_op_get(ir_op op) { return (unsigned)op < IR_OP_COUNT ? &op_table[op] : NULL; }
const char *ir_op_name(ir_op op) { return (unsigned)op < IR_OP_COUNT ? op_table[op].name : "?"; }

bool ir_op_from_name(const char *s, size_t n, ir_op *out) {
  for (int i = 0; i < IR_OP_COUNT; i++) {
    if (strlen(op_table[i].name) == n && memcmp(op_table[i].name, s, n) == 0) {
      *out = (ir_op)i;
      return true;
    }
  }
  return false;
}

const char *ir_cmp_name(ir_cmp c) {
  static const char *const n[] = {"EQ", "NE", "LT", "LE", "GT", "GE"};
  return (unsigned)c < 6 ? n[c] : "?";
}

const char *ir_combiner_name(ir_combiner c) {
  static const char *const n[] = {"add", "mul", "max", "min", "and", "or", "assign"};
  return (unsigned)c < 7 ? n[c] : "?";
}

const char *ir_fusion_kind_name(ir_fusion_kind k) {
  static const char *const n[] = {"loop", "input", "output"};
  return (unsigned)k < 3 ? n[k] : "?";
}

ir_module *ir_module_create(const char *name) {
  ir_module *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  arena_init(&m->arena);
  m->name = arena_strdup(&m->arena, name ? name : "module");
  m->entry = -1;
  if (!m->name) {
    free(m);
    return NULL;
  }
  return m;
}

void ir_module_destroy(ir_module *m) {
  if (!m) return;
  for (uint32_t i = 0; i < m->ncomps; i++) free(m->comps[i]->insts);
  free(m->comps);
  ir_plan_free(m->plan);
  ir_symtab_free(m->syms);
  arena_free(&m->arena);
  free(m);
}

ir_comp *ir_comp_add(ir_module *m, const char *name, bool is_entry) {
  if (m->ncomps == m->capcomps) {
    uint32_t cap = m->capcomps ? m->capcomps * 2 : 4;
    ir_comp **nc = realloc(m->comps, cap * sizeof *nc);
    if (!nc) return NULL;
    m->comps = nc;
    m->capcomps = cap;
  }
  ir_comp *c = arena_alloc(&m->arena, sizeof *c, 8);
  if (!c) return NULL;
  c->name = arena_strdup(&m->arena, name);
  c->is_entry = is_entry;
  c->root = IR_NONE;
  if (!c->name) return NULL;
  if (is_entry) m->entry = (int32_t)m->ncomps;
  m->comps[m->ncomps++] = c;
  return c;
}

ir_comp *ir_module_entry(const ir_module *m) { return m->entry >= 0 ? m->comps[m->entry] : NULL; }

int ir_module_find_comp(const ir_module *m, const char *name) {
  for (uint32_t i = 0; i < m->ncomps; i++)
    if (strcmp(m->comps[i]->name, name) == 0) return (int)i;
  return -1;
}

uint32_t ir_comp_num_params(const ir_comp *c) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < c->ninsts; i++)
    if (c->insts[i].op == IR_OP_PARAMETER) n++;
  return n;
}

ir_id ir_comp_param(const ir_comp *c, int64_t number) {
  for (uint32_t i = 0; i < c->ninsts; i++)
    if (c->insts[i].op == IR_OP_PARAMETER && c->insts[i].index == number) return i;
  return IR_NONE;
}

const char *ir_fresh_name(ir_module *m, const char *base) {
  char buf[128];
  snprintf(buf, sizeof buf, "%s.%llu", base, (unsigned long long)m->next_name++);
  return arena_strdup(&m->arena, buf);
}

ir_id ir_comp_append(ir_module *m, ir_comp *c, const ir_inst *proto) {
  if (c->ninsts == c->cap) {
    uint32_t cap = c->cap ? c->cap * 2 : 16;
    ir_inst *ni = realloc(c->insts, (size_t)cap * sizeof *ni);
    if (!ni) return IR_NONE;
    c->insts = ni;
    c->cap = cap;
  }
  ir_inst in = *proto;
  arena *a = &m->arena;
  in.name = proto->name ? arena_strdup(a, proto->name) : ir_fresh_name(m, ir_op_name(proto->op));
  if (!in.name) return IR_NONE;
  if (proto->nops) {
    in.ops = arena_memdup(a, proto->ops, proto->nops * sizeof(ir_id), 8);
    if (!in.ops) return IR_NONE;
  }
  if (proto->ntuple) {
    in.tuple = arena_memdup(a, proto->tuple, proto->ntuple * sizeof(ir_shape), 8);
    if (!in.tuple) return IR_NONE;
  }
  /* Attribute structs are copied so that the caller's stay its own. */
  size_t asz = 0;
  switch (ir_op_get(proto->op)->family) {
    case IR_FAM_SLICE: asz = sizeof(ir_slice_attr); break;
    case IR_FAM_PAD: asz = sizeof(ir_pad_attr); break;
    case IR_FAM_REDUCE_WINDOW:
    case IR_FAM_CONVOLUTION: asz = sizeof(ir_window); break;
    case IR_FAM_DOT: asz = sizeof(ir_dot_dims); break;
    case IR_FAM_GATHER: asz = sizeof(ir_gather_dims); break;
    case IR_FAM_SCATTER: asz = sizeof(ir_scatter_dims); break;
    default: break;
  }
  if (asz && proto->a.slice) {
    in.a.slice = arena_memdup(a, proto->a.slice, asz, 8);
    if (!in.a.slice) return IR_NONE;
  }
  if (proto->conv) {
    in.conv = arena_memdup(a, proto->conv, sizeof *proto->conv, 8);
    if (!in.conv) return IR_NONE;
  }
  if (proto->io_name && !(in.io_name = arena_strdup(a, proto->io_name))) return IR_NONE;
  if (proto->target && !(in.target = arena_strdup(a, proto->target))) return IR_NONE;
  if (proto->config && !(in.config = arena_strdup(a, proto->config))) return IR_NONE;
  if (proto->loc.op_type && !(in.loc.op_type = arena_strdup(a, proto->loc.op_type))) return IR_NONE;
  if (proto->loc.name && !(in.loc.name = arena_strdup(a, proto->loc.name))) return IR_NONE;
  c->insts[c->ninsts] = in;
  return c->ninsts++;
}

void ir_replace_uses(ir_comp *c, ir_id from, ir_id to) {
  for (uint32_t i = 0; i < c->ninsts; i++) {
    ir_inst *in = &c->insts[i];
    for (uint32_t k = 0; k < in->nops; k++)
      if (in->ops[k] == from) in->ops[k] = to;
  }
  if (c->root == from) c->root = to;
}

/*
 * Depth-first post-order from the root, visiting operands in order; the
 * parameters come first in their original order so that they keep their
 * place even when unused. Instructions already in a valid order come out in
 * the same order, so printing is stable across canonicalisation.
 */
/* A scheduled computation (keep_order) keeps its order while it is
 * topological, dropping only dead instructions; a pass that broke the
 * order (appended and redirected) also broke the schedule, which falls
 * back to the depth-first order below. */
/* ir.h. Symbol k's set_symbol is found by its index; one edge per
 * symbol an instruction mentions. */
bool ir_comp_symbol_deps(const ir_module *m, const ir_comp *c, uint32_t **start, uint32_t **dep) {
  *start = *dep = NULL;
  if (!m || !ir_module_has_computed_syms(m)) return true;
  int ns = ir_sym_count(m);
  uint32_t *def = malloc((size_t)ns * sizeof *def);
  if (!def) return false;
  bool any = false;
  for (int k = 0; k < ns; k++) def[k] = IR_NONE;
  for (uint32_t i = 0; i < c->ninsts; i++)
    if (c->insts[i].op == IR_OP_SET_SYMBOL && c->insts[i].index >= 0 && c->insts[i].index < ns)
      def[c->insts[i].index] = i, any = true;
  if (!any) {
    free(def);
    return true;
  }
  uint32_t *st = calloc(c->ninsts + 1, sizeof *st);
  uint32_t *d = malloc(((size_t)c->ninsts * (size_t)ns + 1) * sizeof *d);
  if (!st || !d) {
    free(def), free(st), free(d);
    return false;
  }
  uint32_t n = 0;
  for (uint32_t i = 0; i < c->ninsts; i++) {
    st[i] = n;
    for (int k = 0; k < ns; k++)
      if (def[k] != IR_NONE && def[k] != i && ir_inst_uses_sym(m, &c->insts[i], k)) d[n++] = def[k];
  }
  st[c->ninsts] = n;
  free(def);
  *start = st, *dep = d;
  return true;
}

/* The operand-or-symbol dependency j of instruction i (j < nops + deps). */
static uint32_t dep_at(const ir_comp *c, const uint32_t *start, const uint32_t *dep, uint32_t i, uint32_t j) {
  return j < c->insts[i].nops ? c->insts[i].ops[j] : dep[start[i] + j - c->insts[i].nops];
}

static uint32_t ndeps(const ir_comp *c, const uint32_t *start, uint32_t i) {
  return c->insts[i].nops + (start ? start[i + 1] - start[i] : 0);
}

static bool keep_scheduled_order(const ir_module *m, ir_comp *c) {
  uint32_t n = c->ninsts;
  for (uint32_t i = 0; i < n; i++)
    for (uint32_t k = 0; k < c->insts[i].nops; k++)
      if (c->insts[i].ops[k] >= i) return false;
  if (c->root == IR_NONE || c->root >= n) return false;
  uint32_t *start, *dep;
  if (!ir_comp_symbol_deps(m, c, &start, &dep)) return false;
  uint8_t *live = calloc(n, 1);
  uint32_t *newid = malloc(n * sizeof *newid);
  if (!live || !newid) {
    free(live);
    free(newid);
    free(start), free(dep);
    return false;
  }
  live[c->root] = 1;
  for (uint32_t i = n; i-- > 0;) {
    if (c->insts[i].op == IR_OP_PARAMETER) live[i] = 1;
    if (!live[i]) continue;
    for (uint32_t k = 0; k < ndeps(c, start, i); k++) live[dep_at(c, start, dep, i, k)] = 1;
  }
  free(start), free(dep);
  uint32_t k = 0;
  for (uint32_t i = 0; i < n; i++) {
    newid[i] = live[i] ? k : IR_NONE;
    if (!live[i]) continue;
    c->insts[k] = c->insts[i];
    for (uint32_t j = 0; j < c->insts[k].nops; j++) c->insts[k].ops[j] = newid[c->insts[k].ops[j]];
    k++;
  }
  c->ninsts = k;
  c->root = newid[c->root];
  free(live);
  free(newid);
  return true;
}

bool ir_comp_canonicalize(ir_module *m, ir_comp *c) {
  uint32_t n = c->ninsts;
  if (n == 0) return true;
  if (c->keep_order) {
    if (keep_scheduled_order(m, c)) return true;
    c->keep_order = false;
  }
  uint32_t *start, *dep;
  if (!ir_comp_symbol_deps(m, c, &start, &dep)) return false;
  uint32_t *newid = malloc(n * sizeof *newid);
  uint8_t *state = calloc(n, 1); /* 0 new, 1 on stack, 2 done */
  uint32_t *order = malloc(n * sizeof *order);
  uint32_t *stack = malloc(n * sizeof *stack);
  uint32_t *next_op = calloc(n, sizeof *next_op);
  bool ok = newid && state && order && stack && next_op;
  uint32_t k = 0;
  for (uint32_t i = 0; ok && i < n; i++) {
    if (c->insts[i].op == IR_OP_PARAMETER) {
      state[i] = 2;
      order[k++] = i;
    }
  }
  /* Visit everything reachable from the root, then the remaining live-looking
   * instructions are dropped: they are dead. */
  if (ok && c->root != IR_NONE && c->root < n && state[c->root] == 0) {
    uint32_t sp = 0;
    stack[sp++] = c->root;
    state[c->root] = 1;
    while (sp && ok) {
      uint32_t v = stack[sp - 1];
      if (next_op[v] < ndeps(c, start, v)) {
        uint32_t o = dep_at(c, start, dep, v, next_op[v]++);
        if (o >= n) continue;
        if (state[o] == 1) ok = false; /* cycle */
        else if (state[o] == 0) {
          state[o] = 1;
          stack[sp++] = o;
        }
      } else {
        state[v] = 2;
        order[k++] = v;
        sp--;
      }
    }
  }
  if (ok) {
    for (uint32_t i = 0; i < n; i++) newid[i] = IR_NONE;
    for (uint32_t i = 0; i < k; i++) newid[order[i]] = i;
    ir_inst *ni = malloc((k ? k : 1) * sizeof *ni);
    if (!ni) ok = false;
    else {
      for (uint32_t i = 0; i < k; i++) {
        ni[i] = c->insts[order[i]];
        for (uint32_t j = 0; j < ni[i].nops; j++) ni[i].ops[j] = newid[ni[i].ops[j]];
      }
      free(c->insts);
      c->insts = ni;
      c->ninsts = c->cap = k;
      if (c->root != IR_NONE) c->root = newid[c->root];
    }
  }
  free(newid);
  free(state);
  free(order);
  free(stack);
  free(next_op);
  free(start), free(dep);
  return ok;
}

ir_module *ir_module_clone(const ir_module *src) {
  ir_module *m = ir_module_create(src->name);
  if (!m) return NULL;
  m->next_name = src->next_name;
  if (src->syms && !(m->syms = ir_symtab_clone(src->syms))) goto fail;
  for (uint32_t ci = 0; ci < src->ncomps; ci++) {
    const ir_comp *sc = src->comps[ci];
    ir_comp *c = ir_comp_add(m, sc->name, sc->is_entry);
    if (!c) goto fail;
    for (uint32_t i = 0; i < sc->ninsts; i++) {
      const ir_inst *in = &sc->insts[i];
      ir_inst p = *in;
      if (in->op == IR_OP_CONSTANT) {
        int64_t bytes = ir_shape_bytes(&in->shape);
        p.data = arena_memdup(&m->arena, in->data, (size_t)bytes, 64);
        if (!p.data) goto fail;
      }
      if (ir_comp_append(m, c, &p) == IR_NONE) goto fail;
    }
    c->root = sc->root;
    c->keep_order = sc->keep_order;
    c->noutputs = sc->noutputs;
    if (sc->noutputs) {
      c->output_names = arena_alloc(&m->arena, sc->noutputs * sizeof(char *), 8);
      if (!c->output_names) goto fail;
      for (uint32_t i = 0; i < sc->noutputs; i++)
        if (!(c->output_names[i] = arena_strdup(&m->arena, sc->output_names[i]))) goto fail;
    }
  }
  if (src->plan && !(m->plan = ir_plan_clone(src->plan))) goto fail;
  return m;
fail:
  ir_module_destroy(m);
  return NULL;
}
