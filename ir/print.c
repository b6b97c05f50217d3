/*
 * Printer of the text form (grammar in docs/ir.md). The output is canonical:
 * parsing it and printing again gives the same bytes. Floats are printed
 * with the fewest digits that read back to the same value. The module's
 * symbols come first ("symbol b <= 64"), then symbolic sizes print as
 * dimension expressions (ir_dexpr_str), static ones exactly as before.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "ir/literal.h"
#include "ir/strbuf.h"
#include "ir/symbolic.h"

/* Dimension expression e as text (ir_dexpr_str). An expression may nest
 * floor divisions, so its length has no small bound: grow the buffer until
 * the text fits rather than cut it. */
static void put_dexpr(strbuf *b, const ir_module *m, ir_dexpr e) {
  char local[256];
  size_t n = sizeof local;
  char *buf = local;
  for (;;) {
    ir_dexpr_str(m, e, buf, n);
    if (strlen(buf) + 1 < n) break;
    if (buf != local) free(buf);
    n *= 4;
    buf = malloc(n);
    if (!buf) {
      b->failed = true; /* ir_print_module then returns NULL, as for any out of memory */
      return;
    }
  }
  sb_puts(b, buf);
  if (buf != local) free(buf);
}

/* A size, start or limit: its expression when symbolic (sym != 0). */
static void put_size(strbuf *b, const ir_module *m, int64_t v, uint32_t sym) {
  if (sym) put_dexpr(b, m, sym);
  else sb_printf(b, "%lld", (long long)v);
}

/* Static shapes print exactly as ir_shape_str writes them; a symbolic
 * dimension prints as its expression ("f32[b*s,768]{1,0}"). */
static void put_shape(strbuf *b, const ir_module *m, const ir_shape *s) {
  char buf[256];
  if (ir_shape_is_static(s)) {
    sb_puts(b, ir_shape_str(s, buf, sizeof buf));
    return;
  }
  sb_printf(b, "%s[", ir_type_name(s->type));
  for (int i = 0; i < s->rank; i++) {
    if (i) sb_putc(b, ',');
    put_size(b, m, s->dims[i], s->sym[i]);
  }
  sb_putc(b, ']');
  /* The layout part of ir_shape_str, which does not depend on sizes. */
  ir_shape st = *s;
  for (int i = 0; i < st.rank; i++) st.dims[i] = 1, st.sym[i] = 0;
  const char *lay = strchr(ir_shape_str(&st, buf, sizeof buf), ']');
  if (lay) sb_puts(b, lay + 1);
}

static void put_inst_shape(strbuf *b, const ir_module *m, const ir_inst *in) {
  if (in->shape.type != IR_TUPLE) {
    put_shape(b, m, &in->shape);
    return;
  }
  sb_putc(b, '(');
  for (uint32_t i = 0; i < in->ntuple; i++) {
    if (i) sb_puts(b, ", ");
    put_shape(b, m, &in->tuple[i]);
  }
  sb_putc(b, ')');
}

/* Shortest decimal that reads back to the same value of type t. */
static void put_float(strbuf *b, ir_type t, double v) {
  if (isnan(v)) {
    sb_puts(b, "nan");
    return;
  }
  if (isinf(v)) {
    sb_puts(b, v < 0 ? "-inf" : "inf");
    return;
  }
  char buf[64];
  /* Whole numbers print as integers ("10", not the shortest "1e+01"): exact,
   * so they read back to the same value of any float type. */
  if (v == floor(v) && fabs(v) < 1e16) {
    snprintf(buf, sizeof buf, "%.0f", v);
    sb_puts(b, buf);
    return;
  }
  /* 15 significant digits never lose a normal double, so f64 starts there;
   * subnormal doubles have fewer digits of precision and start at 1. */
  int lo = t == IR_F64 && fabs(v) >= DBL_MIN ? 15 : 1, hi = t == IR_F64 ? 17 : 9;
  for (int p = lo; p <= hi; p++) {
    snprintf(buf, sizeof buf, "%.*g", p, v);
    double back = strtod(buf, NULL);
    bool same;
    switch (t) {
      case IR_F64: same = back == v; break;
      case IR_F32: same = (float)back == (float)v; break;
      case IR_F16: same = ir_f32_to_f16((float)back) == ir_f32_to_f16((float)v); break;
      default: same = ir_f32_to_bf16((float)back) == ir_f32_to_bf16((float)v); break;
    }
    if (same && (signbit(back) == signbit(v))) break;
  }
  sb_puts(b, buf);
}

