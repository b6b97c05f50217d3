/*
 * Reference interpreter: reduce and reduce_window.
 *
 * Both accumulate floats in double and integers in 64-bit patterns (signed
 * types sign-extended) from the combiner's identity, and convert once to the
 * result type at the end (docs/ir.md). reduce visits the operand in
 * row-major order, so every result element combines its inputs in
 * increasing index order. reduce_window skips padding and the holes of
 * lhs_dilate, which is the same as combining with the identity; its window
 * tables (ev_window_table) also serve convolution.
 */
#include <stdlib.h>
#include <string.h>

#include "ir/eval_internal.h"

bool ev_reduce(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out) {
  const ev_array *x = &ops[0];
  ir_type t = x->shape.type;
  bool fl = ir_type_is_float(t);
  int rank = x->shape.rank;
  double *af = NULL;
  uint64_t *au = NULL;
  size_t on = ev_nz(out->n);
  if (fl) af = malloc(on * sizeof *af);
  else au = malloc(on * sizeof *au);
  if (!af && !au) return ev_fail(ctx, in, "out of memory");
  double idf = ev_comb_identity_f(in->comb);
  uint64_t idu = ev_comb_identity_u(in->comb, t);
  for (int64_t i = 0; i < out->n; i++) {
    if (af) af[i] = idf;
    else au[i] = idu;
  }

  /* Output step of each operand dimension (0 when it is reduced). */
  int64_t ost[IR_MAX_RANK], step[IR_MAX_RANK], dims[IR_MAX_RANK];
  ir_shape_strides(&out->shape, ost);
  for (int i = 0, k = 0; i < rank; i++) {
    step[i] = ir_dims_has(in->dims, (int)in->ndims, i) ? 0 : ost[k++];
    dims[i] = x->shape.dims[i];
  }
  if (rank == 0) { /* one row of one element */
    dims[0] = 1;
    step[0] = 0;
    rank = 1;
  }
  int64_t len = dims[rank - 1], inner = step[rank - 1];
  int64_t idx[IR_MAX_RANK] = {0}, obase = 0, xbase = 0;
  double fb[EV_CHUNK];
  uint64_t ub[EV_CHUNK];
  if (x->n > 0) {
    for (;;) {
      for (int64_t s = 0; s < len; s += EV_CHUNK) {
        int64_t k = len - s < EV_CHUNK ? len - s : EV_CHUNK;
        if (af) {
          ev_load_f64(t, x->data, xbase + s, k, fb);
          for (int64_t i = 0; i < k; i++) {
            double *a = &af[obase + (s + i) * inner];
            *a = ev_comb_f(in->comb, *a, fb[i]);
          }
        } else {
          ev_load_u64(t, x->data, xbase + s, k, ub);
          for (int64_t i = 0; i < k; i++) {
            uint64_t *a = &au[obase + (s + i) * inner];
            *a = ev_comb_u(in->comb, t, *a, ub[i]);
          }
        }
      }
      xbase += len;
      int k = rank - 2;
      for (; k >= 0; k--) {
        obase += step[k];
        if (++idx[k] < dims[k]) break;
        obase -= step[k] * dims[k];
        idx[k] = 0;
      }
      if (k < 0) break;
    }
  }
  if (af) ev_store_f64(out->shape.type, out->data, 0, out->n, af);
  else ev_store_u64(out->shape.type, out->data, 0, out->n, au, true);
  free(af);
  free(au);
  return true;
}

int64_t *ev_window_table(const ir_window_dim *wd, int64_t size, int64_t out, int64_t in) {
  int64_t *tab = malloc(ev_nz(out * size) * sizeof *tab);
  if (!tab) return NULL;
  for (int64_t o = 0; o < out; o++)
    for (int64_t k = 0; k < size; k++) {
      int64_t p = o * wd->stride + k * wd->rhs_dilate - wd->pad_lo; /* in the dilated base */
      bool hit = p >= 0 && p % wd->lhs_dilate == 0 && p / wd->lhs_dilate < in;
      tab[o * size + k] = hit ? p / wd->lhs_dilate : -1;
    }
  return tab;
}

bool ev_reduce_window(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out) {
  const ev_array *x = &ops[0];
  const ir_window *w = in->a.window;
  ir_type t = x->shape.type;
  int rank = x->shape.rank;
  bool fl = ir_type_is_float(t);
  /* tab[d][o * size + k]: operand index of output o, window element k along
   * dimension d, or -1 for padding and dilation holes. */
  int64_t *tab[IR_MAX_RANK] = {0};
  double *xf = NULL, *af = NULL;
  uint64_t *xu = NULL, *au = NULL;
  bool ok = true;
  for (int d = 0; d < rank && ok; d++)
    ok = (tab[d] = ev_window_table(&w->d[d], w->d[d].size, out->shape.dims[d], x->shape.dims[d])) != NULL;
  if (ok) {
    if (fl) ok = (xf = ev_load_all_f64(x)) && (af = malloc(ev_nz(out->n) * sizeof *af));
    else ok = (xu = ev_load_all_u64(x)) && (au = malloc(ev_nz(out->n) * sizeof *au));
  }
  if (!ok) {
    for (int d = 0; d < rank; d++) free(tab[d]);
    free(xf), free(af), free(xu), free(au);
    return ev_fail(ctx, in, "out of memory");
  }
  int64_t xst[IR_MAX_RANK], sizes[IR_MAX_RANK];
  ir_shape_strides(&x->shape, xst);
  for (int d = 0; d < rank; d++) sizes[d] = w->d[d].size;
  double idf = ev_comb_identity_f(in->comb);
  uint64_t idu = ev_comb_identity_u(in->comb, t);
  int64_t o[IR_MAX_RANK] = {0};
  for (int64_t oi = 0; oi < out->n; oi++) {
    double accf = idf;
    uint64_t accu = idu;
    int64_t k[IR_MAX_RANK] = {0};
    for (;;) {
      int64_t off = 0;
      bool hit = true;
      for (int d = 0; d < rank && hit; d++) {
        int64_t xi = tab[d][o[d] * sizes[d] + k[d]];
        hit = xi >= 0;
        off += xi * xst[d];
      }
      if (hit) {
        if (fl) accf = ev_comb_f(in->comb, accf, xf[off]);
        else accu = ev_comb_u(in->comb, t, accu, xu[off]);
      }
      int d = rank - 1;
      for (; d >= 0; d--) {
        if (++k[d] < sizes[d]) break;
        k[d] = 0;
      }
      if (d < 0) break;
    }
    if (fl) af[oi] = accf;
    else au[oi] = accu;
    for (int d = rank - 1; d >= 0; d--) {
      if (++o[d] < out->shape.dims[d]) break;
      o[d] = 0;
    }
  }
  if (fl) ev_store_f64(out->shape.type, out->data, 0, out->n, af);
  else ev_store_u64(out->shape.type, out->data, 0, out->n, au, true);
  for (int d = 0; d < rank; d++) free(tab[d]);
  free(xf), free(af), free(xu), free(au);
  return true;
}
