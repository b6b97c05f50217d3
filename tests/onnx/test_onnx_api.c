/*
 * The ONNX parts of the public API (kiln/kiln.h only): reading TensorProto
 * files into host tensors, loading a model whatever its file name,
 * freezing inputs to values at load time, errors that name the file, and
 * the IR versions accepted.
 *
 * The files are protobuf written byte by byte here (field numbers from
 * onnx.proto), so every expected value is known by construction, not taken
 * from kiln.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kiln/kiln.h"

/* ---- a tiny protobuf writer ---- */

typedef struct buf {
  uint8_t d[4096];
  size_t n;
} buf;

static void put_varint(buf *b, uint64_t v) {
  do {
    uint8_t c = v & 0x7f;
    v >>= 7;
    b->d[b->n++] = c | (v ? 0x80 : 0);
  } while (v);
}
static void put_int(buf *b, int field, int64_t v) {
  put_varint(b, (uint64_t)field << 3);
  put_varint(b, (uint64_t)v);
}
static void put_bytes(buf *b, int field, const void *p, size_t n) {
  put_varint(b, (uint64_t)field << 3 | 2);
  put_varint(b, n);
  memcpy(b->d + b->n, p, n);
  b->n += n;
}
static void put_str(buf *b, int field, const char *s) { put_bytes(b, field, s, strlen(s)); }
static void put_msg(buf *b, int field, const buf *m) { put_bytes(b, field, m->d, m->n); }

/* TensorProto fields: dims 1, data_type 2, float_data 4, int32_data 5,
 * name 8, raw_data 9. */
static void tensor_header(buf *t, const char *name, int dtype, int rank, const int64_t *dims) {
  memset(t, 0, sizeof *t);
  for (int i = 0; i < rank; i++) put_int(t, 1, dims[i]);
  put_int(t, 2, dtype);
  if (name) put_str(t, 8, name);
}

static char tmpdir[256];

static const char *write_file(const char *name, const void *p, size_t n) {
  static char path[512];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(p, 1, n, f), n);
  fclose(f);
  return path;
}

static kiln_context *ctx;

