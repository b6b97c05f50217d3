/*
 * Builder and shape inference, part 1: leaves (parameter, constant, iota),
 * elementwise ops (unary, binary, compare, select, clamp, convert), data
 * movement (broadcast, reshape, transpose, slice, dynamic_slice and its
 * update, concatenate, pad, reverse) and structure (tuple,
 * get_tuple_element, fusion, custom_call, roots). Every valid case states
 * its result shape by hand; every invalid case checks that the builder
 * refuses it with a message naming the broken rule.
 * Contractions and reductions are in test_builder_contract.c.
 */
#include "tests/unit/unit.h"

static ir_id param(fixture *f, int64_t n, ir_type t, int rank, const int64_t *dims) {
  ir_id id = ir_parameter(&f->b, n, ir_shape_make(t, rank, dims), NULL);
  assert_int_not_equal(id, IR_NONE);
  return id;
}

#define D(...) ((const int64_t[]){__VA_ARGS__})

static void test_leaves(void **state) {
  fixture *f = *state;
  assert_shape(f, param(f, 0, IR_F32, 2, D(2, 3)), "f32[2,3]{1,0}");
  assert_refused(f, ir_parameter(&f->b, -1, ir_shape_scalar(IR_F32), NULL), "parameter number -1 is negative");
  assert_refused(f, ir_parameter(&f->b, 1, ir_shape_make(IR_F32, 2, D(2, -3)), NULL), "dimension 1 is negative");
  assert_refused(f, ir_parameter(&f->b, 1, ir_shape_make(IR_F32, 2, D((int64_t)1 << 40, (int64_t)1 << 40)), NULL),
                 "is too large");

  float data[2] = {1, 2};
  assert_shape(f, ir_constant(&f->b, ir_shape_make(IR_F32, 1, D(2)), data), "f32[2]{0}");
  ir_id c = ir_constant_f(&f->b, IR_F16, 1.0);
  assert_shape(f, c, "f16[]");
  assert_int_equal(*(const uint16_t *)f->c->insts[c].data, 0x3c00);
  c = ir_constant_i(&f->b, IR_I8, 300); /* wraps to 300 - 256 */
  assert_shape(f, c, "i8[]");
  assert_int_equal(*(const int8_t *)f->c->insts[c].data, 44);
  c = ir_constant_i(&f->b, IR_PRED, 7);
  assert_int_equal(*(const uint8_t *)f->c->insts[c].data, 1);
  ir_shape tup = ir_shape_scalar(IR_F32);
  tup.type = IR_TUPLE;
  assert_refused(f, ir_constant(&f->b, tup, data), "constant: invalid shape");

  assert_shape(f, ir_iota(&f->b, ir_shape_make(IR_I32, 2, D(3, 4)), 1), "i32[3,4]{1,0}");
  assert_shape(f, ir_iota(&f->b, ir_shape_make(IR_F32, 1, D(0)), 0), "f32[0]{0}");
  assert_refused(f, ir_iota(&f->b, ir_shape_make(IR_I32, 2, D(3, 4)), 2), "iota_dimension 2 out of range for rank 2");
  assert_refused(f, ir_iota(&f->b, ir_shape_make(IR_I32, 2, D(3, 4)), -1), "iota_dimension -1 out of range");
  assert_refused(f, ir_iota(&f->b, ir_shape_make(IR_PRED, 1, D(3)), 0), "iota needs a numeric array shape");
  assert_refused(f, ir_iota(&f->b, ir_shape_scalar(IR_I32), 0), "iota needs rank >= 1");
}

static void test_unary(void **state) {
  fixture *f = *state;
  ir_id x = param(f, 0, IR_F32, 2, D(2, 3));
  ir_id i = param(f, 1, IR_I32, 1, D(4));
  ir_id p = param(f, 2, IR_PRED, 0, NULL);
  assert_shape(f, ir_unary(&f->b, IR_OP_EXP, x), "f32[2,3]{1,0}");
  assert_shape(f, ir_unary(&f->b, IR_OP_NEG, i), "i32[4]{0}");
  assert_shape(f, ir_unary(&f->b, IR_OP_NOT, i), "i32[4]{0}");
  assert_shape(f, ir_unary(&f->b, IR_OP_NOT, p), "pred[]");
  assert_shape(f, ir_unary(&f->b, IR_OP_IS_FINITE, x), "pred[2,3]{1,0}");
  assert_shape(f, ir_unary(&f->b, IR_OP_COPY, p), "pred[]");
  assert_refused(f, ir_unary(&f->b, IR_OP_EXP, i), "exp needs a floating-point operand, got i32");
  assert_refused(f, ir_unary(&f->b, IR_OP_NOT, x), "not needs a pred or integer operand, got f32");
  assert_refused(f, ir_unary(&f->b, IR_OP_NEG, p), "neg needs a numeric (integer or floating-point) operand, got pred");
  assert_refused(f, ir_unary(&f->b, IR_OP_ADD, x), "add is not a unary elementwise op");
}