static void put_elem(strbuf *b, ir_type t, const void *data, int64_t i) {
  if (t == IR_PRED) sb_puts(b, ir_elem_get_i(t, data, i) ? "true" : "false");
  else if (ir_type_is_float(t)) put_float(b, t, ir_elem_get_f(t, data, i));
  else if (t == IR_U64) sb_printf(b, "%llu", (unsigned long long)ir_elem_get_u(t, data, i));
  else sb_printf(b, "%lld", (long long)ir_elem_get_i(t, data, i));
}

static void put_literal_dim(strbuf *b, const ir_shape *s, const void *data, int dim, int64_t *pos) {
  if (dim == s->rank) {
    put_elem(b, s->type, data, (*pos)++);
    return;
  }
  sb_putc(b, '{');
  for (int64_t i = 0; i < s->dims[dim]; i++) {
    if (i) sb_puts(b, ", ");
    put_literal_dim(b, s, data, dim + 1, pos);
  }
  sb_putc(b, '}');
}

static void put_dims(strbuf *b, const char *key, const int64_t *v, int n) {
  sb_printf(b, ", %s={", key);
  for (int i = 0; i < n; i++) sb_printf(b, "%s%lld", i ? "," : "", (long long)v[i]);
  sb_putc(b, '}');
}

/* "3x3", with field selected by offset into ir_window_dim. */
static void put_window_field(strbuf *b, const ir_window *w, const char *key, size_t off, int64_t dflt, bool always) {
  bool any = always;
  for (int i = 0; i < w->rank; i++)
    if (*(const int64_t *)((const char *)&w->d[i] + off) != dflt) any = true;
  if (!any || w->rank == 0) return;
  sb_printf(b, "%s%s=", b->s[b->len - 1] == '{' ? "" : " ", key);
  for (int i = 0; i < w->rank; i++)
    sb_printf(b, "%s%lld", i ? "x" : "", (long long)*(const int64_t *)((const char *)&w->d[i] + off));
}

static void put_window(strbuf *b, const ir_window *w) {
  sb_puts(b, ", window={");
  put_window_field(b, w, "size", offsetof(ir_window_dim, size), 1, true);
  put_window_field(b, w, "stride", offsetof(ir_window_dim, stride), 1, false);
  bool pad = false;
  for (int i = 0; i < w->rank; i++) pad = pad || w->d[i].pad_lo || w->d[i].pad_hi;
  if (pad) {
    sb_puts(b, " pad=");
    for (int i = 0; i < w->rank; i++)
      sb_printf(b, "%s%lld_%lld", i ? "x" : "", (long long)w->d[i].pad_lo, (long long)w->d[i].pad_hi);
  }
  put_window_field(b, w, "lhs_dilate", offsetof(ir_window_dim, lhs_dilate), 1, false);
  put_window_field(b, w, "rhs_dilate", offsetof(ir_window_dim, rhs_dilate), 1, false);
  sb_putc(b, '}');
}

static void put_labels(strbuf *b, int rank, int64_t d0, char c0, int64_t d1, char c1, const int64_t *sp) {
  char lab[IR_MAX_RANK + 1];
  for (int i = 0; i < rank; i++) lab[i] = '?';
  if (d0 >= 0 && d0 < rank) lab[d0] = c0;
  if (d1 >= 0 && d1 < rank) lab[d1] = c1;
  for (int i = 0; i < rank - 2; i++)
    if (sp[i] >= 0 && sp[i] < rank) lab[sp[i]] = (char)('0' + i);
  lab[rank] = 0;
  sb_puts(b, lab);
}

