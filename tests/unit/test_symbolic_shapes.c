/*
 * Shape rules, the verifier and binding for symbolic dimensions
 * (ir/symbolic.h, ir/shape.c, ir/verify.c, ir/symbolic_bind.c). Each op
 * family gets a symbolic case whose inferred shape is compared, as text,
 * with the expression worked out by hand from the rule in docs/ir.md, and
 * the refusals a symbolic shape must get (sizes that differ as expressions,
 * relations that cannot be proved for every binding). Binding tests bind a
 * small module at two bindings and run the interpreter on the result,
 * against values computed by hand.
 */
#include "ir/eval.h"
#include "ir/symbolic.h"
#include "passes/pass.h"
#include "tests/unit/unit.h"

/* A fixture with symbols b <= 8 and s <= 16. */
typedef struct sym_fixture {
  fixture *f;
  ir_dexpr b, s;
} sym_fixture;

static int sym_setup(void **state) {
  sym_fixture *x = calloc(1, sizeof *x);
  assert_non_null(x);
  x->f = fixture_new();
  x->b = ir_sym_declare(x->f->m, "b", 8);
  x->s = ir_sym_declare(x->f->m, "s", 16);
  assert_true(x->b && x->s);
  *state = x;
  return 0;
}

static int sym_teardown(void **state) {
  sym_fixture *x = *state;
  fixture_free(x->f);
  free(x);
  return 0;
}

/* A shape of type t whose dimensions are the expressions e[0..n). */
static ir_shape sshape(ir_module *m, ir_type t, int n, const ir_dexpr *e) {
  ir_shape r = ir_shape_make(t, n, NULL);
  for (int i = 0; i < n; i++) assert_true(ir_shape_set_dim(m, &r, i, e[i]));
  return r;
}

static ir_dexpr k(ir_module *m, int64_t v) { return ir_dexpr_const(m, v); }

#define assert_sshape(f, id, expect)                                                                   \
  do {                                                                                                 \
    ir_id id_ = (id);                                                                                  \
    if (id_ == IR_NONE) {                                                                              \
      print_error("unexpected refusal: %s\n", (f)->d.text);                                            \
      fail();                                                                                          \
    }                                                                                                  \
    char sb_[512];                                                                                     \
    const ir_inst *in_ = &(f)->c->insts[id_];                                                          \
    assert_string_equal(ir_result_str_m((f)->m, &in_->shape, in_->tuple, in_->ntuple, sb_, sizeof sb_), \
                        (expect));                                                                     \
  } while (0)

/* f32[b,s] and friends. */
static ir_id param(sym_fixture *x, int64_t n, ir_type t, int rank, const ir_dexpr *e) {
  char name[16];
  snprintf(name, sizeof name, "in%lld", (long long)n);
  return ir_parameter(&x->f->b, n, sshape(x->f->m, t, rank, e), name);
}

/* ir_dexpr_nonneg proves what the plain range cannot when a floor atom
 * moves with the rest of the expression, and never claims a false one. */
static void test_nonneg(void **state) {
  sym_fixture *x = *state;
  ir_module *m = x->f->m;
  ir_dexpr s = x->s, h = ir_dexpr_floordiv(m, s, 2);
  ir_dexpr d = ir_dexpr_sub(m, s, h); /* s - floor(s/2) >= 1 */
  assert_true(ir_dexpr_lower(m, d) < 0);
  assert_true(ir_dexpr_nonneg(m, d));
  assert_true(ir_dexpr_nonneg(m, ir_dexpr_sub(m, s, ir_dexpr_ceildiv(m, s, 2))));     /* s - ceil(s/2) >= 0 */
  assert_true(ir_dexpr_nonneg(m, ir_dexpr_sub(m, s, ir_dexpr_mul_const(m, h, 2))));    /* s mod 2 */
  assert_false(ir_dexpr_nonneg(m, ir_dexpr_sub(m, ir_dexpr_const(m, 1), h)));           /* 1 - s/2 < 0 at s = 16 */
  assert_false(ir_dexpr_nonneg(m, ir_dexpr_sub(m, ir_dexpr_mul_const(m, h, 2), s)));   /* -1 at odd s */
  assert_false(ir_dexpr_nonneg(m, ir_dexpr_add_const(m, s, -2)));                      /* -1 at s = 1 */
}

static void test_elementwise(void **state) {
  sym_fixture *x = *state;
  fixture *f = x->f;
  ir_module *m = f->m;
  ir_id a = param(x, 0, IR_F32, 2, (ir_dexpr[]){x->b, x->s});
  ir_id c = param(x, 1, IR_F32, 2, (ir_dexpr[]){x->b, x->s});
  ir_id t = param(x, 2, IR_F32, 2, (ir_dexpr[]){x->s, x->b});
  ir_id bound = ir_parameter(&f->b, 3, ir_shape_make(IR_F32, 2, (int64_t[]){8, 16}), "bound");
  assert_sshape(f, a, "f32[b,s]{1,0}");
  assert_sshape(f, ir_binary(&f->b, IR_OP_ADD, a, c), "f32[b,s]{1,0}");
  assert_sshape(f, ir_unary(&f->b, IR_OP_EXP, a), "f32[b,s]{1,0}");
  ir_id p = ir_compare(&f->b, IR_CMP_LT, a, c);
  assert_sshape(f, p, "pred[b,s]{1,0}");
  assert_sshape(f, ir_select(&f->b, p, a, c), "f32[b,s]{1,0}");
  assert_sshape(f, ir_convert(&f->b, a, IR_F16), "f16[b,s]{1,0}");
  assert_sshape(f, ir_iota(&f->b, sshape(m, IR_I32, 2, (ir_dexpr[]){x->b, x->s}), 1), "i32[b,s]{1,0}");
  assert_sshape(f, ir_get_dimension_size(&f->b, a, 1), "i64[]");
  assert_sshape(f, ir_reverse(&f->b, a, 1, (int64_t[]){1}), "f32[b,s]{1,0}");
  assert_refused(f, ir_binary(&f->b, IR_OP_ADD, a, t), "add operands differ: f32[b,s]{1,0} and f32[s,b]{1,0}");
  /* The bound shape is not the symbolic one. */
  assert_refused(f, ir_binary(&f->b, IR_OP_MUL, a, bound), "mul operands differ: f32[b,s]{1,0} and f32[8,16]{1,0}");
  assert_sshape(f, ir_tuple(&f->b, 2, (ir_id[]){a, t}), "(f32[b,s]{1,0}, f32[s,b]{1,0})");
}

