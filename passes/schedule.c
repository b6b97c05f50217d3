/*
 * The `schedule` pass: the order of the entry computation's launches,
 * chosen to lower peak workspace (launches run in instruction order).
 *
 * A list scheduler: among the instructions whose operands are all
 * computed, run the one that adds the fewest bytes to what is live (bytes
 * it allocates minus bytes of operands it is the last reader of); ties go
 * to the earlier instruction, so the order is deterministic and stays the
 * input's where memory does not care. Views (tuple, get_tuple_element,
 * aliasing reshapes) and constants allocate nothing and run as soon as
 * they can. The heuristic is then checked against the input order with the
 * real buffer planner (passes/buffers.c): the order with the smaller
 * workspace is kept (a remark gives both), so the pass never makes the
 * peak worse. The computation is marked keep_order so that
 * canonicalization keeps the schedule (ir/module.c).
 */
#include <stdlib.h>
#include <string.h>

#include "passes/pass.h"

/* Puts instruction order[k] at position k, renumbering operands. */
static bool reorder(ir_comp *e, const uint32_t *order) {
  uint32_t n = e->ninsts;
  ir_inst *ni = malloc(n * sizeof *ni);
  uint32_t *newid = malloc(n * sizeof *newid);
  if (!ni || !newid) {
    free(ni);
    free(newid);
    return false;
  }
  for (uint32_t k = 0; k < n; k++) newid[order[k]] = k;
  for (uint32_t k = 0; k < n; k++) {
    ni[k] = e->insts[order[k]];
    for (uint32_t j = 0; j < ni[k].nops; j++) ni[k].ops[j] = newid[ni[k].ops[j]];
  }
  free(e->insts);
  e->insts = ni;
  e->cap = n;
  e->root = newid[e->root];
  free(newid);
  return true;
}

static bool is_view(const ir_comp *e, const ir_inst *in) {
  if (in->op == IR_OP_TUPLE || in->op == IR_OP_GET_TUPLE_ELEMENT || in->op == IR_OP_CONSTANT ||
      in->op == IR_OP_PARAMETER)
    return true;
  if (in->op == IR_OP_RESHAPE)
    return ir_shape_has_default_layout(&e->insts[in->ops[0]].shape) && ir_shape_has_default_layout(&in->shape);
  return in->op == IR_OP_COPY && ir_shape_equal(&e->insts[in->ops[0]].shape, &in->shape);
}

static int64_t alloc_bytes(const ir_comp *e, const ir_inst *in) {
  if (is_view(e, in)) return 0;
  if (in->shape.type != IR_TUPLE) return ir_shape_phys_bytes(&in->shape);
  int64_t b = 0;
  for (uint32_t k = 0; k < in->ntuple; k++) b += ir_shape_phys_bytes(&in->tuple[k]);
  return b;
}

/* The memory-first order into order[0..n). An instruction that mentions
 * a computed symbol also waits for its set_symbol (ir_comp_symbol_deps). */
