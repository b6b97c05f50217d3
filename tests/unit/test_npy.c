/*
 * The .npy reader and writer (tools/npy.h): files written by NumPy itself
 * (tests/unit/npy/make_npy.py; their values are restated here by hand),
 * a write/read round trip of every dtype at ranks 0..8, malformed
 * images, each refused with a message and without a crash or leak, and
 * the bfloat16 conventions (tools/npy.h: descr 'bfloat16' read and
 * written; the untyped '<V2' that np.save writes for ml_dtypes' bfloat16
 * read only where bfloat16 is expected; issue 9).
 *
 * Usage: unit_npy DIR (DIR holds the .npy files of make_npy.py).
 */
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/unit.h"
#include "tools/npy.h"

static const char *npy_dir = ".";

static void path_of(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s.npy", npy_dir, name); }

static void test_numpy_files(void **state) {
  (void)state;
  static const float f32[] = {0, 0.5f, 1, 1.5f, 2, 2.5f};
  static const int16_t i16[] = {-1, 2, -32768};
  static const uint8_t u8[] = {1, 2, 254, 255};
  static const uint8_t b1[] = {1, 0, 0, 1};
  static const uint16_t f16[] = {0x3c00, 0xc100, 0x7bff}; /* 1, -2.5, 65504 */
  static const uint64_t u64[] = {0, UINT64_MAX};
  static const int64_t i64[] = {INT64_MIN, INT64_MAX};
  static const int8_t i8[] = {-128, 127, 0, -1};
  static const uint16_t u16[] = {0, 65535};
  static const int32_t i32[] = {INT32_MIN, INT32_MAX};
  static const uint32_t u32[] = {UINT32_MAX};
  static const double f64[] = {3.25};
  static const uint8_t r8[] = {0, 1};
  static const struct {
    const char *name;
    kiln_dtype t;
    int rank;
    int64_t dims[8];
    const void *data;
    size_t nbytes;
  } files[] = {
      {"good_v1_f32_2x3", KILN_F32, 2, {2, 3}, f32, sizeof f32},
      {"good_v2_i16_3", KILN_I16, 1, {3}, i16, sizeof i16},
      {"good_v3_u8_2x2", KILN_U8, 2, {2, 2}, u8, sizeof u8},
      {"good_bool_4", KILN_PRED, 1, {4}, b1, sizeof b1},
      {"good_f16_3", KILN_F16, 1, {3}, f16, sizeof f16},
      {"good_u64_2", KILN_U64, 1, {2}, u64, sizeof u64},
      {"good_i64_2", KILN_I64, 1, {2}, i64, sizeof i64},
      {"good_i8_2x1x2", KILN_I8, 3, {2, 1, 2}, i8, sizeof i8},
      {"good_u16_2", KILN_U16, 1, {2}, u16, sizeof u16},
      {"good_i32_2", KILN_I32, 1, {2}, i32, sizeof i32},
      {"good_u32_1", KILN_U32, 1, {1}, u32, sizeof u32},
      {"good_f64_scalar", KILN_F64, 0, {0}, f64, sizeof f64},
      {"good_f32_empty_0x3", KILN_F32, 2, {0, 3}, NULL, 0},
      {"good_u8_rank8", KILN_U8, 8, {1, 1, 1, 1, 1, 1, 1, 2}, r8, sizeof r8},
  };
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char path[4096], err[512] = "";
    path_of(path, sizeof path, files[i].name);
    npy_array a;
    if (!npy_read_file(path, &a, err, sizeof err)) {
      print_error("%s: %s\n", files[i].name, err);
      fail();
    }
    assert_int_equal(a.dtype, files[i].t);
    assert_int_equal(a.rank, files[i].rank);
    for (int d = 0; d < a.rank; d++) assert_int_equal(a.dims[d], files[i].dims[d]);
    assert_int_equal(a.nbytes, files[i].nbytes);
    if (files[i].nbytes) assert_memory_equal(a.data, files[i].data, files[i].nbytes);
    npy_free(&a);
  }
}

