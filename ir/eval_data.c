/*
 * Reference interpreter: data movement (broadcast, reshape, transpose,
 * slice, dynamic_slice, dynamic_update_slice, concatenate, pad, reverse).
 *
 * None of these look at element values, only at their size, so each is one
 * strided n-dimensional copy (ev_copy_nd) whose source and destination
 * strides encode the op: broadcast uses stride 0, reverse negative strides,
 * slice and pad strides scaled by their steps.
 */
#include <string.h>

#include "ir/eval_internal.h"

/* One row of a strided copy, specialised by element size. */
static void copy_row(size_t es, char *dst, int64_t d, int64_t ds, const char *src, int64_t s, int64_t ss, int64_t n) {
  if (ds == 1 && ss == 1) {
    memcpy(dst + d * (int64_t)es, src + s * (int64_t)es, (size_t)n * es);
    return;
  }
  switch (es) {
#define ROW(T)                                                                  \
  {                                                                             \
    T *o = (T *)dst + d;                                                        \
    const T *i = (const T *)src + s;                                            \
    for (int64_t k = 0; k < n; k++) o[k * ds] = i[k * ss];                      \
    return;                                                                     \
  }
    case 1: ROW(uint8_t)
    case 2: ROW(uint16_t)
    case 4: ROW(uint32_t)
    case 8: ROW(uint64_t)
#undef ROW
    default:
      for (int64_t k = 0; k < n; k++) memcpy(dst + (d + k * ds) * (int64_t)es, src + (s + k * ss) * (int64_t)es, es);
  }
}

void ev_copy_nd(size_t es, int rank, const int64_t *dims, void *dst, int64_t dbase, const int64_t *dst_st,
                const void *src, int64_t sbase, const int64_t *src_st) {
  for (int i = 0; i < rank; i++)
    if (dims[i] <= 0) return;
  if (rank == 0) {
    memcpy((char *)dst + dbase * (int64_t)es, (const char *)src + sbase * (int64_t)es, es);
    return;
  }
  int64_t idx[IR_MAX_RANK] = {0};
  int64_t d = dbase, s = sbase;
  for (;;) {
    copy_row(es, dst, d, dst_st[rank - 1], src, s, src_st[rank - 1], dims[rank - 1]);
    int k = rank - 2;
    for (; k >= 0; k--) { /* odometer over the outer dimensions */
      idx[k]++;
      d += dst_st[k];
      s += src_st[k];
      if (idx[k] < dims[k]) break;
      d -= dst_st[k] * dims[k];
      s -= src_st[k] * dims[k];
      idx[k] = 0;
    }
    if (k < 0) return;
  }
}

bool ev_broadcast(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out) {
  (void)ctx;
  int64_t ist[IR_MAX_RANK], ost[IR_MAX_RANK], sst[IR_MAX_RANK] = {0};
  ir_shape_strides(&ops[0].shape, ist);
  ir_shape_strides(&out->shape, ost);
  for (uint32_t i = 0; i < in->ndims; i++) sst[in->dims[i]] = ist[i];
  ev_copy_nd(ir_type_size(out->shape.type), out->shape.rank, out->shape.dims, out->data, 0, ost, ops[0].data, 0, sst);
  return true;
}

bool ev_reshape(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out) {
  (void)ctx, (void)in;
  memcpy(out->data, ops[0].data, (size_t)out->n * ir_type_size(out->shape.type));
  return true;
}

bool ev_transpose(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out) {
  (void)ctx;
  int64_t ist[IR_MAX_RANK], ost[IR_MAX_RANK], sst[IR_MAX_RANK];
  ir_shape_strides(&ops[0].shape, ist);
  ir_shape_strides(&out->shape, ost);
  for (int i = 0; i < out->shape.rank; i++) sst[i] = ist[in->dims[i]];
  ev_copy_nd(ir_type_size(out->shape.type), out->shape.rank, out->shape.dims, out->data, 0, ost, ops[0].data, 0, sst);
  return true;
}

bool ev_slice(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out) {
  (void)ctx;
  int64_t ist[IR_MAX_RANK], ost[IR_MAX_RANK], sst[IR_MAX_RANK], base = 0;
  ir_shape_strides(&ops[0].shape, ist);
  ir_shape_strides(&out->shape, ost);
  for (int i = 0; i < out->shape.rank; i++) {
    base += in->a.slice->start[i] * ist[i];
    sst[i] = in->a.slice->stride[i] * ist[i];
  }
  ev_copy_nd(ir_type_size(out->shape.type), out->shape.rank, out->shape.dims, out->data, 0, ost, ops[0].data, base,
             sst);
  return true;
}

