/*
 * Reference interpreter: gather, scatter and sort.
 *
 * Gather and scatter follow XLA's dimension numbers (docs/ir.md). Gather
 * clamps each start index vector so the slice stays inside the operand and
 * copies one slice per batch position. Scatter computes, for every batch
 * position of the indices, the window's start and whether the whole window
 * fits; a window that does not fit is skipped entirely. Updates are then
 * applied one element at a time in row-major order of the update array, so
 * that `assign` keeps the last write and float accumulation has a defined
 * order.
 *
 * Sort is a stable merge sort of a permutation along one dimension, keyed
 * by the first operand (floats: NaN after +inf ascending, first descending;
 * -0 and +0 are equal keys); every operand is permuted alike.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/eval_internal.h"

/* Offset into the index array (rank `rank`, strides st) of component k of
 * the index vector at batch position b (the batch dimensions of the
 * indices, in order). */
static int64_t index_offset(int rank, const int64_t *st, int64_t ivd, const int64_t *b, int64_t k) {
  int64_t off = 0;
  int bi = 0;
  for (int i = 0; i < rank; i++) off += st[i] * (i == ivd ? k : b[bi++]);
  return off;
}

/* Advances a row-major multi-index over dims[0..rank); false at the end. */
static bool next_index(int64_t *ix, const int64_t *dims, int rank) {
  for (int k = rank - 1; k >= 0; k--) {
    if (++ix[k] < dims[k]) return true;
    ix[k] = 0;
  }
  return false;
}

bool ev_gather(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out) {
  (void)ctx;
  const ir_gather_dims *g = in->a.gather;
  const ev_array *x = &ops[0], *idx = &ops[1];
  size_t es = ir_type_size(out->shape.type);
  int xr = x->shape.rank, orank = out->shape.rank;
  int64_t xst[IR_MAX_RANK], ost[IR_MAX_RANK], ist[IR_MAX_RANK];
  ir_shape_strides(&x->shape, xst);
  ir_shape_strides(&out->shape, ost);
  ir_shape_strides(&idx->shape, ist);
  if (out->n == 0) return true;

  /* The slice block: offset dims of the result against the operand's
   * uncollapsed dims, in order. */
  int64_t bdims[IR_MAX_RANK], bsrc[IR_MAX_RANK], bdst[IR_MAX_RANK];
  for (int j = 0, od = 0; j < g->noffset; j++, od++) {
    while (ir_dims_has(g->collapsed_slice_dims, g->ncollapsed, od)) od++;
    bdims[j] = out->shape.dims[g->offset_dims[j]];
    bsrc[j] = xst[od];
    bdst[j] = ost[g->offset_dims[j]];
  }
  /* Batch dims of the result (those not in offset_dims), in order. */
  int nb = 0;
  int64_t batch_out[IR_MAX_RANK], batch_dims[IR_MAX_RANK];
  for (int i = 0; i < orank; i++)
    if (!ir_dims_has(g->offset_dims, g->noffset, i)) {
      batch_out[nb] = i;
      batch_dims[nb++] = out->shape.dims[i];
    }
  int64_t b[IR_MAX_RANK] = {0};
  do {
    int64_t sbase = 0, dbase = 0;
    int64_t start[IR_MAX_RANK] = {0};
    for (int k = 0; k < g->nstart_map; k++)
      start[g->start_index_map[k]] = ev_index_at(idx, index_offset(idx->shape.rank, ist, g->index_vector_dim, b, k));
    for (int d = 0; d < xr; d++) {
      int64_t s = start[d], hi = x->shape.dims[d] - g->slice_sizes[d];
      if (s > hi) s = hi;
      if (s < 0) s = 0;
      sbase += s * xst[d];
    }
    for (int j = 0; j < nb; j++) dbase += b[j] * ost[batch_out[j]];
    ev_copy_nd(es, g->noffset, bdims, out->data, dbase, bdst, x->data, sbase, bsrc);
  } while (next_index(b, batch_dims, nb));
  return true;
}

