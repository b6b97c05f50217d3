/*
 * One instruction of a module's entry computation, extracted into a module
 * of its own: kiln verify's reproducers (api/model_debug.c).
 *
 * The new entry takes the instruction's distinct operands, in the order of
 * their first use, as parameters named after them (name and io_name: the
 * operand's instruction name), so that values recorded from the original
 * model feed it by name. Constant operands stay constants (copied with
 * their layout, panels included): weights pre-packed for a GEMM are part of
 * what the kernel was compiled from, and a reproducer should compile to the
 * same kernel. Parameters get the default (row-major) layout, which is how
 * the interpreter hands values out and how .npy files hold them. A fusion
 * (conditional, while) keeps calling a copy of its computation(s) (and of
 * whatever those call). The
 * entry returns the instruction's value: one output named after it, or for a
 * tuple-shaped instruction one output per element, NAME#k.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/extract.h"

#include "ir/builder.h"

/* Points the calls of p (fusion, conditional, while) at the copies. */
static void remap_callees(ir_inst *p, const uint32_t *map) {
  uint32_t callee[2];
  int nc = ir_inst_callees(p, callee);
  if (nc > 0) p->called = map[callee[0]];
  if (nc > 1) p->called2 = map[callee[1]];
}

/* Copies computation ci of src (and, first, the computations it calls) into
 * dst; map[ci] receives its index there. False when out of memory. */
static bool copy_comp(ir_module *dst, const ir_module *src, uint32_t ci, uint32_t *map) {
  if (map[ci] != UINT32_MAX) return true;
  const ir_comp *sc = src->comps[ci];
  for (uint32_t i = 0; i < sc->ninsts; i++) {
    uint32_t callee[2];
    int nc = ir_inst_callees(&sc->insts[i], callee);
    for (int k = 0; k < nc; k++)
      if (!copy_comp(dst, src, callee[k], map)) return false;
  }
  ir_comp *c = ir_comp_add(dst, sc->name, false);
  if (!c) return false;
  for (uint32_t i = 0; i < sc->ninsts; i++) {
    ir_inst p = sc->insts[i];
    remap_callees(&p, map);
    if (p.op == IR_OP_CONSTANT) {
      p.data = arena_memdup(&dst->arena, p.data, (size_t)ir_shape_bytes(&p.shape), 64);
      if (!p.data) return false;
    }
    if (ir_comp_append(dst, c, &p) == IR_NONE) return false;
  }
  c->root = sc->root;
  map[ci] = dst->ncomps - 1;
  return true;
}

/* A module name from the source's and the instruction's: identifier
 * characters only, so that it is also a usable artifact name. */
static void module_name(const ir_module *src, const char *inst, char *buf, size_t n) {
  snprintf(buf, n, "%s_%s", src->name ? src->name : "model", inst);
  for (char *p = buf; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))) *p = '_';
}

ir_module *ir_extract_inst(const ir_module *src, const char *name, diag *d) {
  const ir_comp *e = src ? ir_module_entry(src) : NULL;
  if (!e || !name) {
    diag_error(d, "extract: no entry computation or no instruction name");
    return NULL;
  }
  ir_id id = IR_NONE;
  for (uint32_t i = 0; i < e->ninsts && id == IR_NONE; i++)
    if (!strcmp(e->insts[i].name, name)) id = i;
  if (id == IR_NONE) {
    diag_error(d, "extract: the entry computation %%%s has no instruction %%%s", e->name, name);
    return NULL;
  }
  const ir_inst *in = &e->insts[id];
  if (in->op == IR_OP_PARAMETER || in->op == IR_OP_CONSTANT || in->op == IR_OP_TUPLE) {
    diag_error(d, "extract: %%%s is a %s, which computes nothing to extract", name, ir_op_name(in->op));
    return NULL;
  }
  for (uint32_t k = 0; k < in->nops; k++)
    if (e->insts[in->ops[k]].shape.type == IR_TUPLE) {
      diag_error(d, "extract: operand %%%s of %%%s is a tuple; only array operands can become parameters",
                 e->insts[in->ops[k]].name, name);
      return NULL;
    }

  int errors0 = d ? d->errors : 0;
  char mname[256];
  module_name(src, name, mname, sizeof mname);
  ir_module *m = ir_module_create(mname);
  uint32_t *map = malloc((src->ncomps + 1) * sizeof *map);
  ir_id *ops = calloc(in->nops + 1, sizeof *ops);
  bool ok = m && map && ops;
  for (uint32_t i = 0; ok && i <= src->ncomps; i++) map[i] = UINT32_MAX;
  uint32_t callee[2];
  int ncallee = ir_inst_callees(in, callee);
  for (int k = 0; ok && k < ncallee; k++) ok = copy_comp(m, src, callee[k], map);
  ir_comp *c = ok ? ir_comp_add(m, e->name, true) : NULL;
  ok = c != NULL;
  if (ok) m->next_name = src->next_name; /* fresh names stay clear of the copied ones */

  /* Operands: each distinct one once, in the order of first use. */
  int64_t nparams = 0;
  for (uint32_t k = 0; ok && k < in->nops; k++) {
    uint32_t first = k;
    for (uint32_t j = 0; j < k; j++)
      if (in->ops[j] == in->ops[k]) first = j;
    if (first != k) {
      ops[k] = ops[first];
      continue;
    }
    const ir_inst *op = &e->insts[in->ops[k]];
    ir_inst p;
    memset(&p, 0, sizeof p);
    if (op->op == IR_OP_CONSTANT) {
      p = *op;
      p.data = arena_memdup(&m->arena, op->data, (size_t)ir_shape_bytes(&op->shape), 64);
      ok = p.data != NULL;
    } else {
      p.op = IR_OP_PARAMETER;
      p.name = op->name;
      p.io_name = op->name;
      p.loc.name = op->name;
      p.index = nparams++;
      p.shape = op->shape;
      ir_shape_set_default_layout(&p.shape);
    }
    if (ok) ops[k] = ir_comp_append(m, c, &p);
    ok = ok && ops[k] != IR_NONE;
  }

  /* The instruction itself, then the root tuple of its value(s). */
  ir_id self = IR_NONE;
  if (ok) {
    ir_inst p = *in;
    p.ops = ops;
    remap_callees(&p, map);
    self = ir_comp_append(m, c, &p);
    ok = self != IR_NONE;
  }
  uint32_t nout = in->shape.type == IR_TUPLE ? in->ntuple : 1;
  ir_id *outs = ok ? calloc(nout, sizeof *outs) : NULL;
  const char **names = ok ? arena_alloc(&m->arena, nout * sizeof *names, 8) : NULL;
  ok = ok && outs && names;
  ir_builder b;
  if (ok) ir_builder_init(&b, m, c, d);
  for (uint32_t k = 0; ok && k < nout; k++) {
    char nm[512];
    if (in->shape.type == IR_TUPLE) {
      snprintf(nm, sizeof nm, "%s#%u", name, k);
      outs[k] = ir_get_tuple_element(&b, self, k);
    } else {
      snprintf(nm, sizeof nm, "%s", name);
      outs[k] = self;
    }
    names[k] = arena_strdup(&m->arena, nm);
    ok = outs[k] != IR_NONE && names[k];
  }
  if (ok) ok = ir_set_root(&b, ir_tuple(&b, (int)nout, outs), (int)nout, names);
  free(outs);
  free(ops);
  free(map);
  if (!ok) {
    if (!d || d->errors == errors0) diag_error(d, "extract: out of memory extracting %%%s", name);
    ir_module_destroy(m);
    return NULL;
  }
  if (!ir_verify(m, d)) {
    diag_error(d, "extract: the module extracted for %%%s does not verify (a bug in kiln)", name);
    ir_module_destroy(m);
    return NULL;
  }
  return m;
}

