/*
 * Verifier: checks every invariant listed in ir.h and reports each broken
 * one as "computation %c, instruction %i (op): rule". It is run by the parser,
 * after every pass in test builds, and by `kiln opt`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

/* Open-addressing set of C strings (pointers stay owned by the module). */
typedef struct strset {
  const char **slots;
  size_t cap;
} strset;

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

/* Returns 1 if inserted, 0 if already present, -1 out of memory. */
static int strset_add(strset *s, const char *k) {
  size_t mask = s->cap - 1;
  for (size_t i = hash_str(k) & mask;; i = (i + 1) & mask) {
    if (!s->slots[i]) {
      s->slots[i] = k;
      return 1;
    }
    if (strcmp(s->slots[i], k) == 0) return 0;
  }
}

static bool strset_init(strset *s, size_t n) {
  size_t cap = 16;
  while (cap < n * 2 + 2) cap *= 2;
  s->slots = calloc(cap, sizeof *s->slots);
  s->cap = cap;
  return s->slots != NULL;
}

#define VERR(...)                  \
  do {                             \
    diag_error(d, __VA_ARGS__);    \
    ok = false;                    \
  } while (0)

static bool shapes_match(const ir_inst *in, const ir_shape *s, const ir_shape *tuple, uint32_t nt) {
  if (in->shape.type == IR_TUPLE || s->type == IR_TUPLE) {
    if (in->shape.type != s->type || in->ntuple != nt) return false;
    for (uint32_t i = 0; i < nt; i++)
      if (!ir_shape_same_dims(&in->tuple[i], &tuple[i])) return false;
    return true;
  }
  return ir_shape_same_dims(&in->shape, s);
}

/* Fusion call graph must be acyclic. state: 0 unseen, 1 active, 2 done. */
static bool calls_acyclic(const ir_module *m, uint32_t ci, uint8_t *state) {
  if (state[ci] == 2) return true;
  if (state[ci] == 1) return false;
  state[ci] = 1;
  const ir_comp *c = m->comps[ci];
  for (uint32_t i = 0; i < c->ninsts; i++) {
    const ir_inst *in = &c->insts[i];
    if (in->op == IR_OP_FUSION && in->called < m->ncomps && !calls_acyclic(m, in->called, state)) return false;
  }
  state[ci] = 2;
  return true;
}

