/*
 * Error paths of the parser at every position: a valid module (every
 * attribute form, kir/all_forms.kir) cut at every byte offset, and with
 * the byte at every offset replaced by a few disruptive characters. Each
 * parse must either succeed with a module that verifies and prints, or
 * fail with exactly one "file:line:col: error: " message; and no memory
 * may be left behind: in the sanitizer build (-Db_sanitize=address,undefined)
 * LeakSanitizer checks that at exit, and every buffer given to the parser
 * has exactly the given length, so that a read past it is caught.
 * (glibc's mallinfo2 counters were tried as a leak check for other builds:
 * they drift with fragmentation and are not reliable.)
 *
 * Usage: unit_error_paths DIR (DIR holds all_forms.kir).
 */
#include "tests/unit/unit.h"

static const char *kir_dir = ".";
static char *text;
static size_t ntext;

static int load(void **state) {
  (void)state;
  char path[4096];
  snprintf(path, sizeof path, "%s/all_forms.kir", kir_dir);
  text = tu_read_file(path, &ntext);
  return text ? 0 : -1;
}

static int unload(void **state) {
  (void)state;
  free(text);
  return 0;
}

/* Parses buf[0..n); returns 1 if it parsed, 0 if it failed properly. */
static int parse_once(const char *buf, size_t n) {
  msgs d;
  msgs_init(&d);
  ir_module *m = ir_parse_module(buf, n, "cut.kir", &d.sink);
  if (!m) {
    if (d.count != 1 || strncmp(d.text, "cut.kir:", 8) != 0 || !strstr(d.text, ": error: ")) {
      print_error("bad failure for %zu bytes: %d message(s): %s\n", n, d.count, d.text);
      fail();
    }
    int line, col;
    if (sscanf(d.text, "cut.kir:%d:%d: error: ", &line, &col) != 2) {
      print_error("no line:col for %zu bytes: %s\n", n, d.text);
      fail();
    }
    return 0;
  }
  assert_int_equal(d.count, 0);
  assert_true(ir_verify(m, &d.sink));
  char *p = ir_print_module(m, NULL);
  assert_non_null(p);
  free(p);
  ir_module_destroy(m);
  return 1;
}

static void test_every_truncation(void **state) {
  (void)state;
  /* The truncated copy lives in its own exact-size buffer so that ASan
   * catches any read past the given length. */
  int parsed = 0;
  for (size_t k = 0; k <= ntext; k++) {
    char *cut = malloc(k ? k : 1);
    memcpy(cut, text, k);
    parsed += parse_once(cut, k);
    free(cut);
  }
  /* Only the whole text, and the text without its final newline, parse. */
  assert_int_equal(parsed, 2);
}

static void test_every_replacement(void **state) {
  (void)state;
  static const char junk[] = {'}', '"', '%', '9', ',', (char)0x80};
  char *buf = malloc(ntext);
  int parsed = 0, failed = 0;
  for (size_t i = 0; i < ntext; i++) {
    for (size_t j = 0; j < sizeof junk; j++) {
      if (text[i] == junk[j]) continue;
      memcpy(buf, text, ntext);
      buf[i] = junk[j];
      if (parse_once(buf, ntext)) parsed++;
      else failed++;
    }
  }
  free(buf);
  /* Most replacements break the text; some (inside strings, comments, or a
   * digit for a digit) do not. Both paths were exercised. */
  assert_true(failed > parsed);
  assert_true(parsed > 0);
}

int main(int argc, char **argv) {
  if (argc > 1) kir_dir = argv[1];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_truncation),
      cmocka_unit_test(test_every_replacement),
  };
  return cmocka_run_group_tests(tests, load, unload);
}
