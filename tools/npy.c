/*
 * Strict .npy reader/writer (see npy.h). The header parser accepts exactly
 * the dict NumPy writes: {'descr': ..., 'fortran_order': ..., 'shape': (...)}
 * in any key order, with an optional trailing comma, padded with spaces and
 * ended by a newline. All sizes are checked before anything is allocated.
 * bfloat16 conventions: see npy.h.
 */
#include "tools/npy.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ERR(...)                          \
  do {                                    \
    snprintf(err, errn, __VA_ARGS__);     \
    return false;                         \
  } while (0)

static const struct {
  const char *code;
  kiln_dtype t;
} dtypes[] = {
    {"b1", KILN_PRED}, {"i1", KILN_I8},  {"i2", KILN_I16}, {"i4", KILN_I32}, {"i8", KILN_I64},
    {"u1", KILN_U8},   {"u2", KILN_U16}, {"u4", KILN_U32}, {"u8", KILN_U64}, {"f2", KILN_F16},
    {"f4", KILN_F32},  {"f8", KILN_F64},
};

int64_t npy_elements(const npy_array *a) {
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] == 0) return 0; /* before multiplying: the others may be huge */
  int64_t n = 1;
  for (int i = 0; i < a->rank; i++) n *= a->dims[i];
  return n;
}

double npy_f16_to_double(uint16_t h) {
  int e = (h >> 10) & 0x1f, m = h & 0x3ff;
  double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);
  return (h & 0x8000) ? -v : v;
}