static void put_attrs(strbuf *b, const ir_module *m, const ir_comp *c, const ir_inst *in) {
  const ir_op_info *info = ir_op_get(in->op);
  switch (info->family) {
    case IR_FAM_PARAMETER:
      if (in->io_name) {
        sb_puts(b, ", io_name=");
        sb_put_quoted(b, in->io_name);
      }
      break;
    case IR_FAM_IOTA: sb_printf(b, ", iota_dimension=%lld", (long long)in->index); break;
    case IR_FAM_COMPARE: sb_printf(b, ", direction=%s", ir_cmp_name(in->cmp)); break;
    case IR_FAM_BROADCAST:
    case IR_FAM_TRANSPOSE:
    case IR_FAM_REVERSE:
    case IR_FAM_CONCATENATE: put_dims(b, "dimensions", in->dims, (int)in->ndims); break;
    case IR_FAM_REDUCE:
      put_dims(b, "dimensions", in->dims, (int)in->ndims);
      sb_printf(b, ", combiner=%s", ir_combiner_name(in->comb));
      break;
    case IR_FAM_SORT:
      put_dims(b, "dimensions", in->dims, (int)in->ndims);
      if (in->descending) sb_puts(b, ", descending=true");
      break;
    case IR_FAM_SLICE: {
      sb_puts(b, ", slice={");
      int r = in->shape.rank;
      for (int i = 0; i < r; i++) {
        const ir_slice_attr *s = in->a.slice;
        sb_puts(b, i ? ", [" : "[");
        put_size(b, m, s->start[i], s->start_sym[i]);
        sb_putc(b, ':');
        put_size(b, m, s->limit[i], s->limit_sym[i]);
        if (s->stride[i] != 1) sb_printf(b, ":%lld", (long long)s->stride[i]);
        sb_putc(b, ']');
      }
      sb_putc(b, '}');
      break;
    }
    case IR_FAM_DYNAMIC_SLICE: put_dims(b, "dynamic_slice_sizes", in->dims, (int)in->ndims); break;
    case IR_FAM_PAD: {
      int r = in->shape.rank;
      sb_puts(b, ", padding=");
      if (r == 0) sb_puts(b, "{}");
      for (int i = 0; i < r; i++) {
        const ir_pad_attr *p = in->a.pad;
        sb_printf(b, "%s%lld_%lld", i ? "x" : "", (long long)p->lo[i], (long long)p->hi[i]);
        if (p->interior[i]) sb_printf(b, "_%lld", (long long)p->interior[i]);
      }
      break;
    }
    case IR_FAM_GATHER: {
      const ir_gather_dims *g = in->a.gather;
      put_dims(b, "offset_dims", g->offset_dims, g->noffset);
      put_dims(b, "collapsed_slice_dims", g->collapsed_slice_dims, g->ncollapsed);
      put_dims(b, "start_index_map", g->start_index_map, g->nstart_map);
      sb_printf(b, ", index_vector_dim=%lld", (long long)g->index_vector_dim);
      sb_puts(b, ", slice_sizes={");
      for (int i = 0; i < c->insts[in->ops[0]].shape.rank; i++) {
        if (i) sb_putc(b, ',');
        put_size(b, m, g->slice_sizes[i], g->slice_sizes_sym[i]);
      }
      sb_putc(b, '}');
      break;
    }
    case IR_FAM_SCATTER: {
      const ir_scatter_dims *s = in->a.scatter;
      put_dims(b, "update_window_dims", s->update_window_dims, s->nwindow);
      put_dims(b, "inserted_window_dims", s->inserted_window_dims, s->ninserted);
      put_dims(b, "scatter_dims_to_operand_dims", s->scatter_dims_to_operand_dims, s->nscatter_map);
      sb_printf(b, ", index_vector_dim=%lld", (long long)s->index_vector_dim);
      sb_printf(b, ", combiner=%s", ir_combiner_name(in->comb));
      break;
    }
    case IR_FAM_REDUCE_WINDOW:
      put_window(b, in->a.window);
      sb_printf(b, ", combiner=%s", ir_combiner_name(in->comb));
      break;
    case IR_FAM_DOT: {
      const ir_dot_dims *d = in->a.dot;
      if (d->nbatch) put_dims(b, "lhs_batch_dims", d->lhs_batch, d->nbatch);
      put_dims(b, "lhs_contracting_dims", d->lhs_contract, d->ncontract);
      if (d->nbatch) put_dims(b, "rhs_batch_dims", d->rhs_batch, d->nbatch);
      put_dims(b, "rhs_contracting_dims", d->rhs_contract, d->ncontract);
      break;
    }
    case IR_FAM_CONVOLUTION: {
      const ir_conv_dims *cd = in->conv;
      int r = cd->nspatial + 2;
      put_window(b, in->a.window);
      sb_puts(b, ", dim_labels=");
      put_labels(b, r, cd->in_batch, 'b', cd->in_feature, 'f', cd->in_spatial);
      sb_putc(b, '_');
      put_labels(b, r, cd->k_in, 'i', cd->k_out, 'o', cd->k_spatial);
      sb_puts(b, "->");
      put_labels(b, r, cd->out_batch, 'b', cd->out_feature, 'f', cd->out_spatial);
      if (in->index != 1) sb_printf(b, ", feature_group_count=%lld", (long long)in->index);
      break;
    }
    case IR_FAM_GET_TUPLE_ELEMENT:
    case IR_FAM_GET_DIMENSION_SIZE:
    case IR_FAM_SET_SYMBOL: sb_printf(b, ", index=%lld", (long long)in->index); break;
    case IR_FAM_FUSION:
      sb_printf(b, ", kind=%s, calls=%%%s", ir_fusion_kind_name(in->fusion_kind),
                in->called < m->ncomps ? m->comps[in->called]->name : "?");
      break;
    case IR_FAM_CONDITIONAL:
    case IR_FAM_WHILE:
      sb_printf(b, in->op == IR_OP_WHILE ? ", condition=%%%s, body=%%%s" : ", true_computation=%%%s, false_computation=%%%s",
                in->called < m->ncomps ? m->comps[in->called]->name : "?",
                in->called2 < m->ncomps ? m->comps[in->called2]->name : "?");
      break;
    case IR_FAM_ASSERT:
      sb_puts(b, ", message=");
      sb_put_quoted(b, in->config ? in->config : "");
      break;
    case IR_FAM_CUSTOM_CALL:
      sb_puts(b, ", custom_call_target=");
      sb_put_quoted(b, in->target ? in->target : "");
      if (in->config) {
        sb_puts(b, ", backend_config=");
        sb_put_quoted(b, in->config);
      }
      break;
    default: break;
  }
  if (in->loc.op_type || in->loc.name) {
    sb_puts(b, ", loc=");
    if (in->loc.op_type) {
      if (ir_is_ident(in->loc.op_type)) sb_puts(b, in->loc.op_type);
      else sb_put_quoted(b, in->loc.op_type);
      sb_putc(b, ':');
    }
    sb_put_quoted(b, in->loc.name ? in->loc.name : "");
  }
}