static void test_binary_compare(void **state) {
  fixture *f = *state;
  ir_id x = param(f, 0, IR_F32, 2, D(2, 3));
  ir_id y = param(f, 1, IR_F32, 2, D(2, 3));
  ir_id t = param(f, 2, IR_F32, 2, D(3, 2));
  ir_id i = param(f, 3, IR_I32, 2, D(2, 3));
  ir_id p = param(f, 4, IR_PRED, 2, D(2, 3));
  assert_shape(f, ir_binary(&f->b, IR_OP_ADD, x, y), "f32[2,3]{1,0}");
  assert_shape(f, ir_binary(&f->b, IR_OP_SHL, i, i), "i32[2,3]{1,0}");
  assert_shape(f, ir_binary(&f->b, IR_OP_AND, p, p), "pred[2,3]{1,0}");
  assert_shape(f, ir_binary(&f->b, IR_OP_ATAN2, x, y), "f32[2,3]{1,0}");
  assert_refused(f, ir_binary(&f->b, IR_OP_ADD, x, t), "add operands differ: f32[2,3]{1,0} and f32[3,2]{1,0}");
  assert_refused(f, ir_binary(&f->b, IR_OP_MUL, x, i), "mul operands differ: f32[2,3]{1,0} and i32[2,3]{1,0}");
  assert_refused(f, ir_binary(&f->b, IR_OP_SHL, x, y), "shift_left needs an integer operand, got f32");
  assert_refused(f, ir_binary(&f->b, IR_OP_ATAN2, i, i), "atan2 needs a floating-point operand, got i32");
  assert_refused(f, ir_binary(&f->b, IR_OP_ADD, p, p), "add needs a numeric");
  assert_refused(f, ir_binary(&f->b, IR_OP_NEG, x, y), "neg is not a binary elementwise op");

  assert_shape(f, ir_compare(&f->b, IR_CMP_LT, x, y), "pred[2,3]{1,0}");
  assert_shape(f, ir_compare(&f->b, IR_CMP_EQ, p, p), "pred[2,3]{1,0}");
  assert_shape(f, ir_compare(&f->b, IR_CMP_GE, i, i), "pred[2,3]{1,0}");
  assert_refused(f, ir_compare(&f->b, IR_CMP_EQ, x, i), "compare operands differ");

  /* IR_NONE operands propagate silently: one message for a chain. */
  assert_int_equal(ir_binary(&f->b, IR_OP_ADD, IR_NONE, x), IR_NONE);
  assert_int_equal(ir_unary(&f->b, IR_OP_EXP, IR_NONE), IR_NONE);
  assert_int_equal(f->d.count, 0);
  assert_int_equal(f->d.sink.errors, 0);

  /* Operand counts come from the op table. */
  ir_inst pr;
  memset(&pr, 0, sizeof pr);
  pr.op = IR_OP_ADD;
  pr.nops = 1;
  pr.ops = &x;
  assert_refused(f, ir_build(&f->b, &pr), "add takes 2 operands, got 1");
  ir_id three[3] = {x, x, x};
  pr.op = IR_OP_CONCATENATE;
  pr.nops = 0;
  pr.ops = three;
  assert_refused(f, ir_build(&f->b, &pr), "concatenate takes at least 1 operands, got 0");
}

