/*
 * Kernels: one LLVM function per fusion (or per lone instruction standing in
 * for a fusion of one), shared by every launch with the same key.
 *
 * Each kernel is a pair of functions:
 *
 *   body(ptr noalias out0.., ptr noalias readonly in0.., ptr scratch,
 *        [ptr noalias readonly bind,] i64 lo, i64 hi)
 *        internal, alwaysinline: the loop nest over iterations [lo, hi);
 *        noalias lets LLVM vectorise without runtime alias checks; an
 *        input the buffer plan has output 0 overwrite (cg_kdesc's
 *        in_place, part of the key) is read through output 0's pointer,
 *        never its own, so noalias stays true. bind, in symbolic
 *        modules only: the binding of the symbols (cg_internal.h).
 *   a launcher the backend wraps around it (CPU: task(ptr args, i64 lo,
 *        i64 hi) in cpu/cg_loop.c, called by the run function or the
 *        thread pool one chunk [lo, hi) at a time).
 * A kernel may have several such pairs (phases), run one after the other
 * (GEMM: packing, then tiles). What code a kernel gets is the backend's
 * choice (cg_backend.h: emit_kernel); the dot and convolution kernels
 * share the fused-epilogue store defined here.
 *
 * The key of a kernel is a text rendering of everything the code depends
 * on: the instructions reachable from the root (ops, shapes with layouts,
 * attributes, inner constants), the shapes of its input and output buffers.
 * Two launches with equal keys share the functions (identical layers of a
 * model compile once). The memo (cg_kernel_lookup/remember) is here; the
 * backend appends to the key what else its code depends on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cg_backend.h"

bool cg_kernel_begin(cg_ctx *c, cg_kernel *k, const cg_kdesc *d, LLVMValueRef fn) {
  memset(k, 0, sizeof *k);
  k->c = c;
  k->fn = fn;
  k->comp = d->comp;
  k->next_uid = 1; /* uid 1 is the scalar index */
  size_t n = d->comp->ninsts ? d->comp->ninsts : 1;
  k->buf = calloc(n, sizeof *k->buf);
  k->bshape = calloc(n, sizeof *k->bshape);
  if (!k->buf || !k->bshape) {
    cg_kernel_end(k);
    return cg_fail(c, "out of memory");
  }
  for (uint32_t i = 0; i < d->nin; i++) {
    /* An input whose buffer output 0 overwrites (the buffer plan's in
     * place) is read through output 0's pointer: one pointer for those
     * bytes keeps every parameter noalias, so the loop vectorizes (two
     * equal pointers would fail LLVM's run-time overlap check every time
     * and run the scalar fallback). */
    bool shared = i < 32 && (d->in_place >> i & 1);
    k->buf[d->in_ids[i]] = LLVMGetParam(fn, shared ? 0 : d->nout + i);
    k->bshape[d->in_ids[i]] = d->in_shapes[i];
  }
  if (d->symbolic) c->bind = LLVMGetParam(fn, cg_arg_bind(d));
  return true;
}

void cg_kernel_end(cg_kernel *k) {
  if (k->c) k->c->bind = NULL;
  free(k->buf);
  free(k->bshape);
  free(k->memo);
  k->buf = NULL;
  k->bshape = NULL;
  k->memo = NULL;
}

bool cg_default_input(const cg_kdesc *d, ir_id id, unsigned *pos) {
  for (uint32_t i = 0; i < d->nin; i++)
    if (d->in_ids[i] == id) {
      *pos = i;
      return ir_shape_has_default_layout(d->in_shapes[i]);
    }
  return false;
}

/* ---- fused epilogues ------------------------------------------------------ */

void cg_epilogue_begin(cg_kernel *k, const cg_kdesc *d, ir_id hero) {
  k->buf[hero] = LLVMGetParam(k->fn, 0);
  k->bshape[hero] = &d->out_shapes[0];
}