ir_module *ir_extract_comp(const ir_module *src, uint32_t ci, diag *d) {
  if (!src || ci >= src->ncomps) {
    diag_error(d, "extract: no computation %u", ci);
    return NULL;
  }
  const ir_comp *sc = src->comps[ci];
  ir_module *m = ir_module_create(src->name);
  uint32_t *map = malloc((src->ncomps + 1) * sizeof *map);
  bool ok = m && map;
  for (uint32_t i = 0; ok && i <= src->ncomps; i++) map[i] = UINT32_MAX;
  for (uint32_t i = 0; ok && i < sc->ninsts; i++) {
    uint32_t callee[2];
    int nc = ir_inst_callees(&sc->insts[i], callee);
    for (int k = 0; ok && k < nc; k++) ok = copy_comp(m, src, callee[k], map);
  }
  ir_comp *c = ok ? ir_comp_add(m, sc->name, true) : NULL;
  ok = c != NULL;
  if (ok) m->next_name = src->next_name;
  for (uint32_t i = 0; ok && i < sc->ninsts; i++) {
    ir_inst p = sc->insts[i];
    remap_callees(&p, map);
    if (p.op == IR_OP_CONSTANT) ok = (p.data = arena_memdup(&m->arena, p.data, (size_t)ir_shape_bytes(&p.shape), 64)) != NULL;
    ok = ok && ir_comp_append(m, c, &p) != IR_NONE;
  }
  /* The entry's root is a tuple of named outputs. */
  ir_builder b;
  const ir_inst *root = ok ? &c->insts[sc->root] : NULL;
  uint32_t nout = ok ? (root->shape.type == IR_TUPLE ? root->ntuple : 1) : 0;
  ir_id *outs = ok ? calloc(nout + 1, sizeof *outs) : NULL;
  const char **names = ok ? arena_alloc(&m->arena, (nout + 1) * sizeof *names, 8) : NULL;
  ok = ok && outs && names;
  if (ok) ir_builder_init(&b, m, c, d);
  for (uint32_t k = 0; ok && k < nout; k++) {
    char nm[32];
    snprintf(nm, sizeof nm, "out%u", k);
    names[k] = arena_strdup(&m->arena, nm);
    outs[k] = nout == 1 && c->insts[sc->root].shape.type != IR_TUPLE ? sc->root
                                                                     : ir_get_tuple_element(&b, sc->root, k);
    ok = names[k] && outs[k] != IR_NONE;
  }
  if (ok) ok = ir_set_root(&b, ir_tuple(&b, (int)nout, outs), (int)nout, names);
  if (ok) ok = ir_comp_canonicalize(m, c);
  free(outs);
  free(map);
  if (!ok) {
    diag_error(d, "extract: out of memory extracting computation %%%s", sc->name);
    ir_module_destroy(m);
    return NULL;
  }
  if (!ir_verify(m, d)) {
    diag_error(d, "extract: the module extracted for computation %%%s does not verify (a bug in kiln)", sc->name);
    ir_module_destroy(m);
    return NULL;
  }
  return m;
}
