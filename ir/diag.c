/* Diagnostics: formatting into a bounded buffer and forwarding to the sink. */
#include "ir/diag.h"

#include <stdio.h>
#include <string.h>

void diag_emitv(diag *d, diag_level level, const char *fmt, va_list ap) {
  if (!d) return;
  if (level == DIAG_ERROR) d->errors++;
  if (!d->fn) return;
  char buf[2048];
  vsnprintf(buf, sizeof buf, fmt, ap);
  d->fn(d->user, level, buf);
}

void diag_emit(diag *d, diag_level level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_emitv(d, level, fmt, ap);
  va_end(ap);
}

static void keep_first(void *user, diag_level level, const char *msg) {
  diag_buffer *b = user;
  if (level == DIAG_ERROR && !b->first[0]) snprintf(b->first, sizeof b->first, "%s", msg);
}

void diag_buffer_init(diag_buffer *b) {
  memset(b, 0, sizeof *b);
  b->sink.fn = keep_first;
  b->sink.user = b;
}