static void test_constant_and_parameter(void **state) {
  sym_fixture *x = *state;
  fixture *f = x->f;
  ir_module *m = f->m;
  float data[8] = {0};
  ir_shape cs = sshape(m, IR_F32, 1, &x->b);
  assert_refused(f, ir_constant(&f->b, cs, data), "a constant cannot have a symbolic shape (f32[b]{0})");
  /* dims[i] must hold the expression's bound. */
  ir_shape ps = sshape(m, IR_F32, 1, &x->b);
  ps.dims[0] = 7;
  assert_refused(f, ir_parameter(&f->b, 0, ps, NULL), "dimension 0 is b with bound 8, but 7 is held");
  /* A constant expression is a static dimension, never a sym. */
  ps.sym[0] = k(m, 4);
  ps.dims[0] = 4;
  assert_refused(f, ir_parameter(&f->b, 0, ps, NULL), "dimension 0 is the constant expression 4");
  ps.sym[0] = 999;
  assert_refused(f, ir_parameter(&f->b, 0, ps, NULL), "dimension 0 names expression 999");
}

static void test_broadcast_reshape_transpose(void **state) {
  sym_fixture *x = *state;
  fixture *f = x->f;
  ir_module *m = f->m;
  ir_id v = param(x, 0, IR_F32, 1, &x->s);
  ir_id a = param(x, 1, IR_F32, 3, (ir_dexpr[]){x->b, x->s, k(m, 4)});
  assert_sshape(f, ir_broadcast_to(&f->b, v, sshape(m, IR_F32, 2, (ir_dexpr[]){x->b, x->s}), (int64_t[]){1}),
                "f32[b,s]{1,0}");
  assert_refused(f, ir_broadcast_to(&f->b, v, ir_shape_make(IR_F32, 2, (int64_t[]){8, 16}), (int64_t[]){1}),
                 "broadcast operand dimension 0 (size s) does not match result dimension 1 (size 16)");
  ir_dexpr bs = ir_dexpr_mul(m, x->b, x->s);
  ir_dexpr s4 = ir_dexpr_mul_const(m, x->s, 4);
  assert_sshape(f, ir_reshape_to(&f->b, a, sshape(m, IR_F32, 2, (ir_dexpr[]){bs, k(m, 4)})), "f32[b*s,4]{1,0}");
  assert_sshape(f, ir_reshape_to(&f->b, a, sshape(m, IR_F32, 2, (ir_dexpr[]){s4, x->b})), "f32[4*s,b]{1,0}");
  assert_refused(f, ir_reshape_to(&f->b, a, sshape(m, IR_F32, 1, (ir_dexpr[]){ir_dexpr_add_const(m, bs, 1)})),
                 "reshape from f32[b,s,4]{2,1,0} to f32[b*s+1]{0} changes the element count (4*b*s vs b*s+1)");
  /* b*s*4 has bound 512, but is not 512. */
  assert_refused(f, ir_reshape_to(&f->b, a, ir_shape_make(IR_F32, 1, (int64_t[]){512})), "changes the element count");
  assert_sshape(f, ir_transpose(&f->b, a, (int64_t[]){2, 0, 1}), "f32[4,b,s]{2,1,0}");
}

static void test_slice(void **state) {
  sym_fixture *x = *state;
  fixture *f = x->f;
  ir_module *m = f->m;
  ir_id a = param(x, 0, IR_F32, 2, (ir_dexpr[]){x->b, x->s});
  ir_slice_attr sa;
  memset(&sa, 0, sizeof sa);
  /* [0:1] of b, [1:s] of s. */
  sa.start[0] = 0, sa.limit[0] = 1, sa.stride[0] = 1;
  sa.start[1] = 1, sa.limit[1] = 16, sa.limit_sym[1] = x->s, sa.stride[1] = 1;
  assert_sshape(f, ir_slice_attr_of(&f->b, a, &sa), "f32[1,s-1]{1,0}");
  /* [0:s:2]: ceil(s/2) = floor((s+1)/2). */
  sa.start[1] = 0, sa.stride[1] = 2;
  assert_sshape(f, ir_slice_attr_of(&f->b, a, &sa), "f32[1,(s+1)/2]{1,0}");
  /* [s/2:s]: s - floor(s/2). */
  ir_dexpr h = ir_dexpr_floordiv(m, x->s, 2);
  sa.start[1] = 8, sa.start_sym[1] = h, sa.stride[1] = 1;
  assert_sshape(f, ir_slice_attr_of(&f->b, a, &sa), "f32[1,s-s/2]{1,0}");
  /* [0:s/2], the other half. */
  sa.start[1] = 0, sa.start_sym[1] = 0, sa.limit[1] = 8, sa.limit_sym[1] = h;
  assert_sshape(f, ir_slice_attr_of(&f->b, a, &sa), "f32[1,s/2]{1,0}");
  /* Static bounds on a symbolic dimension, provable: [0:1] of s >= 1. */
  int64_t st[2] = {0, 0}, li[2] = {1, 1};
  assert_sshape(f, ir_slice(&f->b, a, st, li, NULL), "f32[1,1]{1,0}");
  /* A negative static start before a symbolic limit. */
  st[1] = -1, li[1] = 16;
  sa.start[1] = -1, sa.start_sym[1] = 0, sa.limit[1] = 16, sa.limit_sym[1] = x->s, sa.stride[1] = 1;
  assert_refused(f, ir_slice_attr_of(&f->b, a, &sa), "slice start -1 of dimension 1 is negative");
  st[1] = 0;
  /* [0:2] of s: s may be 1. */
  li[1] = 2;
  assert_refused(f, ir_slice(&f->b, a, st, li, NULL),
                 "slice limit 2 is past the end of dimension 1 (size s): cannot prove limit <= size for every binding");
  /* [0:s+1]: past the end for every binding. */
  sa.start[1] = 0, sa.start_sym[1] = 0;
  ir_dexpr s1 = ir_dexpr_add_const(m, x->s, 1);
  sa.limit[1] = 17, sa.limit_sym[1] = s1;
  assert_refused(f, ir_slice_attr_of(&f->b, a, &sa), "slice limit s+1 is past the end of dimension 1 (size s)");
  /* [s-3:s]: the start may be negative. */
  ir_dexpr sm3 = ir_dexpr_add_const(m, x->s, -3);
  sa.start[1] = 13, sa.start_sym[1] = sm3, sa.limit[1] = 16, sa.limit_sym[1] = x->s;
  assert_refused(f, ir_slice_attr_of(&f->b, a, &sa), "slice start of dimension 1 is s-3, which may be negative");
  /* [s:3]: start <= limit is not provable. */
  sa.start[1] = 16, sa.start_sym[1] = x->s, sa.limit[1] = 3, sa.limit_sym[1] = 0;
  ir_id big = param(x, 1, IR_F32, 2, (ir_dexpr[]){k(m, 1), k(m, 20)});
  assert_refused(f, ir_slice_attr_of(&f->b, big, &sa),
                 "slice bounds [s:3] of dimension 1: cannot prove start <= limit for every binding");
  /* The held value must be the expression's bound. */
  sa.start[1] = 0, sa.start_sym[1] = 0, sa.limit[1] = 15, sa.limit_sym[1] = x->s;
  assert_refused(f, ir_slice_attr_of(&f->b, a, &sa), "slice limit of dimension 1 is s with bound 16, but 15 is held");
}

