/*
 * Builder and shape inference, part 2: gather and scatter (XLA dimension
 * numbers), reduce, reduce_window (stride, padding, dilation), dot (batch
 * dimensions, several contracting dimensions, widening result types),
 * convolution (groups, dilations, padding, non-default dim_labels) and sort.
 * Result shapes are worked out by hand from the XLA operation semantics
 * (docs/ir.md); each invalid case must be refused naming the rule.
 */
#include "tests/unit/unit.h"

static ir_id param(fixture *f, ir_type t, int rank, const int64_t *dims) {
  ir_id id = ir_parameter(&f->b, (int64_t)ir_comp_num_params(f->c), ir_shape_make(t, rank, dims), NULL);
  assert_int_not_equal(id, IR_NONE);
  return id;
}

#define D(...) ((const int64_t[]){__VA_ARGS__})

static ir_gather_dims gdims(int noff, const int64_t *off, int ncol, const int64_t *col, int nmap, const int64_t *map,
                            int64_t ivd, int rank, const int64_t *sizes) {
  ir_gather_dims g;
  memset(&g, 0, sizeof g);
  g.noffset = noff;
  g.ncollapsed = ncol;
  g.nstart_map = nmap;
  for (int i = 0; i < noff; i++) g.offset_dims[i] = off[i];
  for (int i = 0; i < ncol; i++) g.collapsed_slice_dims[i] = col[i];
  for (int i = 0; i < nmap; i++) g.start_index_map[i] = map[i];
  g.index_vector_dim = ivd;
  for (int i = 0; i < rank; i++) g.slice_sizes[i] = sizes[i];
  return g;
}

static void test_gather(void **state) {
  fixture *f = *state;
  ir_id x = param(f, IR_F32, 2, D(3, 3));
  ir_id rows = param(f, IR_I32, 1, D(2));
  ir_id pairs = param(f, IR_I64, 2, D(2, 2));
  ir_id x3 = param(f, IR_F32, 3, D(4, 5, 6));
  ir_id idx3 = param(f, IR_U16, 3, D(7, 8, 2));
  ir_id cols = param(f, IR_I32, 2, D(2, 5));
  ir_id fidx = param(f, IR_F32, 1, D(2));

  /* Take rows 2 of a 3x3 matrix: out [2 indices, 3 columns]. */
  ir_gather_dims g = gdims(1, D(1), 1, D(0), 1, D(0), 1, 2, D(1, 3));
  assert_shape(f, ir_gather(&f->b, x, rows, &g), "f32[2,3]{1,0}");
  /* 2x2 windows at two (row, column) starts, nothing collapsed. */
  g = gdims(2, D(1, 2), 0, NULL, 2, D(0, 1), 1, 2, D(2, 2));
  assert_shape(f, ir_gather(&f->b, x, pairs, &g), "f32[2,2,2]{2,1,0}");
  /* Offset dims interleaved with batch dims: batch 7, 8 at positions 0 and 2;
   * slice sizes of the uncollapsed operand dims (3, 2) at 1 and 3. */
  g = gdims(2, D(1, 3), 1, D(0), 2, D(0, 2), 2, 3, D(1, 3, 2));
  assert_shape(f, ir_gather(&f->b, x3, idx3, &g), "f32[7,3,8,2]{3,2,1,0}");
  /* Index vectors along dimension 0 of the indices: 5 batch positions. */
  g = gdims(0, NULL, 2, D(0, 1), 2, D(0, 1), 0, 2, D(1, 1));
  assert_shape(f, ir_gather(&f->b, x, cols, &g), "f32[5]{0}");

  g = gdims(1, D(1), 1, D(0), 1, D(0), 1, 2, D(1, 4));
  assert_refused(f, ir_gather(&f->b, x, rows, &g), "slice_sizes[1] out of range");
  g = gdims(1, D(1), 1, D(0), 1, D(0), 1, 2, D(2, 3));
  assert_refused(f, ir_gather(&f->b, x, rows, &g), "collapsed dimension 0 must have slice size 1");
  g = gdims(1, D(1), 1, D(0), 1, D(0), 1, 2, D(1, 3));
  assert_refused(f, ir_gather(&f->b, x, pairs, &g), "start_index_map has 1 entries, index vectors have 2");
  assert_refused(f, ir_gather(&f->b, x, fidx, &g), "gather indices must be integers");
  g = gdims(2, D(0, 1), 1, D(0), 1, D(0), 1, 2, D(1, 3));
  assert_refused(f, ir_gather(&f->b, x, rows, &g), "offset_dims must have 1 entries");
  g = gdims(1, D(2), 1, D(0), 1, D(0), 1, 2, D(1, 3));
  assert_refused(f, ir_gather(&f->b, x, rows, &g), "offset_dims must increase and be < 2");
  g = gdims(1, D(1), 1, D(0), 1, D(0), 2, 2, D(1, 3));
  assert_refused(f, ir_gather(&f->b, x, rows, &g), "index_vector_dim 2 out of range");
  g = gdims(2, D(1, 2), 0, NULL, 2, D(0, 0), 1, 2, D(2, 2));
  assert_refused(f, ir_gather(&f->b, x, pairs, &g), "start_index_map entries must be distinct operand dimensions");
  g = gdims(0, NULL, 2, D(1, 0), 2, D(0, 1), 0, 2, D(1, 1));
  assert_refused(f, ir_gather(&f->b, x, cols, &g), "collapsed_slice_dims must increase");
  assert_refused(f, ir_gather(&f->b, x, rows, NULL), "gather has no dimension numbers");
}