static int setup(void **state) {
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/kiln_onnx_api_XXXXXX");
  if (!mkdtemp(tmpdir)) return -1;
  return kiln_context_create(&ctx) == KILN_OK ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  kiln_context_destroy(ctx);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

/* ---- tensors ---- */

static void float_data(void **state) {
  (void)state;
  buf t;
  int64_t dims[2] = {2, 3};
  tensor_header(&t, "input_x", 1, 2, dims);
  float v[6] = {1.5f, -2, 0, 1e-3f, 3e8f, -0.25f};
  put_bytes(&t, 4, v, sizeof v); /* packed float_data */
  kiln_host_tensor h;
  assert_int_equal(kiln_tensor_read_onnx(ctx, write_file("f.pb", t.d, t.n), &h), KILN_OK);
  assert_int_equal(h.dtype, KILN_F32);
  assert_int_equal(h.rank, 2);
  assert_int_equal(h.dims[0], 2);
  assert_int_equal(h.dims[1], 3);
  assert_int_equal(h.nbytes, sizeof v);
  assert_string_equal(h.name, "input_x");
  assert_memory_equal(h.data, v, sizeof v);
  kiln_host_tensor_free(&h);
  assert_null(h.data);
  kiln_host_tensor_free(NULL);
}

static void raw_int64_and_bool(void **state) {
  (void)state;
  buf t;
  int64_t dims = 3;
  int64_t v[3] = {-1, 0, (int64_t)1 << 40};
  tensor_header(&t, NULL, 7, 1, &dims);
  put_bytes(&t, 9, v, sizeof v);
  kiln_host_tensor h;
  assert_int_equal(kiln_tensor_read_onnx(ctx, write_file("i.pb", t.d, t.n), &h), KILN_OK);
  assert_int_equal(h.dtype, KILN_I64);
  assert_string_equal(h.name, "");
  assert_memory_equal(h.data, v, sizeof v);
  kiln_host_tensor_free(&h);

  /* bool in int32_data: any nonzero value is true. */
  tensor_header(&t, "b", 9, 1, &dims);
  buf packed = {0};
  put_varint(&packed, 1);
  put_varint(&packed, 0);
  put_varint(&packed, 2);
  put_msg(&t, 5, &packed);
  assert_int_equal(kiln_tensor_read_onnx(ctx, write_file("b.pb", t.d, t.n), &h), KILN_OK);
  assert_int_equal(h.dtype, KILN_PRED);
  const uint8_t want[3] = {1, 0, 1};
  assert_memory_equal(h.data, want, 3);
  kiln_host_tensor_free(&h);

  /* A scalar: no dims. */
  tensor_header(&t, "s", 6, 0, NULL);
  int32_t one = 7;
  put_bytes(&t, 9, &one, 4);
  assert_int_equal(kiln_tensor_read_onnx(ctx, write_file("s.pb", t.d, t.n), &h), KILN_OK);
  assert_int_equal(h.dtype, KILN_I32);
  assert_int_equal(h.rank, 0);
  assert_int_equal(*(int32_t *)h.data, 7);
  kiln_host_tensor_free(&h);
}

static void refused(void **state) {
  (void)state;
  buf t;
  int64_t dims = 2;
  kiln_host_tensor h;
  /* STRING tensors: unsupported, said so. */
  tensor_header(&t, "s", 8, 1, &dims);
  put_str(&t, 6, "ab"); /* string_data */
  put_str(&t, 6, "c");
  assert_int_equal(kiln_tensor_read_onnx(ctx, write_file("str.pb", t.d, t.n), &h), KILN_ERR_UNSUPPORTED);
  assert_non_null(strstr(kiln_context_last_error(ctx), "STRING"));
  assert_null(h.data);
  /* raw_data of the wrong size. */
  tensor_header(&t, "r", 1, 1, &dims);
  put_bytes(&t, 9, "\0\0\0\0\0\0", 6);
  assert_int_equal(kiln_tensor_read_onnx(ctx, write_file("short.pb", t.d, t.n), &h), KILN_ERR_PARSE);
  assert_non_null(strstr(kiln_context_last_error(ctx), "raw_data has 6 bytes"));
  /* Not protobuf. */
  assert_int_equal(kiln_tensor_read_onnx(ctx, write_file("junk.pb", "\xff\xff\xff", 3), &h), KILN_ERR_PARSE);
  /* Missing file. */
  char missing[512];
  snprintf(missing, sizeof missing, "%s/none.pb", tmpdir);
  assert_int_equal(kiln_tensor_read_onnx(ctx, missing, &h), KILN_ERR_IO);
  assert_int_equal(kiln_tensor_read_onnx(ctx, NULL, &h), KILN_ERR_INVALID_ARGUMENT);
  assert_int_equal(kiln_tensor_read_onnx(NULL, missing, &h), KILN_ERR_INVALID_ARGUMENT);
}

/* ---- models ---- */

/* ValueInfoProto{name 1, type 2: TypeProto{tensor_type 1: {elem_type 1,
 * shape 2: {dim 1: {dim_value 1}}}}} */
static void value_info(buf *out, int field, const char *name, int dtype, int rank, const int64_t *dims) {
  buf shape = {0}, tt = {0}, ty = {0}, vi = {0};
  for (int i = 0; i < rank; i++) {
    buf d = {0};
    put_int(&d, 1, dims[i]);
    put_msg(&shape, 1, &d);
  }
  put_int(&tt, 1, dtype);
  put_msg(&tt, 2, &shape);
  put_msg(&ty, 1, &tt);
  put_str(&vi, 1, name);
  put_msg(&vi, 2, &ty);
  put_msg(out, field, &vi);
}

/* y = op(x, s) (Reshape unless said) with x f32[2,3] and s i64[2] both graph inputs:
 * ModelProto{ir_version 1, graph 7: GraphProto{node 1, name 2, input 11,
 * output 12}, opset_import 8: {domain 1, version 2}}, with ir_version 8
 * (reshape_model_ir gives another). */
static const char *op_model_ir(const char *file, int ir_version, const char *op_type) {
  static buf m;
  buf g = {0}, node = {0}, op = {0};
  memset(&m, 0, sizeof m);
  put_str(&node, 1, "x"); /* NodeProto: input 1, output 2, name 3, op_type 4 */
  put_str(&node, 1, "s");
  put_str(&node, 2, "y");
  put_str(&node, 3, "reshape");
  put_str(&node, 4, op_type);
  put_msg(&g, 1, &node);
  put_str(&g, 2, "g");
  int64_t xd[2] = {2, 3}, sd = 2, yd[2] = {3, 2};
  value_info(&g, 11, "x", 1, 2, xd);
  value_info(&g, 11, "s", 7, 1, &sd);
  value_info(&g, 12, "y", 1, 2, yd);
  put_int(&m, 1, ir_version);
  put_msg(&m, 7, &g);
  put_str(&op, 1, "");
  put_int(&op, 2, 13);
  put_msg(&m, 8, &op);
  return write_file(file, m.d, m.n);
}

static const char *reshape_model_ir(const char *file, int ir_version) {
  return op_model_ir(file, ir_version, "Reshape");
}
static const char *reshape_model(const char *file) { return reshape_model_ir(file, 8); }
/* The same graph with Expand: its 'shape' input decides the result's
 * dimensions and must be known at import (a Reshape's may be read at run
 * time: its element count bounds the result). */
static const char *needs_value_model(const char *file) { return op_model_ir(file, 8, "Expand"); }

/* Every error about a model file names the file: the decoder's, the
 * structural checks', and the importer's. In memory, "model" stands in. */
static void errors_name_the_file(void **state) {
  (void)state;
  kiln_model *m = NULL;
  /* ir_version 8, then a field of number 0: binary, but not protobuf. */
  const char *junk = write_file("junk_model.onnx", "\x08\x08\x00\x00", 4);
  char path[512];
  snprintf(path, sizeof path, "%s", junk);
  assert_int_equal(kiln_model_load_onnx(ctx, path, &m), KILN_ERR_PARSE);
  assert_null(m);
  const char *e = kiln_context_last_error(ctx);
  assert_non_null(strstr(e, path));
  assert_non_null(strstr(e, "malformed protobuf"));
  assert_null(strstr(e, "model:"));

  snprintf(path, sizeof path, "%s", reshape_model_ir("ir0.onnx", 0));
  assert_int_equal(kiln_model_load_onnx(ctx, path, &m), KILN_ERR_PARSE);
  e = kiln_context_last_error(ctx);
  assert_non_null(strstr(e, path));
  assert_non_null(strstr(e, "ir_version 0 is not a valid ONNX IR version"));

  /* An importer message (not the decoder's) gets the name in front. */
  snprintf(path, sizeof path, "%s", needs_value_model("needs_value.onnx"));
  assert_int_equal(kiln_model_load_onnx(ctx, path, &m), KILN_ERR_SHAPE);
  e = kiln_context_last_error(ctx);
  assert_true(strncmp(e, path, strlen(path)) == 0);
  assert_non_null(strstr(e, "must be known at compile time"));

  assert_int_equal(kiln_model_from_onnx_bytes(ctx, "\x08\x08\x00\x00", 4, &m), KILN_ERR_PARSE);
  assert_non_null(strstr(kiln_context_last_error(ctx), "model: malformed protobuf"));
}

/* The newest IR version kiln reads imports; the next one is refused as
 * unsupported (not as malformed), naming the accepted range. */
static void ir_version_range(void **state) {
  (void)state;
  int64_t shape[2] = {3, 2};
  kiln_host_tensor v = {KILN_I64, 1, {2}, sizeof shape, shape, "s"};
  kiln_model *m = NULL;
  assert_int_equal(kiln_model_load_onnx_with_values(ctx, reshape_model_ir("ir13.onnx", 13), 1, &v, &m), KILN_OK);
  kiln_model_destroy(m);
  m = NULL;
  assert_int_equal(kiln_model_load_onnx_with_values(ctx, reshape_model_ir("ir14.onnx", 14), 1, &v, &m),
                   KILN_ERR_UNSUPPORTED);
  assert_null(m);
  assert_non_null(strstr(kiln_context_last_error(ctx), "ir_version 14 is newer than any ONNX release"));
  assert_non_null(strstr(kiln_context_last_error(ctx), "IR versions 3 to 13"));
}

static void load_any_name(void **state) {
  (void)state;
  kiln_model *m = NULL;
  /* Not named .onnx: kiln_model_load_onnx reads it as ONNX all the same;
   * the shape input is not known, which the error says. */
  assert_int_equal(kiln_model_load_onnx(ctx, needs_value_model("model.bin"), &m), KILN_ERR_SHAPE);
  assert_null(m);
  assert_non_null(strstr(kiln_context_last_error(ctx), "must be known at compile time"));
}

static void frozen_values(void **state) {
  (void)state;
  const char *path = reshape_model("reshape.onnx");
  int64_t shape[2] = {3, 2};
  kiln_host_tensor v = {KILN_I64, 1, {2}, sizeof shape, shape, "s"};
  kiln_model *m = NULL;
  assert_int_equal(kiln_model_load_onnx_with_values(ctx, path, 1, &v, &m), KILN_OK);
  assert_int_equal(kiln_model_num_inputs(m), 1);
  kiln_tensor_info in, out;
  assert_int_equal(kiln_model_input(m, 0, &in), KILN_OK);
  assert_string_equal(in.name, "x");
  assert_int_equal(kiln_model_output(m, 0, &out), KILN_OK);
  assert_int_equal(out.rank, 2);
  assert_int_equal(out.dims[0], 3);
  assert_int_equal(out.dims[1], 2);
  float x[6] = {1, 2, 3, 4, 5, 6}, y[6] = {0};
  const void *ins[1] = {x};
  void *outs[1] = {y};
  assert_int_equal(kiln_model_evaluate(m, ins, outs), KILN_OK);
  assert_memory_equal(x, y, sizeof x); /* a reshape keeps row-major order */
  kiln_model_destroy(m);

  /* A value that does not fit the declared input. */
  int32_t s32[2] = {3, 2};
  kiln_host_tensor bad = {KILN_I32, 1, {2}, sizeof s32, s32, "s"};
  m = NULL;
  assert_int_equal(kiln_model_load_onnx_with_values(ctx, path, 1, &bad, &m), KILN_ERR_SHAPE);
  assert_null(m);
  assert_non_null(strstr(kiln_context_last_error(ctx), "graph input 's' is declared INT64"));
  /* A value for no input. */
  kiln_host_tensor other = {KILN_I64, 1, {2}, sizeof shape, shape, "nope"};
  assert_int_equal(kiln_model_load_onnx_with_values(ctx, path, 1, &other, &m), KILN_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(kiln_context_last_error(ctx), "'nope', which is not an input"));
  /* Bytes that do not match the dims. */
  kiln_host_tensor wrong = {KILN_I64, 1, {3}, sizeof shape, shape, "s"};
  assert_int_equal(kiln_model_load_onnx_with_values(ctx, path, 1, &wrong, &m), KILN_ERR_INVALID_ARGUMENT);
  /* Shape values that do not fit the data. */
  int64_t five[2] = {5, 5};
  kiln_host_tensor big = {KILN_I64, 1, {2}, sizeof five, five, "s"};
  assert_int_equal(kiln_model_load_onnx_with_values(ctx, path, 1, &big, &m), KILN_ERR_SHAPE);
  assert_non_null(strstr(kiln_context_last_error(ctx), "cannot reshape"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(float_data),    cmocka_unit_test(raw_int64_and_bool), cmocka_unit_test(refused),
      cmocka_unit_test(load_any_name), cmocka_unit_test(frozen_values), cmocka_unit_test(errors_name_the_file),
      cmocka_unit_test(ir_version_range),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