static void test_dynamic_slices(void **state) {
  sym_fixture *x = *state;
  fixture *f = x->f;
  ir_module *m = f->m;
  ir_id a = param(x, 0, IR_F32, 2, (ir_dexpr[]){x->b, x->s});
  ir_id i0 = ir_parameter(&f->b, 1, ir_shape_scalar(IR_I32), "i");
  ir_id starts[2] = {i0, i0};
  assert_sshape(f, ir_dynamic_slice(&f->b, a, starts, (int64_t[]){1, 1}), "f32[1,1]{1,0}");
  assert_refused(f, ir_dynamic_slice(&f->b, a, starts, (int64_t[]){2, 1}),
                 "dynamic_slice size 2 may exceed dimension 0 of size b: cannot prove it fits for every binding");
  ir_id u = param(x, 2, IR_F32, 2, (ir_dexpr[]){k(m, 1), x->s});
  assert_sshape(f, ir_dynamic_update_slice(&f->b, a, u, starts), "f32[b,s]{1,0}");
  ir_id u2 = param(x, 3, IR_F32, 2, (ir_dexpr[]){k(m, 2), x->s});
  assert_refused(f, ir_dynamic_update_slice(&f->b, a, u2, starts),
                 "update dimension 0 (2) may be larger than the operand's (b)");
}

static void test_concatenate_pad(void **state) {
  sym_fixture *x = *state;
  fixture *f = x->f;
  ir_module *m = f->m;
  ir_id a = param(x, 0, IR_F32, 2, (ir_dexpr[]){x->b, x->s});
  ir_id c = param(x, 1, IR_F32, 2, (ir_dexpr[]){x->b, k(m, 4)});
  ir_id bad = param(x, 2, IR_F32, 2, (ir_dexpr[]){k(m, 8), k(m, 4)});
  assert_sshape(f, ir_concatenate(&f->b, 2, (ir_id[]){a, c}, 1), "f32[b,s+4]{1,0}");
  assert_sshape(f, ir_concatenate(&f->b, 3, (ir_id[]){a, a, a}, 0), "f32[3*b,s]{1,0}");
  assert_sshape(f, ir_concatenate(&f->b, 2, (ir_id[]){c, c}, 1), "f32[b,8]{1,0}");
  assert_refused(f, ir_concatenate(&f->b, 2, (ir_id[]){c, bad}, 1),
                 "concatenate operand 1 differs in dimension 0: f32[8,4]{1,0} vs f32[b,4]{1,0}");
  ir_id zero = ir_constant_f(&f->b, IR_F32, 0);
  /* s + 1 + 2 + 1*(s-1) = 2*s+2; b + 0 + 0 = b. */
  assert_sshape(f, ir_pad(&f->b, a, zero, (int64_t[]){0, 1}, (int64_t[]){0, 2}, (int64_t[]){0, 1}),
                "f32[b,2*s+2]{1,0}");
  /* s - 2 may be negative. */
  assert_refused(f, ir_pad(&f->b, a, zero, (int64_t[]){0, -2}, (int64_t[]){0, 0}, NULL),
                 "padding of dimension 1 gives the size s-2, which is negative for some binding");
  /* b - 1 may be 0: fine. */
  assert_sshape(f, ir_pad(&f->b, a, zero, (int64_t[]){-1, 0}, (int64_t[]){0, 0}, NULL), "f32[b-1,s]{1,0}");
}

static void test_reductions_and_windows(void **state) {
  sym_fixture *x = *state;
  fixture *f = x->f;
  ir_module *m = f->m;
  ir_id a = param(x, 0, IR_F32, 3, (ir_dexpr[]){x->b, x->s, k(m, 4)});
  assert_sshape(f, ir_reduce(&f->b, a, 1, (int64_t[]){2}, IR_COMB_ADD), "f32[b,s]{1,0}");
  assert_sshape(f, ir_reduce(&f->b, a, 1, (int64_t[]){0}, IR_COMB_MAX), "f32[s,4]{1,0}");
  ir_window w;
  memset(&w, 0, sizeof w);
  w.rank = 3;
  for (int i = 0; i < 3; i++) w.d[i] = (ir_window_dim){1, 1, 0, 0, 1, 1};
  /* Dimension 1: size 3, stride 2, pads 1/1: floor((s + 2 - 3) / 2) + 1 =
   * floor((s - 1) / 2) + 1 = floor((s + 1) / 2). */
  w.d[1] = (ir_window_dim){3, 2, 1, 1, 1, 1};
  assert_sshape(f, ir_reduce_window(&f->b, a, &w, IR_COMB_MAX), "f32[b,(s+1)/2,4]{2,1,0}");
  /* Size 3, no padding: s - 2 is negative for s = 1. */
  w.d[1] = (ir_window_dim){3, 1, 0, 0, 1, 1};
  assert_refused(f, ir_reduce_window(&f->b, a, &w, IR_COMB_MAX), "window dimension 1: the output size s-2 is negative");
  /* Base dilation 2, window 2, no padding: (s - 1) * 2 + 1 - 2 + 1 = 2*s-2. */
  w.d[1] = (ir_window_dim){2, 1, 0, 0, 2, 1};
  assert_sshape(f, ir_reduce_window(&f->b, a, &w, IR_COMB_ADD), "f32[b,2*s-2,4]{2,1,0}");
}