static ir_scatter_dims sdims(int nwin, const int64_t *win, int nins, const int64_t *ins, int nmap, const int64_t *map,
                             int64_t ivd) {
  ir_scatter_dims s;
  memset(&s, 0, sizeof s);
  s.nwindow = nwin;
  s.ninserted = nins;
  s.nscatter_map = nmap;
  for (int i = 0; i < nwin; i++) s.update_window_dims[i] = win[i];
  for (int i = 0; i < nins; i++) s.inserted_window_dims[i] = ins[i];
  for (int i = 0; i < nmap; i++) s.scatter_dims_to_operand_dims[i] = map[i];
  s.index_vector_dim = ivd;
  return s;
}

static void test_scatter(void **state) {
  fixture *f = *state;
  ir_id x = param(f, IR_F32, 2, D(3, 3));
  ir_id xi = param(f, IR_I32, 2, D(3, 3));
  ir_id idx = param(f, IR_I32, 1, D(2));
  ir_id upd = param(f, IR_F32, 2, D(2, 3));
  ir_id upd_short = param(f, IR_F32, 2, D(2, 2));
  ir_id upd_wide = param(f, IR_F32, 2, D(2, 4));
  ir_id upd_rows = param(f, IR_F32, 2, D(3, 3));
  ir_id upd3 = param(f, IR_F32, 3, D(2, 3, 1));
  ir_id fidx = param(f, IR_F32, 1, D(2));
  ir_id updi = param(f, IR_I32, 2, D(2, 3));
  ir_id pts = param(f, IR_I32, 2, D(4, 2));
  ir_id vals = param(f, IR_F32, 1, D(4));

  /* Write two rows of a 3x3 matrix. */
  ir_scatter_dims s = sdims(1, D(1), 1, D(0), 1, D(0), 1);
  assert_shape(f, ir_scatter(&f->b, x, idx, upd, &s, IR_COMB_ASSIGN), "f32[3,3]{1,0}");
  assert_shape(f, ir_scatter(&f->b, x, idx, upd_short, &s, IR_COMB_ADD), "f32[3,3]{1,0}"); /* partial window */
  assert_shape(f, ir_scatter(&f->b, xi, idx, updi, &s, IR_COMB_OR), "i32[3,3]{1,0}");
  /* Four single elements at (row, column) points. */
  ir_scatter_dims pt = sdims(0, NULL, 2, D(0, 1), 2, D(0, 1), 1);
  assert_shape(f, ir_scatter(&f->b, x, pts, vals, &pt, IR_COMB_MAX), "f32[3,3]{1,0}");

  assert_refused(f, ir_scatter(&f->b, x, idx, upd3, &s, IR_COMB_ADD), "updates must have rank 2");
  assert_refused(f, ir_scatter(&f->b, x, idx, upd_wide, &s, IR_COMB_ADD),
                 "update window dimension 1 is larger than operand dimension 1");
  assert_refused(f, ir_scatter(&f->b, x, idx, upd_rows, &s, IR_COMB_ADD),
                 "update scatter dimension 0 does not match the indices");
  assert_refused(f, ir_scatter(&f->b, x, idx, upd, &s, IR_COMB_AND), "combiner and needs pred or integer");
  assert_refused(f, ir_scatter(&f->b, x, idx, updi, &s, IR_COMB_ADD), "scatter updates must have the operand's type");
  assert_refused(f, ir_scatter(&f->b, x, fidx, upd, &s, IR_COMB_ADD), "scatter indices must be integers");
  ir_scatter_dims bad = sdims(1, D(1), 0, NULL, 1, D(0), 1);
  assert_refused(f, ir_scatter(&f->b, x, idx, upd, &bad, IR_COMB_ADD),
                 "update_window_dims plus inserted_window_dims must cover the operand rank 2");
  bad = sdims(1, D(1), 1, D(0), 2, D(0, 1), 1);
  assert_refused(f, ir_scatter(&f->b, x, idx, upd, &bad, IR_COMB_ADD),
                 "scatter_dims_to_operand_dims has 2 entries, index vectors have 1");
  bad = sdims(1, D(1), 1, D(0), 1, D(0), 2);
  assert_refused(f, ir_scatter(&f->b, x, idx, upd, &bad, IR_COMB_ADD), "index_vector_dim out of range");
  bad = sdims(1, D(2), 1, D(0), 1, D(0), 1);
  assert_refused(f, ir_scatter(&f->b, x, idx, upd, &bad, IR_COMB_ADD), "update_window_dims must increase and be < 2");
  bad = sdims(1, D(1), 1, D(3), 1, D(0), 1);
  assert_refused(f, ir_scatter(&f->b, x, idx, upd, &bad, IR_COMB_ADD), "inserted_window_dims must increase");
  assert_refused(f, ir_scatter(&f->b, x, idx, upd, NULL, IR_COMB_ADD), "scatter has no dimension numbers");
}