void cg_epilogue_store(cg_kernel *k, const cg_kdesc *d, cg_index *ix, LLVMValueRef at) {
  ix->linear = at;
  ix->lin = d->out_shapes[0];
  uint32_t mark = cg_memo_mark(k);
  cg_store(k->c, IR_F32, LLVMGetParam(k->fn, 0), at, cg_elem(k, d->root, ix));
  cg_memo_reset(k, mark);
}

/* ---- keys ---------------------------------------------------------------- */

static void key_shape(strbuf *sb, const ir_shape *s) {
  sb_printf(sb, "%s[", ir_type_name(s->type));
  for (int i = 0; i < s->rank; i++) {
    sb_printf(sb, "%s%lld", i ? "," : "", (long long)s->dims[i]);
    /* Expression ids are canonical within the module. */
    if (s->sym[i]) sb_printf(sb, "~%u", (unsigned)s->sym[i]);
  }
  sb_puts(sb, "]{");
  for (int i = 0; i < s->rank; i++) sb_printf(sb, "%s%d", i ? "," : "", s->minor_to_major[i]);
  if (s->panel) sb_printf(sb, ":P(%d,%d)", s->panel_dim, (int)s->panel);
  sb_puts(sb, "}");
}

static void key_ints(strbuf *sb, const char *tag, const int64_t *v, int n) {
  sb_printf(sb, " %s=", tag);
  for (int i = 0; i < n; i++) sb_printf(sb, "%s%lld", i ? "," : "", (long long)v[i]);
}

static void key_attrs(strbuf *sb, const ir_inst *in, int rank_hint) {
  const ir_op_info *info = ir_op_get(in->op);
  sb_printf(sb, " n%u", in->ndims);
  key_ints(sb, "d", in->dims, (int)in->ndims);
  sb_printf(sb, " x%lld c%d k%d s%d", (long long)in->index, (int)in->cmp, (int)in->comb, (int)in->descending);
  switch (info->family) {
    case IR_FAM_SLICE:
      key_ints(sb, "b", in->a.slice->start, rank_hint);
      key_ints(sb, "l", in->a.slice->limit, rank_hint);
      key_ints(sb, "t", in->a.slice->stride, rank_hint);
      /* Symbolic starts and limits (start/limit hold their bounds). */
      for (int i = 0; i < rank_hint && i < IR_MAX_RANK; i++)
        if (in->a.slice->start_sym[i] || in->a.slice->limit_sym[i])
          sb_printf(sb, " s%d=%u:%u", i, (unsigned)in->a.slice->start_sym[i], (unsigned)in->a.slice->limit_sym[i]);
      break;
    case IR_FAM_PAD:
      key_ints(sb, "lo", in->a.pad->lo, rank_hint);
      key_ints(sb, "hi", in->a.pad->hi, rank_hint);
      key_ints(sb, "in", in->a.pad->interior, rank_hint);
      break;
    case IR_FAM_REDUCE_WINDOW:
    case IR_FAM_CONVOLUTION: {
      const ir_window *w = in->a.window;
      sb_printf(sb, " w%d", w->rank);
      for (int i = 0; i < w->rank; i++) key_ints(sb, "", &w->d[i].size, 6);
      if (in->conv) {
        const ir_conv_dims *cd = in->conv;
        sb_printf(sb, " cv%d %lld %lld %lld %lld %lld %lld", cd->nspatial, (long long)cd->in_batch,
                  (long long)cd->in_feature, (long long)cd->k_in, (long long)cd->k_out, (long long)cd->out_batch,
                  (long long)cd->out_feature);
        key_ints(sb, "is", cd->in_spatial, cd->nspatial);
        key_ints(sb, "ks", cd->k_spatial, cd->nspatial);
        key_ints(sb, "os", cd->out_spatial, cd->nspatial);
      }
      break;
    }
    case IR_FAM_DOT: {
      const ir_dot_dims *d = in->a.dot;
      key_ints(sb, "lb", d->lhs_batch, d->nbatch);
      key_ints(sb, "rb", d->rhs_batch, d->nbatch);
      key_ints(sb, "lc", d->lhs_contract, d->ncontract);
      key_ints(sb, "rc", d->rhs_contract, d->ncontract);
      break;
    }
    case IR_FAM_GATHER: {
      const ir_gather_dims *g = in->a.gather;
      key_ints(sb, "od", g->offset_dims, g->noffset);
      key_ints(sb, "cs", g->collapsed_slice_dims, g->ncollapsed);
      key_ints(sb, "sm", g->start_index_map, g->nstart_map);
      key_ints(sb, "iv", &g->index_vector_dim, 1);
      key_ints(sb, "ss", g->slice_sizes, IR_MAX_RANK);
      for (int i = 0; i < IR_MAX_RANK; i++)
        if (g->slice_sizes_sym[i]) sb_printf(sb, " ss%d=%u", i, (unsigned)g->slice_sizes_sym[i]);
      break;
    }
    case IR_FAM_SCATTER: {
      const ir_scatter_dims *s = in->a.scatter;
      key_ints(sb, "uw", s->update_window_dims, s->nwindow);
      key_ints(sb, "iw", s->inserted_window_dims, s->ninserted);
      key_ints(sb, "sd", s->scatter_dims_to_operand_dims, s->nscatter_map);
      key_ints(sb, "iv", &s->index_vector_dim, 1);
      break;
    }
    default: break;
  }
}

