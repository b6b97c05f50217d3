/*
 * TensorProto contents: typed repeated fields, raw_data, or external data
 * files. Every size is checked against the dims before anything is copied;
 * external data is read only from inside the model's folder.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/ox.h"
#include "ir/literal.h"
#include "kiln/kiln.h"

bool ox_type_from_onnx(int32_t dt, ir_type *out) {
  switch (dt) {
    case 1: *out = IR_F32; return true;
    case 2: *out = IR_U8; return true;
    case 3: *out = IR_I8; return true;
    case 4: *out = IR_U16; return true;
    case 5: *out = IR_I16; return true;
    case 6: *out = IR_I32; return true;
    case 7: *out = IR_I64; return true;
    case 9: *out = IR_PRED; return true;
    case 10: *out = IR_F16; return true;
    case 11: *out = IR_F64; return true;
    case 12: *out = IR_U32; return true;
    case 13: *out = IR_U64; return true;
    case 16: *out = IR_BF16; return true;
    default: return false;
  }
}

/* Every TensorProto.DataType up to IR 13 (INT2), so that a message refusing
 * one kiln lacks (float8, int4, float4, int2, ...) names it. */
const char *ox_onnx_type_name(int32_t dt) {
  static const char *const names[] = {"UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64", "STRING",
                                "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16",
                                "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ", "UINT4", "INT4",
                                "FLOAT4E2M1", "FLOAT8E8M0", "UINT2", "INT2"};
  return dt >= 0 && dt < (int32_t)(sizeof names / sizeof names[0]) ? names[dt] : "unknown";
}

/* Reads [offset, offset+len) of base_dir/location, refusing paths that
 * leave base_dir (absolute paths, "..", symlinks pointing outside). */
static int read_external(const Onnx__TensorProto *t, const char *base_dir, const char *what, int64_t want, void *dst,
                         diag *d) {
  const char *location = NULL;
  int64_t offset = 0, length = -1;
  for (size_t i = 0; i < t->n_external_data; i++) {
    const char *k = t->external_data[i]->key, *v = t->external_data[i]->value;
    if (!k || !v) continue;
    char *end;
    if (!strcmp(k, "location")) location = v;
    else if (!strcmp(k, "offset") || !strcmp(k, "length")) {
      errno = 0;
      long long x = strtoll(v, &end, 10);
      if (errno || *end || end == v || x < 0) {
        diag_error(d, "%s: external data %s '%s' is not a non-negative integer", what, k, v);
        return KILN_ERR_PARSE;
      }
      if (!strcmp(k, "offset")) offset = x;
      else length = x;
    }
  }
  if (!location || !location[0]) {
    diag_error(d, "%s: external data without a location", what);
    return KILN_ERR_PARSE;
  }
  if (!base_dir) {
    diag_error(d, "%s: external data '%s' cannot be read: the model was not loaded from a file", what, location);
    return KILN_ERR_UNSUPPORTED;
  }
  if (location[0] == '/') {
    diag_error(d, "%s: external data location '%s' is absolute; it must be relative to the model's folder", what,
               location);
    return KILN_ERR_PARSE;
  }
  if (length >= 0 && length != want) {
    diag_error(d, "%s: external data length %lld does not match the %lld bytes its dims need", what, (long long)length,
               (long long)want);
    return KILN_ERR_PARSE;
  }
  char base_real[PATH_MAX], path[PATH_MAX * 2], real[PATH_MAX];
  if (!realpath(base_dir, base_real)) {
    diag_error(d, "%s: cannot resolve the model folder %s", what, base_dir);
    return KILN_ERR_IO;
  }
  snprintf(path, sizeof path, "%s/%s", base_real, location);
  if (!realpath(path, real)) {
    diag_error(d, "%s: external data file '%s' not found beside the model: %s", what, location, strerror(errno));
    return KILN_ERR_IO;
  }
  size_t bl = strlen(base_real);
  if (strncmp(real, base_real, bl) != 0 || (real[bl] != '/' && !(bl == 1 && base_real[0] == '/'))) {
    diag_error(d, "%s: external data location '%s' points outside the model's folder; refused", what, location);
    return KILN_ERR_PARSE;
  }
  FILE *f = fopen(real, "rb");
  if (!f) {
    diag_error(d, "%s: cannot open external data '%s': %s", what, location, strerror(errno));
    return KILN_ERR_IO;
  }
  int rc = KILN_OK;
  if (fseek(f, 0, SEEK_END) != 0) rc = KILN_ERR_IO;
  long size = rc ? -1 : ftell(f);
  if (size < 0 || offset > size || want > size - offset) {
    diag_error(d, "%s: external data '%s' is too short (needs %lld bytes at offset %lld)", what, location,
               (long long)want, (long long)offset);
    fclose(f);
    return KILN_ERR_PARSE;
  }
  if (fseek(f, (long)offset, SEEK_SET) != 0 || fread(dst, 1, (size_t)want, f) != (size_t)want) {
    diag_error(d, "%s: error reading external data '%s'", what, location);
    rc = KILN_ERR_IO;
  }
  fclose(f);
  return rc;
}