static void test_reduce(void **state) {
  fixture *f = *state;
  ir_id x = param(f, IR_F32, 3, D(2, 3, 4));
  ir_id p = param(f, IR_PRED, 1, D(5));
  ir_id u = param(f, IR_U8, 2, D(5, 0));
  assert_shape(f, ir_reduce(&f->b, x, 2, D(0, 2), IR_COMB_ADD), "f32[3]{0}");
  assert_shape(f, ir_reduce(&f->b, x, 2, D(2, 0), IR_COMB_MAX), "f32[3]{0}");
  assert_shape(f, ir_reduce(&f->b, x, 3, D(0, 1, 2), IR_COMB_MUL), "f32[]");
  assert_shape(f, ir_reduce(&f->b, x, 0, NULL, IR_COMB_MIN), "f32[2,3,4]{2,1,0}");
  assert_shape(f, ir_reduce(&f->b, p, 1, D(0), IR_COMB_AND), "pred[]");
  assert_shape(f, ir_reduce(&f->b, u, 1, D(1), IR_COMB_OR), "u8[5]{0}");
  assert_refused(f, ir_reduce(&f->b, x, 1, D(0), IR_COMB_ASSIGN), "reduce cannot use combiner assign");
  assert_refused(f, ir_reduce(&f->b, x, 1, D(0), IR_COMB_OR), "combiner or needs pred or integer");
  assert_refused(f, ir_reduce(&f->b, p, 1, D(0), IR_COMB_MAX), "combiner max needs a numeric type");
  assert_refused(f, ir_reduce(&f->b, x, 2, D(1, 1), IR_COMB_ADD), "reduce dimensions must be distinct and < 3");
  assert_refused(f, ir_reduce(&f->b, x, 1, D(3), IR_COMB_ADD), "reduce dimensions must be distinct and < 3");
}

/* A window of `rank` dimensions with all defaults. */
static ir_window window(int rank) {
  ir_window w;
  memset(&w, 0, sizeof w);
  w.rank = rank;
  for (int i = 0; i < rank; i++) w.d[i].size = w.d[i].stride = w.d[i].lhs_dilate = w.d[i].rhs_dilate = 1;
  return w;
}