static void test_dot_convolution(void **state) {
  sym_fixture *x = *state;
  fixture *f = x->f;
  ir_module *m = f->m;
  ir_id q = param(x, 0, IR_F32, 3, (ir_dexpr[]){x->b, x->s, k(m, 4)});
  ir_id kt = param(x, 1, IR_F32, 3, (ir_dexpr[]){x->b, k(m, 4), x->s});
  ir_id w = param(x, 2, IR_F32, 2, (ir_dexpr[]){k(m, 4), k(m, 6)});
  assert_sshape(f, ir_matmul(&f->b, q, w), "f32[b,s,6]{2,1,0}");
  assert_sshape(f, ir_matmul(&f->b, q, kt), "f32[b,s,s]{2,1,0}");
  ir_id r = param(x, 3, IR_F32, 2, (ir_dexpr[]){x->b, x->s});
  ir_id r16 = ir_parameter(&f->b, 4, ir_shape_make(IR_F32, 2, (int64_t[]){16, 4}), "r16");
  assert_refused(f, ir_matmul(&f->b, r, r16), "contracting dimension sizes differ: s vs 16");
  ir_id kb = param(x, 5, IR_F32, 3, (ir_dexpr[]){x->s, k(m, 4), x->s});
  assert_refused(f, ir_matmul(&f->b, q, kb), "batch dimension 0 sizes differ: b vs s");

  /* NCHW input [b,3,s,s], OIHW kernel [5,3,3,3], stride 2, pad 1: each
   * spatial output is floor((s + 2 - 3) / 2) + 1 = floor((s + 1) / 2). */
  ir_id in = param(x, 6, IR_F32, 4, (ir_dexpr[]){x->b, k(m, 3), x->s, x->s});
  ir_id kern = ir_parameter(&f->b, 7, ir_shape_make(IR_F32, 4, (int64_t[]){5, 3, 3, 3}), "kern");
  ir_conv_dims cd = {.nspatial = 2, .in_batch = 0, .in_feature = 1, .in_spatial = {2, 3}, .k_in = 1, .k_out = 0,
                     .k_spatial = {2, 3}, .out_batch = 0, .out_feature = 1, .out_spatial = {2, 3}};
  ir_window cw = {.rank = 2, .d = {{3, 2, 1, 1, 1, 1}, {3, 2, 1, 1, 1, 1}}};
  assert_sshape(f, ir_convolution(&f->b, in, kern, &cw, &cd, 1, IR_TUPLE), "f32[b,5,(s+1)/2,(s+1)/2]{3,2,1,0}");
  ir_id symk = param(x, 8, IR_F32, 4, (ir_dexpr[]){k(m, 5), k(m, 3), k(m, 3), x->s});
  assert_refused(f, ir_convolution(&f->b, in, symk, &cw, &cd, 1, IR_TUPLE),
                 "convolution kernel f32[5,3,3,s]{3,2,1,0} has a symbolic dimension");
  ir_id symc = param(x, 9, IR_F32, 4, (ir_dexpr[]){x->b, x->s, x->s, x->s});
  assert_refused(f, ir_convolution(&f->b, symc, kern, &cw, &cd, 1, IR_TUPLE), "input feature dimension");
}

static void test_gather_scatter_sort(void **state) {
  sym_fixture *x = *state;
  fixture *f = x->f;
  ir_module *m = f->m;
  /* Embedding lookup: table f32[32,8], ids i32[b,s] -> f32[b,s,8]. */
  ir_id table = ir_parameter(&f->b, 0, ir_shape_make(IR_F32, 2, (int64_t[]){32, 8}), "table");
  ir_id ids = param(x, 1, IR_I32, 2, (ir_dexpr[]){x->b, x->s});
  ir_gather_dims g;
  memset(&g, 0, sizeof g);
  g.noffset = 1, g.offset_dims[0] = 2;
  g.ncollapsed = 1, g.collapsed_slice_dims[0] = 0;
  g.nstart_map = 1, g.start_index_map[0] = 0;
  g.index_vector_dim = 2;
  g.slice_sizes[0] = 1, g.slice_sizes[1] = 8;
  assert_sshape(f, ir_gather(&f->b, table, ids, &g), "f32[b,s,8]{2,1,0}");
  /* A symbolic slice size: row i of a f32[b,s] operand, all s columns. */
  ir_id a = param(x, 2, IR_F32, 2, (ir_dexpr[]){x->b, x->s});
  ir_id i = ir_parameter(&f->b, 3, ir_shape_scalar(IR_I32), "i");
  memset(&g, 0, sizeof g);
  g.noffset = 1, g.offset_dims[0] = 0;
  g.ncollapsed = 1, g.collapsed_slice_dims[0] = 0;
  g.nstart_map = 1, g.start_index_map[0] = 0;
  g.index_vector_dim = 0;
  g.slice_sizes[0] = 1, g.slice_sizes[1] = 16, g.slice_sizes_sym[1] = x->s;
  assert_sshape(f, ir_gather(&f->b, a, i, &g), "f32[s]{0}");
  g.slice_sizes[1] = 17, g.slice_sizes_sym[1] = ir_dexpr_add_const(m, x->s, 1);
  assert_refused(f, ir_gather(&f->b, a, i, &g), "slice_sizes[1] = s+1 may exceed operand dimension 1 (size s)");
  g.slice_sizes[1] = 2, g.slice_sizes_sym[1] = 0;
  assert_refused(f, ir_gather(&f->b, a, i, &g), "slice_sizes[1] = 2 may exceed operand dimension 1 (size s)");

  /* Scatter rows: operand f32[b,s], indices i32[4,1], updates f32[4,s]. */
  ir_id idx = ir_parameter(&f->b, 4, ir_shape_make(IR_I32, 2, (int64_t[]){4, 1}), "idx");
  ir_id upd = param(x, 5, IR_F32, 2, (ir_dexpr[]){k(m, 4), x->s});
  ir_id upd16 = ir_parameter(&f->b, 6, ir_shape_make(IR_F32, 2, (int64_t[]){4, 16}), "upd16");
  ir_scatter_dims sd;
  memset(&sd, 0, sizeof sd);
  sd.nwindow = 1, sd.update_window_dims[0] = 1;
  sd.ninserted = 1, sd.inserted_window_dims[0] = 0;
  sd.nscatter_map = 1, sd.scatter_dims_to_operand_dims[0] = 0;
  sd.index_vector_dim = 1;
  assert_sshape(f, ir_scatter(&f->b, a, idx, upd, &sd, IR_COMB_ADD), "f32[b,s]{1,0}");
  assert_refused(f, ir_scatter(&f->b, a, idx, upd16, &sd, IR_COMB_ADD),
                 "update window dimension 1 (16) may be larger than operand dimension 1 (s)");
  /* Scatter dimensions must equal the indices', symbol for symbol. */
  ir_id sidx = param(x, 7, IR_I32, 2, (ir_dexpr[]){x->b, k(m, 1)});
  ir_id supd = param(x, 8, IR_F32, 2, (ir_dexpr[]){x->s, x->s});
  assert_refused(f, ir_scatter(&f->b, a, sidx, supd, &sd, IR_COMB_ADD), "update scatter dimension 0 does not match");

  ir_id keys = param(x, 9, IR_I32, 2, (ir_dexpr[]){x->b, x->s});
  assert_sshape(f, ir_sort(&f->b, 2, (ir_id[]){a, keys}, 1, false), "(f32[b,s]{1,0}, i32[b,s]{1,0})");
  ir_id k16 = ir_parameter(&f->b, 10, ir_shape_make(IR_I32, 2, (int64_t[]){8, 16}), "k16");
  assert_refused(f, ir_sort(&f->b, 2, (ir_id[]){a, k16}, 1, false), "sort operands must have equal dimensions");
}