int ox_tensor_data(const Onnx__TensorProto *t, const char *base_dir, const char *what, ir_shape *shape, void **data,
                   diag *d) {
  *data = NULL;
  if (!t->has_data_type) {
    diag_error(d, "%s: tensor has no data_type", what);
    return KILN_ERR_PARSE;
  }
  ir_type ty;
  if (!ox_type_from_onnx(t->data_type, &ty)) {
    diag_error(d, "%s: tensor element type %s (%d) is not supported", what, ox_onnx_type_name(t->data_type),
               (int)t->data_type);
    return KILN_ERR_UNSUPPORTED;
  }
  if (t->n_dims > IR_MAX_RANK) {
    diag_error(d, "%s: rank %zu exceeds kiln's maximum of %d", what, t->n_dims, IR_MAX_RANK);
    return KILN_ERR_UNSUPPORTED;
  }
  for (size_t i = 0; i < t->n_dims; i++)
    if (t->dims[i] < 0) {
      diag_error(d, "%s: dimension %zu is negative (%lld)", what, i, (long long)t->dims[i]);
      return KILN_ERR_PARSE;
    }
  if (t->segment) {
    diag_error(d, "%s: segmented tensors are not supported", what);
    return KILN_ERR_UNSUPPORTED;
  }
  *shape = ir_shape_make(ty, (int)t->n_dims, t->dims);
  int64_t bytes = ir_shape_bytes(shape);
  int64_t n = ir_shape_elements(shape);
  if (bytes < 0 || bytes > ((int64_t)1 << 40)) {
    diag_error(d, "%s: tensor of %s is absurdly large", what, ir_type_name(ty));
    return KILN_ERR_PARSE;
  }
  bool external = t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  /* The values live in exactly one place: external data, raw_data, or the
   * typed field of the data_type. Two of them would leave it to the reader
   * which one counts; a typed field of another type is an exporter bug. */
  const struct {
    bool used;
    const char *name;
  } places[] = {
      {external, "external data"},          {t->has_raw_data, "raw_data"},  {t->n_float_data > 0, "float_data"},
      {t->n_int32_data > 0, "int32_data"}, {t->n_string_data > 0, "string_data"}, {t->n_int64_data > 0, "int64_data"},
      {t->n_double_data > 0, "double_data"}, {t->n_uint64_data > 0, "uint64_data"},
  };
  const char *typed = ty == IR_F32 ? "float_data" : ty == IR_F64 ? "double_data" : ty == IR_I64 ? "int64_data"
                      : ty == IR_U32 || ty == IR_U64 ? "uint64_data" : "int32_data";
  const char *place = NULL;
  for (size_t k = 0; k < sizeof places / sizeof places[0]; k++) {
    if (!places[k].used) continue;
    if (place) {
      diag_error(d, "%s: holds its values both in %s and in %s; a tensor keeps them in exactly one field", what, place,
                 places[k].name);
      return KILN_ERR_PARSE;
    }
    place = places[k].name;
    if (k >= 2 && strcmp(place, typed)) {
      diag_error(d, "%s: data_type %s keeps typed values in %s, but this tensor has %s", what,
                 ox_onnx_type_name(t->data_type), typed, place);
      return KILN_ERR_PARSE;
    }
  }
  /* Find the one field holding the data and check its size before
   * allocating anything. */
  size_t have = 0;
  const char *field = "no data";
  if (external) {
    field = "external data";
    have = (size_t)n;
  } else if (t->has_raw_data) {
    field = "raw_data";
    if ((int64_t)t->raw_data.len != bytes) {
      diag_error(d, "%s: raw_data has %zu bytes but dims %s need %lld", what, t->raw_data.len,
                 ir_shape_str(shape, (char[160]){0}, 160), (long long)bytes);
      return KILN_ERR_PARSE;
    }
    have = (size_t)n;
  } else {
    switch (ty) {
      case IR_F32: have = t->n_float_data, field = "float_data"; break;
      case IR_F64: have = t->n_double_data, field = "double_data"; break;
      case IR_I64: have = t->n_int64_data, field = "int64_data"; break;
      case IR_U32:
      case IR_U64: have = t->n_uint64_data, field = "uint64_data"; break;
      default: have = t->n_int32_data, field = "int32_data"; break;
    }
  }
  if ((int64_t)have != n) {
    diag_error(d, "%s: %s holds %zu elements but dims %s need %lld", what, field, have,
               ir_shape_str(shape, (char[160]){0}, 160), (long long)n);
    return KILN_ERR_PARSE;
  }
  void *buf = malloc(bytes ? (size_t)bytes : 1);
  if (!buf) {
    diag_error(d, "%s: out of memory (%lld bytes)", what, (long long)bytes);
    return KILN_ERR_OUT_OF_MEMORY;
  }
  if (external) {
    int rc = read_external(t, base_dir, what, bytes, buf, d);
    if (rc != KILN_OK) {
      free(buf);
      return rc;
    }
  } else if (t->has_raw_data) {
    if (bytes) memcpy(buf, t->raw_data.data, (size_t)bytes); /* little-endian host */
  } else {
    for (int64_t i = 0; i < n; i++) {
      switch (ty) {
        case IR_F32: ((float *)buf)[i] = t->float_data[i]; break;
        case IR_F64: ((double *)buf)[i] = t->double_data[i]; break;
        case IR_I64: ((int64_t *)buf)[i] = t->int64_data[i]; break;
        case IR_U32:
        case IR_U64: ir_elem_set_u(ty, buf, i, t->uint64_data[i]); break;
        case IR_F16:
        case IR_BF16: ((uint16_t *)buf)[i] = (uint16_t)t->int32_data[i]; break;
        default: ir_elem_set_i(ty, buf, i, t->int32_data[i]); break;
      }
    }
  }
  if (ty == IR_PRED)
    for (int64_t i = 0; i < n; i++) ((uint8_t *)buf)[i] = ((uint8_t *)buf)[i] != 0;
  *data = buf;
  return KILN_OK;
}

