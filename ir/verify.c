/*
 * Verifier: checks every invariant listed in ir.h and reports each broken
 * one as "computation %c, instruction %i (op): rule". It is run by the parser,
 * after every pass in test builds, and by `kiln opt`.
 */
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "ir/namemap.h"
#include "ir/symbolic.h"

#define VERR(...)                  \
  do {                             \
    diag_error(d, __VA_ARGS__);    \
    ok = false;                    \
  } while (0)

/* The call graph (fusion, conditional, while) must be acyclic. state: 0
 * unseen, 1 active, 2 done. On a cycle, *bad_c and *bad_i name the call
 * that closes it and *bad_callee the computation it calls. */
static bool calls_acyclic(const ir_module *m, uint32_t ci, uint8_t *state, const ir_comp **bad_c,
                          const ir_inst **bad_i, uint32_t *bad_callee) {
  state[ci] = 1;
  const ir_comp *c = m->comps[ci];
  for (uint32_t i = 0; i < c->ninsts; i++) {
    const ir_inst *in = &c->insts[i];
    uint32_t callee[2];
    int nc = ir_inst_callees(in, callee);
    for (int k = 0; k < nc; k++) {
      if (callee[k] >= m->ncomps || state[callee[k]] == 2) continue;
      if (state[callee[k]] == 1) {
        *bad_c = c;
        *bad_i = in;
        *bad_callee = callee[k];
        return false;
      }
      if (!calls_acyclic(m, callee[k], state, bad_c, bad_i, bad_callee)) return false;
    }
  }
  state[ci] = 2;
  return true;
}

/* The symbolic dimensions of an instruction's shape, tuple element shapes
 * and attributes name valid expressions (ir/symbolic.h). Shape rules check
 * the same where they read them; this names each problem precisely. */
static bool syms_ok(ir_module *m, const ir_comp *c, const ir_inst *in, diag *d) {
  bool ok = true;
  char err[256];
  const char *op = ir_op_name(in->op);
  if (in->shape.type != IR_TUPLE && !ir_shape_syms_valid(m, &in->shape, err, sizeof err))
    VERR("computation %%%s, instruction %%%s (%s): %s", c->name, in->name, op, err);
  for (uint32_t t = 0; in->shape.type == IR_TUPLE && t < in->ntuple; t++)
    if (!ir_shape_syms_valid(m, &in->tuple[t], err, sizeof err))
      VERR("computation %%%s, instruction %%%s (%s): tuple element %u: %s", c->name, in->name, op, t, err);
  const ir_family fam = ir_op_get(in->op)->family;
  for (int i = 0; fam == IR_FAM_SLICE && in->a.slice && i < IR_MAX_RANK; i++) {
    const ir_slice_attr *a = in->a.slice;
    if (a->start_sym[i] && !ir_dexpr_size_valid(m, a->start_sym[i], a->start[i], err, sizeof err))
      VERR("computation %%%s, instruction %%%s (%s): the start of dimension %d %s", c->name, in->name, op, i, err);
    if (a->limit_sym[i] && !ir_dexpr_size_valid(m, a->limit_sym[i], a->limit[i], err, sizeof err))
      VERR("computation %%%s, instruction %%%s (%s): the limit of dimension %d %s", c->name, in->name, op, i, err);
  }
  for (int i = 0; fam == IR_FAM_GATHER && in->a.gather && i < IR_MAX_RANK; i++) {
    const ir_gather_dims *g = in->a.gather;
    if (g->slice_sizes_sym[i] && !ir_dexpr_size_valid(m, g->slice_sizes_sym[i], g->slice_sizes[i], err, sizeof err))
      VERR("computation %%%s, instruction %%%s (%s): slice_sizes[%d] %s", c->name, in->name, op, i, err);
  }
  return ok;
}