static void test_select_clamp_convert(void **state) {
  fixture *f = *state;
  ir_id x = param(f, 0, IR_F32, 2, D(2, 3));
  ir_id y = param(f, 1, IR_F32, 2, D(2, 3));
  ir_id ps = param(f, 2, IR_PRED, 0, NULL);
  ir_id pa = param(f, 3, IR_PRED, 2, D(2, 3));
  ir_id pb = param(f, 4, IR_PRED, 2, D(3, 2));
  ir_id s = param(f, 5, IR_F32, 0, NULL);
  ir_id z = param(f, 6, IR_F32, 2, D(3, 2));
  ir_id i = param(f, 7, IR_I32, 0, NULL);
  ir_id v = param(f, 8, IR_F32, 1, D(6));

  assert_shape(f, ir_select(&f->b, ps, x, y), "f32[2,3]{1,0}");
  assert_shape(f, ir_select(&f->b, pa, x, y), "f32[2,3]{1,0}");
  assert_shape(f, ir_select(&f->b, ps, s, s), "f32[]");
  assert_refused(f, ir_select(&f->b, s, x, y), "select predicate must be pred, got f32");
  assert_refused(f, ir_select(&f->b, ps, x, z), "select branches differ: f32[2,3]{1,0} and f32[3,2]{1,0}");
  assert_refused(f, ir_select(&f->b, pb, x, y), "select predicate pred[3,2]{1,0} must be a scalar or match f32[2,3]{1,0}");

  assert_shape(f, ir_clamp(&f->b, s, x, s), "f32[2,3]{1,0}");
  assert_shape(f, ir_clamp(&f->b, x, y, x), "f32[2,3]{1,0}");
  assert_shape(f, ir_clamp(&f->b, s, x, y), "f32[2,3]{1,0}");
  assert_refused(f, ir_clamp(&f->b, i, x, s), "clamp bound i32[] must be a scalar of the operand's type or match f32[2,3]{1,0}");
  assert_refused(f, ir_clamp(&f->b, s, x, z), "clamp bound f32[3,2]{1,0} must be a scalar");
  assert_refused(f, ir_clamp(&f->b, s, x, v), "clamp bound f32[6]{0}");
  assert_refused(f, ir_clamp(&f->b, ps, pa, ps), "clamp needs a numeric");

  assert_shape(f, ir_convert(&f->b, x, IR_I8), "i8[2,3]{1,0}");
  assert_shape(f, ir_convert(&f->b, pa, IR_BF16), "bf16[2,3]{1,0}");
  assert_shape(f, ir_convert(&f->b, i, IR_PRED), "pred[]");
  assert_refused(f, ir_convert(&f->b, x, IR_TUPLE), "convert needs an array result type");
}

static void test_broadcast(void **state) {
  fixture *f = *state;
  ir_id v = param(f, 0, IR_F32, 1, D(3));
  ir_id s = param(f, 1, IR_I16, 0, NULL);
  ir_id m = param(f, 2, IR_F32, 2, D(3, 3));
  assert_shape(f, ir_broadcast(&f->b, v, 2, D(2, 3), D(1)), "f32[2,3]{1,0}");
  assert_shape(f, ir_broadcast(&f->b, v, 3, D(3, 4, 5), D(0)), "f32[3,4,5]{2,1,0}");
  assert_shape(f, ir_broadcast(&f->b, s, 2, D(2, 3), NULL), "i16[2,3]{1,0}");
  assert_shape(f, ir_broadcast(&f->b, s, 0, NULL, NULL), "i16[]");
  assert_shape(f, ir_broadcast_scalar(&f->b, s, 2, D(4, 1)), "i16[4,1]{1,0}");
  assert_int_equal(ir_broadcast_scalar(&f->b, m, 2, D(3, 3)), m); /* same dims: passed through */
  assert_refused(f, ir_broadcast_scalar(&f->b, v, 2, D(2, 3)), "broadcast: operand must be a scalar");
  assert_refused(f, ir_broadcast(&f->b, v, 2, D(2, 3), D(0)),
                 "broadcast operand dimension 0 (size 3) does not match result dimension 0 (size 2)");
  assert_refused(f, ir_broadcast(&f->b, m, 3, D(3, 3, 3), D(1, 0)), "broadcast dimensions must increase");
  assert_refused(f, ir_broadcast(&f->b, v, 2, D(2, 3), D(2)), "less than the result rank 2");
  assert_refused(f, ir_broadcast(&f->b, v, 9, D(1, 1, 1, 1, 1, 1, 1, 1, 3), D(8)), "broadcast: rank 9 out of range");

  ir_inst pr;
  memset(&pr, 0, sizeof pr);
  pr.op = IR_OP_BROADCAST;
  pr.nops = 1;
  pr.ops = &v;
  pr.shape = ir_shape_make(IR_F32, 2, D(2, 3));
  pr.ndims = 0;
  assert_refused(f, ir_build(&f->b, &pr), "broadcast needs 1 dimensions (one per operand dimension), got 0");
}