static void test_reduce_window(void **state) {
  fixture *f = *state;
  ir_id img = param(f, IR_F32, 4, D(1, 8, 8, 3));
  ir_id v = param(f, IR_F32, 1, D(10));
  ir_id small = param(f, IR_I32, 1, D(3));
  ir_id empty = param(f, IR_F32, 1, D(0));
  ir_id p = param(f, IR_PRED, 1, D(10));

  /* 3x3 max pool, stride 2, padding 1: (8 + 2 - 3) / 2 + 1 = 4 */
  ir_window w = window(4);
  w.d[1].size = w.d[2].size = 3;
  w.d[1].stride = w.d[2].stride = 2;
  w.d[1].pad_lo = w.d[1].pad_hi = w.d[2].pad_lo = w.d[2].pad_hi = 1;
  assert_shape(f, ir_reduce_window(&f->b, img, &w, IR_COMB_MAX), "f32[1,4,4,3]{3,2,1,0}");

  w = window(1);
  w.d[0].size = 3;
  assert_shape(f, ir_reduce_window(&f->b, v, &w, IR_COMB_ADD), "f32[8]{0}");
  w.d[0].rhs_dilate = 2; /* window spans 5 */
  assert_shape(f, ir_reduce_window(&f->b, v, &w, IR_COMB_ADD), "f32[6]{0}");
  w.d[0].rhs_dilate = 1;
  w.d[0].lhs_dilate = 2; /* base spans 19 */
  assert_shape(f, ir_reduce_window(&f->b, v, &w, IR_COMB_ADD), "f32[17]{0}");
  w = window(1);
  w.d[0].size = 2;
  w.d[0].pad_lo = -1;
  w.d[0].pad_hi = -2; /* base 7 */
  assert_shape(f, ir_reduce_window(&f->b, v, &w, IR_COMB_MIN), "f32[6]{0}");
  w = window(1);
  w.d[0].size = 5; /* larger than the input */
  assert_shape(f, ir_reduce_window(&f->b, small, &w, IR_COMB_MUL), "i32[0]{0}");
  w.d[0].size = 1;
  assert_shape(f, ir_reduce_window(&f->b, empty, &w, IR_COMB_ADD), "f32[0]{0}");
  w.d[0].size = 4;
  w.d[0].stride = 3; /* positions 0, 3, 6 */
  assert_shape(f, ir_reduce_window(&f->b, v, &w, IR_COMB_ADD), "f32[3]{0}");
  w = window(1);
  assert_shape(f, ir_reduce_window(&f->b, p, &w, IR_COMB_AND), "pred[10]{0}");

  w = window(1);
  w.d[0].stride = 0;
  assert_refused(f, ir_reduce_window(&f->b, v, &w, IR_COMB_ADD), "window dimension 0 has a size, stride or dilation below 1");
  w = window(1);
  w.d[0].size = 0;
  assert_refused(f, ir_reduce_window(&f->b, v, &w, IR_COMB_ADD), "window dimension 0 has a size, stride or dilation below 1");
  w = window(1);
  w.d[0].lhs_dilate = 0;
  assert_refused(f, ir_reduce_window(&f->b, v, &w, IR_COMB_ADD), "below 1");
  w = window(2);
  assert_refused(f, ir_reduce_window(&f->b, v, &w, IR_COMB_ADD), "reduce_window needs a window of rank 1");
  assert_refused(f, ir_reduce_window(&f->b, v, NULL, IR_COMB_ADD), "reduce_window needs a window of rank 1");
  w = window(1);
  assert_refused(f, ir_reduce_window(&f->b, v, &w, IR_COMB_ASSIGN), "combiner assign not valid here");
  assert_refused(f, ir_reduce_window(&f->b, v, &w, IR_COMB_AND), "combiner and not valid here");
  assert_refused(f, ir_reduce_window(&f->b, p, &w, IR_COMB_ADD), "combiner add needs a numeric type");
  /* Sizes that overflow 64 bits are refused, not wrapped. */
  w.d[0].lhs_dilate = INT64_MAX;
  assert_refused(f, ir_reduce_window(&f->b, v, &w, IR_COMB_ADD), "window dimension 0");
  w = window(1);
  w.d[0].size = INT64_MAX;
  w.d[0].rhs_dilate = 2;
  assert_refused(f, ir_reduce_window(&f->b, v, &w, IR_COMB_ADD), "window dimension 0");
  w = window(1);
  w.d[0].pad_lo = w.d[0].pad_hi = INT64_MAX;
  assert_refused(f, ir_reduce_window(&f->b, v, &w, IR_COMB_ADD), "window dimension 0");
  w = window(1);
  w.d[0].pad_lo = w.d[0].pad_hi = INT64_MIN;
  assert_refused(f, ir_reduce_window(&f->b, v, &w, IR_COMB_ADD), "window dimension 0");
}