int onnx_read_tensor(const void *bytes, size_t n, const char *base_dir, onnx_tensor *out, diag *d) {
  memset(out, 0, sizeof *out);
  Onnx__TensorProto *t = ox_decode_tensor(bytes, n, "tensor", d);
  if (!t) return KILN_ERR_PARSE;
  int rc = ox_tensor_data(t, base_dir, t->name && t->name[0] ? t->name : "tensor", &out->shape, &out->data, d);
  if (rc == KILN_OK) {
    out->name = strdup(t->name ? t->name : "");
    if (!out->name) {
      free(out->data);
      out->data = NULL;
      rc = KILN_ERR_OUT_OF_MEMORY;
    }
  }
  ox_free_tensor(t);
  return rc;
}

/* Reads a whole file into a malloc'd buffer. */
int ox_read_file(const char *path, void **data, size_t *len, diag *d) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    diag_error(d, "%s: cannot open: %s", path, strerror(errno));
    return KILN_ERR_IO;
  }
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap) break;
    char *nb = cap > ((size_t)-1) / 4 ? NULL : realloc(buf, cap * 2);
    if (!nb) {
      free(buf);
      buf = NULL;
    } else {
      buf = nb;
      cap *= 2;
    }
  }
  bool err = ferror(f);
  fclose(f);
  if (!buf) {
    diag_error(d, "%s: out of memory reading the file", path);
    return KILN_ERR_OUT_OF_MEMORY;
  }
  if (err) {
    free(buf);
    diag_error(d, "%s: read error", path);
    return KILN_ERR_IO;
  }
  *data = buf;
  *len = n;
  return KILN_OK;
}

/* The folder part of a path ("." when there is none); caller frees. */
char *ox_dirname(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return strdup(".");
  if (slash == path) return strdup("/");
  return strndup(path, (size_t)(slash - path));
}

int onnx_read_tensor_file(const char *path, onnx_tensor *out, diag *d) {
  void *buf;
  size_t n;
  memset(out, 0, sizeof *out);
  int rc = ox_read_file(path, &buf, &n, d);
  if (rc != KILN_OK) return rc;
  char *dir = ox_dirname(path);
  rc = dir ? onnx_read_tensor(buf, n, dir, out, d) : KILN_ERR_OUT_OF_MEMORY;
  free(dir);
  free(buf);
  return rc;
}

void onnx_tensor_free(onnx_tensor *t) {
  free(t->data);
  free(t->name);
  memset(t, 0, sizeof *t);
}
