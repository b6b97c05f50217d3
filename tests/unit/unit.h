/*
 * Helpers shared by the cmocka unit tests in tests/unit: the cmocka include
 * order, a diagnostics sink that keeps every message, reading a file, and
 * assertions on messages and shapes. Header-only (static functions) so that each test is
 * one self-contained executable.
 */
#ifndef KILN_TESTS_UNIT_UNIT_H
#define KILN_TESTS_UNIT_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ir/builder.h"
#include "ir/ir.h"
#include "tests/common/testutil.h"

/* A diagnostics sink that concatenates every message (one per line), so a
 * test can check what was said and how often. */
typedef struct msgs {
  diag sink;
  char text[8192];
  int count;
} msgs;

static inline void msgs_collect(void *user, diag_level level, const char *m) {
  (void)level;
  msgs *s = user;
  size_t len = strlen(s->text);
  snprintf(s->text + len, sizeof s->text - len, "%s\n", m);
  s->count++;
}

static inline void msgs_init(msgs *s) {
  memset(s, 0, sizeof *s);
  s->sink.fn = msgs_collect;
  s->sink.user = s;
}

static inline void msgs_clear(msgs *s) {
  s->text[0] = 0;
  s->count = 0;
  s->sink.errors = 0;
}

/* Fails the test, printing both strings, unless `hay` contains `needle`. */
#define assert_contains(hay, needle) assert_contains_((hay), (needle), __FILE__, __LINE__)
static inline void assert_contains_(const char *hay, const char *needle, const char *file, int line) {
  if (!hay || !strstr(hay, needle)) {
    print_error("%s:%d: expected to find \"%s\" in \"%s\"\n", file, line, needle, hay ? hay : "(null)");
    _fail(file, line);
  }
}

/* Reads a whole file (tu_read_file; *n gets its length), failing the test
 * when it cannot be read. Caller frees. */
static inline char *read_or_fail(const char *path, size_t *n) {
  char *text = tu_read_file(path, n);
  if (!text) {
    print_error("cannot read %s\n", path);
    fail();
  }
  return text;
}

/* A module with an empty entry computation %main and a builder on it. */
typedef struct fixture {
  ir_module *m;
  ir_comp *c;
  ir_builder b;
  msgs d;
} fixture;

static inline fixture *fixture_new(void) {
  fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  msgs_init(&f->d);
  f->m = ir_module_create("t");
  assert_non_null(f->m);
  f->c = ir_comp_add(f->m, "main", true);
  assert_non_null(f->c);
  ir_builder_init(&f->b, f->m, f->c, &f->d.sink);
  return f;
}

static inline void fixture_free(fixture *f) {
  ir_module_destroy(f->m);
  free(f);
}

/* Makes every array-shaped instruction of the entry an output, then checks
 * that the module verifies and that its text reads back and prints the same
 * (print . parse . print = print). Used at the end of builder tests, so that
 * every shape the builder accepted also survives the text form. */
static inline void fixture_check_text(fixture *f) {
  ir_id *ids = calloc(f->c->ninsts + 1, sizeof *ids);
  assert_non_null(ids);
  int n = 0;
  for (ir_id i = 0; i < f->c->ninsts; i++)
    if (f->c->insts[i].shape.type != IR_TUPLE) ids[n++] = i;
  ir_id t = ir_tuple(&f->b, n, ids);
  free(ids);
  assert_true(ir_set_root(&f->b, t, n, NULL));
  msgs d;
  msgs_init(&d);
  if (!ir_verify(f->m, &d.sink)) {
    print_error("%s", d.text);
    fail();
  }
  char *p1 = ir_print_module(f->m, NULL);
  assert_non_null(p1);
  ir_module *m2 = ir_parse_module(p1, strlen(p1), "builder.kir", &d.sink);
  if (!m2) {
    print_error("%s\n%s", d.text, p1);
    fail();
  }
  char *p2 = ir_print_module(m2, NULL);
  assert_string_equal(p1, p2);
  free(p1);
  free(p2);
  ir_module_destroy(m2);
}

/* cmocka setup and teardown of the builder tests: a fresh fixture per
 * test, and at its end the text round trip of everything it built
 * (modules with invalid callees on purpose, as in test_fusion, have more
 * than one computation and are skipped). */
static inline int fixture_setup(void **state) {
  *state = fixture_new();
  return 0;
}

static inline int fixture_teardown(void **state) {
  fixture *f = *state;
  if (f->m->ncomps == 1) fixture_check_text(f);
  fixture_free(f);
  return 0;
}

/* The shape of instruction id as text, e.g. "f32[2,3]{1,0}"; tuples as
 * "(f32[2]{0}, s32[]...)". */
static inline const char *shape_text(const ir_comp *c, ir_id id, char *buf, size_t n) {
  const ir_inst *in = &c->insts[id];
  return ir_result_str(&in->shape, in->tuple, in->ntuple, buf, n);
}

#define assert_shape(f, id, expect)                                                   \
  do {                                                                                \
    ir_id id_ = (id);                                                                 \
    if (id_ == IR_NONE) {                                                             \
      print_error("unexpected refusal: %s\n", (f)->d.text);                           \
      fail();                                                                         \
    }                                                                                 \
    char sb_[512];                                                                    \
    assert_string_equal(shape_text((f)->c, id_, sb_, sizeof sb_), (expect));          \
  } while (0)

/* The build was refused with a message containing `needle`. */
#define assert_refused(f, id, needle)        \
  do {                                       \
    assert_int_equal((id), IR_NONE);         \
    assert_contains((f)->d.text, (needle));  \
    msgs_clear(&(f)->d);                     \
  } while (0)

#endif