static ir_dot_dims ddims(int nb, const int64_t *lb, const int64_t *rb, int nc, const int64_t *lc, const int64_t *rc) {
  ir_dot_dims d;
  memset(&d, 0, sizeof d);
  d.nbatch = nb;
  d.ncontract = nc;
  for (int i = 0; i < nb; i++) {
    d.lhs_batch[i] = lb[i];
    d.rhs_batch[i] = rb[i];
  }
  for (int i = 0; i < nc; i++) {
    d.lhs_contract[i] = lc[i];
    d.rhs_contract[i] = rc[i];
  }
  return d;
}

static void test_dot(void **state) {
  fixture *f = *state;
  ir_id a = param(f, IR_F32, 2, D(2, 3));
  ir_id b = param(f, IR_F32, 2, D(3, 4));
  ir_id ba = param(f, IR_F32, 3, D(5, 2, 3));
  ir_id bb = param(f, IR_F32, 3, D(5, 3, 4));
  ir_id ma = param(f, IR_F32, 3, D(2, 5, 3));
  ir_id mb = param(f, IR_F32, 3, D(3, 5, 4));
  ir_id v3 = param(f, IR_F32, 1, D(3));
  ir_id v2 = param(f, IR_F32, 1, D(2));
  ir_id t1 = param(f, IR_F32, 3, D(2, 3, 4));
  ir_id t2 = param(f, IR_F32, 3, D(4, 3, 5));
  ir_id i8a = param(f, IR_I8, 2, D(2, 3));
  ir_id i8b = param(f, IR_I8, 2, D(3, 4));
  ir_id ha = param(f, IR_F16, 2, D(2, 3));
  ir_id hb = param(f, IR_F16, 2, D(3, 4));
  ir_id bfa = param(f, IR_BF16, 2, D(2, 3));
  ir_id bfb = param(f, IR_BF16, 2, D(3, 4));
  ir_id u8a = param(f, IR_U8, 2, D(2, 3));
  ir_id u8b = param(f, IR_U8, 2, D(3, 4));
  ir_id pa = param(f, IR_PRED, 2, D(2, 3));
  ir_id pb = param(f, IR_PRED, 2, D(3, 4));
  ir_id big = param(f, IR_F32, 5, D(1, 1, 1, 1, 1));

  ir_dot_dims mm = ddims(0, NULL, NULL, 1, D(1), D(0));
  assert_shape(f, ir_dot(&f->b, a, b, &mm, IR_TUPLE), "f32[2,4]{1,0}");
  assert_shape(f, ir_dot(&f->b, a, b, &mm, IR_F32), "f32[2,4]{1,0}");
  ir_dot_dims bm = ddims(1, D(0), D(0), 1, D(2), D(1));
  assert_shape(f, ir_dot(&f->b, ba, bb, &bm, IR_TUPLE), "f32[5,2,4]{2,1,0}");
  /* Batch dimensions in the middle: still first in the result. */
  ir_dot_dims mid = ddims(1, D(1), D(1), 1, D(2), D(0));
  assert_shape(f, ir_dot(&f->b, ma, mb, &mid, IR_TUPLE), "f32[5,2,4]{2,1,0}");
  ir_dot_dims inner = ddims(0, NULL, NULL, 1, D(0), D(0));
  assert_shape(f, ir_dot(&f->b, v3, v3, &inner, IR_TUPLE), "f32[]");
  ir_dot_dims outer = ddims(0, NULL, NULL, 0, NULL, NULL);
  assert_shape(f, ir_dot(&f->b, v2, v3, &outer, IR_TUPLE), "f32[2,3]{1,0}");
  ir_dot_dims two = ddims(0, NULL, NULL, 2, D(1, 2), D(1, 0));
  assert_shape(f, ir_dot(&f->b, t1, t2, &two, IR_TUPLE), "f32[2,5]{1,0}");

  /* Widening result types. */
  assert_shape(f, ir_dot(&f->b, i8a, i8b, &mm, IR_I32), "i32[2,4]{1,0}");
  assert_shape(f, ir_dot(&f->b, i8a, i8b, &mm, IR_I64), "i64[2,4]{1,0}");
  assert_shape(f, ir_dot(&f->b, u8a, u8b, &mm, IR_I32), "i32[2,4]{1,0}");
  assert_shape(f, ir_dot(&f->b, ha, hb, &mm, IR_F32), "f32[2,4]{1,0}");
  assert_shape(f, ir_dot(&f->b, bfa, bfb, &mm, IR_F32), "f32[2,4]{1,0}");
  assert_shape(f, ir_dot(&f->b, ha, hb, &mm, IR_TUPLE), "f16[2,4]{1,0}");
  assert_refused(f, ir_dot(&f->b, a, b, &mm, IR_F16), "dot of f32 cannot produce f16");
  assert_refused(f, ir_dot(&f->b, a, b, &mm, IR_F64), "dot of f32 cannot produce f64");
  assert_refused(f, ir_dot(&f->b, i8a, i8b, &mm, IR_F32), "dot of i8 cannot produce f32");
  assert_refused(f, ir_dot(&f->b, i8a, i8b, &mm, IR_I16), "dot of i8 cannot produce i16");

  assert_refused(f, ir_dot(&f->b, a, a, &mm, IR_TUPLE), "contracting dimension sizes differ: 3 vs 2");
  ir_dot_dims badb = ddims(1, D(0), D(0), 1, D(2), D(1));
  assert_refused(f, ir_dot(&f->b, ma, bb, &badb, IR_TUPLE), "batch dimension 0 sizes differ");
  ir_dot_dims both = ddims(1, D(0), D(0), 1, D(0), D(0));
  assert_refused(f, ir_dot(&f->b, ba, bb, &both, IR_TUPLE), "a dimension is both batch and contracting");
  assert_refused(f, ir_dot(&f->b, a, hb, &mm, IR_TUPLE), "dot operands differ in type: f32 and f16");
  ir_dot_dims oor = ddims(0, NULL, NULL, 1, D(2), D(0));
  assert_refused(f, ir_dot(&f->b, a, b, &oor, IR_TUPLE), "dot dimension numbers out of range or repeated");
  ir_dot_dims rep = ddims(0, NULL, NULL, 2, D(1, 1), D(0, 1));
  assert_refused(f, ir_dot(&f->b, t1, t2, &rep, IR_TUPLE), "dot dimension numbers out of range or repeated");
  assert_refused(f, ir_dot(&f->b, pa, pb, &mm, IR_TUPLE), "dot needs a numeric");
  assert_refused(f, ir_dot(&f->b, big, big, &outer, IR_TUPLE), "dot result rank 10 too large");
  assert_refused(f, ir_dot(&f->b, a, b, NULL, IR_TUPLE), "dot has no dimension numbers");

  /* The matmul convenience. */
  assert_shape(f, ir_matmul(&f->b, a, b), "f32[2,4]{1,0}");
  assert_shape(f, ir_matmul(&f->b, ba, bb), "f32[5,2,4]{2,1,0}");
  assert_shape(f, ir_matmul(&f->b, ba, b), "f32[5,2,4]{2,1,0}");
  assert_shape(f, ir_matmul(&f->b, a, v3), "f32[2]{0}");
  assert_refused(f, ir_matmul(&f->b, a, bb), "matmul: unsupported ranks 2 and 3");
}

