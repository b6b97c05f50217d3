/*
 * A diagnostics sink for C tests of internal interfaces: counts the errors
 * reported to it and keeps the last one's text, so a test can assert that
 * a call failed and what it said. Header only (it needs ir/diag.h, which
 * tests/common/testutil.c must not depend on).
 */
#ifndef KILN_TESTS_COMMON_TEST_SINK_H
#define KILN_TESTS_COMMON_TEST_SINK_H

#include <stdio.h>
#include <string.h>

#include "ir/diag.h"

typedef struct test_sink {
  diag d;
  int errors;
  char last[1024];
} test_sink;

static inline void test_sink_keep(void *user, diag_level level, const char *msg) {
  test_sink *s = user;
  if (level != DIAG_ERROR) return;
  s->errors++;
  snprintf(s->last, sizeof s->last, "%s", msg);
}

/* Empties s and points its diag at it. */
static inline void test_sink_init(test_sink *s) {
  memset(s, 0, sizeof *s);
  s->d.fn = test_sink_keep;
  s->d.user = s;
}

#endif