double npy_bf16_to_double(uint16_t h) {
  uint32_t u = (uint32_t)h << 16; /* bfloat16 is the top half of an f32 */
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

void npy_free(npy_array *a) {
  free(a->data);
  a->data = NULL;
  a->nbytes = 0;
}

typedef struct hp {
  const char *s;
  size_t n, i;
} hp;

static void skip_sp(hp *h) {
  while (h->i < h->n && h->s[h->i] == ' ') h->i++;
}

static bool take(hp *h, char c) {
  skip_sp(h);
  if (h->i < h->n && h->s[h->i] == c) {
    h->i++;
    return true;
  }
  return false;
}

/* A quoted Python string without escapes; returns its contents. */
static bool pystr(hp *h, const char **s, size_t *len) {
  skip_sp(h);
  if (h->i >= h->n || (h->s[h->i] != '\'' && h->s[h->i] != '"')) return false;
  char q = h->s[h->i++];
  size_t st = h->i;
  while (h->i < h->n && h->s[h->i] != q) {
    if (h->s[h->i] == '\\') return false;
    h->i++;
  }
  if (h->i >= h->n) return false;
  *s = h->s + st;
  *len = h->i - st;
  h->i++;
  return true;
}

static bool word(hp *h, const char *w) {
  skip_sp(h);
  size_t k = strlen(w);
  if (h->i + k <= h->n && memcmp(h->s + h->i, w, k) == 0) {
    h->i += k;
    return true;
  }
  return false;
}

/* The dtype of a 'descr' string of vl bytes. */
static bool descr_dtype(const char *v, size_t vl, unsigned flags, kiln_dtype *t, char *err, size_t errn) {
  if (vl == 8 && !memcmp(v, "bfloat16", 8)) {
    *t = KILN_BF16;
    return true;
  }
  if (vl != 3) ERR("npy header: unsupported dtype '%.*s'", (int)(vl > 40 ? 40 : vl), v);
  if (v[0] == '>') ERR("npy: big-endian data ('%.3s') is not supported", v);
  if (v[0] != '<' && v[0] != '|' && v[0] != '=') ERR("npy header: bad byte order in dtype '%.3s'", v);
  if (v[1] == 'V' && v[2] == '2' && v[0] != '=') {
    /* What np.save writes for an ml_dtypes bfloat16 array: the type name
     * is lost, so only the caller can say what the bytes are. */
    if (flags & NPY_UNTYPED2_AS_BF16) {
      *t = KILN_BF16;
      return true;
    }
    ERR("npy: dtype '%.3s' is an untyped 2-byte item: np.save writes ml_dtypes' bfloat16 arrays so, but it may be "
        "anything; kiln reads it as bfloat16 only where a bfloat16 value is expected (write the file with descr "
        "'bfloat16' to say what it holds)", v);
  }
  for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
    if (!memcmp(v + 1, dtypes[i].code, 2)) {
      *t = dtypes[i].t;
      return true;
    }
  ERR("npy: unsupported dtype '%.3s'", v);
}

static bool parse_header(const char *s, size_t n, unsigned flags, npy_array *out, char *err, size_t errn) {
  hp h = {s, n, 0};
  bool have_descr = false, have_fortran = false, have_shape = false;
  if (!take(&h, '{')) ERR("npy header: expected '{'");
  for (;;) {
    if (take(&h, '}')) break;
    const char *k;
    size_t kl;
    if (!pystr(&h, &k, &kl)) ERR("npy header: expected a quoted key");
    if (!take(&h, ':')) ERR("npy header: expected ':' after key");
    if (kl == 5 && !memcmp(k, "descr", 5)) {
      const char *v;
      size_t vl;
      if (have_descr) ERR("npy header: 'descr' given twice");
      if (!pystr(&h, &v, &vl)) ERR("npy header: 'descr' must be a dtype string (structured dtypes are not supported)");
      if (!descr_dtype(v, vl, flags, &out->dtype, err, errn)) return false;
      have_descr = true;
    } else if (kl == 13 && !memcmp(k, "fortran_order", 13)) {
      if (have_fortran) ERR("npy header: 'fortran_order' given twice");
      if (word(&h, "True")) ERR("npy: Fortran-order arrays are not supported (save with C order)");
      if (!word(&h, "False")) ERR("npy header: 'fortran_order' must be True or False");
      have_fortran = true;
    } else if (kl == 5 && !memcmp(k, "shape", 5)) {
      if (have_shape) ERR("npy header: 'shape' given twice");
      if (!take(&h, '(')) ERR("npy header: 'shape' must be a tuple");
      out->rank = 0;
      while (!take(&h, ')')) {
        skip_sp(&h);
        size_t st = h.i;
        int64_t v = 0;
        while (h.i < h.n && h.s[h.i] >= '0' && h.s[h.i] <= '9') {
          if (v > (INT64_MAX - 9) / 10) ERR("npy header: dimension too large");
          v = v * 10 + (h.s[h.i++] - '0');
        }
        if (h.i == st) ERR("npy header: expected a non-negative dimension in 'shape'");
        if (out->rank == NPY_MAX_RANK) ERR("npy: rank above %d is not supported", NPY_MAX_RANK);
        out->dims[out->rank++] = v;
        if (!take(&h, ',')) {
          if (!take(&h, ')')) ERR("npy header: expected ',' or ')' in 'shape'");
          break;
        }
      }
      have_shape = true;
    } else {
      ERR("npy header: unexpected key '%.*s'", (int)(kl > 40 ? 40 : kl), k);
    }
    if (!take(&h, ',')) {
      if (!take(&h, '}')) ERR("npy header: expected ',' or '}'");
      break;
    }
  }
  skip_sp(&h);
  if (h.i != n - 1 || s[n - 1] != '\n') ERR("npy header: junk after the dict (the header must end with a newline)");
  if (!have_descr || !have_fortran || !have_shape) ERR("npy header: needs 'descr', 'fortran_order' and 'shape'");
  return true;
}

/* Parses the magic, version and header dict at the start of b (n bytes,
 * at least the whole header); *data_off is where the data starts. */
static bool parse_prefix(const unsigned char *b, size_t n, unsigned flags, npy_array *out, size_t *data_off, char *err,
                         size_t errn) {
  if (n < 10 || memcmp(b, "\x93NUMPY", 6) != 0) ERR("not a .npy file (bad magic)");
  unsigned major = b[6], minor = b[7];
  if (minor != 0 || major < 1 || major > 3) ERR("npy: unsupported format version %u.%u", major, minor);
  size_t hl, off;
  if (major == 1) {
    hl = (size_t)b[8] | (size_t)b[9] << 8;
    off = 10;
  } else {
    if (n < 12) ERR("npy: truncated header");
    hl = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
    off = 12;
  }
  if (hl > n - off) ERR("npy: truncated header (header length %zu, file has %zu bytes after it)", hl, n - off);
  if (hl == 0) ERR("npy: empty header");
  for (size_t i = 0; i < hl; i++)
    if (b[off + i] == 0 || (major < 3 && b[off + i] >= 0x80)) ERR("npy header: invalid byte in header");
  if (!parse_header((const char *)b + off, hl, flags, out, err, errn)) return false;
  *data_off = off + hl;
  return true;
}

bool npy_parse(const void *buf, size_t n, npy_array *out, char *err, size_t errn) {
  return npy_parse_ex(buf, n, 0, out, err, errn);
}

bool npy_parse_ex(const void *buf, size_t n, unsigned flags, npy_array *out, char *err, size_t errn) {
  const unsigned char *b = buf;
  memset(out, 0, sizeof *out);
  size_t data;
  if (!parse_prefix(b, n, flags, out, &data, err, errn)) return false;
  /* As NumPy does: the product of the non-zero dimensions times the item
   * size must fit in 63 bits, even when another dimension is 0, so that no
   * element count or byte size computed from the shape can overflow. */
  uint64_t total = kiln_dtype_size(out->dtype);
  bool empty = false;
  for (int i = 0; i < out->rank; i++) {
    if (out->dims[i] == 0) {
      empty = true;
      continue;
    }
    if (total > (uint64_t)INT64_MAX / (uint64_t)out->dims[i]) ERR("npy: shape is absurdly large");
    total *= (uint64_t)out->dims[i];
  }
  if (empty) total = 0;
  if (total != n - data)
    ERR("npy: data size mismatch: shape needs %llu bytes, file has %zu", (unsigned long long)total, n - data);
  out->nbytes = (size_t)total;
  out->data = malloc(total ? total : 1);
  if (!out->data) ERR("npy: out of memory");
  memcpy(out->data, b + data, total);
  if (out->dtype == KILN_PRED)
    for (size_t i = 0; i < total; i++)
      if (((unsigned char *)out->data)[i] > 1) {
        npy_free(out);
        ERR("npy: bool array holds a value other than 0 or 1");
      }
  return true;
}

bool npy_read_file(const char *path, npy_array *out, char *err, size_t errn) {
  return npy_read_file_ex(path, 0, out, err, errn);
}

/* Opens path for reading if it is a regular file (a directory opens and
 * seeks on Linux, and reports a huge size); NULL with the reason in err. */
static FILE *open_regular(const char *path, char *err, size_t errn) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errn, "%s: cannot open: %s", path, strerror(errno));
    return NULL;
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(f);
    snprintf(err, errn, "%s: not a regular file", path);
    return NULL;
  }
  return f;
}