/* NCHW input, OIHW kernel, NCHW output. */
static ir_conv_dims nchw(int ns) {
  ir_conv_dims c;
  memset(&c, 0, sizeof c);
  c.nspatial = ns;
  c.in_batch = c.out_batch = 0;
  c.in_feature = c.out_feature = 1;
  c.k_out = 0;
  c.k_in = 1;
  for (int i = 0; i < ns; i++) c.in_spatial[i] = c.k_spatial[i] = c.out_spatial[i] = i + 2;
  return c;
}

/* NHWC input, HWIO kernel, NHWC output (TensorFlow's default). */
static ir_conv_dims nhwc(int ns) {
  ir_conv_dims c;
  memset(&c, 0, sizeof c);
  c.nspatial = ns;
  c.in_batch = c.out_batch = 0;
  c.in_feature = c.out_feature = ns + 1;
  c.k_in = ns;
  c.k_out = ns + 1;
  for (int i = 0; i < ns; i++) {
    c.in_spatial[i] = c.out_spatial[i] = i + 1;
    c.k_spatial[i] = i;
  }
  return c;
}

static ir_window cwin(int ns, int64_t size, int64_t stride, int64_t pad, int64_t lhs, int64_t rhs) {
  ir_window w = window(ns);
  for (int i = 0; i < ns; i++) {
    w.d[i].size = size;
    w.d[i].stride = stride;
    w.d[i].pad_lo = w.d[i].pad_hi = pad;
    w.d[i].lhs_dilate = lhs;
    w.d[i].rhs_dilate = rhs;
  }
  return w;
}

