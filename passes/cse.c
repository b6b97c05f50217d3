/*
 * Common subexpression elimination: two instructions with the same op,
 * shape, operands (after earlier merges) and attributes compute the same
 * value; later ones are replaced by the first. Constants merge when their
 * bytes are equal. Parameters and custom calls never merge.
 */
#include <stdlib.h>
#include <string.h>

#include "passes/pass.h"

static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 1099511628211ull; }

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) h = mix(h, b[i]);
  return h;
}

static size_t attr_size(ir_family f) {
  switch (f) {
    case IR_FAM_SLICE: return sizeof(ir_slice_attr);
    case IR_FAM_PAD: return sizeof(ir_pad_attr);
    case IR_FAM_REDUCE_WINDOW:
    case IR_FAM_CONVOLUTION: return sizeof(ir_window);
    case IR_FAM_DOT: return sizeof(ir_dot_dims);
    case IR_FAM_GATHER: return sizeof(ir_gather_dims);
    case IR_FAM_SCATTER: return sizeof(ir_scatter_dims);
    default: return 0;
  }
}

static uint64_t hash_inst(const ir_inst *in) {
  uint64_t h = 1469598103934665603ull;
  h = mix(h, (uint64_t)in->op);
  h = hash_bytes(h, &in->shape, sizeof in->shape);
  for (uint32_t k = 0; k < in->nops; k++) h = mix(h, in->ops[k]);
  h = hash_bytes(h, in->dims, in->ndims * sizeof(int64_t));
  h = mix(h, (uint64_t)in->index);
  if (in->op == IR_OP_CONSTANT) {
    int64_t bytes = ir_shape_bytes(&in->shape);
    /* Hash a bounded sample: equality is checked in full anyway. */
    h = hash_bytes(h, in->data, (size_t)(bytes < 4096 ? bytes : 4096));
  }
  return h;
}

static bool str_eq(const char *a, const char *b) { return a == b || (a && b && !strcmp(a, b)); }

static bool same(const ir_inst *a, const ir_inst *b) {
  if (a->op != b->op || a->nops != b->nops || !ir_shape_equal(&a->shape, &b->shape)) return false;
  if (a->shape.type == IR_TUPLE) {
    if (a->ntuple != b->ntuple) return false;
    for (uint32_t i = 0; i < a->ntuple; i++)
      if (!ir_shape_equal(&a->tuple[i], &b->tuple[i])) return false;
  }
  /* memcmp with a NULL pointer is undefined even for 0 bytes. */
  if (a->nops && memcmp(a->ops, b->ops, a->nops * sizeof *a->ops)) return false;
  if (a->ndims != b->ndims || (a->ndims && memcmp(a->dims, b->dims, a->ndims * sizeof(int64_t)))) return false;
  if (a->index != b->index || a->cmp != b->cmp || a->comb != b->comb || a->descending != b->descending ||
      a->fusion_kind != b->fusion_kind || a->called != b->called || a->called2 != b->called2)
    return false;
  if (!str_eq(a->target, b->target) || !str_eq(a->config, b->config)) return false;
  ir_family f = ir_op_get(a->op)->family;
  size_t asz = attr_size(f);
  if (asz && (!a->a.slice || !b->a.slice || memcmp(a->a.slice, b->a.slice, asz))) return false;
  if (f == IR_FAM_CONVOLUTION && memcmp(a->conv, b->conv, sizeof *a->conv)) return false;
  if (a->op == IR_OP_CONSTANT) {
    int64_t bytes = ir_shape_bytes(&a->shape);
    if (bytes > 0 && memcmp(a->data, b->data, (size_t)bytes)) return false;
  }
  return true;
}

static bool cse_comp(ir_comp *c, pass_ctx *ctx) {
  uint32_t n = c->ninsts;
  size_t cap = 16;
  while (cap < (size_t)n * 2) cap *= 2;
  ir_id *table = malloc(cap * sizeof *table);
  ir_id *repl = malloc((n ? n : 1) * sizeof *repl);
  if (!table || !repl) {
    free(table);
    free(repl);
    diag_error(ctx->d, "cse: out of memory");
    ctx->failed = ctx->oom = true;
    return false;
  }
  for (size_t i = 0; i < cap; i++) table[i] = IR_NONE;
  bool changed = false;
  for (uint32_t i = 0; i < n; i++) {
    ir_inst *in = &c->insts[i];
    for (uint32_t k = 0; k < in->nops; k++) in->ops[k] = repl[in->ops[k]];
    repl[i] = i;
    if (in->op == IR_OP_PARAMETER || in->op == IR_OP_CUSTOM_CALL) continue;
    for (size_t s = hash_inst(in) & (cap - 1);; s = (s + 1) & (cap - 1)) {
      if (table[s] == IR_NONE) {
        table[s] = i;
        break;
      }
      if (same(&c->insts[table[s]], in)) {
        repl[i] = table[s];
        changed = true;
        break;
      }
    }
  }
  if (changed && c->root != IR_NONE) c->root = repl[c->root];
  free(table);
  free(repl);
  return changed;
}

bool pass_cse(ir_module *m, pass_ctx *ctx) {
  bool changed = false;
  for (uint32_t ci = 0; ci < m->ncomps && !ctx->failed; ci++) changed |= cse_comp(m->comps[ci], ctx);
  return changed;
}