bool npy_read_file_ex(const char *path, unsigned flags, npy_array *out, char *err, size_t errn) {
  memset(out, 0, sizeof *out);
  FILE *f = open_regular(path, err, errn);
  if (!f) return false;
  if (fseek(f, 0, SEEK_END) != 0) {
    fclose(f);
    ERR("%s: cannot seek (not a regular file?)", path);
  }
  long len = ftell(f);
  if (len < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    ERR("%s: cannot determine the size", path);
  }
  void *buf = malloc((size_t)len + 1);
  if (!buf) {
    fclose(f);
    ERR("%s: out of memory", path);
  }
  size_t got = fread(buf, 1, (size_t)len, f);
  fclose(f);
  if (got != (size_t)len) {
    free(buf);
    ERR("%s: read error", path);
  }
  char inner[512];
  bool ok = npy_parse_ex(buf, (size_t)len, flags, out, inner, sizeof inner);
  free(buf);
  if (!ok) ERR("%s: %s", path, inner);
  return true;
}

bool npy_read_header(const char *path, unsigned flags, npy_array *out, char *err, size_t errn) {
  memset(out, 0, sizeof *out);
  FILE *f = open_regular(path, err, errn);
  if (!f) return false;
  /* The fixed part, then as much of the header as it announces (NumPy
   * itself refuses headers over 10,000 bytes; allow a little more). */
  unsigned char fixed[12];
  size_t got = fread(fixed, 1, sizeof fixed, f);
  size_t hl = got < 10 ? 0 : fixed[6] == 1 ? (size_t)fixed[8] | (size_t)fixed[9] << 8
                                           : (size_t)fixed[8] | (size_t)fixed[9] << 8 | (size_t)fixed[10] << 16;
  if (got >= 12 && fixed[6] != 1 && fixed[11]) hl = SIZE_MAX;
  if (hl > (1u << 20)) {
    fclose(f);
    ERR("%s: npy: header too large", path);
  }
  size_t want = 12 + hl;
  unsigned char *buf = malloc(want);
  if (!buf) {
    fclose(f);
    ERR("%s: out of memory", path);
  }
  memcpy(buf, fixed, got);
  if (got == sizeof fixed) got += fread(buf + got, 1, want - got, f);
  fclose(f);
  char inner[512];
  size_t data;
  bool ok = parse_prefix(buf, got, flags, out, &data, inner, sizeof inner);
  free(buf);
  if (!ok) ERR("%s: %s", path, inner);
  return true;
}

