/*
 * Diagnostics sink. Library code never prints or exits: it formats a message
 * and hands it to the caller's callback. A NULL sink or NULL callback drops
 * messages (the error count is still kept when the sink exists).
 */
#ifndef KILN_IR_DIAG_H
#define KILN_IR_DIAG_H

#include <stdarg.h>

typedef enum diag_level { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE, DIAG_REMARK } diag_level;

typedef void (*diag_fn)(void *user, diag_level level, const char *message);

typedef struct diag {
  diag_fn fn;
  void *user;
  int errors;
} diag;

#if defined(__GNUC__)
#define DIAG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define DIAG_PRINTF(a, b)
#endif

void diag_emit(diag *d, diag_level level, const char *fmt, ...) DIAG_PRINTF(3, 4);
void diag_emitv(diag *d, diag_level level, const char *fmt, va_list ap);
#define diag_error(d, ...) diag_emit((d), DIAG_ERROR, __VA_ARGS__)

/* A sink that keeps the first error message in a fixed buffer; handy where
 * a single message is to be returned to an API caller. */
typedef struct diag_buffer {
  diag sink;
  char first[1024];
} diag_buffer;
void diag_buffer_init(diag_buffer *b);

#endif