/* Marks instructions reachable from root without passing through inputs. */
static void reach(const cg_kdesc *d, ir_id id, bool *seen, const bool *is_in) {
  if (seen[id]) return;
  seen[id] = true;
  if (is_in[id]) return;
  const ir_inst *in = &d->comp->insts[id];
  for (uint32_t i = 0; i < in->nops; i++) reach(d, in->ops[i], seen, is_in);
}

char *cg_kernel_key(const cg_kdesc *d, size_t *len) {
  uint32_t n = d->comp->ninsts;
  bool *seen = calloc(n + 1, 1), *is_in = calloc(n + 1, 1);
  int32_t *local = malloc(sizeof(int32_t) * (n + 1));
  strbuf sb;
  sb_init(&sb);
  if (!seen || !is_in || !local) goto done;
  for (uint32_t i = 0; i < d->nin; i++) is_in[d->in_ids[i]] = true;
  reach(d, d->root, seen, is_in);
  for (uint32_t i = 0; i < d->nout; i++) {
    sb_puts(&sb, "out ");
    key_shape(&sb, &d->out_shapes[i]);
    sb_putc(&sb, '\n');
  }
  /* Aliasing changes the function's attributes (cg_kernel_body). */
  if (d->in_place) sb_printf(&sb, "in_place %#x\n", d->in_place);
  int32_t next = 0;
  for (uint32_t id = 0; id < n; id++) {
    if (!seen[id]) continue;
    local[id] = next++;
    const ir_inst *in = &d->comp->insts[id];
    if (is_in[id]) {
      double v;
      for (uint32_t i = 0; i < d->nin; i++)
        if (d->in_ids[i] == id) {
          sb_printf(&sb, "%d = in%u ", local[id], i);
          key_shape(&sb, d->in_shapes[i]);
        }
      /* Code may specialize on an input known to be one repeated constant. */
      if (cg_uniform_constant(d->comp, id, &v)) sb_printf(&sb, " uniform=%a", v);
      sb_putc(&sb, '\n');
      continue;
    }
    sb_printf(&sb, "%d%s = %s ", local[id], id == d->root ? " root" : "", ir_op_name(in->op));
    if (in->shape.type == IR_TUPLE) {
      for (uint32_t i = 0; i < in->ntuple; i++) key_shape(&sb, &in->tuple[i]);
    } else {
      key_shape(&sb, &in->shape);
    }
    sb_puts(&sb, " (");
    for (uint32_t i = 0; i < in->nops; i++) sb_printf(&sb, "%s%d", i ? "," : "", local[in->ops[i]]);
    sb_putc(&sb, ')');
    int rank = in->nops ? d->comp->insts[in->ops[0]].shape.rank : in->shape.rank;
    key_attrs(&sb, in, rank);
    if (in->op == IR_OP_CONSTANT && in->data) {
      sb_puts(&sb, " data=");
      sb_putn(&sb, in->data, (size_t)ir_shape_bytes(&in->shape));
    }
    sb_putc(&sb, '\n');
  }
done:
  free(seen);
  free(is_in);
  free(local);
  *len = sb.len;
  return sb_finish(&sb);
}

