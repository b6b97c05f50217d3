/* Growable string buffer (see strbuf.h). */
#include "ir/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb_init(strbuf *b) {
  b->s = NULL;
  b->len = b->cap = 0;
  b->failed = false;
}

void sb_free(strbuf *b) {
  free(b->s);
  sb_init(b);
}

static bool reserve(strbuf *b, size_t extra) {
  if (b->failed) return false;
  if (b->len + extra + 1 <= b->cap) return true;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1) {
    if (cap > ((size_t)-1) / 2) {
      b->failed = true;
      return false;
    }
    cap *= 2;
  }
  char *n = realloc(b->s, cap);
  if (!n) {
    b->failed = true;
    return false;
  }
  b->s = n;
  b->cap = cap;
  return true;
}

void sb_putn(strbuf *b, const char *s, size_t n) {
  if (!reserve(b, n)) return;
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = 0;
}

void sb_putc(strbuf *b, char c) { sb_putn(b, &c, 1); }
void sb_puts(strbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

void sb_printf(strbuf *b, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof tmp) {
    sb_putn(b, tmp, (size_t)n);
    return;
  }
  if (!reserve(b, (size_t)n)) return;
  va_start(ap, fmt);
  vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void sb_put_quoted(strbuf *b, const char *s) {
  sb_putc(b, '"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') {
      sb_putc(b, '\\');
      sb_putc(b, (char)*p);
    } else if (*p == '\n') {
      sb_puts(b, "\\n");
    } else if (*p == '\t') {
      sb_puts(b, "\\t");
    } else if (*p < 0x20 || *p == 0x7f) {
      sb_printf(b, "\\x%02x", *p);
    } else {
      sb_putc(b, (char)*p);
    }
  }
  sb_putc(b, '"');
}

char *sb_finish(strbuf *b) {
  if (b->failed) {
    sb_free(b);
    return NULL;
  }
  if (!b->s) {
    b->s = malloc(1);
    if (!b->s) return NULL;
    b->s[0] = 0;
  }
  char *s = b->s;
  sb_init(b);
  return s;
}