static void test_numpy_files_refused(void **state) {
  (void)state;
  static const struct {
    const char *name, *msg;
  } files[] = {
      {"bad_fortran", "Fortran-order arrays are not supported"},
      {"bad_bigendian", "big-endian data ('>f4') is not supported"},
      {"bad_structured", "structured dtypes are not supported"},
      {"bad_complex", "unsupported dtype '<c8'"},
      {"bad_object", "unsupported dtype '|O'"},
      {"bad_rank9", "rank above 8 is not supported"},
      {"bad_unicode", "unsupported dtype '<U2'"},
  };
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char path[4096], err[512] = "";
    path_of(path, sizeof path, files[i].name);
    npy_array a;
    assert_false(npy_read_file(path, &a, err, sizeof err));
    assert_contains(err, path);
    assert_contains(err, files[i].msg);
    assert_null(a.data);
  }
}

/* Every dtype kiln can write, at every rank 0..8; through memory and
 * through a file. */
static void test_round_trip(void **state) {
  (void)state;
  char dir[] = "/tmp/kiln_npy_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[4096];
  snprintf(path, sizeof path, "%s/a.npy", dir);
  static const kiln_dtype types[] = {KILN_PRED, KILN_I8,  KILN_I16, KILN_I32,  KILN_I64, KILN_U8, KILN_U16,
                                     KILN_U32,  KILN_U64, KILN_F16, KILN_BF16, KILN_F32, KILN_F64};
  for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
    for (int rank = 0; rank <= 8; rank++) {
      npy_array a;
      memset(&a, 0, sizeof a);
      a.dtype = types[ti];
      a.rank = rank;
      size_t n = 1;
      for (int d = 0; d < rank; d++) {
        a.dims[d] = 1 + (d % 3); /* 1,2,3,1,2,3,... */
        n *= (size_t)a.dims[d];
      }
      if (rank == 5) a.dims[2] = 0, n = 0; /* an empty array too */
      size_t esz = kiln_dtype_size(a.dtype);
      a.nbytes = n * esz;
      a.data = malloc(a.nbytes ? a.nbytes : 1);
      for (size_t k = 0; k < a.nbytes; k++)
        ((uint8_t *)a.data)[k] = a.dtype == KILN_PRED ? (uint8_t)(k & 1) : (uint8_t)(k * 37 + ti);
      char err[512] = "";
      void *img;
      size_t imgn;
      assert_true(npy_serialize(&a, &img, &imgn, err, sizeof err));
      assert_int_equal(imgn % 64, a.nbytes % 64); /* data starts on a 64-byte boundary */
      npy_array b;
      if (!npy_parse(img, imgn, &b, err, sizeof err)) {
        print_error("dtype %d rank %d: %s\n", (int)a.dtype, rank, err);
        fail();
      }
      assert_int_equal(b.dtype, a.dtype);
      assert_int_equal(b.rank, a.rank);
      for (int d = 0; d < rank; d++) assert_int_equal(b.dims[d], a.dims[d]);
      assert_int_equal(b.nbytes, a.nbytes);
      assert_int_equal(npy_elements(&b), (int64_t)n);
      if (n) assert_memory_equal(b.data, a.data, a.nbytes);
      npy_free(&b);
      free(img);

      assert_true(npy_write_file(path, &a, err, sizeof err));
      assert_true(npy_read_file(path, &b, err, sizeof err));
      assert_int_equal(b.nbytes, a.nbytes);
      if (n) assert_memory_equal(b.data, a.data, a.nbytes);
      npy_free(&b);
      npy_free(&a);
    }
  }
  /* The writer's header is the one NumPy writes (checked by hand). */
  npy_array a = {.dtype = KILN_F32, .rank = 1, .dims = {3}};
  float v[3] = {1, 2, 3};
  a.data = v;
  a.nbytes = sizeof v;
  void *img;
  size_t imgn;
  char err[512];
  assert_true(npy_serialize(&a, &img, &imgn, err, sizeof err));
  assert_int_equal(imgn, 128 + 12); /* 10 + 57 + 1 header bytes, padded to 128 as NumPy pads */
  assert_memory_equal(img, "\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 67);
  assert_int_equal(((char *)img)[127], '\n');
  assert_int_equal(((char *)img)[126], ' ');
  free(img);
  a.rank = 2;
  a.dims[0] = 1;
  a.dims[1] = 3;
  assert_true(npy_serialize(&a, &img, &imgn, err, sizeof err));
  assert_memory_equal((char *)img + 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }", 59);
  free(img);
  a.rank = 0;
  assert_true(npy_serialize(&a, &img, &imgn, err, sizeof err));
  assert_memory_equal((char *)img + 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 55);
  free(img);
  /* bfloat16 has no NumPy dtype: it is written under the name ml_dtypes
   * registers with NumPy. */
  a.dtype = KILN_BF16;
  a.nbytes = 6;
  assert_true(npy_serialize(&a, &img, &imgn, err, sizeof err));
  assert_memory_equal((char *)img + 10, "{'descr': 'bfloat16', 'fortran_order': False, 'shape': (), }", 60);
  free(img);
  a.dtype = KILN_F32;
  a.rank = 9;
  assert_false(npy_serialize(&a, &img, &imgn, err, sizeof err));
  assert_contains(err, "bad rank");

  unlink(path);
  assert_int_equal(rmdir(dir), 0);
}

