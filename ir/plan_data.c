/*
 * A buffer plan's memory: allocation, freeing, copying and attaching it to
 * a module. Apart from ir/plan.c (which needs the module's computations)
 * so that ir/module.c, which frees and copies plans with their module,
 * does not depend on the plan's logic.
 */
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

ir_plan *ir_plan_alloc(uint32_t ninsts, uint32_t nvals) {
  ir_plan *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->ninsts = ninsts;
  p->nvals = nvals;
  p->first = calloc((size_t)ninsts + 1, sizeof *p->first);
  p->bufs = calloc(nvals ? nvals : 1, sizeof *p->bufs);
  if (!p->first || !p->bufs) {
    ir_plan_free(p);
    return NULL;
  }
  return p;
}

void ir_plan_free(ir_plan *p) {
  if (!p) return;
  free(p->first);
  free(p->bufs);
  free(p);
}

void ir_module_set_plan(ir_module *m, ir_plan *p) {
  if (m->plan != p) ir_plan_free(m->plan);
  m->plan = p;
}

ir_plan *ir_plan_clone(const ir_plan *src) {
  ir_plan *p = ir_plan_alloc(src->ninsts, src->nvals);
  if (!p) return NULL;
  memcpy(p->first, src->first, ((size_t)src->ninsts + 1) * sizeof *p->first);
  memcpy(p->bufs, src->bufs, src->nvals * sizeof *p->bufs);
  p->workspace = src->workspace;
  return p;
}
