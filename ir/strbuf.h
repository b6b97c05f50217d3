/*
 * Growable string buffer. On allocation failure the buffer is marked failed,
 * further appends are ignored, and sb_finish returns NULL.
 */
#ifndef KILN_IR_STRBUF_H
#define KILN_IR_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "ir/diag.h"

typedef struct strbuf {
  char *s;
  size_t len, cap;
  bool failed;
} strbuf;

void sb_init(strbuf *b);
void sb_free(strbuf *b);
void sb_putc(strbuf *b, char c);
void sb_puts(strbuf *b, const char *s);
void sb_putn(strbuf *b, const char *s, size_t n);
void sb_printf(strbuf *b, const char *fmt, ...) DIAG_PRINTF(2, 3);
/* Appends s as a double-quoted string with \" \\ \n \t \xHH escapes. */
void sb_put_quoted(strbuf *b, const char *s);
/* Returns the malloc'd string (caller frees), or NULL if anything failed. */
char *sb_finish(strbuf *b);

#endif