static void test_custom_call(void **state) {
  sym_fixture *x = *state;
  fixture *f = x->f;
  ir_module *m = f->m;
  ir_id a = param(x, 0, IR_F32, 2, (ir_dexpr[]){x->b, x->s});
  ir_shape rs = sshape(m, IR_F32, 1, (ir_dexpr[]){ir_dexpr_mul(m, x->b, x->s)});
  assert_sshape(f, ir_custom_call(&f->b, "t", NULL, 1, &a, rs, 0, NULL), "f32[b*s]{0}");
  rs.dims[0] = 100;
  assert_refused(f, ir_custom_call(&f->b, "t", NULL, 1, &a, rs, 0, NULL), "dimension 0 is b*s with bound 128, but 100 is held");
}

/* The verifier: a valid symbolic module passes; tampered dimensions and
 * attributes are reported naming the instruction. */
static void test_verify(void **state) {
  sym_fixture *x = *state;
  fixture *f = x->f;
  ir_module *m = f->m;
  ir_id a = param(x, 0, IR_F32, 2, (ir_dexpr[]){x->b, x->s});
  ir_slice_attr sa;
  memset(&sa, 0, sizeof sa);
  sa.limit[0] = 8, sa.limit_sym[0] = x->b, sa.stride[0] = 1;
  sa.start[1] = 1, sa.limit[1] = 16, sa.limit_sym[1] = x->s, sa.stride[1] = 1;
  ir_id sl = ir_slice_attr_of(&f->b, a, &sa);
  ir_id e = ir_unary(&f->b, IR_OP_EXP, sl);
  ir_id t = ir_tuple(&f->b, 2, (ir_id[]){sl, e});
  assert_true(ir_set_root(&f->b, t, 2, NULL));
  msgs d;
  msgs_init(&d);
  assert_true(ir_verify(m, &d.sink));
  assert_true(ir_module_is_symbolic(m));

  /* exp declared with the bound shape instead of the symbolic one. */
  ir_inst *ei = &f->c->insts[e];
  ei->shape.sym[1] = 0;
  assert_false(ir_verify(m, &d.sink));
  assert_contains(d.text, "instruction %");
  assert_contains(d.text, "(exp): declared shape f32[b,15]{1,0}, but the operands give f32[b,s-1]{1,0}");
  ei->shape.sym[1] = f->c->insts[sl].shape.sym[1];
  msgs_clear(&d);
  assert_true(ir_verify(m, &d.sink));

  /* A slice limit that names a constant expression. */
  ir_inst *si = &f->c->insts[sl];
  si->a.slice->limit_sym[0] = k(m, 8);
  assert_false(ir_verify(m, &d.sink));
  assert_contains(d.text, "(slice): the limit of dimension 0 is the constant expression 8; it must be static");
  si->a.slice->limit_sym[0] = x->b;
  msgs_clear(&d);
  /* A root tuple element whose bound is wrong. */
  ir_inst *ti = &f->c->insts[t];
  ti->tuple[1].dims[0] = 3;
  assert_false(ir_verify(m, &d.sink));
  assert_contains(d.text, "(tuple): tuple element 1: dimension 0 is b with bound 8, but 3 is held");
  ti->tuple[1].dims[0] = 8;
  msgs_clear(&d);
  assert_true(ir_verify(m, &d.sink));
}

/* The module the binding tests use:
 *   x: f32[b,s], mask: f32[b]
 *   flat = reshape(x) : f32[b*s]
 *   tail = slice(x) [0:b, 1:s] : f32[b,s-1]
 *   sum  = reduce(tail, {1}, add) + mask : f32[b]
 *   n    = get_dimension_size(x, 1) : i64[]
 */