/* A .npy image with the given header dict (padded to a 64-byte boundary
 * like NumPy does unless raw) and data. Caller frees. */
static uint8_t *image(int major, const char *dict, const void *data, size_t ndata, size_t *n) {
  size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
  size_t hl = (pre + dl + 1 + 63) / 64 * 64 - pre;
  *n = pre + hl + ndata;
  uint8_t *b = malloc(*n);
  memcpy(b, "\x93NUMPY", 6);
  b[6] = (uint8_t)major;
  b[7] = 0;
  b[8] = (uint8_t)hl;
  b[9] = (uint8_t)(hl >> 8);
  if (major > 1) b[10] = b[11] = 0;
  memcpy(b + pre, dict, dl);
  memset(b + pre + dl, ' ', hl - dl - 1);
  b[pre + hl - 1] = '\n';
  if (ndata) memcpy(b + pre + hl, data, ndata);
  return b;
}

/* npy_parse must refuse buf with a message containing msg. */
static void refused(const void *buf, size_t n, const char *msg) {
  npy_array a;
  char err[512] = "";
  if (npy_parse(buf, n, &a, err, sizeof err)) {
    print_error("accepted an image that should be refused with \"%s\"\n", msg);
    npy_free(&a);
    fail();
  }
  assert_contains(err, msg);
  assert_null(a.data);
}

static void refused_dict(const char *dict, size_t ndata, const char *msg) {
  size_t n = 0;
  uint8_t *zeros = calloc(1, ndata + 1);
  uint8_t *b = image(1, dict, zeros, ndata, &n);
  refused(b, n, msg);
  free(b);
  free(zeros);
}

#define GOOD_F4_3 "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"