static bool verify_comp(ir_module *m, const ir_comp *c, strset *names, diag *d) {
  bool ok = true;
  char err[512], b1[256], b2[256];
  uint32_t nparams = 0;
  for (uint32_t i = 0; i < c->ninsts; i++) {
    const ir_inst *in = &c->insts[i];
    const char *op = ir_op_name(in->op);
    if (!in->name || !in->name[0]) {
      VERR("computation %%%s, instruction %u (%s): has no name", c->name, i, op);
      continue;
    }
    int added = strset_add(names, in->name);
    if (added == 0) VERR("computation %%%s, instruction %%%s (%s): name is used twice in the module", c->name, in->name, op);
    bool operands_ok = true;
    for (uint32_t k = 0; k < in->nops; k++) {
      if (in->ops[k] >= i) {
        VERR("computation %%%s, instruction %%%s (%s): operand %u is not defined before its use", c->name, in->name, op, k);
        operands_ok = false;
      }
    }
    if (in->shape.type != IR_TUPLE && !ir_shape_layout_valid(&in->shape))
      VERR("computation %%%s, instruction %%%s (%s): layout is not a permutation of the dimensions", c->name, in->name, op);
    if (in->op == IR_OP_PARAMETER) {
      nparams++;
      if (in->io_name && !c->is_entry)
        VERR("computation %%%s, instruction %%%s: io_name is only allowed in the entry computation", c->name, in->name);
    }
    if (!operands_ok) continue;
    ir_shape s;
    ir_shape *tuple;
    uint32_t nt;
    if (!ir_infer_shape(m, c, in, &s, &tuple, &nt, err, sizeof err)) {
      VERR("computation %%%s, instruction %%%s (%s): %s", c->name, in->name, op, err);
      continue;
    }
    if (!shapes_match(in, &s, tuple, nt)) {
      if (s.type == IR_TUPLE) snprintf(b2, sizeof b2, "a tuple of %u", nt);
      else ir_shape_str(&s, b2, sizeof b2);
      if (in->shape.type == IR_TUPLE) snprintf(b1, sizeof b1, "a tuple of %u", in->ntuple);
      else ir_shape_str(&in->shape, b1, sizeof b1);
      VERR("computation %%%s, instruction %%%s (%s): declared shape %s, but the operands give %s", c->name, in->name,
           op, b1, b2);
    }
  }
  /* Parameter numbers are 0..n-1, each once. */
  for (uint32_t p = 0; p < nparams; p++) {
    int count = 0;
    for (uint32_t i = 0; i < c->ninsts; i++)
      if (c->insts[i].op == IR_OP_PARAMETER && c->insts[i].index == (int64_t)p) count++;
    if (count != 1)
      VERR("computation %%%s: parameter number %u appears %d times (numbers must be 0..%u, each once)", c->name, p,
           count, nparams - 1);
  }
  if (c->root == IR_NONE || c->root >= c->ninsts) {
    VERR("computation %%%s: has no ROOT instruction", c->name);
  } else if (c->is_entry) {
    const ir_inst *r = &c->insts[c->root];
    if (r->shape.type != IR_TUPLE) VERR("computation %%%s: the entry ROOT must be a tuple of the outputs", c->name);
    else if (r->ntuple != c->noutputs)
      VERR("computation %%%s: %u output names for a ROOT tuple of %u", c->name, c->noutputs, r->ntuple);
  }
  if (c->is_entry && ok) {
    for (uint32_t i = 0; i < c->noutputs; i++)
      for (uint32_t j = 0; j < i; j++)
        if (strcmp(c->output_names[i], c->output_names[j]) == 0)
          VERR("computation %%%s: output name \"%s\" is used twice", c->name, c->output_names[i]);
    for (uint32_t i = 0; i < nparams; i++) {
      const ir_inst *a = &c->insts[ir_comp_param(c, i)];
      for (uint32_t j = 0; j < i && a->io_name; j++) {
        const ir_inst *b = &c->insts[ir_comp_param(c, j)];
        if (b->io_name && strcmp(a->io_name, b->io_name) == 0)
          VERR("computation %%%s: input name \"%s\" is used twice", c->name, a->io_name);
      }
    }
  }
  return ok;
}

bool ir_verify(ir_module *m, diag *d) {
  bool ok = true;
  int entries = 0;
  size_t total = 0;
  for (uint32_t i = 0; i < m->ncomps; i++) {
    total += m->comps[i]->ninsts;
    if (m->comps[i]->is_entry) entries++;
  }
  if (entries != 1 || m->entry < 0 || (uint32_t)m->entry >= m->ncomps || !m->comps[m->entry]->is_entry)
    VERR("module %s: needs exactly one ENTRY computation, has %d", m->name, entries);
  for (uint32_t i = 0; i < m->ncomps; i++)
    for (uint32_t j = 0; j < i; j++)
      if (strcmp(m->comps[i]->name, m->comps[j]->name) == 0)
        VERR("module %s: computation name %%%s is used twice", m->name, m->comps[i]->name);
  uint8_t *state = calloc(m->ncomps ? m->ncomps : 1, 1);
  if (!state) {
    diag_error(d, "out of memory");
    return false;
  }
  for (uint32_t i = 0; i < m->ncomps; i++)
    if (!calls_acyclic(m, i, state)) {
      VERR("module %s: computation %%%s calls itself through fusions", m->name, m->comps[i]->name);
      break;
    }
  free(state);
  if (!ok) return false; /* per-instruction checks assume a sane call graph */
  strset names;
  if (!strset_init(&names, total)) {
    diag_error(d, "out of memory");
    return false;
  }
  for (uint32_t i = 0; i < m->ncomps; i++)
    if (!verify_comp(m, m->comps[i], &names, d)) ok = false;
  free(names.slots);
  return ok;
}