static void test_reshape_transpose(void **state) {
  fixture *f = *state;
  ir_id x = param(f, 0, IR_U8, 2, D(2, 3));
  ir_id one = param(f, 1, IR_F64, 2, D(1, 1));
  ir_id e = param(f, 2, IR_F32, 2, D(0, 5));
  ir_id t = param(f, 3, IR_F32, 3, D(2, 3, 4));
  assert_shape(f, ir_reshape(&f->b, x, 2, D(3, 2)), "u8[3,2]{1,0}");
  assert_shape(f, ir_reshape(&f->b, x, 1, D(6)), "u8[6]{0}");
  assert_shape(f, ir_reshape(&f->b, x, 4, D(1, 2, 1, 3)), "u8[1,2,1,3]{3,2,1,0}");
  assert_shape(f, ir_reshape(&f->b, one, 0, NULL), "f64[]");
  assert_shape(f, ir_reshape(&f->b, e, 2, D(5, 0)), "f32[5,0]{1,0}");
  assert_refused(f, ir_reshape(&f->b, x, 1, D(4)), "reshape from u8[2,3]{1,0} to u8[4]{0} changes the element count");
  assert_refused(f, ir_reshape(&f->b, x, 2, D(-2, -3)), "dimension 0 is negative");

  assert_shape(f, ir_transpose(&f->b, t, D(2, 0, 1)), "f32[4,2,3]{2,1,0}");
  assert_shape(f, ir_transpose(&f->b, t, D(0, 1, 2)), "f32[2,3,4]{2,1,0}");
  assert_shape(f, ir_transpose(&f->b, x, D(1, 0)), "u8[3,2]{1,0}");
  assert_refused(f, ir_transpose(&f->b, t, D(0, 0, 1)), "transpose dimensions must be a permutation of 0..2");
  assert_refused(f, ir_transpose(&f->b, t, D(0, 1, 3)), "transpose dimensions must be a permutation of 0..2");
}

static void test_slice(void **state) {
  fixture *f = *state;
  ir_id x = param(f, 0, IR_F32, 2, D(10, 8));
  /* dimension 0: 2,5 -> 2 elements; dimension 1: 1,3,5,7 -> 4 */
  assert_shape(f, ir_slice(&f->b, x, D(2, 1), D(8, 8), D(3, 2)), "f32[2,4]{1,0}");
  assert_shape(f, ir_slice(&f->b, x, D(0, 0), D(10, 8), NULL), "f32[10,8]{1,0}");
  assert_shape(f, ir_slice(&f->b, x, D(4, 8), D(4, 8), NULL), "f32[0,0]{1,0}");
  assert_shape(f, ir_slice(&f->b, x, D(0, 7), D(10, 8), D(100, 100)), "f32[1,1]{1,0}");
  assert_shape(f, ir_slice(&f->b, x, D(0, 0), D(10, 8), D(INT64_MAX, INT64_MAX)), "f32[1,1]{1,0}");
  assert_refused(f, ir_slice(&f->b, x, D(2, 0), D(11, 8), NULL), "slice bounds [2:11:1] invalid for dimension 0 of size 10");
  assert_refused(f, ir_slice(&f->b, x, D(5, 0), D(4, 8), NULL), "slice bounds [5:4:1] invalid for dimension 0");
  assert_refused(f, ir_slice(&f->b, x, D(-1, 0), D(4, 8), NULL), "slice bounds [-1:4:1]");
  assert_refused(f, ir_slice(&f->b, x, D(0, 0), D(4, 8), D(1, 0)), "slice bounds [0:8:0] invalid for dimension 1 of size 8");
}

