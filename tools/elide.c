/*
 * --elide-constants for kiln compile --emit=llvm and --emit=asm: the
 * weights are most of the text (a small CNN's LLVM IR is tens of MB of
 * escaped bytes), so big constant initializers are replaced by a marker.
 * The result is for reading: it says at the top that data was elided, and
 * the markers are not valid LLVM IR or assembler on purpose, so the text
 * cannot be assembled into an artifact that silently lacks its weights.
 *
 * LLVM IR: a global's initializer `c"..."`, `[...]` or `<...>` of more than
 * 64 bytes becomes `<elided>`, e.g.
 *     @kiln.const = private unnamed_addr constant [8192 x i8] <elided>, align 64
 * Assembly: a `.ascii`/`.asciz` directive of more than 64 bytes becomes
 *     .ascii <elided 8192 bytes>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli.h"

#define ELIDE_OVER 64 /* bytes */

/* A growing output buffer. */
typedef struct sbuf {
  char *p;
  size_t n, cap;
  bool oom;
} sbuf;

static void put(sbuf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + n + 1) cap *= 2;
    char *np = realloc(b->p, cap);
    if (!np) {
      b->oom = true;
      return;
    }
    b->p = np;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}

static void puts_(sbuf *b, const char *s) { put(b, s, strlen(s)); }

/* The size in bytes of an LLVM element type name at s (0: unknown). */
static size_t llvm_elem_size(const char *s) {
  static const struct {
    const char *name;
    size_t size;
  } types[] = {{"i8", 1}, {"i16", 2}, {"half", 2}, {"bfloat", 2}, {"i32", 4}, {"float", 4}, {"i64", 8}, {"double", 8}};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    size_t k = strlen(types[i].name);
    if (!strncmp(s, types[i].name, k) && (s[k] == ']' || s[k] == '>')) return types[i].size;
  }
  return 0;
}

/* Where the bracketed text starting at s ('[' or '<') ends (just past the
 * matching bracket), or NULL if it runs past end. Quoted strings inside
 * are skipped (LLVM escapes '"' in them as \22). */
static const char *match_bracket(const char *s, const char *end) {
  int depth = 0;
  for (const char *p = s; p < end; p++) {
    if (*p == '"') {
      const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
      if (!q) return NULL;
      p = q;
    } else if (*p == '[' || *p == '<') {
      depth++;
    } else if (*p == ']' || *p == '>') {
      if (--depth == 0) return p + 1;
    }
  }
  return NULL;
}

/* One line of LLVM IR: a global whose initializer holds more than
 * ELIDE_OVER bytes is written with <elided>; returns whether it was. */
static bool elide_llvm_line(sbuf *b, const char *line, const char *end) {
  if (*line != '@') return false;
  const char *c = strstr(line, " constant ");
  if (!c || c > end) return false;
  const char *ty = c + strlen(" constant ");
  if (ty >= end || (*ty != '[' && *ty != '<')) return false;
  /* "[N x T]" or "<N x T>": the count and the element size. */
  char *after;
  unsigned long long count = strtoull(ty + 1, &after, 10);
  if (after == ty + 1 || strncmp(after, " x ", 3)) return false;
  size_t esz = llvm_elem_size(after + 3);
  const char *ty_end = match_bracket(ty, end);
  if (!esz || !ty_end || ty_end >= end || *ty_end != ' ' || count * esz <= ELIDE_OVER) return false;
  const char *init = ty_end + 1, *init_end = NULL;
  if (init + 1 < end && init[0] == 'c' && init[1] == '"') {
    const char *q = memchr(init + 2, '"', (size_t)(end - init - 2));
    init_end = q ? q + 1 : NULL;
  } else if (*init == '[' || *init == '<') {
    init_end = match_bracket(init, end);
  }
  if (!init_end) return false; /* zeroinitializer, undef, ...: short anyway */
  put(b, line, (size_t)(init - line));
  puts_(b, "<elided>");
  put(b, init_end, (size_t)(end - init_end));
  return true;
}

/* The number of bytes an assembler string literal body (between the
 * quotes) stands for: escapes \ooo (1 to 3 octal digits), \xHH and \c
 * are one byte each. */
static size_t asm_string_bytes(const char *s, const char *end) {
  size_t n = 0;
  for (const char *p = s; p < end; p++, n++) {
    if (*p != '\\' || p + 1 >= end) continue;
    p++;
    if (*p >= '0' && *p <= '7') {
      for (int k = 1; k < 3 && p + 1 < end && p[1] >= '0' && p[1] <= '7'; k++) p++;
    } else if (*p == 'x') {
      while (p + 1 < end && ((p[1] >= '0' && p[1] <= '9') || (p[1] >= 'a' && p[1] <= 'f') || (p[1] >= 'A' && p[1] <= 'F')))
        p++;
    }
  }
  return n;
}

/* One line of assembly: a long .ascii/.asciz becomes a marker. */
static bool elide_asm_line(sbuf *b, const char *line, const char *end) {
  const char *p = line;
  while (p < end && (*p == ' ' || *p == '\t')) p++;
  bool z = false;
  if ((size_t)(end - p) > 7 && !strncmp(p, ".asciz", 6) && (p[6] == ' ' || p[6] == '\t')) z = true;
  else if (!((size_t)(end - p) > 7 && !strncmp(p, ".ascii", 6) && (p[6] == ' ' || p[6] == '\t'))) return false;
  const char *q = memchr(p, '"', (size_t)(end - p));
  if (!q) return false;
  /* The closing quote: the last one on the line. */
  const char *close = NULL;
  for (const char *r = end - 1; r > q; r--)
    if (*r == '"') {
      close = r;
      break;
    }
  if (!close) return false;
  size_t nbytes = asm_string_bytes(q + 1, close) + (z ? 1 : 0);
  if (nbytes <= ELIDE_OVER) return false;
  char marker[96];
  snprintf(marker, sizeof marker, ".ascii <elided %zu bytes>", nbytes);
  put(b, line, (size_t)(p - line));
  puts_(b, marker);
  return true;
}

char *cli_elide_constants(const char *text, size_t len, bool asm_syntax, size_t *outlen) {
  sbuf b = {0};
  /* The note goes first so that nobody mistakes the text for the real one. */
  char note[256];
  snprintf(note, sizeof note,
           "%s kiln: --elide-constants: constant data over %d bytes is shown as <elided>; this text does not %s\n",
           asm_syntax ? "#" : ";", ELIDE_OVER, asm_syntax ? "assemble" : "parse");
  puts_(&b, note);
  const char *end = text + len;
  for (const char *line = text; line < end;) {
    const char *nl = memchr(line, '\n', (size_t)(end - line));
    const char *le = nl ? nl : end;
    bool done = asm_syntax ? elide_asm_line(&b, line, le) : elide_llvm_line(&b, line, le);
    if (!done) put(&b, line, (size_t)(le - line));
    if (nl) put(&b, "\n", 1);
    line = nl ? nl + 1 : end;
  }
  if (b.oom) {
    free(b.p);
    return NULL;
  }
  *outlen = b.n;
  return b.p;
}