/* Start index k of a dynamic (update) slice, clamped to [0, dim - size]. */
static int64_t clamped_start(const ev_array *idx, int64_t dim, int64_t size) {
  int64_t s = ev_index_at(idx, 0);
  if (s > dim - size) s = dim - size;
  return s < 0 ? 0 : s;
}

bool ev_dynamic_slice(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out) {
  (void)ctx, (void)in;
  int64_t ist[IR_MAX_RANK], ost[IR_MAX_RANK], base = 0;
  ir_shape_strides(&ops[0].shape, ist);
  ir_shape_strides(&out->shape, ost);
  for (int i = 0; i < out->shape.rank; i++)
    base += clamped_start(&ops[1 + i], ops[0].shape.dims[i], out->shape.dims[i]) * ist[i];
  ev_copy_nd(ir_type_size(out->shape.type), out->shape.rank, out->shape.dims, out->data, 0, ost, ops[0].data, base,
             ist);
  return true;
}

bool ev_dynamic_update_slice(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out) {
  (void)ctx, (void)in;
  size_t es = ir_type_size(out->shape.type);
  memcpy(out->data, ops[0].data, (size_t)out->n * es);
  int64_t ust[IR_MAX_RANK], ost[IR_MAX_RANK], base = 0;
  ir_shape_strides(&ops[1].shape, ust);
  ir_shape_strides(&out->shape, ost);
  for (int i = 0; i < out->shape.rank; i++)
    base += clamped_start(&ops[2 + i], out->shape.dims[i], ops[1].shape.dims[i]) * ost[i];
  ev_copy_nd(es, out->shape.rank, ops[1].shape.dims, out->data, base, ost, ops[1].data, 0, ust);
  return true;
}

bool ev_concatenate(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out) {
  (void)ctx;
  size_t es = ir_type_size(out->shape.type);
  int64_t ost[IR_MAX_RANK], ist[IR_MAX_RANK], d = in->dims[0], off = 0;
  ir_shape_strides(&out->shape, ost);
  for (uint32_t k = 0; k < in->nops; k++) {
    ir_shape_strides(&ops[k].shape, ist);
    ev_copy_nd(es, out->shape.rank, ops[k].shape.dims, out->data, off * ost[d], ost, ops[k].data, 0, ist);
    off += ops[k].shape.dims[d];
  }
  return true;
}

bool ev_pad(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out) {
  (void)ctx;
  size_t es = ir_type_size(out->shape.type);
  for (int64_t i = 0; i < out->n; i++) memcpy((char *)out->data + (size_t)i * es, ops[1].data, es);
  const ir_pad_attr *p = in->a.pad;
  int rank = out->shape.rank;
  int64_t ist[IR_MAX_RANK], ost[IR_MAX_RANK], dst[IR_MAX_RANK], dims[IR_MAX_RANK], sbase = 0, dbase = 0;
  ir_shape_strides(&ops[0].shape, ist);
  ir_shape_strides(&out->shape, ost);
  for (int i = 0; i < rank; i++) {
    /* Operand index x lands at lo + x * step; keep the x that land inside
     * the result (negative lo or hi crop). */
    int64_t step = p->interior[i] + 1, lo = p->lo[i], od = out->shape.dims[i];
    int64_t x0 = lo >= 0 ? 0 : (-lo + step - 1) / step;
    int64_t x1 = od - lo > 0 ? (od - lo + step - 1) / step : 0;
    if (x1 > ops[0].shape.dims[i]) x1 = ops[0].shape.dims[i];
    if (x0 >= x1) return true;
    dims[i] = x1 - x0;
    sbase += x0 * ist[i];
    dbase += (lo + x0 * step) * ost[i];
    dst[i] = step * ost[i];
  }
  ev_copy_nd(es, rank, dims, out->data, dbase, dst, ops[0].data, sbase, ist);
  return true;
}

bool ev_reverse(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out) {
  (void)ctx;
  int64_t ist[IR_MAX_RANK], ost[IR_MAX_RANK], base = 0;
  ir_shape_strides(&ops[0].shape, ist);
  ir_shape_strides(&out->shape, ost);
  for (uint32_t k = 0; k < in->ndims; k++) {
    int64_t d = in->dims[k];
    if (out->shape.dims[d] == 0) return true;
    base += (out->shape.dims[d] - 1) * ist[d];
    ist[d] = -ist[d];
  }
  ev_copy_nd(ir_type_size(out->shape.type), out->shape.rank, out->shape.dims, out->data, 0, ost, ops[0].data, base,
             ist);
  return true;
}