static ir_module *bind_module(void) {
  msgs d;
  msgs_init(&d);
  ir_module *m = ir_module_create("bind");
  ir_comp *c = ir_comp_add(m, "main", true);
  ir_builder bl;
  ir_builder_init(&bl, m, c, &d.sink);
  ir_dexpr b = ir_sym_declare(m, "b", 4), s = ir_sym_declare(m, "s", 6);
  ir_id x = ir_parameter(&bl, 0, sshape(m, IR_F32, 2, (ir_dexpr[]){b, s}), "x");
  ir_id mask = ir_parameter(&bl, 1, sshape(m, IR_F32, 1, &b), "mask");
  ir_id flat = ir_reshape_to(&bl, x, sshape(m, IR_F32, 1, (ir_dexpr[]){ir_dexpr_mul(m, b, s)}));
  ir_slice_attr sa;
  memset(&sa, 0, sizeof sa);
  sa.limit[0] = 4, sa.limit_sym[0] = b, sa.stride[0] = 1;
  sa.start[1] = 1, sa.limit[1] = 6, sa.limit_sym[1] = s, sa.stride[1] = 1;
  ir_id tail = ir_slice_attr_of(&bl, x, &sa);
  ir_id sum = ir_binary(&bl, IR_OP_ADD, ir_reduce(&bl, tail, 1, (int64_t[]){1}, IR_COMB_ADD), mask);
  ir_id n = ir_get_dimension_size(&bl, x, 1);
  ir_id t = ir_tuple(&bl, 4, (ir_id[]){flat, tail, sum, n});
  const char *names[] = {"flat", "tail", "sum", "n"};
  if (!ir_set_root(&bl, t, 4, names) || !ir_verify(m, &d.sink)) {
    print_error("%s", d.text);
    fail();
  }
  return m;
}

/* Binds at (bv, sv), checks the shapes and evaluates. x[i][j] = 10*i + j,
 * mask[i] = 100*i. Expected, by hand: flat is x row by row; tail drops
 * column 0; sum[i] = sum_{j=1}^{s-1} (10*i + j) + 100*i
 *                  = 10*i*(s-1) + s*(s-1)/2 + 100*i; n = s. */
static void check_binding(ir_module *m, int64_t bv, int64_t sv) {
  msgs d;
  msgs_init(&d);
  ir_shape actual[2] = {ir_shape_make(IR_F32, 2, (int64_t[]){bv, sv}), ir_shape_make(IR_F32, 1, &bv)};
  int64_t binding[2] = {-1, -1};
  if (!ir_binding_from_params(m, actual, 2, binding, &d.sink)) {
    print_error("%s", d.text);
    fail();
  }
  assert_int_equal(binding[0], bv);
  assert_int_equal(binding[1], sv);
  ir_module *k = ir_module_bind(m, binding, &d.sink);
  if (!k) {
    print_error("%s", d.text);
    fail();
  }
  assert_false(ir_module_is_symbolic(k));
  assert_true(ir_module_is_symbolic(m)); /* the source is untouched */
  const ir_comp *e = ir_module_entry(k);
  const ir_inst *root = &e->insts[e->root];
  char want[64], got[160];
  snprintf(want, sizeof want, "f32[%lld]{0}", (long long)(bv * sv));
  assert_string_equal(ir_shape_str(&root->tuple[0], got, sizeof got), want);
  snprintf(want, sizeof want, "f32[%lld,%lld]{1,0}", (long long)bv, (long long)(sv - 1));
  assert_string_equal(ir_shape_str(&root->tuple[1], got, sizeof got), want);
  snprintf(want, sizeof want, "f32[%lld]{0}", (long long)bv);
  assert_string_equal(ir_shape_str(&root->tuple[2], got, sizeof got), want);
  /* get_dimension_size became a constant. */
  assert_int_equal(e->insts[root->ops[3]].op, IR_OP_CONSTANT);

  float xs[4 * 6], mask[4], flat[24], tail[24], sum[4];
  int64_t n = -1;
  for (int64_t i = 0; i < bv; i++) {
    mask[i] = (float)(100 * i);
    for (int64_t j = 0; j < sv; j++) xs[i * sv + j] = (float)(10 * i + j);
  }
  const void *in[2] = {xs, mask};
  void *out[4] = {flat, tail, sum, &n};
  if (!ir_eval_module(k, NULL, in, out, &d.sink)) {
    print_error("%s", d.text);
    fail();
  }
  for (int64_t i = 0; i < bv * sv; i++) assert_true(flat[i] == (float)(10 * (i / sv) + i % sv));
  for (int64_t i = 0; i < bv; i++) {
    for (int64_t j = 0; j < sv - 1; j++) assert_true(tail[i * (sv - 1) + j] == (float)(10 * i + j + 1));
    assert_true(sum[i] == (float)(10 * i * (sv - 1) + sv * (sv - 1) / 2 + 100 * i));
  }
  assert_int_equal(n, sv);
  ir_module_destroy(k);
}

static void test_bind_and_eval(void **state) {
  (void)state;
  ir_module *m = bind_module();
  check_binding(m, 2, 3);
  check_binding(m, 4, 6); /* the bounds */
  check_binding(m, 1, 1); /* tail is empty */
  ir_module_destroy(m);
}

static void test_binding_refusals(void **state) {
  (void)state;
  ir_module *m = bind_module();
  msgs d;
  msgs_init(&d);
  int64_t binding[2];
  /* Inconsistent inputs. */
  ir_shape a[2] = {ir_shape_make(IR_F32, 2, (int64_t[]){3, 2}), ir_shape_make(IR_F32, 1, (int64_t[]){2})};
  assert_false(ir_binding_from_params(m, a, 2, binding, &d.sink));
  assert_contains(d.text, "input 'mask': dimension 0 is 'b' = 2, but input 'x' has 'b' = 3");
  msgs_clear(&d);
  /* Out of bound. */
  a[0] = ir_shape_make(IR_F32, 2, (int64_t[]){5, 2});
  a[1] = ir_shape_make(IR_F32, 1, (int64_t[]){5});
  assert_false(ir_binding_from_params(m, a, 2, binding, &d.sink));
  assert_contains(d.text, "input 'x': dimension 0: symbol 'b' = 5 exceeds its bound 4 (--max-shape)");
  msgs_clear(&d);
  a[0] = ir_shape_make(IR_F32, 2, (int64_t[]){2, 0});
  a[1] = ir_shape_make(IR_F32, 1, (int64_t[]){2});
  assert_false(ir_binding_from_params(m, a, 2, binding, &d.sink));
  assert_contains(d.text, "symbol 's' = 0, but a symbolic dimension is at least 1");
  msgs_clear(&d);
  /* Wrong rank, wrong count. */
  a[0] = ir_shape_make(IR_F32, 1, (int64_t[]){2});
  assert_false(ir_binding_from_params(m, a, 2, binding, &d.sink));
  assert_contains(d.text, "input 'x' has rank 2 (f32[b,s]{1,0}), but the given shape f32[2]{0} has rank 1");
  msgs_clear(&d);
  assert_false(ir_binding_from_params(m, a, 1, binding, &d.sink));
  assert_contains(d.text, "takes 2 inputs, 1 given");
  msgs_clear(&d);
  /* ir_module_bind refuses values outside [1, bound] itself. */
  int64_t over[2] = {5, 2}, zero[2] = {1, 0};
  assert_null(ir_module_bind(m, over, &d.sink));
  assert_contains(d.text, "symbol 'b' = 5 exceeds its bound 4 (--max-shape)");
  msgs_clear(&d);
  assert_null(ir_module_bind(m, zero, &d.sink));
  assert_contains(d.text, "symbol 's' = 0, but a symbolic dimension is at least 1");
  ir_module_destroy(m);
}