static bool verify_comp(ir_module *m, const ir_comp *c, ir_namemap *names, diag *d) {
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
    if (!ir_is_ident(in->name))
      VERR("computation %%%s, instruction %%%s (%s): the name is not an identifier ([A-Za-z0-9_.-]+), so the text "
           "form could not read it back",
           c->name, in->name, op);
    if (ir_namemap_get(names, in->name, strlen(in->name)) != IR_NONE)
      VERR("computation %%%s, instruction %%%s (%s): name is used twice in the module", c->name, in->name, op);
    else if (!ir_namemap_put(names, in->name, i))
      VERR("out of memory");
    bool operands_ok = true;
    for (uint32_t k = 0; k < in->nops; k++) {
      if (in->ops[k] >= i) {
        VERR("computation %%%s, instruction %%%s (%s): operand %u is not defined before its use", c->name, in->name, op, k);
        operands_ok = false;
      }
    }
    if (in->shape.type != IR_TUPLE && !ir_shape_layout_valid(&in->shape))
      VERR("computation %%%s, instruction %%%s (%s): layout is not a permutation of the dimensions", c->name, in->name, op);
    /* Panels are a storage order for constant data (GEMM weights): only
     * constants, and the parameters of fused computations they are passed
     * to, may have one, so no computed buffer and no entry input or output
     * is ever padded. */
    if (in->shape.type != IR_TUPLE && in->shape.panel &&
        !(in->op == IR_OP_CONSTANT || (in->op == IR_OP_PARAMETER && !c->is_entry)))
      VERR("computation %%%s, instruction %%%s (%s): a panel layout is only allowed on constants and on the "
           "parameters of non-entry computations",
           c->name, in->name, op);
    for (uint32_t t = 0; in->shape.type == IR_TUPLE && t < in->ntuple; t++)
      if (in->tuple[t].panel)
        VERR("computation %%%s, instruction %%%s (%s): tuple element %u has a panel layout (only constants may)",
             c->name, in->name, op, t);
    if (in->op == IR_OP_PARAMETER) {
      nparams++;
      if (in->io_name && !c->is_entry)
        VERR("computation %%%s, instruction %%%s: io_name is only allowed in the entry computation", c->name, in->name);
    }
    if (!operands_ok) continue;
    if (!syms_ok(m, c, in, d)) {
      ok = false;
      continue;
    }
    ir_shape s;
    ir_shape *tuple;
    uint32_t nt;
    if (!ir_infer_shape(m, c, in, &s, &tuple, &nt, err, sizeof err)) {
      VERR("computation %%%s, instruction %%%s (%s): %s", c->name, in->name, op, err);
      continue;
    }
    if (!ir_result_matches(in, &s, tuple, nt)) {
      ir_result_str_m(m, &s, tuple, nt, b2, sizeof b2);
      ir_result_str_m(m, &in->shape, in->tuple, in->ntuple, b1, sizeof b1);
      VERR("computation %%%s, instruction %%%s (%s): declared shape %s, but the operands give %s", c->name, in->name,
           op, b1, b2);
    }
  }
  /* Parameter numbers are 0..n-1, each once: with n parameters, a gap means
   * some number is out of range, so each problem has an instruction to name. */
  for (uint32_t i = 0; i < c->ninsts; i++) {
    const ir_inst *in = &c->insts[i];
    if (in->op != IR_OP_PARAMETER) continue;
    if (in->index < 0 || in->index >= (int64_t)nparams) {
      VERR("computation %%%s, instruction %%%s (parameter): parameter number %lld is out of range (with %u "
           "parameters the numbers must be 0..%u, each once)",
           c->name, in->name, (long long)in->index, nparams, nparams - 1);
      continue;
    }
    for (uint32_t j = 0; j < i; j++)
      if (c->insts[j].op == IR_OP_PARAMETER && c->insts[j].index == in->index) {
        VERR("computation %%%s, instruction %%%s (parameter): parameter number %lld is also used by %%%s", c->name,
             in->name, (long long)in->index, c->insts[j].name);
        break;
      }
  }
  if (c->root == IR_NONE || c->root >= c->ninsts) {
    VERR("computation %%%s: has no ROOT instruction", c->name);
  } else if (c->is_entry) {
    const ir_inst *r = &c->insts[c->root];
    if (r->shape.type != IR_TUPLE)
      VERR("computation %%%s, instruction %%%s (%s): the entry ROOT must be a tuple of the outputs", c->name, r->name,
           ir_op_name(r->op));
    else if (r->ntuple != c->noutputs)
      VERR("computation %%%s, instruction %%%s (tuple): %u output names for a ROOT tuple of %u", c->name, r->name,
           c->noutputs, r->ntuple);
    /* Outputs are copied out as they are stored: never padded panels. */
    for (uint32_t k = 0; r->shape.type == IR_TUPLE && k < r->nops; k++)
      if (r->ops[k] < c->ninsts && c->insts[r->ops[k]].shape.panel)
        VERR("computation %%%s, instruction %%%s (tuple): output %u is %%%s, which has a panel layout (an output is "
             "never padded: give it a copy in another layout)",
             c->name, r->name, k, c->insts[r->ops[k]].name);
  }
  if (c->is_entry && ok) {
    for (uint32_t i = 0; i < c->noutputs; i++)
      for (uint32_t j = 0; j < i; j++)
        if (strcmp(c->output_names[i], c->output_names[j]) == 0)
          VERR("computation %%%s, instruction %%%s (tuple): output name \"%s\" is used twice (outputs %u and %u)",
               c->name, c->insts[c->root].name, c->output_names[i], j, i);
    for (uint32_t i = 0; i < nparams; i++) {
      const ir_inst *a = &c->insts[ir_comp_param(c, i)];
      for (uint32_t j = 0; j < i && a->io_name; j++) {
        const ir_inst *b = &c->insts[ir_comp_param(c, j)];
        if (b->io_name && strcmp(a->io_name, b->io_name) == 0)
          VERR("computation %%%s, instruction %%%s (parameter): input name \"%s\" is also used by %%%s", c->name,
               a->name, a->io_name, b->name);
      }
    }
  }
  return ok;
}

