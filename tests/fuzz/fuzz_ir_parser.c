/*
 * Fuzz target for the IR text parser (libFuzzer entry point; built by
 * tests/fuzz/run.sh, replayed over the seed corpus by Meson's tests).
 *
 * Properties checked on every input, aborting (a finding) when one fails:
 *   - parsing never crashes, leaks or hits undefined behaviour (the
 *     sanitizers check that);
 *   - a refusal is exactly one message of the form "fuzz.kir:L:C: error: ";
 *   - an accepted module verifies, prints, and its print parses back to a
 *     module that prints byte for byte the same (print . parse . print =
 *     print); a deep copy prints the same too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

typedef struct sink {
  diag d;
  int count;
  char first[2048];
} sink;

static void collect(void *user, diag_level level, const char *msg) {
  (void)level;
  sink *s = user;
  if (!s->count++) snprintf(s->first, sizeof s->first, "%s", msg);
}

static void sink_init(sink *s) {
  memset(s, 0, sizeof *s);
  s->d.fn = collect;
  s->d.user = s;
}

static void finding(const char *what, const char *a, const char *b) {
  fprintf(stderr, "fuzz_ir_parser: %s\n--- first ---\n%s\n--- second ---\n%s\n", what, a ? a : "", b ? b : "");
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sink s;
  sink_init(&s);
  ir_module *m = ir_parse_module((const char *)data, size, "fuzz.kir", &s.d);
  if (!m) {
    int line, col;
    if (s.count != 1 || sscanf(s.first, "fuzz.kir:%d:%d: error: ", &line, &col) != 2 || line < 1 || col < 1)
      finding("a refusal without exactly one 'fuzz.kir:LINE:COL: error:' message", s.first, NULL);
    return 0;
  }
  if (s.count != 0) finding("an accepted module with messages", s.first, NULL);
  if (!ir_verify(m, &s.d)) finding("an accepted module does not verify", s.first, NULL);
  char *p1 = ir_print_module(m, NULL);
  if (!p1) finding("printing failed", NULL, NULL);

  sink s2;
  sink_init(&s2);
  ir_module *m2 = ir_parse_module(p1, strlen(p1), "fuzz.kir", &s2.d);
  if (!m2) finding("the printed module does not parse", p1, s2.first);
  char *p2 = ir_print_module(m2, NULL);
  if (!p2 || strcmp(p1, p2) != 0) finding("print(parse(print(m))) != print(m)", p1, p2);

  ir_module *c = ir_module_clone(m);
  if (!c) finding("clone failed", NULL, NULL);
  char *p3 = ir_print_module(c, NULL);
  if (!p3 || strcmp(p1, p3) != 0) finding("the clone prints differently", p1, p3);

  free(p1);
  free(p2);
  free(p3);
  ir_module_destroy(c);
  ir_module_destroy(m2);
  ir_module_destroy(m);
  return 0;
}