static void test_dynamic_slice(void **state) {
  fixture *f = *state;
  ir_id x = param(f, 0, IR_F32, 2, D(5, 6));
  ir_id i = param(f, 1, IR_I32, 0, NULL);
  ir_id u = param(f, 2, IR_U8, 0, NULL);
  ir_id fl = param(f, 3, IR_F32, 0, NULL);
  ir_id upd = param(f, 4, IR_F32, 2, D(2, 3));
  ir_id big = param(f, 5, IR_F32, 2, D(2, 7));
  ir_id upd16 = param(f, 6, IR_F16, 2, D(2, 3));
  ir_id vi = param(f, 7, IR_I32, 1, D(1));
  assert_shape(f, ir_dynamic_slice(&f->b, x, (ir_id[]){i, u}, D(2, 3)), "f32[2,3]{1,0}");
  assert_shape(f, ir_dynamic_slice(&f->b, x, (ir_id[]){i, i}, D(0, 6)), "f32[0,6]{1,0}");
  assert_refused(f, ir_dynamic_slice(&f->b, x, (ir_id[]){i, i}, D(2, 7)),
                 "dynamic_slice size 7 out of range for dimension 1 of size 6");
  assert_refused(f, ir_dynamic_slice(&f->b, x, (ir_id[]){i, i}, D(-1, 1)), "dynamic_slice size -1 out of range");
  assert_refused(f, ir_dynamic_slice(&f->b, x, (ir_id[]){fl, i}, D(2, 3)), "start index 0 must be an integer scalar");
  assert_refused(f, ir_dynamic_slice(&f->b, x, (ir_id[]){i, vi}, D(2, 3)), "start index 1 must be an integer scalar");

  ir_inst pr;
  memset(&pr, 0, sizeof pr);
  ir_id ops[2] = {x, i};
  pr.op = IR_OP_DYNAMIC_SLICE;
  pr.nops = 2;
  pr.ops = ops;
  pr.ndims = 2;
  assert_refused(f, ir_build(&f->b, &pr), "dynamic_slice needs 2 start indices, got 1");
  ir_id ops3[3] = {x, i, i};
  pr.nops = 3;
  pr.ops = ops3;
  pr.ndims = 1;
  assert_refused(f, ir_build(&f->b, &pr), "dynamic_slice needs 2 sizes");

  assert_shape(f, ir_dynamic_update_slice(&f->b, x, upd, (ir_id[]){i, u}), "f32[5,6]{1,0}");
  assert_shape(f, ir_dynamic_update_slice(&f->b, x, x, (ir_id[]){i, i}), "f32[5,6]{1,0}");
  assert_refused(f, ir_dynamic_update_slice(&f->b, x, big, (ir_id[]){i, i}),
                 "update dimension 1 is larger than the operand's");
  assert_refused(f, ir_dynamic_update_slice(&f->b, x, upd16, (ir_id[]){i, i}),
                 "update f16[2,3]{1,0} must have the operand's type and rank (f32[5,6]{1,0})");
  assert_refused(f, ir_dynamic_update_slice(&f->b, x, upd, (ir_id[]){i, fl}), "start index 1 must be an integer scalar");
  ir_id ops4[3] = {x, upd, i};
  pr.op = IR_OP_DYNAMIC_UPDATE_SLICE;
  pr.nops = 3;
  pr.ops = ops4;
  assert_refused(f, ir_build(&f->b, &pr), "dynamic_update_slice needs 2 start indices, got 1");
}

static void test_concatenate(void **state) {
  fixture *f = *state;
  ir_id a = param(f, 0, IR_F32, 2, D(2, 3));
  ir_id b = param(f, 1, IR_F32, 2, D(4, 3));
  ir_id c = param(f, 2, IR_F32, 2, D(2, 5));
  ir_id h = param(f, 3, IR_F16, 2, D(2, 3));
  ir_id r1 = param(f, 4, IR_F32, 1, D(3));
  ir_id e = param(f, 5, IR_F32, 2, D(0, 3));
  ir_id huge = param(f, 6, IR_U8, 1, D((int64_t)1 << 62));
  assert_shape(f, ir_concatenate(&f->b, 2, (ir_id[]){a, b}, 0), "f32[6,3]{1,0}");
  assert_shape(f, ir_concatenate(&f->b, 2, (ir_id[]){a, c}, 1), "f32[2,8]{1,0}");
  assert_shape(f, ir_concatenate(&f->b, 3, (ir_id[]){a, e, b}, 0), "f32[6,3]{1,0}");
  assert_shape(f, ir_concatenate(&f->b, 1, (ir_id[]){a}, 1), "f32[2,3]{1,0}");
  assert_refused(f, ir_concatenate(&f->b, 2, (ir_id[]){a, b}, 1), "concatenate operand 1 differs in dimension 0");
  assert_refused(f, ir_concatenate(&f->b, 2, (ir_id[]){a, b}, 2), "concatenate needs one dimension in [0, 2)");
  assert_refused(f, ir_concatenate(&f->b, 2, (ir_id[]){a, h}, 0), "concatenate operand 1 differs in type or rank");
  assert_refused(f, ir_concatenate(&f->b, 2, (ir_id[]){a, r1}, 0), "concatenate operand 1 differs in type or rank");
  /* 2^62 + 2^62 = 2^63 elements: too large, not a wrapped size */
  assert_refused(f, ir_concatenate(&f->b, 2, (ir_id[]){huge, huge}, 0), "too large");
  assert_refused(f, ir_concatenate(&f->b, 3, (ir_id[]){huge, huge, huge}, 0), "too large");
}