/* dst[i] = dst[i] (c) src[j] for one element of type t. */
static void combine_elem(ir_combiner c, ir_type t, void *dst, int64_t i, const void *src, int64_t j) {
  size_t es = ir_type_size(t);
  if (c == IR_COMB_ASSIGN) {
    memcpy((char *)dst + i * (int64_t)es, (const char *)src + j * (int64_t)es, es);
  } else if (ir_type_is_float(t)) {
    double a, b;
    ev_load_f64(t, dst, i, 1, &a);
    ev_load_f64(t, src, j, 1, &b);
    a = ev_comb_f(c, a, b);
    ev_store_f64(t, dst, i, 1, &a);
  } else {
    uint64_t a, b;
    ev_load_u64(t, dst, i, 1, &a);
    ev_load_u64(t, src, j, 1, &b);
    a = ev_comb_u(c, t, a, b);
    ev_store_u64(t, dst, i, 1, &a, true);
  }
}

bool ev_scatter(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out) {
  const ir_scatter_dims *sd = in->a.scatter;
  const ev_array *x = &ops[0], *idx = &ops[1], *upd = &ops[2];
  ir_type t = out->shape.type;
  int xr = x->shape.rank, ur = upd->shape.rank;
  memcpy(out->data, x->data, (size_t)out->n * ir_type_size(t));
  if (upd->n == 0) return true;
  int64_t xst[IR_MAX_RANK], ist[IR_MAX_RANK];
  ir_shape_strides(&x->shape, xst);
  ir_shape_strides(&idx->shape, ist);

  /* Per update dimension: the step it makes in the batch position (scatter
   * dims) or in the operand offset (window dims). */
  int64_t wsize[IR_MAX_RANK], gdims[IR_MAX_RANK], gstep[IR_MAX_RANK] = {0}, wstep[IR_MAX_RANK] = {0};
  int ng = 0;
  for (int d = 0; d < xr; d++) wsize[d] = 1;
  for (int i = 0, od = 0; i < ur; i++) {
    if (ir_dims_has(sd->update_window_dims, sd->nwindow, i)) {
      while (ir_dims_has(sd->inserted_window_dims, sd->ninserted, od)) od++;
      wsize[od] = upd->shape.dims[i];
      wstep[i] = xst[od++];
    } else {
      gdims[ng++] = upd->shape.dims[i];
    }
  }
  int64_t gcount = 1;
  for (int j = ng - 1, i = ur - 1; j >= 0; j--, i--) {
    while (ir_dims_has(sd->update_window_dims, sd->nwindow, i)) i--;
    gstep[i] = gcount;
    gcount *= gdims[j];
  }

  /* Start offset of each batch position's window, -1 when it is skipped. */
  int64_t *base = malloc((size_t)gcount * sizeof *base);
  if (!base) return ev_fail(ctx, in, "out of memory");
  int64_t b[IR_MAX_RANK] = {0}, gi = 0;
  do {
    int64_t start[IR_MAX_RANK] = {0}, off = 0;
    for (int k = 0; k < sd->nscatter_map; k++)
      start[sd->scatter_dims_to_operand_dims[k]] =
          ev_index_at(idx, index_offset(idx->shape.rank, ist, sd->index_vector_dim, b, k));
    for (int d = 0; d < xr && off >= 0; d++) {
      if (start[d] < 0 || start[d] > x->shape.dims[d] - wsize[d]) off = -1;
      else off += start[d] * xst[d];
    }
    base[gi++] = off;
  } while (next_index(b, gdims, ng));

  int64_t u[IR_MAX_RANK] = {0}, g = 0, w = 0;
  for (int64_t j = 0; j < upd->n; j++) {
    if (base[g] >= 0) combine_elem(in->comb, t, out->data, base[g] + w, upd->data, j);
    for (int k = ur - 1; k >= 0; k--) { /* odometer, keeping g and w current */
      u[k]++;
      g += gstep[k];
      w += wstep[k];
      if (u[k] < upd->shape.dims[k]) break;
      g -= gstep[k] * u[k];
      w -= wstep[k] * u[k];
      u[k] = 0;
    }
  }
  free(base);
  return true;
}