static void test_convolution(void **state) {
  fixture *f = *state;
  ir_id x = param(f, IR_F32, 4, D(1, 3, 8, 8));
  ir_id k = param(f, IR_F32, 4, D(16, 3, 3, 3));
  ir_id xg = param(f, IR_F32, 4, D(1, 4, 5, 5));
  ir_id kg = param(f, IR_F32, 4, D(6, 2, 3, 3));
  ir_id xd = param(f, IR_F32, 4, D(2, 8, 5, 5));
  ir_id kd = param(f, IR_F32, 4, D(8, 1, 3, 3));
  ir_id xn = param(f, IR_F32, 4, D(2, 7, 7, 3));
  ir_id kn = param(f, IR_F32, 4, D(3, 3, 3, 8));
  ir_id xt = param(f, IR_F32, 4, D(1, 1, 4, 4));
  ir_id kt = param(f, IR_F32, 4, D(1, 1, 3, 3));
  ir_id x1 = param(f, IR_F32, 3, D(1, 2, 10));
  ir_id k1 = param(f, IR_F32, 3, D(4, 2, 3));
  ir_id xi = param(f, IR_I8, 4, D(1, 3, 8, 8));
  ir_id ki = param(f, IR_I8, 4, D(16, 3, 3, 3));
  ir_id k5 = param(f, IR_F32, 4, D(5, 2, 3, 3));
  ir_id k2 = param(f, IR_F32, 4, D(16, 3, 2, 2));
  ir_id kh = param(f, IR_F16, 4, D(16, 3, 3, 3));
  ir_id xp = param(f, IR_PRED, 4, D(1, 3, 8, 8));
  ir_id kp = param(f, IR_PRED, 4, D(16, 3, 3, 3));

  ir_conv_dims c2 = nchw(2);
  ir_window w = cwin(2, 3, 1, 1, 1, 1);
  assert_shape(f, ir_convolution(&f->b, x, k, &w, &c2, 1, IR_TUPLE), "f32[1,16,8,8]{3,2,1,0}");
  w = cwin(2, 3, 2, 1, 1, 1); /* (8 + 2 - 3) / 2 + 1 = 4 */
  assert_shape(f, ir_convolution(&f->b, x, k, &w, &c2, 1, IR_TUPLE), "f32[1,16,4,4]{3,2,1,0}");
  w = cwin(2, 3, 1, 1, 1, 2); /* dilated kernel spans 5: 8 + 2 - 5 + 1 = 6 */
  assert_shape(f, ir_convolution(&f->b, x, k, &w, &c2, 1, IR_TUPLE), "f32[1,16,6,6]{3,2,1,0}");
  w = cwin(2, 3, 1, 0, 1, 1); /* grouped: 4 inputs in 2 groups of 2, 6 outputs */
  assert_shape(f, ir_convolution(&f->b, xg, kg, &w, &c2, 2, IR_TUPLE), "f32[1,6,3,3]{3,2,1,0}");
  assert_shape(f, ir_convolution(&f->b, xd, kd, &w, &c2, 8, IR_TUPLE), "f32[2,8,3,3]{3,2,1,0}"); /* depthwise */
  ir_conv_dims cn = nhwc(2);
  w = cwin(2, 3, 2, 0, 1, 1); /* (7 - 3) / 2 + 1 = 3 */
  assert_shape(f, ir_convolution(&f->b, xn, kn, &w, &cn, 1, IR_TUPLE), "f32[2,3,3,8]{3,2,1,0}");
  w = cwin(2, 3, 1, 1, 2, 1); /* input dilated to 7, padded to 9: 9 - 3 + 1 = 7 */
  assert_shape(f, ir_convolution(&f->b, xt, kt, &w, &c2, 1, IR_TUPLE), "f32[1,1,7,7]{3,2,1,0}");
  ir_conv_dims c1 = nchw(1);
  w = cwin(1, 3, 1, 0, 1, 1);
  assert_shape(f, ir_convolution(&f->b, x1, k1, &w, &c1, 1, IR_TUPLE), "f32[1,4,8]{2,1,0}");
  /* NCHW in, NHWC out. */
  ir_conv_dims mixed = nchw(2);
  mixed.out_feature = 3;
  mixed.out_spatial[0] = 1;
  mixed.out_spatial[1] = 2;
  w = cwin(2, 3, 1, 1, 1, 1);
  assert_shape(f, ir_convolution(&f->b, x, k, &w, &mixed, 1, IR_TUPLE), "f32[1,8,8,16]{3,2,1,0}");
  assert_shape(f, ir_convolution(&f->b, xi, ki, &w, &c2, 1, IR_I32), "i32[1,16,8,8]{3,2,1,0}");

  assert_refused(f, ir_convolution(&f->b, xg, k, &w, &c2, 1, IR_TUPLE),
                 "input features 4 != kernel input features 3 x feature_group_count 1");
  assert_refused(f, ir_convolution(&f->b, xg, k5, &w, &c2, 2, IR_TUPLE),
                 "kernel output features 5 not divisible by feature_group_count 2");
  assert_refused(f, ir_convolution(&f->b, x, k, &w, &c2, INT64_MAX / 2, IR_TUPLE), "feature_group_count");
  assert_refused(f, ir_convolution(&f->b, x, k, &w, &c2, 0, IR_TUPLE), "feature_group_count must be >= 1");
  assert_refused(f, ir_convolution(&f->b, x, k2, &w, &c2, 1, IR_TUPLE), "window size 3 != kernel spatial size 2 in dimension 0");
  ir_conv_dims bad = nchw(2);
  bad.in_feature = 0;
  assert_refused(f, ir_convolution(&f->b, x, k, &w, &bad, 1, IR_TUPLE), "dim_labels must be permutations");
  bad = nchw(2);
  bad.k_spatial[1] = 2;
  assert_refused(f, ir_convolution(&f->b, x, k, &w, &bad, 1, IR_TUPLE), "dim_labels must be permutations");
  assert_refused(f, ir_convolution(&f->b, x1, k, &w, &c2, 1, IR_TUPLE),
                 "convolution with 2 spatial dimensions needs rank-4 operands");
  ir_window w1 = cwin(1, 3, 1, 1, 1, 1);
  assert_refused(f, ir_convolution(&f->b, x, k, &w1, &c2, 1, IR_TUPLE), "window has 1 dimensions, expected 2");
  assert_refused(f, ir_convolution(&f->b, x, kh, &w, &c2, 1, IR_TUPLE), "convolution operands differ in type");
  assert_refused(f, ir_convolution(&f->b, xp, kp, &w, &c2, 1, IR_TUPLE), "convolution needs a numeric");
  assert_refused(f, ir_convolution(&f->b, xi, ki, &w, &c2, 1, IR_F32), "convolution of i8 cannot produce f32");
  assert_refused(f, ir_convolution(&f->b, x, k, NULL, &c2, 1, IR_TUPLE), "convolution needs a window and dim_labels");
  w = cwin(2, 3, 0, 1, 1, 1);
  assert_refused(f, ir_convolution(&f->b, x, k, &w, &c2, 1, IR_TUPLE),
                 "window dimension 0 has a size, stride or dilation below 1");
}