static void test_pad_reverse(void **state) {
  fixture *f = *state;
  ir_id x = param(f, 0, IR_F32, 2, D(3, 4));
  ir_id v = param(f, 1, IR_F32, 0, NULL);
  ir_id vi = param(f, 2, IR_I32, 0, NULL);
  ir_id vv = param(f, 3, IR_F32, 1, D(1));
  ir_id e = param(f, 4, IR_F32, 1, D(0));
  /* dimension 0: 1 + 3 + 2 interior + 2 = 8; dimension 1: -1 + 4 + 0 = 3 */
  assert_shape(f, ir_pad(&f->b, x, v, D(1, -1), D(2, 0), D(1, 0)), "f32[8,3]{1,0}");
  assert_shape(f, ir_pad(&f->b, x, v, D(0, 0), D(0, 0), NULL), "f32[3,4]{1,0}");
  assert_shape(f, ir_pad(&f->b, x, v, D(-3, -2), D(0, -2), NULL), "f32[0,0]{1,0}");
  assert_shape(f, ir_pad(&f->b, x, v, D(0, 0), D(0, 0), D(2, 3)), "f32[7,13]{1,0}");
  assert_shape(f, ir_pad(&f->b, e, v, D(1), D(1), D(5)), "f32[2]{0}"); /* no interior gaps in an empty dimension */
  assert_shape(f, ir_pad(&f->b, v, v, NULL, NULL, NULL), "f32[]");
  assert_refused(f, ir_pad(&f->b, x, v, D(-4, 0), D(0, 0), NULL), "padding of dimension 0 gives a negative size");
  assert_refused(f, ir_pad(&f->b, x, v, D(0, 0), D(0, 0), D(0, -1)), "interior padding of dimension 1 is negative");
  assert_refused(f, ir_pad(&f->b, x, vi, D(0, 0), D(0, 0), NULL), "pad value must be a scalar of type f32");
  assert_refused(f, ir_pad(&f->b, x, vv, D(0, 0), D(0, 0), NULL), "pad value must be a scalar of type f32");
  assert_refused(f, ir_pad(&f->b, x, v, D(INT64_MAX, 0), D(INT64_MAX, 0), NULL), "dimension 0");
  assert_refused(f, ir_pad(&f->b, x, v, D(0, 0), D(0, 0), D(INT64_MAX / 2, 0)), "dimension 0");
  assert_refused(f, ir_pad(&f->b, x, v, D(INT64_MIN, 0), D(INT64_MIN, 0), NULL), "dimension 0");

  assert_shape(f, ir_reverse(&f->b, x, 2, D(1, 0)), "f32[3,4]{1,0}");
  assert_shape(f, ir_reverse(&f->b, x, 0, NULL), "f32[3,4]{1,0}");
  assert_refused(f, ir_reverse(&f->b, x, 2, D(1, 1)), "reverse dimensions must be distinct and < 2");
  assert_refused(f, ir_reverse(&f->b, x, 1, D(2)), "reverse dimensions must be distinct and < 2");
}