/* ---- sort --------------------------------------------------------------- */

typedef struct sort_keys {
  bool is_float, is_signed, descending;
  const double *f;
  const uint64_t *u;
} sort_keys;

/* Ascending order: -1, 0, 1 (NaN after everything, NaNs equal). */
static int key_cmp(const sort_keys *k, int64_t a, int64_t b) {
  int r;
  if (k->is_float) {
    double x = k->f[a], y = k->f[b];
    if (isnan(x) || isnan(y)) r = isnan(x) - isnan(y);
    else r = x < y ? -1 : x > y;
  } else if (k->is_signed) {
    r = (int64_t)k->u[a] < (int64_t)k->u[b] ? -1 : (int64_t)k->u[a] > (int64_t)k->u[b];
  } else {
    r = k->u[a] < k->u[b] ? -1 : k->u[a] > k->u[b];
  }
  return k->descending ? -r : r;
}

/* Stable merge sort of perm[0..n) with scratch tmp[0..n). */
static void merge_sort(const sort_keys *k, int64_t *perm, int64_t *tmp, int64_t n) {
  if (n < 2) return;
  int64_t h = n / 2;
  merge_sort(k, perm, tmp, h);
  merge_sort(k, perm + h, tmp, n - h);
  int64_t i = 0, j = h, o = 0;
  while (i < h && j < n) tmp[o++] = key_cmp(k, perm[j], perm[i]) < 0 ? perm[j++] : perm[i++];
  while (i < h) tmp[o++] = perm[i++];
  while (j < n) tmp[o++] = perm[j++];
  memcpy(perm, tmp, (size_t)n * sizeof *perm);
}

bool ev_sort(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *outs) {
  const ev_array *keys = &ops[0];
  int64_t d = in->dims[0], len = keys->shape.dims[d], n = keys->n;
  if (n == 0) return true;
  int64_t st[IR_MAX_RANK];
  ir_shape_strides(&keys->shape, st);
  sort_keys k = {ir_type_is_float(keys->shape.type), ir_type_is_signed(keys->shape.type), in->descending, NULL, NULL};
  double *f = NULL;
  uint64_t *u = NULL;
  int64_t *perm = malloc((size_t)len * sizeof *perm), *tmp = malloc((size_t)len * sizeof *tmp);
  if (k.is_float) f = malloc((size_t)len * sizeof *f);
  else u = malloc((size_t)len * sizeof *u);
  if (!perm || !tmp || (!f && !u)) {
    free(perm), free(tmp), free(f), free(u);
    return ev_fail(ctx, in, "out of memory");
  }
  k.f = f;
  k.u = u;
  int64_t outer = st[d] * len; /* rows: every base with index 0 along d */
  for (int64_t o = 0; o < n; o += outer) {
    for (int64_t inner = 0; inner < st[d]; inner++) {
      int64_t base = o + inner;
      for (int64_t j = 0; j < len; j++) {
        perm[j] = j;
        if (f) ev_load_f64(keys->shape.type, keys->data, base + j * st[d], 1, &f[j]);
        else ev_load_u64(keys->shape.type, keys->data, base + j * st[d], 1, &u[j]);
      }
      merge_sort(&k, perm, tmp, len);
      for (uint32_t a = 0; a < in->nops; a++) {
        size_t es = ir_type_size(ops[a].shape.type);
        for (int64_t j = 0; j < len; j++)
          memcpy((char *)outs[a].data + (base + j * st[d]) * (int64_t)es,
                 (const char *)ops[a].data + (base + perm[j] * st[d]) * (int64_t)es, es);
      }
    }
  }
  free(perm), free(tmp), free(f), free(u);
  return true;
}