/* Computed symbols: each gets its value from exactly one set_symbol of
 * the entry computation (none elsewhere), which comes before every
 * instruction that mentions the symbol. */
static bool verify_computed(ir_module *m, diag *d) {
  const ir_comp *e = ir_module_entry(m);
  for (uint32_t ci = 0; ci < m->ncomps; ci++) {
    const ir_comp *c = m->comps[ci];
    for (uint32_t i = 0; c != e && i < c->ninsts; i++)
      if (c->insts[i].op == IR_OP_SET_SYMBOL) {
        diag_error(d, "computation %%%s, instruction %%%s (set_symbol): set_symbol belongs in the entry computation only",
                   c->name, c->insts[i].name);
        return false;
      }
  }
  for (int k = 0; k < ir_sym_count(m); k++) {
    if (!ir_sym_is_computed(m, k)) continue;
    ir_id def = IR_NONE;
    for (uint32_t i = 0; i < e->ninsts; i++) {
      const ir_inst *in = &e->insts[i];
      if (in->op == IR_OP_SET_SYMBOL && in->index == k) {
        if (def != IR_NONE) {
          diag_error(d, "computed symbol %s is set twice (%%%s and %%%s)", ir_sym_name(m, k), e->insts[def].name, in->name);
          return false;
        }
        def = i;
      } else if (in->op == IR_OP_PARAMETER && ir_inst_uses_sym(m, in, k)) {
        /* The caller sizes the inputs: only an instruction sets a computed size. */
        diag_error(d, "computation %%%s, instruction %%%s (parameter): an input's shape uses computed symbol %s, which only "
                   "set_symbol gives a value", e->name, in->name, ir_sym_name(m, k));
        return false;
      } else if (ir_inst_uses_sym(m, in, k) && def == IR_NONE) {
        diag_error(d, "computation %%%s, instruction %%%s (%s) uses computed symbol %s before a set_symbol gives it its value",
                   e->name, in->name, ir_op_name(in->op), ir_sym_name(m, k));
        return false;
      }
    }
  }
  return true;
}

bool ir_verify(ir_module *m, diag *d) {
  bool ok = true;
  int entries = 0;
  for (uint32_t i = 0; i < m->ncomps; i++)
    if (m->comps[i]->is_entry) entries++;
  if (entries != 1 || m->entry < 0 || (uint32_t)m->entry >= m->ncomps || !m->comps[m->entry]->is_entry)
    VERR("module %s: needs exactly one ENTRY computation, has %d", m->name, entries);
  for (uint32_t i = 0; i < m->ncomps; i++)
    if (!ir_is_ident(m->comps[i]->name))
      VERR("module %s: computation name %%%s is not an identifier ([A-Za-z0-9_.-]+)", m->name, m->comps[i]->name);
  for (uint32_t i = 0; i < m->ncomps; i++)
    for (uint32_t j = 0; j < i; j++)
      if (strcmp(m->comps[i]->name, m->comps[j]->name) == 0)
        VERR("module %s: computation name %%%s is used twice", m->name, m->comps[i]->name);
  uint8_t *state = calloc(m->ncomps ? m->ncomps : 1, 1);
  if (!state) {
    diag_error(d, "out of memory");
    return false;
  }
  for (uint32_t i = 0; i < m->ncomps; i++) {
    const ir_comp *bc = NULL;
    const ir_inst *bi = NULL;
    uint32_t callee = 0;
    if (state[i] == 0 && !calls_acyclic(m, i, state, &bc, &bi, &callee)) {
      VERR("computation %%%s, instruction %%%s (%s): calls %%%s, which is already on the call path (a computation "
           "must not call itself, directly or through other calls)",
           bc->name, bi->name, ir_op_name(bi->op), m->comps[callee]->name);
      break;
    }
  }
  free(state);
  if (!ok) return false; /* per-instruction checks assume a sane call graph */
  ir_namemap names = {0};
  for (uint32_t i = 0; i < m->ncomps; i++)
    if (!verify_comp(m, m->comps[i], &names, d)) ok = false;
  ir_namemap_free(&names);
  if (ok && ir_module_has_computed_syms(m) && !verify_computed(m, d)) ok = false;
  /* The buffer plan is checked against a valid entry computation only. */
  if (ok && m->plan && !ir_plan_verify(m, d)) ok = false;
  return ok;
}
