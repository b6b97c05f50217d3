/*
 * Dead code elimination: drops instructions the root does not reach (the
 * canonicalization every pass ends with does the work), and computations
 * nothing calls any more (fusion, conditional and while bodies are kept
 * while a caller lives).
 */
#include <stdlib.h>

#include "passes/pass.h"

bool pass_dce(ir_module *m, pass_ctx *ctx) {
  size_t before = 0, after = 0;
  for (uint32_t i = 0; i < m->ncomps; i++) before += m->comps[i]->ninsts;
  if (!pass_canonicalize_all(m, ctx)) return false;
  for (uint32_t i = 0; i < m->ncomps; i++) after += m->comps[i]->ninsts;
  /* Unreferenced fusion computations: keep the entry and every callee. */
  uint8_t *used = calloc(m->ncomps ? m->ncomps : 1, 1);
  if (!used) {
    diag_error(ctx->d, "dce: out of memory");
    ctx->failed = ctx->oom = true;
    return false;
  }
  for (uint32_t ci = 0; ci < m->ncomps; ci++) {
    const ir_comp *c = m->comps[ci];
    for (uint32_t i = 0; i < c->ninsts; i++) {
      uint32_t callee[2];
      int nc = ir_inst_callees(&c->insts[i], callee);
      for (int k = 0; k < nc; k++)
        if (callee[k] < m->ncomps) used[callee[k]] = 1;
    }
  }
  bool removed = false;
  uint32_t k = 0;
  uint32_t *newidx = malloc((m->ncomps ? m->ncomps : 1) * sizeof *newidx);
  if (!newidx) {
    free(used);
    diag_error(ctx->d, "dce: out of memory");
    ctx->failed = ctx->oom = true;
    return false;
  }
  for (uint32_t ci = 0; ci < m->ncomps; ci++) {
    ir_comp *c = m->comps[ci];
    if (!c->is_entry && !used[ci]) {
      free(c->insts);
      removed = true;
      newidx[ci] = UINT32_MAX;
      continue;
    }
    newidx[ci] = k;
    m->comps[k++] = c;
  }
  if (removed) {
    m->ncomps = k;
    for (uint32_t ci = 0; ci < m->ncomps; ci++) {
      ir_comp *c = m->comps[ci];
      if (c->is_entry) m->entry = (int32_t)ci;
      for (uint32_t i = 0; i < c->ninsts; i++) {
        ir_inst *in = &c->insts[i];
        uint32_t callee[2];
        int nc = ir_inst_callees(in, callee);
        if (nc > 0) in->called = newidx[callee[0]];
        if (nc > 1) in->called2 = newidx[callee[1]];
      }
    }
  }
  free(newidx);
  free(used);
  return removed || after != before;
}