/* Inputs whose dimensions are expressions, and a symbol only an
 * expression mentions. */
static void test_binding_expressions(void **state) {
  (void)state;
  msgs d;
  msgs_init(&d);
  ir_module *m = ir_module_create("expr");
  ir_comp *c = ir_comp_add(m, "main", true);
  ir_builder bl;
  ir_builder_init(&bl, m, c, &d.sink);
  ir_dexpr b = ir_sym_declare(m, "b", 4), s = ir_sym_declare(m, "s", 6);
  ir_id x = ir_parameter(&bl, 0, sshape(m, IR_F32, 1, &b), "x");
  ir_id y = ir_parameter(&bl, 1, sshape(m, IR_F32, 2, (ir_dexpr[]){ir_dexpr_mul_const(m, b, 2), k(m, 3)}), NULL);
  ir_id t = ir_tuple(&bl, 2, (ir_id[]){x, y});
  assert_true(ir_set_root(&bl, t, 2, NULL));
  int64_t binding[2];
  ir_shape a[2] = {ir_shape_make(IR_F32, 1, (int64_t[]){3}), ir_shape_make(IR_F32, 2, (int64_t[]){6, 3})};
  /* s is used nowhere: no input determines it. */
  assert_false(ir_binding_from_params(m, a, 2, binding, &d.sink));
  assert_contains(d.text, "symbol 's' is not determined by the inputs: no input dimension uses it");
  msgs_clear(&d);
  ir_module_destroy(m);

  m = ir_module_create("expr");
  c = ir_comp_add(m, "main", true);
  ir_builder_init(&bl, m, c, &d.sink);
  b = ir_sym_declare(m, "b", 4), s = ir_sym_declare(m, "s", 6);
  x = ir_parameter(&bl, 0, sshape(m, IR_F32, 1, &b), "x");
  y = ir_parameter(&bl, 1, sshape(m, IR_F32, 2, (ir_dexpr[]){ir_dexpr_mul_const(m, b, 2), k(m, 3)}), NULL);
  ir_id z = ir_parameter(&bl, 2, sshape(m, IR_F32, 1, (ir_dexpr[]){ir_dexpr_add_const(m, s, 1)}), "z");
  t = ir_tuple(&bl, 3, (ir_id[]){x, y, z});
  assert_true(ir_set_root(&bl, t, 3, NULL));
  ir_shape a3[3] = {ir_shape_make(IR_F32, 1, (int64_t[]){3}), ir_shape_make(IR_F32, 2, (int64_t[]){6, 3}),
                    ir_shape_make(IR_F32, 1, (int64_t[]){4})};
  assert_false(ir_binding_from_params(m, a3, 3, binding, &d.sink));
  assert_contains(d.text, "symbol 's' is not determined by the inputs: input 'z' dimension 0 is s+1");
  msgs_clear(&d);
  ir_module_destroy(m);

  /* Without the s input: y's 2*b is checked against b from x. The
   * unnamed parameter is named by its instruction name. */
  m = ir_module_create("expr");
  c = ir_comp_add(m, "main", true);
  ir_builder_init(&bl, m, c, &d.sink);
  b = ir_sym_declare(m, "b", 4);
  x = ir_parameter(&bl, 0, sshape(m, IR_F32, 1, &b), "x");
  y = ir_parameter(&bl, 1, sshape(m, IR_F32, 2, (ir_dexpr[]){ir_dexpr_mul_const(m, b, 2), k(m, 3)}), NULL);
  t = ir_tuple(&bl, 2, (ir_id[]){x, y});
  assert_true(ir_set_root(&bl, t, 2, NULL));
  assert_true(ir_binding_from_params(m, a, 2, binding, &d.sink));
  assert_int_equal(binding[0], 3);
  a[1].dims[0] = 5;
  assert_false(ir_binding_from_params(m, a, 2, binding, &d.sink));
  char want[128];
  snprintf(want, sizeof want, "input '%s': dimension 0 is 2*b = 6 at this binding, but the given size is 5",
           c->insts[y].name);
  assert_contains(d.text, want);
  msgs_clear(&d);
  a[1].dims[0] = 6, a[1].dims[1] = 4;
  assert_false(ir_binding_from_params(m, a, 2, binding, &d.sink));
  assert_contains(d.text, "dimension 1 is 3, but the given size is 4");
  ir_module_destroy(m);
}

/* A shape that is valid for some bindings only is refused at binding, by
 * the verifier, naming the instruction. Here: a slice [s-2:s] of a
 * dimension of size s, built by hand past the shape rule (which refuses
 * it, since s - 2 may be negative). */