static void test_tuple_gte(void **state) {
  fixture *f = *state;
  ir_id a = param(f, 0, IR_F32, 2, D(2, 3));
  ir_id b = param(f, 1, IR_I64, 0, NULL);
  ir_id t = ir_tuple(&f->b, 2, (ir_id[]){a, b});
  assert_shape(f, t, "(f32[2,3]{1,0}, i64[])");
  assert_shape(f, ir_tuple(&f->b, 0, NULL), "()");
  assert_shape(f, ir_get_tuple_element(&f->b, t, 1), "i64[]");
  assert_shape(f, ir_get_tuple_element(&f->b, t, 0), "f32[2,3]{1,0}");
  assert_refused(f, ir_get_tuple_element(&f->b, t, 2), "index 2 out of range for a tuple of 2");
  assert_refused(f, ir_get_tuple_element(&f->b, t, -1), "index -1 out of range for a tuple of 2");
  assert_refused(f, ir_get_tuple_element(&f->b, a, 0), "get_tuple_element needs a tuple operand, got f32[2,3]{1,0}");
  assert_refused(f, ir_unary(&f->b, IR_OP_NEG, t), "operand 0 (%tuple.");
  assert_refused(f, ir_tuple(&f->b, 2, (ir_id[]){a, t}), "is a tuple; only get_tuple_element takes tuples");
  /* An operand id past the end of the computation. */
  assert_refused(f, ir_unary(&f->b, IR_OP_NEG, 1000), "operand 0 refers to no instruction");
}

/* %fused(p0: f32[4], p1: f32[4]) = add(p0, p1) */
static uint32_t make_fused(fixture *f, const char *name) {
  ir_comp *fc = ir_comp_add(f->m, name, false);
  assert_non_null(fc);
  ir_builder b;
  ir_builder_init(&b, f->m, fc, &f->d.sink);
  ir_id p0 = ir_parameter(&b, 0, ir_shape_make(IR_F32, 1, D(4)), NULL);
  ir_id p1 = ir_parameter(&b, 1, ir_shape_make(IR_F32, 1, D(4)), NULL);
  assert_true(ir_set_root(&b, ir_binary(&b, IR_OP_ADD, p0, p1), 0, NULL));
  return f->m->ncomps - 1;
}

static void test_fusion(void **state) {
  fixture *f = *state;
  uint32_t fused = make_fused(f, "fused");
  ir_id x = param(f, 0, IR_F32, 1, D(4));
  ir_id y = param(f, 1, IR_F32, 1, D(3));
  ir_id z = param(f, 2, IR_F32, 2, D(2, 2));
  assert_shape(f, ir_fusion(&f->b, IR_FUSION_LOOP, fused, 2, (ir_id[]){x, x}), "f32[4]{0}");
  assert_refused(f, ir_fusion(&f->b, IR_FUSION_LOOP, fused, 1, (ir_id[]){x}),
                 "fusion passes 1 operands to %fused, which has 2 parameters");
  assert_refused(f, ir_fusion(&f->b, IR_FUSION_LOOP, fused, 2, (ir_id[]){x, y}),
                 "fusion operand 1 is f32[3]{0}, parameter is f32[4]{0}");
  assert_refused(f, ir_fusion(&f->b, IR_FUSION_LOOP, fused, 2, (ir_id[]){x, z}), "fusion operand 1 is f32[2,2]{1,0}");
  assert_refused(f, ir_fusion(&f->b, IR_FUSION_LOOP, 0, 0, NULL), "fusion cannot call the entry computation");
  assert_refused(f, ir_fusion(&f->b, IR_FUSION_LOOP, 99, 0, NULL), "fusion calls no computation");

  /* A fusion inside %fused calling %fused. */
  ir_builder b;
  ir_builder_init(&b, f->m, f->m->comps[fused], &f->d.sink);
  ir_id p0 = ir_comp_param(f->m->comps[fused], 0);
  assert_refused(f, ir_fusion(&b, IR_FUSION_LOOP, fused, 2, (ir_id[]){p0, p0}), "fusion calls its own computation");

  /* A computation with a tuple root gives a tuple-shaped fusion. */
  ir_comp *tc = ir_comp_add(f->m, "pair", false);
  ir_builder_init(&b, f->m, tc, &f->d.sink);
  ir_id q = ir_parameter(&b, 0, ir_shape_make(IR_F32, 1, D(3)), NULL);
  assert_true(ir_set_root(&b, ir_tuple(&b, 2, (ir_id[]){q, q}), 0, NULL));
  assert_shape(f, ir_fusion(&f->b, IR_FUSION_OUTPUT, f->m->ncomps - 1, 1, (ir_id[]){y}), "(f32[3]{0}, f32[3]{0})");
  /* A callee with a gap in its parameter numbers. */
  ir_comp *gc = ir_comp_add(f->m, "gappy", false);
  ir_builder_init(&b, f->m, gc, &f->d.sink);
  ir_parameter(&b, 1, ir_shape_make(IR_F32, 1, D(3)), NULL);
  assert_true(ir_set_root(&b, 0, 0, NULL));
  assert_refused(f, ir_fusion(&f->b, IR_FUSION_LOOP, f->m->ncomps - 1, 1, (ir_id[]){y}), "%gappy has no parameter 0");
  /* A callee with no root. */
  ir_comp *nc = ir_comp_add(f->m, "rootless", false);
  ir_builder_init(&b, f->m, nc, &f->d.sink);
  ir_parameter(&b, 0, ir_shape_make(IR_F32, 1, D(3)), NULL);
  assert_refused(f, ir_fusion(&f->b, IR_FUSION_LOOP, f->m->ncomps - 1, 1, (ir_id[]){y}), "%rootless has no root");
}