static void put_inst(strbuf *b, const ir_module *m, const ir_comp *c, ir_id id, const ir_print_opts *o) {
  const ir_inst *in = &c->insts[id];
  sb_printf(b, "  %s%%%s = ", id == c->root ? "ROOT " : "", in->name);
  put_inst_shape(b, m, in);
  sb_printf(b, " %s(", ir_op_name(in->op));
  if (in->op == IR_OP_PARAMETER) {
    sb_printf(b, "%lld", (long long)in->index);
  } else if (in->op == IR_OP_CONSTANT) {
    int64_t n = ir_shape_elements(&in->shape);
    if (o && o->elide_constants_over > 0 && n > o->elide_constants_over) {
      sb_puts(b, "{...}");
    } else {
      int64_t pos = 0;
      if (n == 0 && in->shape.rank > 0) sb_puts(b, "{}"); /* not millions of nested {} */
      else put_literal_dim(b, &in->shape, in->data, 0, &pos);
    }
  } else {
    for (uint32_t i = 0; i < in->nops; i++) {
      uint32_t op = in->ops[i];
      sb_printf(b, "%s%%%s", i ? ", " : "", op < c->ninsts ? c->insts[op].name : "?");
    }
  }
  sb_putc(b, ')');
  put_attrs(b, m, c, in);
  sb_putc(b, '\n');
}

static void put_comp(strbuf *b, const ir_module *m, const ir_comp *c, const ir_print_opts *o) {
  sb_printf(b, "%s%%%s ", c->is_entry ? "ENTRY " : "", c->name);
  if (c->is_entry && c->noutputs) {
    sb_puts(b, "outputs={");
    for (uint32_t i = 0; i < c->noutputs; i++) {
      if (i) sb_puts(b, ", ");
      sb_put_quoted(b, c->output_names[i]);
    }
    sb_puts(b, "} ");
  }
  sb_puts(b, "{\n");
  for (uint32_t i = 0; i < c->ninsts; i++) put_inst(b, m, c, i, o);
  sb_puts(b, "}\n");
}

/* Callees before callers, so the text can be read in one pass. */
static void visit_comp(strbuf *b, const ir_module *m, uint32_t ci, uint8_t *done, const ir_print_opts *o) {
  if (done[ci]) return;
  done[ci] = 1;
  const ir_comp *c = m->comps[ci];
  for (uint32_t i = 0; i < c->ninsts; i++) {
    uint32_t callee[2];
    int nc = ir_inst_callees(&c->insts[i], callee);
    for (int k = 0; k < nc; k++)
      if (callee[k] < m->ncomps) visit_comp(b, m, callee[k], done, o);
  }
  sb_putc(b, '\n');
  put_comp(b, m, c, o);
}

char *ir_print_module(const ir_module *m, const ir_print_opts *o) {
  strbuf b;
  sb_init(&b);
  sb_puts(&b, "module ");
  if (ir_is_ident(m->name)) sb_puts(&b, m->name);
  else sb_put_quoted(&b, m->name);
  sb_putc(&b, '\n');
  /* Symbols before the computations whose shapes use them. */
  for (int k = 0; k < ir_sym_count(m); k++)
    sb_printf(&b, "symbol %s <= %lld%s\n", ir_sym_name(m, k), (long long)ir_sym_bound(m, k),
              ir_sym_is_computed(m, k) ? ", computed" : "");
  uint8_t *done = calloc(m->ncomps ? m->ncomps : 1, 1);
  if (!done) {
    sb_free(&b);
    return NULL;
  }
  for (uint32_t i = 0; i < m->ncomps; i++)
    if ((int32_t)i != m->entry) visit_comp(&b, m, i, done, o);
  if (m->entry >= 0) visit_comp(&b, m, (uint32_t)m->entry, done, o);
  ir_plan_print(&b, m); /* after the entry computation whose values it names */
  free(done);
  return sb_finish(&b);
}