static bool list_schedule(const ir_module *m, const ir_comp *e, uint32_t *order) {
  uint32_t n = e->ninsts;
  uint32_t *users = calloc(n, sizeof *users), *waiting = calloc(n, sizeof *waiting);
  uint8_t *done = calloc(n, 1);
  int64_t *bytes = malloc(n * sizeof *bytes);
  uint32_t *sstart = NULL, *sdep = NULL;
  bool ok = users && waiting && done && bytes && ir_comp_symbol_deps(m, e, &sstart, &sdep);
  for (uint32_t i = 0; ok && sstart && i < n; i++) waiting[i] += sstart[i + 1] - sstart[i];
  for (uint32_t i = 0; ok && i < n; i++) {
    const ir_inst *in = &e->insts[i];
    bytes[i] = alloc_bytes(e, in);
    for (uint32_t k = 0; k < in->nops; k++) {
      bool dup = false;
      for (uint32_t q = 0; q < k; q++) dup = dup || in->ops[q] == in->ops[k];
      if (dup) continue;
      users[in->ops[k]]++;
      waiting[i]++;
    }
  }
  uint32_t k = 0;
  /* Parameters first, in their order, as canonicalization has them. */
  for (uint32_t i = 0; ok && i < n; i++)
    if (e->insts[i].op == IR_OP_PARAMETER) order[k++] = i, done[i] = 1;
  for (uint32_t i = 0; ok && i < n; i++)
    if (e->insts[i].op == IR_OP_PARAMETER)
      for (uint32_t u = i + 1; u < n; u++) {
        const ir_inst *ui = &e->insts[u];
        for (uint32_t q = 0; q < ui->nops; q++) {
          bool dup = false;
          for (uint32_t r = 0; r < q; r++) dup = dup || ui->ops[r] == ui->ops[q];
          if (!dup && ui->ops[q] == i) waiting[u]--;
        }
      }
  while (ok && k < n) {
    uint32_t best = UINT32_MAX;
    int64_t best_score = 0;
    for (uint32_t i = 0; i < n; i++) {
      if (done[i] || waiting[i]) continue;
      const ir_inst *in = &e->insts[i];
      int64_t score = bytes[i];
      if (bytes[i] == 0) score = INT64_MIN; /* views and constants: at once */
      else
        for (uint32_t q = 0; q < in->nops; q++) {
          bool dup = false;
          for (uint32_t r = 0; r < q; r++) dup = dup || in->ops[r] == in->ops[q];
          if (!dup && users[in->ops[q]] == 1) score -= bytes[in->ops[q]];
        }
      if (best == UINT32_MAX || score < best_score) best = i, best_score = score;
    }
    if (best == UINT32_MAX) {
      ok = false; /* a cycle: cannot happen in verified IR */
      break;
    }
    order[k++] = best;
    done[best] = 1;
    const ir_inst *in = &e->insts[best];
    for (uint32_t q = 0; q < in->nops; q++) {
      bool dup = false;
      for (uint32_t r = 0; r < q; r++) dup = dup || in->ops[r] == in->ops[q];
      if (!dup) users[in->ops[q]]--;
    }
    /* Its users wait for one operand less. */
    for (uint32_t u = 0; u < n; u++) {
      if (done[u]) continue;
      const ir_inst *ui = &e->insts[u];
      for (uint32_t q = 0; q < ui->nops; q++) {
        bool dup = false;
        for (uint32_t r = 0; r < q; r++) dup = dup || ui->ops[r] == ui->ops[q];
        if (!dup && ui->ops[q] == best) waiting[u]--;
      }
      for (uint32_t q = sstart ? sstart[u] : 0; sstart && q < sstart[u + 1]; q++)
        if (sdep[q] == best) waiting[u]--;
    }
  }
  free(sstart);
  free(sdep);
  free(users);
  free(waiting);
  free(done);
  free(bytes);
  return ok;
}

static bool fail(pass_ctx *ctx, const char *what) {
  diag_error(ctx->d, "schedule: out of memory while %s", what);
  ctx->failed = ctx->oom = true;
  return false;
}

bool pass_schedule(ir_module *m, pass_ctx *ctx) {
  ir_comp *e = ir_module_entry(m);
  if (!e || e->ninsts < 3) return false;
  uint32_t n = e->ninsts;
  uint32_t *order = malloc(n * sizeof *order), *inverse = malloc(n * sizeof *inverse);
  if (!order || !inverse) {
    free(order);
    free(inverse);
    return fail(ctx, "scheduling");
  }
  ir_plan *before = pass_buffers_plan(m, true, NULL);
  bool ok = before && list_schedule(m, e, order);
  bool same = true;
  for (uint32_t i = 0; ok && i < n; i++) same = same && order[i] == i;
  bool changed = false;
  e->keep_order = true;
  if (ok && !same) {
    ok = reorder(e, order);
    ir_plan *after = ok ? pass_buffers_plan(m, true, NULL) : NULL;
    ok = ok && after;
    if (ok && after->workspace < before->workspace) {
      pass_remark(ctx, "schedule: %%%s: peak workspace %lld bytes in the input order, %lld in the memory-first order: "
                       "reordered",
                  e->name, (long long)before->workspace, (long long)after->workspace);
      changed = true;
    } else if (ok) {
      pass_remark(ctx, "schedule: %%%s: peak workspace %lld bytes in the input order, %lld in the memory-first order: "
                       "input order kept",
                  e->name, (long long)before->workspace, (long long)after->workspace);
      for (uint32_t k = 0; k < n; k++) inverse[order[k]] = k;
      ok = reorder(e, inverse);
    }
    ir_plan_free(after);
  } else if (ok) {
    pass_remark(ctx, "schedule: %%%s: the input order is already memory-first (peak workspace %lld bytes)", e->name,
                (long long)before->workspace);
  }
  ir_plan_free(before);
  free(order);
  free(inverse);
  if (!ok) return fail(ctx, "scheduling");
  return changed;
}