static void test_custom_call_and_roots(void **state) {
  fixture *f = *state;
  ir_id x = param(f, 0, IR_F32, 1, D(4));
  assert_shape(f, ir_custom_call(&f->b, "my_kernel", NULL, 1, &x, ir_shape_make(IR_I8, 2, D(2, 2)), 0, NULL),
               "i8[2,2]{1,0}");
  ir_shape two[2] = {ir_shape_make(IR_F32, 1, D(4)), ir_shape_scalar(IR_U32)};
  assert_shape(f, ir_custom_call(&f->b, "split", "{\"k\": 1}", 0, NULL, ir_shape_scalar(IR_F32), 2, two),
               "(f32[4]{0}, u32[])");
  assert_refused(f, ir_custom_call(&f->b, "", NULL, 1, &x, ir_shape_scalar(IR_F32), 0, NULL), "custom_call needs a target");
  assert_refused(f, ir_custom_call(&f->b, NULL, NULL, 1, &x, ir_shape_scalar(IR_F32), 0, NULL),
                 "custom_call needs a target");

  /* The builder's location names the node in messages and is attached. */
  ir_builder_set_loc(&f->b, "Relu", "/layer1/relu");
  ir_id n = ir_unary(&f->b, IR_OP_NEG, x);
  assert_string_equal(f->c->insts[n].loc.op_type, "Relu");
  assert_string_equal(f->c->insts[n].loc.name, "/layer1/relu");
  assert_refused(f, ir_unary(&f->b, IR_OP_NOT, x), "not (node '/layer1/relu', Relu): not needs a pred or integer");
  ir_builder_set_loc(&f->b, NULL, NULL);

  assert_false(ir_set_root(&f->b, x, 1, NULL));
  assert_contains(f->d.text, "entry root must be a tuple of 1 outputs");
  msgs_clear(&f->d);
  ir_id t = ir_tuple(&f->b, 1, &x);
  assert_false(ir_set_root(&f->b, t, 2, NULL));
  assert_contains(f->d.text, "entry root must be a tuple of 2 outputs");
  msgs_clear(&f->d);
  assert_false(ir_set_root(&f->b, IR_NONE, 0, NULL));
  assert_true(ir_set_root(&f->b, t, 1, (const char *const[]){"y"}));
  assert_string_equal(f->c->output_names[0], "y");
  assert_int_equal(f->c->noutputs, 1);
  assert_true(ir_set_root(&f->b, t, 1, NULL));
  assert_string_equal(f->c->output_names[0], "output0");
  diag_buffer vd;
  diag_buffer_init(&vd);
  assert_true(ir_verify(f->m, &vd.sink));
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
  const struct CMUnitTest tests[] = {
      T(test_leaves),       T(test_unary),        T(test_binary_compare), T(test_select_clamp_convert),
      T(test_broadcast),    T(test_reshape_transpose), T(test_slice),     T(test_dynamic_slice),
      T(test_concatenate),  T(test_pad_reverse),  T(test_tuple_gte),      T(test_fusion),
      T(test_custom_call_and_roots),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