bool npy_serialize(const npy_array *a, void **out, size_t *outn, char *err, size_t errn) {
  char descr[16] = "";
  for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
    if (dtypes[i].t == a->dtype) snprintf(descr, sizeof descr, "%c%s", kiln_dtype_size(a->dtype) == 1 ? '|' : '<', dtypes[i].code);
  if (a->dtype == KILN_BF16) snprintf(descr, sizeof descr, "bfloat16"); /* see npy.h */
  if (!descr[0]) ERR("npy: dtype %s cannot be written to .npy", kiln_dtype_name(a->dtype));
  if (a->rank < 0 || a->rank > NPY_MAX_RANK) ERR("npy: bad rank");
  char dict[512];
  int k = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (int i = 0; i < a->rank; i++)
    k += snprintf(dict + k, sizeof dict - (size_t)k, "%lld%s", (long long)a->dims[i],
                  a->rank == 1 ? "," : (i + 1 < a->rank ? ", " : ""));
  k += snprintf(dict + k, sizeof dict - (size_t)k, "), }");
  /* Pad so that the data starts on a 64-byte boundary. */
  size_t pre = 10, hl = (size_t)k + 1;
  size_t total_hdr = (pre + hl + 63) / 64 * 64;
  hl = total_hdr - pre;
  size_t n = total_hdr + a->nbytes;
  unsigned char *b = malloc(n ? n : 1);
  if (!b) ERR("npy: out of memory");
  memcpy(b, "\x93NUMPY\x01\x00", 8);
  b[8] = (unsigned char)(hl & 0xff);
  b[9] = (unsigned char)(hl >> 8);
  memcpy(b + pre, dict, (size_t)k);
  memset(b + pre + k, ' ', hl - (size_t)k - 1);
  b[total_hdr - 1] = '\n';
  if (a->nbytes) memcpy(b + total_hdr, a->data, a->nbytes);
  *out = b;
  *outn = n;
  return true;
}

bool npy_write_file(const char *path, const npy_array *a, char *err, size_t errn) {
  void *buf;
  size_t n;
  if (!npy_serialize(a, &buf, &n, err, errn)) return false;
  FILE *f = fopen(path, "wb");
  if (!f) {
    free(buf);
    ERR("%s: cannot create: %s", path, strerror(errno));
  }
  bool ok = fwrite(buf, 1, n, f) == n;
  ok = (fclose(f) == 0) && ok;
  free(buf);
  if (!ok) {
    unlink(path);
    ERR("%s: write error", path);
  }
  return true;
}