static void test_malformed(void **state) {
  (void)state;
  size_t n = 0;
  float v[3] = {1, 2, 3};
  uint8_t *good = image(1, GOOD_F4_3, v, sizeof v, &n);
  npy_array a;
  char err[512];
  assert_true(npy_parse(good, n, &a, err, sizeof err)); /* the base case is valid */
  npy_free(&a);

  /* Magic, version, lengths. */
  refused(good, 0, "not a .npy file (bad magic)");
  refused(good, 9, "not a .npy file (bad magic)");
  refused("\x93NUMPX\x01\x00\x00\x00", 10, "bad magic");
  refused("PK\x03\x04 a zip file, maybe an .npz", 30, "bad magic");
  uint8_t *b = malloc(n);
  memcpy(b, good, n);
  b[6] = 4;
  refused(b, n, "unsupported format version 4.0");
  b[6] = 1;
  b[7] = 1;
  refused(b, n, "unsupported format version 1.1");
  b[6] = 0;
  b[7] = 0;
  refused(b, n, "unsupported format version 0.0");
  memcpy(b, good, n);
  refused(b, 40, "truncated header (header length 118, file has 30 bytes after it)");
  refused(b, 128, "data size mismatch: shape needs 12 bytes, file has 0");
  refused(b, n - 1, "data size mismatch: shape needs 12 bytes, file has 11");
  b[8] = 0;
  refused(b, n, "empty header");
  b[8] = 0xff;
  b[9] = 0xff;
  refused(b, n, "truncated header");
  free(b);
  refused("\x93NUMPY\x02\x00\x10\x00", 10, "truncated header");
  refused("\x93NUMPY\x02\x00\x10\x00\x00\x00", 12, "truncated header");
  refused("\x93NUMPY\x02\x00\x10\x00\x00\x01 ", 13, "truncated header");
  /* Data size. */
  uint8_t *longer = malloc(n + 1);
  memcpy(longer, good, n);
  longer[n] = 0;
  refused(longer, n + 1, "data size mismatch: shape needs 12 bytes, file has 13");
  free(longer);
  free(good);

  /* Shapes. */
  refused_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000000000,), }", 8,
               "data size mismatch: shape needs 8000000000000000000 bytes, file has 8");
  refused_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000000000, 1000000000000000000), }", 8,
               "shape is absurdly large");
  refused_dict("{'descr': '|u1', 'fortran_order': False, 'shape': (5000000000000000000, 2, 0), }", 0,
               "shape is absurdly large");
  refused_dict("{'descr': '|u1', 'fortran_order': False, 'shape': (0, 5000000000000000000, 5000000000000000000), }", 0,
               "shape is absurdly large");
  refused_dict("{'descr': '|u1', 'fortran_order': False, 'shape': (99999999999999999999,), }", 0,
               "dimension too large");
  refused_dict("{'descr': '|u1', 'fortran_order': False, 'shape': (-1,), }", 0, "expected a non-negative dimension");
  refused_dict("{'descr': '|u1', 'fortran_order': False, 'shape': (3 }", 3, "expected ',' or ')' in 'shape'");
  refused_dict("{'descr': '|u1', 'fortran_order': False, 'shape': (3, }", 3, "expected a non-negative dimension");
  refused_dict("{'descr': '|u1', 'fortran_order': False, 'shape': 3, }", 3, "'shape' must be a tuple");
  refused_dict("{'descr': '|u1', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 1,
               "rank above 8 is not supported");

  /* The dict itself. */
  refused_dict("{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }", 12, "big-endian data ('>f4') is not supported");
  refused_dict("{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }", 12, "Fortran-order arrays are not supported");
  refused_dict("{'descr': '<f4', 'fortran_order': 0, 'shape': (3,), }", 12, "'fortran_order' must be True or False");
  refused_dict("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }", 12,
               "structured dtypes are not supported");
  refused_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), } x", 12, "junk after the dict");
  refused_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }}", 12, "junk after the dict");
  refused_dict("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 12, "'descr' given twice");
  refused_dict("{'descr': '<f4', 'fortran_order': False, 'fortran_order': False, 'shape': (3,), }", 12,
               "'fortran_order' given twice");
  refused_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'shape': (3,), }", 12, "'shape' given twice");
  refused_dict("{'descr': '<f4', 'shape': (3,), }", 12, "needs 'descr', 'fortran_order' and 'shape'");
  refused_dict("{}", 0, "needs 'descr', 'fortran_order' and 'shape'");
  refused_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1, }", 12, "unexpected key 'extra'");
  refused_dict("{descr: '<f4'}", 12, "expected a quoted key");
  refused_dict("{'de\\'scr': '<f4'}", 12, "expected a quoted key");
  refused_dict("{'descr' '<f4'}", 12, "expected ':' after key");
  refused_dict("{'descr': '<f4' 'shape': (3,)}", 12, "expected ',' or '}'");
  refused_dict("['descr', '<f4']", 12, "expected '{'");
  refused_dict("{'descr': '<f4", 12, "'descr' must be a dtype string");
  refused_dict("{'descr': 'f4', 'fortran_order': False, 'shape': (3,), }", 12, "unsupported dtype 'f4'");
  refused_dict("{'descr': '#f4', 'fortran_order': False, 'shape': (3,), }", 12, "bad byte order in dtype '#f4'");
  refused_dict("{'descr': '<q4', 'fortran_order': False, 'shape': (3,), }", 12, "unsupported dtype '<q4'");
  refused_dict("{'descr': '<f4\xc3\xa9', 'fortran_order': False, 'shape': (3,), }", 12, "invalid byte in header");
  refused_dict("{'descr': '<f4',\t'fortran_order': False, 'shape': (3,), }", 12, "expected a quoted key");

  /* A NUL inside the header, and no newline at its end. */
  b = image(1, GOOD_F4_3, v, sizeof v, &n);
  b[20] = 0;
  refused(b, n, "invalid byte in header");
  free(b);
  b = image(1, GOOD_F4_3, v, sizeof v, &n);
  b[127] = ' ';
  refused(b, n, "the header must end with a newline");
  free(b);

  /* A bool array may only hold 0 and 1. */
  uint8_t two[3] = {1, 2, 0};
  b = image(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", two, 3, &n);
  refused(b, n, "bool array holds a value other than 0 or 1");
  free(b);

  /* Version 3.0 differs from 2.0 only in allowing UTF-8 in the header. */
  b = image(3, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", v, sizeof v, &n);
  assert_true(npy_parse(b, n, &a, err, sizeof err));
  npy_free(&a);
  free(b);
}

/* bfloat16 in .npy (issue 9): descr 'bfloat16' is bf16; the untyped
 * '<V2' / '|V2' is bf16 only when the caller expects bf16, else refused
 * with a message saying why; the header reader gives the shape alone. */
static void test_bfloat16(void **state) {
  (void)state;
  static const uint16_t bits[] = {0x3f80, 0xbfc0, 0x3e80}; /* 1, -1.5, 0.25 */
  npy_array a;
  char err[512] = "";
  size_t n = 0;
  uint8_t *b = image(1, "{'descr': 'bfloat16', 'fortran_order': False, 'shape': (3,), }", bits, sizeof bits, &n);
  assert_true(npy_parse(b, n, &a, err, sizeof err));
  assert_int_equal(a.dtype, KILN_BF16);
  assert_int_equal(a.nbytes, sizeof bits);
  assert_memory_equal(a.data, bits, sizeof bits);
  npy_free(&a);
  free(b);
  static const char *const untyped[] = {"{'descr': '<V2', 'fortran_order': False, 'shape': (3,), }",
                                        "{'descr': '|V2', 'fortran_order': False, 'shape': (3,), }"};
  for (int k = 0; k < 2; k++) {
    b = image(1, untyped[k], bits, sizeof bits, &n);
    refused(b, n, "is an untyped 2-byte item");
    refused(b, n, "descr 'bfloat16'");
    assert_true(npy_parse_ex(b, n, NPY_UNTYPED2_AS_BF16, &a, err, sizeof err));
    assert_int_equal(a.dtype, KILN_BF16);
    assert_memory_equal(a.data, bits, sizeof bits);
    npy_free(&a);
    free(b);
  }
  /* Other void sizes, and '=V2', are no bfloat16 under any flag. */
  b = image(1, "{'descr': '|V4', 'fortran_order': False, 'shape': (1,), }", bits, 4, &n);
  assert_false(npy_parse_ex(b, n, NPY_UNTYPED2_AS_BF16, &a, err, sizeof err));
  assert_contains(err, "unsupported dtype '|V4'");
  free(b);
  refused_dict("{'descr': 'bfloat1', 'fortran_order': False, 'shape': (1,), }", 2, "unsupported dtype 'bfloat1'");
  refused_dict("{'descr': 'bfloat16', 'fortran_order': False, 'shape': (2,), }", 2, "data size mismatch");
  /* The values as numbers: bfloat16 is the top half of an f32. */
  assert_true(npy_bf16_to_double(0x3f80) == 1.0);
  assert_true(npy_bf16_to_double(0xbfc0) == -1.5);
  assert_true(npy_f16_to_double(0x3c00) == 1.0);
  assert_true(npy_f16_to_double(0xc100) == -2.5);
  assert_true(npy_f16_to_double(0x7bff) == 65504.0);
  assert_true(npy_f16_to_double(0x0001) == 5.9604644775390625e-08); /* the smallest subnormal */

  /* npy_read_header: dtype and shape without the data. */
  char dir[] = "/tmp/kiln_npy_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[4096];
  snprintf(path, sizeof path, "%s/h.npy", dir);
  b = image(2, "{'descr': '<V2', 'fortran_order': False, 'shape': (1, 3), }", bits, sizeof bits, &n);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(b, 1, n, f), n);
  assert_int_equal(fclose(f), 0);
  free(b);
  assert_false(npy_read_header(path, 0, &a, err, sizeof err));
  assert_contains(err, path);
  assert_contains(err, "untyped 2-byte");
  assert_true(npy_read_header(path, NPY_UNTYPED2_AS_BF16, &a, err, sizeof err));
  assert_int_equal(a.dtype, KILN_BF16);
  assert_int_equal(a.rank, 2);
  assert_int_equal(a.dims[0], 1);
  assert_int_equal(a.dims[1], 3);
  assert_null(a.data);
  assert_true(npy_read_file_ex(path, NPY_UNTYPED2_AS_BF16, &a, err, sizeof err));
  assert_memory_equal(a.data, bits, sizeof bits);
  npy_free(&a);
  /* A file cut inside its header. */
  f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite("\x93NUMPY\x01\x00\x76\x00{'descr'", 1, 18, f), 18);
  assert_int_equal(fclose(f), 0);
  assert_false(npy_read_header(path, 0, &a, err, sizeof err));
  assert_contains(err, "truncated header");
  unlink(path);
  assert_int_equal(rmdir(dir), 0);
}

static void test_file_errors(void **state) {
  (void)state;
  npy_array a;
  char err[512];
  assert_false(npy_read_file("/nonexistent/kiln/x.npy", &a, err, sizeof err));
  assert_contains(err, "/nonexistent/kiln/x.npy: cannot open");
  assert_null(a.data);
  char dir[] = "/tmp/kiln_npy_XXXXXX";
  assert_non_null(mkdtemp(dir));
  assert_false(npy_read_file(dir, &a, err, sizeof err));
  assert_contains(err, dir);
  assert_contains(err, "not a regular file");
  assert_null(a.data);
  float v = 1;
  npy_array w = {.dtype = KILN_F32, .rank = 0, .data = &v, .nbytes = 4};
  assert_false(npy_write_file("/nonexistent/kiln/x.npy", &w, err, sizeof err));
  assert_contains(err, "/nonexistent/kiln/x.npy: cannot create");
  assert_int_equal(rmdir(dir), 0);
}

int main(int argc, char **argv) {
  if (argc > 1) npy_dir = argv[1];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_numpy_files), cmocka_unit_test(test_numpy_files_refused), cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_malformed),   cmocka_unit_test(test_file_errors), cmocka_unit_test(test_bfloat16),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