static void test_sort(void **state) {
  fixture *f = *state;
  ir_id k = param(f, IR_F32, 2, D(3, 4));
  ir_id v = param(f, IR_I32, 2, D(3, 4));
  ir_id w = param(f, IR_I32, 2, D(4, 3));
  ir_id p = param(f, IR_PRED, 1, D(4));
  assert_shape(f, ir_sort(&f->b, 1, &k, 1, false), "f32[3,4]{1,0}");
  assert_shape(f, ir_sort(&f->b, 1, &v, 0, true), "i32[3,4]{1,0}");
  assert_shape(f, ir_sort(&f->b, 2, (ir_id[]){k, v}, 1, false), "(f32[3,4]{1,0}, i32[3,4]{1,0})");
  assert_refused(f, ir_sort(&f->b, 2, (ir_id[]){k, w}, 1, false), "sort operands must have equal dimensions");
  assert_refused(f, ir_sort(&f->b, 1, &p, 0, false), "sort keys must be numeric");
  assert_refused(f, ir_sort(&f->b, 1, &k, 2, false), "sort needs one dimension < 2");
  assert_refused(f, ir_sort(&f->b, 1, &k, -1, false), "sort needs one dimension < 2");
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
  const struct CMUnitTest tests[] = {
      T(test_gather), T(test_scatter), T(test_reduce), T(test_reduce_window),
      T(test_dot),    T(test_convolution), T(test_sort),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