/* ---- kernel functions ------------------------------------------------------ */

LLVMValueRef cg_kernel_body(cg_ctx *c, const cg_kdesc *d) {
  unsigned np = cg_arg_hi(d) + 1;
  LLVMTypeRef *pt = malloc(sizeof(LLVMTypeRef) * np);
  if (!pt) {
    cg_fail(c, "out of memory");
    return NULL;
  }
  for (unsigned i = 0; i < np - 2; i++) pt[i] = c->t_ptr;
  pt[np - 2] = pt[np - 1] = c->t_i64;
  LLVMValueRef fn = cg_add_function(c, "kiln.body", LLVMFunctionType(c->t_void, pt, np, 0), true);
  free(pt);
  unsigned noalias = LLVMGetEnumAttributeKindForName("noalias", 7);
  unsigned ro = LLVMGetEnumAttributeKindForName("readonly", 8);
  unsigned nocap = LLVMGetEnumAttributeKindForName("nocapture", 9);
  for (unsigned i = 0; i < np - 2; i++) {
    /* An input written in place by output 0 is passed too but never
     * accessed through its own pointer (cg_kernel_begin reads it through
     * output 0's), so noalias holds for every parameter. */
    bool input = (i >= d->nout && i < d->nout + d->nin) || (d->symbolic && i == cg_arg_bind(d));
    LLVMAddAttributeAtIndex(fn, i + 1, LLVMCreateEnumAttribute(c->llc, noalias, 0));
    LLVMAddAttributeAtIndex(fn, i + 1, LLVMCreateEnumAttribute(c->llc, nocap, 0));
    if (input) LLVMAddAttributeAtIndex(fn, i + 1, LLVMCreateEnumAttribute(c->llc, ro, 0));
  }
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                          LLVMCreateEnumAttribute(c->llc, LLVMGetEnumAttributeKindForName("alwaysinline", 12), 0));
  return fn;
}

bool cg_kernel_lookup(const cg_ctx *c, const char *key, size_t len, cg_launch *out) {
  for (uint32_t i = 0; i < c->nkfns; i++)
    if (c->kfns[i].keylen == len && memcmp(c->kfns[i].key, key, len) == 0) {
      *out = c->kfns[i].launch;
      return true;
    }
  return false;
}

bool cg_kernel_remember(cg_ctx *c, char *key, size_t len, const cg_launch *l) {
  if (c->nkfns == c->capkfns) {
    uint32_t cap = c->capkfns ? c->capkfns * 2 : 32;
    cg_kfn *nk = realloc(c->kfns, cap * sizeof *nk);
    if (!nk) {
      free(key);
      return cg_fail(c, "out of memory");
    }
    c->kfns = nk;
    c->capkfns = cap;
  }
  c->kfns[c->nkfns++] = (cg_kfn){key, len, *l};
  return true;
}

bool cg_kernel_emit(cg_ctx *c, const cg_kdesc *d, cg_launch *out) {
  memset(out, 0, sizeof *out);
  LLVMBasicBlockRef saved = LLVMGetInsertBlock(c->b);
  bool ok = c->backend->emit_kernel(c, d, out);
  if (saved) LLVMPositionBuilderAtEnd(c->b, saved);
  return ok;
}