static void test_bind_invalid_at_binding(void **state) {
  (void)state;
  msgs d;
  msgs_init(&d);
  ir_module *m = ir_module_create("late");
  ir_comp *c = ir_comp_add(m, "main", true);
  ir_builder bl;
  ir_builder_init(&bl, m, c, &d.sink);
  ir_dexpr s = ir_sym_declare(m, "s", 6);
  ir_id x = ir_parameter(&bl, 0, sshape(m, IR_F32, 1, &s), "x");
  ir_shape rs = sshape(m, IR_F32, 1, (ir_dexpr[]){ir_dexpr_add_const(m, s, -1)});
  ir_id r = ir_custom_call(&bl, "t", NULL, 1, &x, rs, 0, NULL);
  ir_id t = ir_tuple(&bl, 1, &r);
  assert_true(ir_set_root(&bl, t, 1, NULL));
  assert_true(ir_verify(m, &d.sink));
  /* Turn the custom call into a slice [2:s]: size s - 2. Shapes say s - 1,
   * so the verifier must refuse at any binding; at s = 1 binding already
   * fails on the slice limit. */
  ir_inst *in = &c->insts[r];
  ir_slice_attr *sa = arena_alloc(&m->arena, sizeof *sa, 8);
  assert_non_null(sa);
  memset(sa, 0, sizeof *sa);
  sa->start[0] = 2, sa->limit[0] = 6, sa->limit_sym[0] = s, sa->stride[0] = 1;
  in->op = IR_OP_SLICE;
  in->a.slice = sa;
  assert_false(ir_verify(m, &d.sink));
  msgs_clear(&d);
  int64_t v = 3;
  assert_null(ir_module_bind(m, &v, &d.sink));
  assert_contains(d.text, "slice): declared shape f32[2]{0}, but the operands give f32[1]{0}");
  msgs_clear(&d);
  v = 1;
  assert_null(ir_module_bind(m, &v, &d.sink));
  assert_contains(d.text, "slice): slice bounds [2:1:1] invalid for dimension 0 of size 1");
  ir_module_destroy(m);
}

/* get_dimension_size of a static dimension folds to a constant; of a
 * symbolic one it stays. The default pipeline keeps a symbolic module
 * symbolic and valid (the verifier runs after every pass in test builds). */
static void test_passes(void **state) {
  (void)state;
  msgs d;
  msgs_init(&d);
  ir_module *m = ir_module_create("p");
  ir_comp *c = ir_comp_add(m, "main", true);
  ir_builder bl;
  ir_builder_init(&bl, m, c, &d.sink);
  ir_dexpr b = ir_sym_declare(m, "b", 8), s = ir_sym_declare(m, "s", 16);
  ir_id x = ir_parameter(&bl, 0, sshape(m, IR_F32, 3, (ir_dexpr[]){b, s, k(m, 4)}), "x");
  ir_id w = ir_parameter(&bl, 1, ir_shape_make(IR_F32, 2, (int64_t[]){4, 4}), "w");
  ir_id h = ir_matmul(&bl, x, w);
  ir_id zero = ir_constant_f(&bl, IR_F32, 0);
  ir_id zb = ir_broadcast_to(&bl, zero, c->insts[h].shape, NULL);
  ir_id relu = ir_binary(&bl, IR_OP_MAX, h, zb);
  ir_id one = ir_constant_f(&bl, IR_F32, 1);
  ir_id ob = ir_broadcast_to(&bl, one, c->insts[h].shape, NULL);
  ir_id y = ir_binary(&bl, IR_OP_MUL, relu, ob);
  ir_id flat = ir_reshape_to(&bl, y, sshape(m, IR_F32, 2, (ir_dexpr[]){ir_dexpr_mul(m, b, s), k(m, 4)}));
  ir_id n2 = ir_get_dimension_size(&bl, x, 2);
  ir_id n1 = ir_get_dimension_size(&bl, x, 1);
  ir_id t = ir_tuple(&bl, 3, (ir_id[]){flat, n2, n1});
  const char *names[] = {"flat", "n2", "n1"};
  assert_true(ir_set_root(&bl, t, 3, names));
  assert_true(ir_verify(m, &d.sink));

  pass_ctx pc = {0};
  pc.d = &d.sink;
  pc.verify = true;
  if (!pass_run(m, NULL, NULL, &pc)) {
    print_error("%s", d.text);
    fail();
  }
  assert_true(ir_module_is_symbolic(m));
  const ir_comp *e = ir_module_entry(m);
  const ir_inst *root = &e->insts[e->root];
  char got[160];
  assert_string_equal(ir_shape_str_m(m, &root->tuple[0], got, sizeof got), "f32[b*s,4]{1,0}");
  /* Follow the outputs (a fusion may wrap them) to what produces n2 and n1. */
  const ir_inst *o2 = &e->insts[root->ops[1]], *o1 = &e->insts[root->ops[2]];
  assert_int_equal(o2->op, IR_OP_CONSTANT);
  assert_int_equal(*(const int64_t *)o2->data, 4);
  assert_int_equal(o1->op, IR_OP_GET_DIMENSION_SIZE);
  ir_module_destroy(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_nonneg, sym_setup, sym_teardown),
      cmocka_unit_test_setup_teardown(test_elementwise, sym_setup, sym_teardown),
      cmocka_unit_test_setup_teardown(test_constant_and_parameter, sym_setup, sym_teardown),
      cmocka_unit_test_setup_teardown(test_broadcast_reshape_transpose, sym_setup, sym_teardown),
      cmocka_unit_test_setup_teardown(test_slice, sym_setup, sym_teardown),
      cmocka_unit_test_setup_teardown(test_dynamic_slices, sym_setup, sym_teardown),
      cmocka_unit_test_setup_teardown(test_concatenate_pad, sym_setup, sym_teardown),
      cmocka_unit_test_setup_teardown(test_reductions_and_windows, sym_setup, sym_teardown),
      cmocka_unit_test_setup_teardown(test_dot_convolution, sym_setup, sym_teardown),
      cmocka_unit_test_setup_teardown(test_gather_scatter_sort, sym_setup, sym_teardown),
      cmocka_unit_test_setup_teardown(test_custom_call, sym_setup, sym_teardown),
      cmocka_unit_test_setup_teardown(test_verify, sym_setup, sym_teardown),
      cmocka_unit_test(test_bind_and_eval),
      cmocka_unit_test(test_binding_refusals),
      cmocka_unit_test(test_binding_expressions),
      cmocka_unit_test(test_bind_invalid_at_binding),
      cmocka_unit_test(test_passes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
